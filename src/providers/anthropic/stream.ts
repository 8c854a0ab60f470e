/**
 * Anthropic Messages SSE → `chat.completion.chunk` SSE, event by event (SPEC §3.4, §7):
 * `message_start` (model, input usage), `content_block_start/delta/stop` (text, `tool_use` with
 * `input_json_delta`, `thinking` with its signature), `message_delta` (stop reason, output usage),
 * `message_stop`, `ping` and `error`. {@link AnthropicStreamTranslator} is the pure state machine; the output
 * goes through `commitStream` like any OpenAI-format stream.
 */
import { pipeSseThrough } from "../../runner/sse_translation.ts";
import { sseData } from "../../openai/sse.ts";
import { type CompletionMeta, deltaSse, roleDelta, SSE_DONE, usageSse } from "../../openai/build.ts";
import { type AnthropicUsage, mapStopReason, mapUsage } from "./response.ts";

/** Turns Anthropic stream events into OpenAI chunk events. One instance per stream. */
export class AnthropicStreamTranslator {
  #meta: CompletionMeta;
  #started = false;
  #stopped = false;
  #finished = false;
  #usage: AnthropicUsage = {};
  /** Anthropic block index → tool-call index of the chunk deltas. */
  #tools = new Map<number, number>();

  /** `meta` gives the id and created time shared by every chunk. */
  constructor(meta: CompletionMeta) {
    this.#meta = { ...meta };
  }

  /** True after an error event was produced: nothing more should be read. */
  get stopped(): boolean {
    return this.#stopped;
  }

  /** End the stream with an error event. */
  fail(message: string, code = "bad_stream", extra: Record<string, unknown> = {}): string {
    if (this.#stopped) return "";
    this.#stopped = true;
    return sseData({ error: { message, code, ...extra } });
  }

  #delta(delta: Record<string, unknown>, finish: string | null = null): string {
    const first = this.#started ? "" : deltaSse(this.#meta, 0, roleDelta());
    this.#started = true;
    return first + deltaSse(this.#meta, 0, delta, finish);
  }

  /** Translate one upstream event (its `data`) into zero or more SSE events (as text). */
  push(data: string): string {
    if (this.#stopped) return "";
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
        return "";
      }
      case "content_block_start": {
        const index = ev.index as number;
        const block = (ev.content_block ?? {}) as {
          type?: string;
          id?: string;
          name?: string;
          text?: string;
        };
        if (block.type === "tool_use") {
          const n = this.#tools.size;
          this.#tools.set(index, n);
          return this.#delta({
            tool_calls: [{
              index: n,
              id: block.id,
              type: "function",
              function: { name: block.name, arguments: "" },
            }],
          });
        }
        if (block.type === "text" && block.text) return this.#delta({ content: block.text });
        return "";
      }
      case "content_block_delta": {
        const d = (ev.delta ?? {}) as Record<string, string | undefined>;
        if (d.type === "text_delta" && d.text) return this.#delta({ content: d.text });
        if (d.type === "thinking_delta" && d.thinking) return this.#delta({ reasoning_content: d.thinking });
        if (d.type === "signature_delta" && d.signature) {
          return this.#delta({ reasoning_signature: d.signature });
        }
        if (d.type === "input_json_delta" && d.partial_json) {
          const n = this.#tools.get(ev.index as number);
          if (n === undefined) {
            return this.fail("Anthropic sent tool input for a block that is not a tool_use.");
          }
          return this.#delta({ tool_calls: [{ index: n, function: { arguments: d.partial_json } }] });
        }
        return "";
      }
      case "message_delta": {
        const d = (ev.delta ?? {}) as { stop_reason?: string | null };
        const u = (ev.usage ?? {}) as AnthropicUsage;
        for (const [k, v] of Object.entries(u)) {
          if (typeof v === "number") this.#usage[k as keyof AnthropicUsage] = v;
        }
        if (d.stop_reason === undefined || d.stop_reason === null) return "";
        this.#finished = true;
        return this.#delta({}, mapStopReason(d.stop_reason));
      }
      case "error": {
        const e = (ev.error ?? {}) as { type?: unknown; message?: unknown };
        return this.fail(
          typeof e.message === "string" ? e.message : "Anthropic reported an error in the stream.",
          typeof e.type === "string" ? e.type : "upstream_error",
          { anthropic: e },
        );
      }
      default: // ping, content_block_stop, message_stop, and event types added later
        return "";
    }
  }

  /**
   * The upstream closed: the usage chunk (commitStream drops it when the client did not ask) and `[DONE]`;
   * nothing for a stream that said nothing (the commit rule fails over); an error when it was cut off.
   */
  end(): string {
    if (this.#stopped) return "";
    if (!this.#started && !this.#finished) return "";
    if (!this.#finished) {
      return this.fail("Anthropic ended the stream without a stop reason; the answer may be cut off.");
    }
    return usageSse(this.#meta, mapUsage(this.#usage)) + SSE_DONE;
  }
}

/**
 * Pipe Anthropic SSE bytes through the translator. `onBytes` is called for every upstream chunk (the
 * watchdog). After an error event the output ends. An event over `maxEventBytes` ends it with `too_large`.
 */
export function translateAnthropicSse(
  body: ReadableStream<Uint8Array>,
  meta: CompletionMeta,
  onBytes: () => void,
  maxEventBytes: number,
): ReadableStream<Uint8Array> {
  return pipeSseThrough(body, new AnthropicStreamTranslator(meta), {
    provider: "Anthropic",
    onBytes,
    maxEventBytes,
  });
}
