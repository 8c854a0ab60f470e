/**
 * Rendering the pipeline's {@link Outcome} for a Responses client (SPEC §17.2): a whole answer of the model (a
 * translated provider's, a local reply, a Chat upstream's JSON read by `model/result.ts`), a Chat stream or a
 * translated provider's events become a response object or the Responses event stream
 * (every stream through the one renderer of events, `stream.ts`); an answer already in the
 * Responses protocol (a provider passed the body through, built-in tools included) goes out as it came.
 * Built-in tools that were dropped for a translated answer are named in `x-llmproxy-dropped-tools`.
 */
import { SSE_HEADERS, textToBytes } from "../../openai/sse.ts";
import type { ModelEvent, StreamMeta } from "../../model/events.ts";
import { chatSseEvents } from "../../model/chat_sse.ts";
import { eventsOf, renderEvents } from "../../model/render.ts";
import { completionResult, type ModelResult, resultEvents } from "../../model/result.ts";
import { headerValue } from "../../core/headers.ts";
import { ProxyError } from "../../core/errors.ts";
import type { Outcome } from "../../pipeline/conversation.ts";
import { type ResponseMeta, resultToResponse } from "./build.ts";
import type { FunctionNames } from "./names.ts";
import type { ResponsesBody } from "./parse.ts";
import { responseAsEvents } from "./replay.ts";
import { ResponsesRenderer } from "./stream.ts";
import { textResponse } from "../../core/response.ts";

/** The response header naming the built-in tools the model could not be given. */
export const DROPPED_TOOLS_HEADER = "x-llmproxy-dropped-tools";

/** What rendering needs besides the outcome. */
export interface RenderInput {
  body: ResponsesBody;
  meta: ResponseMeta;
  names: FunctionNames;
  dropped: readonly string[];
  /** Gets the final response before the client does (to store it). */
  onFinal?: (response: Record<string, unknown>) => Promise<void>;
}

function textStream(text: string): ReadableStream<Uint8Array> {
  return new ReadableStream({
    start(c) {
      c.enqueue(textToBytes(text));
      c.close();
    },
  });
}

/** The Responses answer for an outcome. */
export async function renderResponses(outcome: Outcome, input: RenderInput): Promise<Response> {
  const headers = outcome.headers;
  const passedThrough = (outcome.kind === "json" || outcome.kind === "stream") &&
    outcome.protocol === "responses";
  if (input.dropped.length && !passedThrough) {
    headers[DROPPED_TOOLS_HEADER] = headerValue(input.dropped.join(", "));
  }
  const stream = input.body.stream === true;
  const sse = (body: ReadableStream<Uint8Array>) => {
    Object.assign(headers, SSE_HEADERS);
    return new Response(body, { status: 200, headers });
  };
  const json = async (result: ModelResult) => {
    const response = resultToResponse(result, input.body, input.meta, input.names);
    await input.onFinal?.(response);
    headers["content-type"] = "application/json";
    return textResponse(JSON.stringify(response), 200, headers);
  };
  const render = (events: ReadableStream<ModelEvent>, meta: StreamMeta, responseMeta = input.meta) =>
    sse(renderEvents(events, new ResponsesRenderer({ ...input, meta: responseMeta, stream: meta })));
  /** A whole answer as the client asked for it (streamed: under the answer's model, else the request's). */
  const whole = async (result: ModelResult) => {
    if (!stream) return await json(result);
    const responseMeta = { ...input.meta, model: result.meta.model || input.meta.model };
    return render(eventsOf(resultEvents(result)), result.meta, responseMeta);
  };

  if (outcome.kind === "result") return await whole(outcome.result);
  if (outcome.kind === "events") return render(outcome.events, outcome.meta);
  if (outcome.protocol === "responses") {
    if (outcome.kind === "stream") return sse(outcome.stream);
    // An upstream that answered a stream request with one JSON response: the client still gets its stream.
    if (stream && outcome.status === 200) return sse(textStream(responseAsEvents(JSON.parse(outcome.text))));
    headers["content-type"] = "application/json";
    return textResponse(outcome.text, outcome.status, headers);
  }
  if (outcome.protocol !== "chat") {
    throw new ProxyError(
      500,
      "server_error",
      "internal_error",
      `a ${outcome.protocol} answer reached the Responses front end`,
    );
  }
  if (outcome.kind === "stream") {
    const meta = { id: "", created: 0, model: "" };
    return render(chatSseEvents(outcome.stream, meta), meta);
  }
  return await whole(completionResult(JSON.parse(outcome.text)));
}
