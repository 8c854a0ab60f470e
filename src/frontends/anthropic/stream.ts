/**
 * The conversation model's events → the Messages event grammar (SPEC §17.1):
 * `message_start`; for each block in order — thinking, text, each tool call — `content_block_start`, its
 * deltas (`thinking_delta`/`signature_delta`, `text_delta`, `input_json_delta` fragments) and
 * `content_block_stop`, indexes from 0 without gaps (a `redacted_thinking` block whole; a tool call that starts
 * while the open call's arguments are still incomplete — an upstream interleaving parallel calls — whole after
 * the open block, at the finish); then `message_delta`
 * (stop reason, usage) and `message_stop`. An error event ends it with `event: error`. Only choice 0 is read (a
 * Messages answer has one). {@link MessagesRenderer} is the pure state machine; `model/render.ts` drives it.
 */
import type { Usage } from "../../model/request.ts";
import { anthropicErrorType } from "../../core/anthropic_error.ts";
import { CUT_OFF_MESSAGE, type ModelEvent, type StreamMeta } from "../../model/events.ts";
import type { EventRenderer } from "../../model/render.ts";
import { chatUsage } from "../../model/usage.ts";
import { messageId, messagesUsage, namedEvent, stopReason, toolUseId, UNSIGNED_THINKING } from "./shapes.ts";

type Obj = Record<string, unknown>;

type Open =
  | { kind: "text" }
  | { kind: "thinking"; signed: boolean }
  | { kind: "tool"; call: number; args: string }
  | { kind: "redacted" };

/** Whether a call's arguments so far are a whole JSON value (so no fragment of it is still to come). */
function wholeJson(args: string): boolean {
  try {
    JSON.parse(args);
    return true;
  } catch {
    return false;
  }
}

/** The Messages `error` event for a failure (its type from the proxy's error type and code). */
function errorEvent(e: { message?: unknown; type?: unknown; code?: unknown }): string {
  const type = anthropicErrorType({
    type: typeof e.type === "string" ? e.type : undefined,
    code: typeof e.code === "string" ? e.code : undefined,
  });
  const message = typeof e.message === "string" ? e.message : "The upstream failed during the stream.";
  return namedEvent("error", { error: { type, message } });
}

/** Writes one answer's events as Messages events. One instance per stream. */
export class MessagesRenderer implements EventRenderer {
  #id = messageId();
  #started = false;
  #index = -1;
  #open: Open | undefined;
  /** Tool calls (by their index) whose block was opened or deferred. */
  #calls = new Set<number>();
  /**
   * Calls that started while another call's arguments were still incomplete JSON (an upstream interleaving
   * parallel calls' fragments): Messages blocks cannot interleave, so these wait, their fragments gathered,
   * and go out whole after the open block closes at the finish.
   */
  #deferred = new Map<number, { id: string; name: string; args: string }>();
  #finish: string | null = null;
  #usage: Usage | undefined;
  /** True once the stream has ended (message_stop or an error event). */
  ended = false;

  /** `meta.model` is reported in `message_start` (read at the first event). */
  constructor(private readonly meta: StreamMeta) {}

  #start(out: string[]): void {
    if (this.#started) return;
    this.#started = true;
    out.push(namedEvent("message_start", {
      message: {
        id: this.#id,
        type: "message",
        role: "assistant",
        model: this.meta.model,
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
    if (this.#open?.kind !== "thinking" || this.#open.signed) {
      this.#begin(out, { kind: "thinking", signed: false }, {
        type: "thinking",
        thinking: "",
        signature: "",
      });
    }
    out.push(this.#stringDelta("thinking_delta", "thinking", thinking));
  }

  #signature(out: string[], signature: string): void {
    if (this.#open?.kind !== "thinking" || this.#open.signed) return; // a signature of no thinking: nothing to sign
    this.#open.signed = true;
    out.push(this.#delta({ type: "signature_delta", signature }));
  }

  #toolCall(out: string[], index: number, id: string, name: string): void {
    if (this.#calls.has(index)) return;
    this.#calls.add(index);
    const open = this.#open;
    if (this.#deferred.size || (open?.kind === "tool" && !wholeJson(open.args))) {
      this.#deferred.set(index, { id, name, args: "" });
      return;
    }
    this.#toolBlock(out, index, id, name);
  }

  #toolBlock(out: string[], index: number, id: string, name: string): void {
    this.#begin(out, { kind: "tool", call: index, args: "" }, {
      type: "tool_use",
      id: id || toolUseId(),
      name,
      input: {},
    });
  }

  #toolArgs(out: string[], index: number, args: string): void {
    const open = this.#open;
    if (open?.kind === "tool" && open.call === index) {
      open.args += args;
      out.push(this.#stringDelta("input_json_delta", "partial_json", args));
      return;
    }
    const deferred = this.#deferred.get(index);
    if (deferred) deferred.args += args;
  }

  /** The deferred calls, each a whole block, after the open block. */
  #flushDeferred(out: string[]): void {
    for (const [index, call] of this.#deferred) {
      this.#toolBlock(out, index, call.id, call.name);
      if (call.args) out.push(this.#stringDelta("input_json_delta", "partial_json", call.args));
      this.#close(out);
    }
    this.#deferred.clear();
  }

  /** The Messages events (as SSE text) for one event. */
  event(ev: ModelEvent): string {
    if (this.ended) return "";
    if (ev.type === "error") return this.fail(ev.error);
    if ("choice" in ev && ev.choice !== 0) return "";
    const out: string[] = [];
    this.#start(out);
    switch (ev.type) {
      case "reasoning":
        if (ev.text) this.#thinking(out, ev.text);
        break;
      case "reasoning_signature":
        this.#signature(out, ev.signature);
        break;
      case "redacted_reasoning":
        this.#begin(out, { kind: "redacted" }, { type: "redacted_thinking", data: ev.data });
        this.#close(out);
        break;
      case "text":
      case "refusal":
        if (ev.text) this.#text(out, ev.text);
        break;
      case "tool_call":
        this.#toolCall(out, ev.index, ev.id, ev.name);
        break;
      case "tool_args":
        if (ev.arguments) this.#toolArgs(out, ev.index, ev.arguments);
        break;
      case "finish":
        this.#finish = ev.reason;
        this.#close(out);
        this.#flushDeferred(out);
        break;
      case "usage":
        this.#usage = chatUsage(ev.usage);
        break;
    }
    return out.join("");
  }

  /** The end of the answer: the open block closed, `message_delta` with the stop reason and usage, `message_stop`. */
  #stop(): string {
    const out: string[] = [];
    this.#start(out);
    this.#close(out);
    this.#flushDeferred(out);
    out.push(namedEvent("message_delta", {
      delta: { stop_reason: stopReason(this.#finish), stop_sequence: null },
      usage: messagesUsage(this.#usage),
    }));
    out.push(namedEvent("message_stop", {}));
    this.ended = true;
    return out.join("");
  }

  /** End the stream with an `error` event. */
  fail(error: { message?: unknown; type?: unknown; code?: unknown }): string {
    if (this.ended) return "";
    this.ended = true;
    return errorEvent(error);
  }

  /** The events ended: finish a finished answer; an unfinished one ends with an error. */
  end(): string {
    if (this.ended) return "";
    if (this.#finish !== null) return this.#stop();
    return this.fail({ message: CUT_OFF_MESSAGE, type: "api_error", code: "upstream_error" });
  }
}
