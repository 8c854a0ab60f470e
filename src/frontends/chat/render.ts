/**
 * Rendering the pipeline's {@link Outcome} as Chat Completions: the upstream's JSON or stream as it came (it
 * is already Chat Completions), a translated upstream's events as chunks (`stream.ts`), a whole answer of the
 * model (a translated provider's, a local reply) as a `chat.completion` (`completion.ts`), and — when the
 * client asked for a stream but got a whole answer — that answer as `chat.completion.chunk` events.
 */
import type { ChatRequest } from "../../model/request.ts";
import { completionToSse } from "./completion_sse.ts";
import { resultCompletion } from "./completion.ts";
import { renderEvents } from "../../model/render.ts";
import { ChatRenderer } from "./stream.ts";
import { SSE_HEADERS } from "../../openai/sse.ts";
import { ProxyError } from "../../core/errors.ts";
import type { Outcome } from "../../pipeline/conversation.ts";
import { textResponse } from "../../core/response.ts";

/** The Chat Completions response for an outcome of `body`. */
export function renderChat(outcome: Outcome, body: ChatRequest): Response {
  const headers = outcome.headers;
  const sse = () => {
    Object.assign(headers, SSE_HEADERS);
  };
  const includeUsage = body.stream_options?.include_usage === true;
  if (outcome.kind === "events") {
    sse();
    return new Response(renderEvents(outcome.events, new ChatRenderer(outcome.meta, includeUsage)), {
      status: 200,
      headers,
    });
  }
  if (outcome.kind === "result") {
    const completion = resultCompletion(outcome.result);
    if (body.stream === true) {
      sse();
      return new Response(completionToSse(completion, includeUsage), { status: 200, headers });
    }
    headers["content-type"] = "application/json";
    return textResponse(JSON.stringify(completion), 200, headers);
  }
  if (outcome.protocol !== "chat") {
    // A provider answers in another protocol only when asked to pass a body of that protocol through.
    throw new ProxyError(
      500,
      "server_error",
      "internal_error",
      `a ${outcome.protocol} answer reached the Chat front end`,
    );
  }
  if (outcome.kind === "stream") {
    sse();
    return new Response(outcome.stream, { status: 200, headers });
  }
  if (body.stream === true) {
    sse();
    return new Response(completionToSse(JSON.parse(outcome.text), includeUsage), { status: 200, headers });
  }
  headers["content-type"] = "application/json";
  return textResponse(outcome.text, outcome.status, headers);
}
