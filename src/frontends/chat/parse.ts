/** Parsing a Chat Completions request body into the conversation model (which is its own shape). */
import { checkChatRequest } from "../../model/request.ts";
import type { ChatRequest } from "../../model/request.ts";
import { badRequest } from "../../core/errors.ts";

/** Parse and validate a chat request body (400s name the offending field). */
export function parseChatBody(text: string): ChatRequest {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw badRequest(`Request body is not valid JSON (${(e as Error).message}).`);
  }
  if (json === null || typeof json !== "object" || Array.isArray(json)) {
    throw badRequest("Request body must be a JSON object with 'model' and 'messages'.");
  }
  if (!("messages" in json)) throw badRequest("Request body has no 'messages' array.", "messages");
  const problem = checkChatRequest(json as Record<string, unknown>);
  if (problem) throw badRequest(`Invalid request: ${problem.param}: ${problem.message}.`, problem.param);
  return json as ChatRequest;
}
