/**
 * Anthropic Messages SSE → the conversation model's events, event by event (SPEC §3.4, §7):
 * `message_start` (model, input usage), `content_block_start/delta/stop` (text, `tool_use` with
 * `input_json_delta`, `thinking` with its signature, `redacted_thinking`), `message_delta` (stop reason, output
 * usage), `message_stop`, `ping` and `error`. {@link AnthropicStreamTranslator} is the pure state machine; the
 * events go through the commit rule (`runner/commit_events.ts`).
 */
import { pipeSseThrough } from "../../runner/sse_translation.ts";
import type { ModelEvent, StreamMeta } from "../../model/events.ts";
import { modelUsage } from "../../model/usage.ts";
import { type AnthropicUsage, mapStopReason, mapUsage } from "./response.ts";

/** Turns Anthropic stream events into the model's events. One instance per stream. */
export class AnthropicStreamTranslator {
  #meta: StreamMeta;
  #started = false;
  #stopped = false;
  #finished = false;
  #usage: AnthropicUsage = {};
  /** Anthropic block index → tool-call index of the chunk deltas. */
  #tools = new Map<number, number>();
  /** Tool blocks (by Anthropic index) that got input: one that ends without any had input `{}`. */
  #withInput = new Set<number>();

  /** `meta` is the stream's: the model Anthropic names (`message_start`) is written into it. */
  constructor(meta: StreamMeta) {
    this.#meta = meta;
  }

  /** True after an error event was produced: nothing more should be read. */
  get stopped(): boolean {
    return this.#stopped;
  }

  #complete = false;
  /** True once `message_stop` came after the stop reason: the answer is whole, the upstream need not close first. */
  get complete(): boolean {
    return this.#complete;
  }

  /** End the stream with an error event. */
  fail(message: string, code = "bad_stream", extra: Record<string, unknown> = {}): ModelEvent[] {
    if (this.#stopped) return [];
    this.#stopped = true;
    return [{ type: "error", error: { message, code, ...extra } }];
  }

  /** One event of the answer (its only choice). */
  #one(ev: ModelEvent): ModelEvent[] {
    this.#started = true;
    return [ev];
  }

  /** Translate one upstream event (its `data`) into zero or more events. */
  push(data: string): ModelEvent[] {
    if (this.#stopped) return [];
    let ev: Record<string, unknown>;
    try {
      ev = JSON.parse(data);
    } catch {
      return this.fail("Anthropic sent a stream event that is not JSON.");
    }
    if (ev === null || typeof ev !== "object" || typeof ev.type !== "string") {
      return this.fail("Anthropic sent a stream event without a type.");
    }
    switch (ev.type) {
      case "message_start": {
        const m = (ev.message ?? {}) as { model?: unknown; usage?: AnthropicUsage };
        if (typeof m.model === "string") this.#meta.model = m.model;
        this.#usage = { ...m.usage };
        return [];
      }
      case "content_block_start": {
        const index = ev.index as number;
        const block = (ev.content_block ?? {}) as {
          type?: string;
          id?: string;
          name?: string;
          text?: string;
          data?: string;
        };
        if (block.type === "tool_use") {
          const n = this.#tools.size;
          this.#tools.set(index, n);
          return this.#one({
            type: "tool_call",
            choice: 0,
            index: n,
            id: block.id ?? "",
            name: block.name ?? "",
          });
        }
        if (block.type === "text" && block.text) {
          return this.#one({ type: "text", choice: 0, text: block.text });
        }
        if (block.type === "redacted_thinking" && typeof block.data === "string") {
          return this.#one({ type: "redacted_reasoning", choice: 0, data: block.data });
        }
        return [];
      }
      case "content_block_delta": {
        const d = (ev.delta ?? {}) as Record<string, string | undefined>;
        if (d.type === "text_delta" && d.text) return this.#one({ type: "text", choice: 0, text: d.text });
        if (d.type === "thinking_delta" && d.thinking) {
          return this.#one({ type: "reasoning", choice: 0, text: d.thinking });
        }
        if (d.type === "signature_delta" && d.signature) {
          return this.#one({ type: "reasoning_signature", choice: 0, signature: d.signature });
        }
        if (d.type === "input_json_delta" && d.partial_json) {
          const n = this.#tools.get(ev.index as number);
          if (n === undefined) {
            return this.fail("Anthropic sent tool input for a block that is not a tool_use.");
          }
          this.#withInput.add(ev.index as number);
          return this.#one({ type: "tool_args", choice: 0, index: n, arguments: d.partial_json });
        }
        return [];
      }
      case "content_block_stop": {
        // A tool without parameters streams no input (one empty `partial_json`): its arguments are `{}`, as in
        // the whole answer, not an empty string a client's JSON.parse fails on.
        const index = ev.index as number;
        const n = this.#tools.get(index);
        if (n === undefined || this.#withInput.has(index)) return [];
        this.#withInput.add(index);
        return this.#one({ type: "tool_args", choice: 0, index: n, arguments: "{}" });
      }
      case "message_delta": {
        const d = (ev.delta ?? {}) as { stop_reason?: string | null };
        const u = (ev.usage ?? {}) as AnthropicUsage;
        for (const [k, v] of Object.entries(u)) {
          if (typeof v === "number") this.#usage[k as keyof AnthropicUsage] = v;
        }
        if (d.stop_reason === undefined || d.stop_reason === null) return [];
        this.#finished = true;
        return this.#one({ type: "finish", choice: 0, reason: mapStopReason(d.stop_reason) });
      }
      case "error": {
        const e = (ev.error ?? {}) as { type?: unknown; message?: unknown };
        return this.fail(
          typeof e.message === "string" ? e.message : "Anthropic reported an error in the stream.",
          typeof e.type === "string" ? e.type : "upstream_error",
          { anthropic: e },
        );
      }
      case "message_stop":
        this.#complete = this.#finished;
        return [];
      default: // ping, and event types added later
        return [];
    }
  }

  /**
   * The upstream closed: the usage (the Chat front end shows it only when the client asked); nothing for a
   * stream that said nothing (the commit rule fails over); an error when it was cut off.
   */
  end(): ModelEvent[] {
    if (this.#stopped) return [];
    if (!this.#started && !this.#finished) return [];
    if (!this.#finished) {
      return this.fail("Anthropic ended the stream without a stop reason; the answer may be cut off.");
    }
    return [{ type: "usage", usage: modelUsage(mapUsage(this.#usage)) }];
  }
}

/**
 * Pipe Anthropic SSE bytes through the translator. `onBytes` is called for every upstream chunk (the
 * watchdog). After an error event the output ends. An event over `maxEventBytes` ends it with `too_large`.
 */
export function translateAnthropicSse(
  body: ReadableStream<Uint8Array>,
  meta: StreamMeta,
  onBytes: () => void,
  maxEventBytes: number,
): ReadableStream<ModelEvent> {
  return pipeSseThrough(body, new AnthropicStreamTranslator(meta), {
    provider: "Anthropic",
    onBytes,
    maxEventBytes,
  });
}
