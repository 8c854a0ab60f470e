/**
 * A Chat Completions chunk stream (SSE, past the commit) → the Messages event grammar (SPEC §17.1):
 * `message_start`; for each block in order — thinking, text, each tool call — `content_block_start`, its
 * deltas (`thinking_delta`/`signature_delta`, `text_delta`, `input_json_delta` fragments) and
 * `content_block_stop`, indexes from 0 without gaps; then `message_delta` (stop reason, usage) and
 * `message_stop`. An error event of the Chat stream ends it with `event: error`. Only choice 0 is read (a
 * Messages answer has one). {@link ChatToMessages} is the pure state machine; {@link chatSseToMessages} the
 * `TransformStream` around it.
 */
import { createParser } from "eventsource-parser";
import type { Usage } from "../../openai/types.ts";
import { anthropicErrorType } from "../../core/anthropic_error.ts";
import { messageId, messagesUsage, namedEvent, stopReason, toolUseId, UNSIGNED_THINKING } from "./shapes.ts";

type Obj = Record<string, unknown>;

interface ChatDelta {
  content?: unknown;
  refusal?: unknown;
  reasoning?: unknown;
  reasoning_content?: unknown;
  reasoning_signature?: unknown;
  tool_calls?: { index?: number; id?: string; function?: { name?: string; arguments?: string } }[];
}

type Open =
  | { kind: "text" }
  | { kind: "thinking"; signed: boolean }
  | { kind: "tool"; call: number };

/** The Messages `error` event for a failure (its type from the proxy's error type and code). */
function errorEvent(e: { message?: unknown; type?: unknown; code?: unknown }): string {
  const type = anthropicErrorType({
    type: typeof e.type === "string" ? e.type : undefined,
    code: typeof e.code === "string" ? e.code : undefined,
  });
  const message = typeof e.message === "string" ? e.message : "The upstream failed during the stream.";
  return namedEvent("error", { error: { type, message } });
}

/** Turns Chat chunk events into Messages events. One instance per stream. */
export class ChatToMessages {
  #model: string;
  #id = messageId();
  #started = false;
  #ended = false;
  #index = -1;
  #open: Open | undefined;
  /** Chat tool-call indexes whose block was opened, with the id each came with. */
  #calls = new Map<number, string | undefined>();
  #finish: string | null = null;
  #usage: Usage | undefined;

  /** `model` is reported until a chunk names the upstream's. */
  constructor(model: string) {
    this.#model = model;
  }

  /** True once the stream has ended (message_stop or an error event). */
  get ended(): boolean {
    return this.#ended;
  }

  #start(out: string[]): void {
    if (this.#started) return;
    this.#started = true;
    out.push(namedEvent("message_start", {
      message: {
        id: this.#id,
        type: "message",
        role: "assistant",
        model: this.#model,
        content: [],
        stop_reason: null,
        stop_sequence: null,
        usage: { input_tokens: 0, output_tokens: 0 },
      },
    }));
  }

