/**
 * `:countTokens` (SPEC §17.3, as §17.1's `count_tokens`): `{totalTokens}` for a request (`contents`, or a whole
 * `generateContentRequest`): the backend's own count when the model goes to one that counts (Gemini's
 * `countTokens`, Anthropic's `count_tokens`), else estimated locally — about 4 characters a token over every
 * text the model would read (system instruction, messages, tool declarations), 258 per image or file as
 * Gemini counts an image. Never 0 for a non-empty request; a tool or a system instruction raises it.
 */
import type { ChatRequest } from "../../model/request.ts";
import { parseGenerateContent } from "./parse.ts";
import { backendTokenCount } from "../../pipeline/count_tokens.ts";
import type { RouteEnv } from "../types.ts";
import type { Obj } from "./fields.ts";

const CHARS_PER_TOKEN = 4;
const MEDIA_TOKENS = 258;

/** Characters of text and media parts of a Chat request (iterative walk over every string). */
function measure(chat: ChatRequest): { chars: number; media: number } {
  let chars = 0;
  let media = 0;
  const stack: unknown[] = [chat.messages, chat.tools ?? []];
  while (stack.length) {
    const v = stack.pop();
    if (typeof v === "string") chars += v.length;
    else if (Array.isArray(v)) stack.push(...v);
    else if (v && typeof v === "object") {
      const o = v as Obj;
      if (o.type === "image_url" || o.type === "file") {
        media++;
        continue;
      }
      for (const [k, x] of Object.entries(o)) {
        if (k === "role" || k === "type" || k === "tool_call_id" || k === "id") continue;
        stack.push(x);
      }
    }
  }
  return { chars, media };
}

/** The countTokens answer for a request body and the path's model. */
export async function countTokens(req: Request, body: Obj, model: string, env: RouteEnv): Promise<Response> {
  const inner = body.generateContentRequest;
  const request = inner && typeof inner === "object" && !Array.isArray(inner) ? inner as Obj : body;
  const { chat } = parseGenerateContent(request, model, false);
  const counted = await backendTokenCount(req, { body: chat }, env.ctx, env.caller);
  if (counted !== undefined) return Response.json({ totalTokens: counted });
  const { chars, media } = measure(chat);
  const totalTokens = Math.max(1, Math.ceil(chars / CHARS_PER_TOKEN)) + media * MEDIA_TOKENS;
  return Response.json({ totalTokens });
}
