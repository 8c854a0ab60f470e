/**
 * Gemini `streamGenerateContent?alt=sse` → OpenAI `chat.completion.chunk` SSE, event by event as they arrive
 * (SPEC §3.2, §7). {@link GeminiStreamTranslator} is the pure state machine; {@link translateGeminiSse} wires
 * it to the upstream bytes with `eventsource-parser`. The output goes through `commitStream` like any
 * OpenAI-format stream, so the commit rule and the --timeout watchdog apply unchanged.
 */
import { pipeSseThrough } from "../../runner/sse_translation.ts";
import { sseData } from "../../openai/sse.ts";
import {
  type CompletionMeta,
  deltaSse,
  roleDelta,
  SSE_DONE,
  toolCallDeltas,
  usageSse,
} from "../../openai/build.ts";
import type { Usage } from "../../openai/types.ts";
import {
  blockRefusal,
  candidateIndex,
  candidateOutput,
  malformedResponse,
  mapFinishReason,
  mapUsage,
} from "./response.ts";
import type { GeminiResponse } from "./types.ts";

/** Largest single upstream event accepted unless the caller says otherwise (memory bound per stream). */
const MAX_EVENT_BYTES = 64 * 1024 * 1024;

interface CandidateState {
  toolCalls: number;
  finished: boolean;
}

/** Turns Gemini stream events into OpenAI chunk events. One instance per stream. */
export class GeminiStreamTranslator {
  #meta: CompletionMeta;
  #candidates = new Map<number, CandidateState>();
  #usage: Usage | undefined;
  #stopped = false;

  /** `meta` gives the id and created time shared by every chunk. */
  constructor(meta: CompletionMeta) {
    this.#meta = { ...meta };
  }

  /** True after an error event was produced: nothing more should be read. */
  get stopped(): boolean {
    return this.#stopped;
  }

  /** End the stream with an error event (`code` defaults to bad_stream). */
  fail(message: string, code = "bad_stream"): string {
    return this.#stopped ? "" : this.#error(message, code);
  }

  #error(message: string, code: string, extra: Record<string, unknown> = {}): string {
    this.#stopped = true;
    return sseData({ error: { message, code, ...extra } });
  }

  #state(index: number, out: string[]): CandidateState {
    let s = this.#candidates.get(index);
    if (!s) {
      s = { toolCalls: 0, finished: false };
      this.#candidates.set(index, s);
      out.push(deltaSse(this.#meta, index, roleDelta()));
    }
    return s;
  }

  /** Translate one upstream event's `data` into zero or more SSE events (as text). */
  push(data: string): string {
    if (this.#stopped) return "";
    let r: GeminiResponse;
    try {
      r = JSON.parse(data);
    } catch {
      return this.#error("Gemini sent a stream event that is not JSON.", "bad_stream");
    }
    if (r === null || typeof r !== "object" || Array.isArray(r)) {
      return this.#error("Gemini sent a stream event that is not an object.", "bad_stream");
    }
    if (r.error) {
      const e = (typeof r.error === "object" ? r.error : { message: String(r.error) }) as Record<
        string,
        unknown
      >;
      return this.#error(
        typeof e.message === "string" ? e.message : "Gemini reported an error in the stream.",
        "upstream_error",
        { google: e },
      );
    }
    const malformed = malformedResponse(r);
    if (malformed) return this.#error(`Gemini sent a malformed stream event (${malformed}).`, "bad_stream");
    if (r.modelVersion) this.#meta.model = r.modelVersion;
    if (r.usageMetadata) this.#usage = mapUsage(r.usageMetadata);
    const out: string[] = [];
    for (const [i, c] of (r.candidates ?? []).entries()) {
      const index = candidateIndex(c, i);
      const s = this.#state(index, out);
      if (s.finished) continue;
      const { text, toolCalls } = candidateOutput(c);
      if (text) out.push(deltaSse(this.#meta, index, { content: text }));
      if (toolCalls.length) {
        out.push(deltaSse(this.#meta, index, { tool_calls: toolCallDeltas(toolCalls, s.toolCalls) }));
        s.toolCalls += toolCalls.length;
      }
      if (c.finishReason) {
        s.finished = true;
        const finish = mapFinishReason(c.finishReason, s.toolCalls > 0);
        out.push(deltaSse(this.#meta, index, {}, finish));
      }
    }
    if (!r.candidates?.length && r.promptFeedback?.blockReason && !this.#candidates.size) {
      const s = this.#state(0, out);
      s.finished = true;
      out.push(deltaSse(this.#meta, 0, { refusal: blockRefusal(r.promptFeedback) }));
      out.push(deltaSse(this.#meta, 0, {}, "content_filter"));
    }
    return out.join("");
  }

  /**
   * The upstream closed: the usage chunk (always; commitStream drops it when the client did not ask) and
   * `[DONE]` — or nothing for an empty stream (so the commit rule fails over), or an error when a started
   * answer never got a finish reason (it was cut off).
   */
  end(): string {
    if (this.#stopped) return "";
    if (!this.#candidates.size) return "";
    if ([...this.#candidates.values()].some((s) => !s.finished)) {
      return this.#error(
        "Gemini ended the stream without a finish reason; the answer may be cut off.",
        "bad_stream",
      );
    }
    return (this.#usage ? usageSse(this.#meta, this.#usage) : "") + SSE_DONE;
  }
}

/**
 * Pipe Gemini SSE bytes through the translator. `onBytes` is called for every upstream chunk (the watchdog).
 * After an error event the output ends and the upstream is cancelled. An event over `maxEventBytes`
 * (--max-upstream-body-mb) ends the stream with a `too_large` error; other parse problems (an unknown field,
 * a bad `retry`) are ignored, as the SSE format says.
 */
export function translateGeminiSse(
  body: ReadableStream<Uint8Array>,
  meta: CompletionMeta,
  onBytes: () => void = () => {},
  maxEventBytes = MAX_EVENT_BYTES,
): ReadableStream<Uint8Array> {
  return pipeSseThrough(body, new GeminiStreamTranslator(meta), {
    provider: "Gemini",
    onBytes,
    maxEventBytes,
  });
}