  #close(out: string[]): void {
    const open = this.#open;
    if (!open) return;
    if (open.kind === "thinking" && !open.signed) {
      out.push(this.#delta({ type: "signature_delta", signature: UNSIGNED_THINKING }));
    }
    out.push(namedEvent("content_block_stop", { index: this.#index }));
    this.#open = undefined;
  }

  #begin(out: string[], open: Open, block: Obj): void {
    this.#close(out);
    this.#index++;
    this.#open = open;
    out.push(namedEvent("content_block_start", { index: this.#index, content_block: block }));
  }

  #delta(delta: Obj): string {
    return namedEvent("content_block_delta", { index: this.#index, delta });
  }

  /** A `content_block_delta` with one string field, written directly (the hot path: one per upstream chunk). */
  #stringDelta(type: string, field: string, value: string): string {
    return `event: content_block_delta\ndata: {"type":"content_block_delta","index":${this.#index},"delta":{"type":"${type}","${field}":${
      JSON.stringify(value)
    }}}\n\n`;
  }

  #text(out: string[], text: string): void {
    if (this.#open?.kind !== "text") this.#begin(out, { kind: "text" }, { type: "text", text: "" });
    out.push(this.#stringDelta("text_delta", "text", text));
  }

  #thinking(out: string[], thinking: string): void {
    if (this.#open?.kind !== "thinking") {
      this.#begin(out, { kind: "thinking", signed: false }, {
        type: "thinking",
        thinking: "",
        signature: "",
      });
    }
    out.push(this.#stringDelta("thinking_delta", "thinking", thinking));
  }

  #toolCalls(out: string[], calls: NonNullable<ChatDelta["tool_calls"]>): void {
    for (const tc of calls) {
      const call = this.#callIndex(tc);
      if (!this.#calls.has(call)) {
        this.#calls.set(call, tc.id);
        this.#begin(out, { kind: "tool", call }, {
          type: "tool_use",
          id: typeof tc.id === "string" && tc.id ? tc.id : toolUseId(),
          name: tc.function?.name ?? "",
          input: {},
        });
      }
      const args = tc.function?.arguments;
      // Fragments of a call whose block is already closed cannot be placed (Chat upstreams send calls in order).
      if (typeof args === "string" && args && this.#open?.kind === "tool" && this.#open.call === call) {
        out.push(this.#stringDelta("input_json_delta", "partial_json", args));
      }
    }
  }

  /**
   * The Chat index of a tool-call delta. Some upstreams leave `index` out: a new id then starts the next call,
   * and a fragment without one belongs to the call in progress.
   */
  #callIndex(tc: NonNullable<ChatDelta["tool_calls"]>[number]): number {
    if (typeof tc?.index === "number") return tc.index;
    const open = this.#open?.kind === "tool" ? this.#open.call : undefined;
    if (open !== undefined && (!tc?.id || this.#calls.get(open) === tc.id)) return open;
    for (const [index, id] of this.#calls) if (tc?.id && id === tc.id) return index;
    return this.#calls.size ? Math.max(...this.#calls.keys()) + 1 : 0;
  }

  /** Translate one Chat event's data into Messages events (as SSE text). */
  push(data: string): string {
    if (this.#ended) return "";
    if (data.trim() === "[DONE]") return this.#stop();
    let chunk: Obj;
    try {
      chunk = JSON.parse(data);
    } catch {
      return this.fail("The upstream sent a stream event that is not JSON.");
    }
    if (!chunk || typeof chunk !== "object") {
      return this.fail("The upstream sent a stream event that is not an object.");
    }
    if (chunk.error) return this.fail(chunk.error);
    const out: string[] = [];
    if (typeof chunk.model === "string" && chunk.model && !this.#started) this.#model = chunk.model;
    this.#start(out);
    if (chunk.usage && typeof chunk.usage === "object") this.#usage = chunk.usage as Usage;
    const choices = Array.isArray(chunk.choices) ? chunk.choices as Obj[] : [];
    const choice = choices.find((c) => (c?.index ?? 0) === 0);
    if (!choice) return out.join("");
    const d = (choice.delta ?? {}) as ChatDelta;
    const reasoning = typeof d.reasoning_content === "string" ? d.reasoning_content : d.reasoning;
    if (typeof reasoning === "string" && reasoning) this.#thinking(out, reasoning);
    if (
      typeof d.reasoning_signature === "string" && d.reasoning_signature && this.#open?.kind === "thinking"
    ) {
      this.#open.signed = true;
      out.push(this.#delta({ type: "signature_delta", signature: d.reasoning_signature }));
    }
    if (typeof d.content === "string" && d.content) this.#text(out, d.content);
    if (typeof d.refusal === "string" && d.refusal) this.#text(out, d.refusal);
    if (Array.isArray(d.tool_calls) && d.tool_calls.length) this.#toolCalls(out, d.tool_calls);
    if (typeof choice.finish_reason === "string" && choice.finish_reason) {
      this.#finish = choice.finish_reason;
      this.#close(out);
    }
    return out.join("");
  }

  /** The end of the answer: the open block closed, `message_delta` with the stop reason and usage, `message_stop`. */
  #stop(): string {
    const out: string[] = [];
    this.#start(out);
    this.#close(out);
    out.push(namedEvent("message_delta", {
      delta: { stop_reason: stopReason(this.#finish), stop_sequence: null },
      usage: messagesUsage(this.#usage),
    }));
    out.push(namedEvent("message_stop", {}));
    this.#ended = true;
    return out.join("");
  }

  /** End the stream with an `error` event (`error` is the Chat error object or a message). */
  fail(error: unknown): string {
    if (this.#ended) return "";
    this.#ended = true;
    return errorEvent(typeof error === "string" ? { message: error } : (error as Obj));
  }

  /** The Chat stream closed: finish a finished answer; an unfinished one ends with an error. */
  end(): string {
    if (this.#ended) return "";
    if (this.#finish !== null) return this.#stop();
    return this.fail({
      message: "The upstream ended the stream before the answer finished; it may be cut off.",
      type: "api_error",
      code: "upstream_error",
    });
  }
}

/** Read a stream to its end, ignoring what it says. */
async function drain(reader: ReadableStreamDefaultReader<Uint8Array>): Promise<void> {
  try {
    while (!(await reader.read()).done) { /* past the answer's end */ }
  } catch { /* the upstream failed after the answer ended: nothing to tell */ }
}

/**
 * Chat SSE bytes read through {@link ChatToMessages}; `model` is reported until the upstream names one. One
 * stream that pulls from `body` itself (no pipe stages: each costs a hop per chunk on the hot path);
 * cancelling it cancels `body`.
 */
export function chatSseToMessages(
  body: ReadableStream<Uint8Array>,
  model: string,
): ReadableStream<Uint8Array> {
  const translator = new ChatToMessages(model);
  const encoder = new TextEncoder();
  const decoder = new TextDecoder();
  const reader = body.getReader();
  let pending = "";
  const parser = createParser({ onEvent: (ev) => (pending += translator.push(ev.data)) });
  return new ReadableStream<Uint8Array>({
    async pull(c) {
      // Loop until something is enqueued: a pull that enqueues nothing would not be called again.
      for (;;) {
        const r = await reader.read();
        if (r.done) {
          parser.feed(decoder.decode());
          if (!translator.ended) pending += translator.end();
        } else parser.feed(decoder.decode(r.value, { stream: true }));
        const out = pending;
        pending = "";
        if (out) c.enqueue(encoder.encode(out));
        if (r.done || translator.ended) {
          c.close();
          // The rest (the upstream's end after [DONE]) is read, not cancelled: cancelling would abort the
          // upstream request and cost its kept-alive connection.
          if (!r.done) void drain(reader);
          return;
        }
        if (out) return;
      }
    },
    cancel(reason) {
      return reader.cancel(reason);
    },
  }, { highWaterMark: 0 });
}
