/**
 * Rendering the pipeline's {@link Outcome} for a Responses client (SPEC §17.2): a Chat answer (JSON, stream,
 * or a local reply) becomes a response object or the Responses event stream; an answer already in the
 * Responses protocol (a provider passed the body through, built-in tools included) goes out as it came.
 * Built-in tools that were dropped for a translated answer are named in `x-llmproxy-dropped-tools`.
 */
import { completionToSse } from "../../openai/convert.ts";
import { SSE_HEADERS, textToBytes } from "../../openai/sse.ts";
import { headerValue } from "../../core/headers.ts";
import { ProxyError } from "../../core/errors.ts";
import type { Outcome } from "../../pipeline/conversation.ts";
import { completionToResponse, type ResponseMeta } from "./build.ts";
import type { FunctionNames } from "./names.ts";
import type { ResponsesBody } from "./parse.ts";
import { responseAsEvents } from "./replay.ts";
import { responsesStream } from "./stream.ts";

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
  const passedThrough = outcome.kind !== "local" && outcome.protocol === "responses";
  if (input.dropped.length && !passedThrough) {
    headers.set(DROPPED_TOOLS_HEADER, headerValue(input.dropped.join(", ")));
  }
  const stream = input.body.stream === true;
  const sse = (body: ReadableStream<Uint8Array>) => {
    for (const [k, v] of Object.entries(SSE_HEADERS)) headers.set(k, v);
    return new Response(body, { status: 200, headers });
  };
  const json = async (completion: Record<string, unknown>) => {
    const response = completionToResponse(completion, input.body, input.meta, input.names);
    await input.onFinal?.(response);
    headers.set("content-type", "application/json");
    return new Response(JSON.stringify(response), { status: 200, headers });
  };
  const translate = (chatSse: ReadableStream<Uint8Array>) => sse(chatSse.pipeThrough(responsesStream(input)));

  if (outcome.kind === "local") {
    const meta = { ...input.meta, model: String(outcome.completion.model ?? input.meta.model) };
    if (stream) {
      return sse(
        textStream(completionToSse(outcome.completion, true)).pipeThrough(
          responsesStream({ ...input, meta }),
        ),
      );
    }
    return await json(outcome.completion);
  }
  if (outcome.protocol === "responses") {
    if (outcome.kind === "stream") return sse(outcome.stream);
    // An upstream that answered a stream request with one JSON response: the client still gets its stream.
    if (stream && outcome.status === 200) return sse(textStream(responseAsEvents(JSON.parse(outcome.text))));
    headers.set("content-type", "application/json");
    return new Response(outcome.text, { status: outcome.status, headers });
  }
  if (outcome.protocol !== "chat") {
    throw new ProxyError(
      500,
      "server_error",
      "internal_error",
      `a ${outcome.protocol} answer reached the Responses front end`,
    );
  }
  if (outcome.kind === "stream") return translate(outcome.stream);
  const completion = JSON.parse(outcome.text) as Record<string, unknown>;
  if (stream) return translate(textStream(completionToSse(completion, true)));
  return await json(completion);
}
