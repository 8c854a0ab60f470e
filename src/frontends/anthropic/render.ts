/**
 * Rendering the pipeline's {@link Outcome} as Anthropic Messages (SPEC §17.1): an answer already in Messages
 * (the anthropic provider passed the body through) as it came; a Chat completion as a `message` object; a
 * translated provider's events, a Chat chunk stream (read as events by `model/chat_sse.ts`), a local reply or a
 * whole answer to a streaming request as the Messages event stream, all through one renderer (`stream.ts`).
 */
import { SSE_HEADERS } from "../../openai/sse.ts";
import type { ModelEvent, StreamMeta } from "../../model/events.ts";
import { chatSseEvents } from "../../model/chat_sse.ts";
import { eventsOf, renderEvents } from "../../model/render.ts";
import { completionResult, resultEvents } from "../../model/result.ts";
import type { Usage } from "../../openai/types.ts";
import { ProxyError } from "../../core/errors.ts";
import type { Outcome } from "../../pipeline/conversation.ts";
import { MessagesRenderer } from "./stream.ts";
import { messageAsEvents } from "./replay.ts";
import { messageId, messagesUsage, stopReason, toolUseId, UNSIGNED_THINKING } from "./shapes.ts";

type Obj = Record<string, unknown>;

interface ChatCompletion {
  model?: string;
  choices?: { index?: number; message?: Obj; finish_reason?: string | null }[];
  usage?: Usage;
}

/** A tool call's JSON arguments as the object `tool_use.input` needs (`{}` when they are not an object). */
function toolInput(args: unknown): Obj {
  if (typeof args !== "string" || !args) return {};
  try {
    const v = JSON.parse(args);
    return v && typeof v === "object" && !Array.isArray(v) ? v : {};
  } catch {
    return {};
  }
}

/** A `chat.completion` as a Messages `message` (choice 0). */
export function completionToMessage(c: ChatCompletion, model: string): Obj {
  const choice = c.choices?.find((x) => (x.index ?? 0) === 0) ?? c.choices?.[0];
  const m = choice?.message ?? {};
  const content: Obj[] = [];
  const reasoning = typeof m.reasoning_content === "string" ? m.reasoning_content : m.reasoning;
  if (typeof reasoning === "string" && reasoning) {
    const signature = typeof m.reasoning_signature === "string" && m.reasoning_signature
      ? m.reasoning_signature
      : UNSIGNED_THINKING;
    content.push({ type: "thinking", thinking: reasoning, signature });
  }
  const text = typeof m.content === "string"
    ? m.content
    : Array.isArray(m.content)
    ? m.content.map((p) => (typeof p?.text === "string" ? p.text : "")).join("")
    : "";
  if (text) content.push({ type: "text", text });
  if (typeof m.refusal === "string" && m.refusal) content.push({ type: "text", text: m.refusal });
  for (const tc of Array.isArray(m.tool_calls) ? m.tool_calls as Obj[] : []) {
    const fn = (tc.function ?? {}) as Obj;
    content.push({
      type: "tool_use",
      id: typeof tc.id === "string" && tc.id ? tc.id : toolUseId(),
      name: typeof fn.name === "string" ? fn.name : "",
      input: toolInput(fn.arguments),
    });
  }
  return {
    id: messageId(),
    type: "message",
    role: "assistant",
    model: c.model || model,
    content,
    stop_reason: stopReason(choice?.finish_reason),
    stop_sequence: null,
    usage: messagesUsage(c.usage),
  };
}

/** Events (with their meta) as the Messages event stream. */
function messagesStream(events: ReadableStream<ModelEvent>, meta: StreamMeta): ReadableStream<Uint8Array> {
  return renderEvents(events, new MessagesRenderer(meta));
}

/** A whole `chat.completion` as the Messages event stream (the completion's model, else `model`). */
function completionStream(completion: Record<string, unknown>, model: string): ReadableStream<Uint8Array> {
  const result = completionResult(completion);
  return messagesStream(eventsOf(resultEvents(result)), {
    ...result.meta,
    model: result.meta.model || model,
  });
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
    for (const [k, v] of Object.entries(SSE_HEADERS)) headers.set(k, v);
    return new Response(body, { status: 200, headers });
  };
  const json = (body: string, status = 200) => {
    headers.set("content-type", "application/json");
    return new Response(body, { status, headers });
  };
  if (outcome.kind === "local") {
    if (stream) return sse(completionStream(outcome.completion, model));
    return json(JSON.stringify(completionToMessage(outcome.completion, model)));
  }
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
  const completion = JSON.parse(outcome.text) as ChatCompletion;
  if (stream) return sse(completionStream(completion as Record<string, unknown>, model));
  return json(JSON.stringify(completionToMessage(completion, model)), outcome.status);
}
