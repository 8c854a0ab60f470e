/**
 * Rendering the pipeline's {@link Outcome} as Anthropic Messages (SPEC §17.1): an answer already in Messages
 * (the anthropic provider passed the body through) as it came; a whole answer of the model (a translated
 * provider's, a local reply, a Chat upstream's JSON read by `model/result.ts`) as a `message` object, thinking
 * blocks with their signatures and redacted thinking in order; a translated provider's events, a Chat chunk
 * stream (read as events by `model/chat_sse.ts`) or a whole answer to a streaming request as the Messages
 * event stream, all through one renderer (`stream.ts`).
 */
import { SSE_HEADERS } from "../../openai/sse.ts";
import type { ModelEvent, StreamMeta } from "../../model/events.ts";
import { chatSseEvents } from "../../model/chat_sse.ts";
import { eventsOf, renderEvents } from "../../model/render.ts";
import { completionResult, firstChoice, type ModelResult, resultEvents } from "../../model/result.ts";
import { chatUsage } from "../../model/usage.ts";
import { ProxyError } from "../../core/errors.ts";
import type { Outcome } from "../../pipeline/conversation.ts";
import { MessagesRenderer } from "./stream.ts";
import { messageAsEvents } from "./replay.ts";
import { messageId, messagesUsage, stopReason, toolUseId, UNSIGNED_THINKING } from "./shapes.ts";
import { textResponse } from "../../core/response.ts";

type Obj = Record<string, unknown>;

/** A tool call's JSON arguments as the object `tool_use.input` needs (`{}` when they are not an object). */
function toolInput(args: string): Obj {
  if (!args) return {};
  try {
    const v = JSON.parse(args);
    return v && typeof v === "object" && !Array.isArray(v) ? v : {};
  } catch {
    return {};
  }
}

/** A whole answer as a Messages `message` (choice 0; the answer's model, else `model`). */
export function resultToMessage(r: ModelResult, model: string): Obj {
  const choice = firstChoice(r);
  const content: Obj[] = [];
  for (const part of choice?.reasoning ?? []) {
    if (part.kind === "redacted") content.push({ type: "redacted_thinking", data: part.data });
    else if (part.text || part.signature) {
      content.push({ type: "thinking", thinking: part.text, signature: part.signature || UNSIGNED_THINKING });
    }
  }
  if (choice?.text) content.push({ type: "text", text: choice.text });
  if (choice?.refusal) content.push({ type: "text", text: choice.refusal });
  for (const tc of choice?.toolCalls ?? []) {
    content.push({
      type: "tool_use",
      id: tc.id || toolUseId(),
      name: tc.name,
      input: toolInput(tc.arguments),
    });
  }
  return {
    id: messageId(),
    type: "message",
    role: "assistant",
    model: r.meta.model || model,
    content,
    stop_reason: stopReason(choice?.finish),
    stop_sequence: null,
    usage: messagesUsage(r.usage && chatUsage(r.usage)),
  };
}

/** Events (with their meta) as the Messages event stream. */
function messagesStream(events: ReadableStream<ModelEvent>, meta: StreamMeta): ReadableStream<Uint8Array> {
  return renderEvents(events, new MessagesRenderer(meta));
}

/** A whole answer as the Messages event stream (the answer's model, else `model`). */
function resultStream(r: ModelResult, model: string): ReadableStream<Uint8Array> {
  return messagesStream(eventsOf(resultEvents(r)), { ...r.meta, model: r.meta.model || model });
}

/** A whole answer's SSE text as a stream of bytes. */
function textStream(text: string): ReadableStream<Uint8Array> {
  const bytes = new TextEncoder().encode(text);
  return new ReadableStream({
    start(c) {
      c.enqueue(bytes);
      c.close();
    },
  });
}

/** The Messages response for an outcome of a request for `model` (`stream`: the client asked for events). */
export function renderMessages(outcome: Outcome, stream: boolean, model: string): Response {
  const headers = outcome.headers;
  const sse = (body: ReadableStream<Uint8Array>) => {
    Object.assign(headers, SSE_HEADERS);
    return new Response(body, { status: 200, headers });
  };
  const json = (body: string, status = 200) => {
    headers["content-type"] = "application/json";
    return textResponse(body, status, headers);
  };
  /** A whole answer as the client asked for it. */
  const whole = (r: ModelResult, status = 200) =>
    stream ? sse(resultStream(r, model)) : json(JSON.stringify(resultToMessage(r, model)), status);
  if (outcome.kind === "result") return whole(outcome.result);
  if (outcome.kind === "events") return sse(messagesStream(outcome.events, outcome.meta));
  if (outcome.protocol === "anthropic") {
    if (outcome.kind === "stream") return sse(outcome.stream);
    // An upstream that answered a stream request with one JSON message: the client still gets its stream.
    if (stream && outcome.status === 200) return sse(textStream(messageAsEvents(JSON.parse(outcome.text))));
    return json(outcome.text, outcome.status);
  }
  if (outcome.protocol !== "chat") {
    throw new ProxyError(
      500,
      "server_error",
      "internal_error",
      `a ${outcome.protocol} answer reached the Anthropic Messages front end`,
    );
  }
  if (outcome.kind === "stream") {
    const meta = { id: "", created: 0, model };
    return sse(messagesStream(chatSseEvents(outcome.stream, meta), meta));
  }
  return whole(completionResult(JSON.parse(outcome.text)), outcome.status);
}
