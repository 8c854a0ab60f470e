/**
 * Gemini `streamGenerateContent?alt=sse` → the conversation model's events, event by event as they arrive
 * (SPEC §3.2, §7). {@link GeminiStreamTranslator} is the pure state machine; {@link translateGeminiSse} wires
 * it to the upstream bytes with `eventsource-parser`. The events go through the commit rule
 * (`runner/commit_events.ts`), so the rule and the --timeout watchdog apply unchanged.
 */
import { pipeSseThrough } from "../../runner/sse_translation.ts";
import type { ModelEvent, ModelUsage, StreamMeta } from "../../model/events.ts";
import { modelUsage } from "../../model/usage.ts";
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

/** Turns Gemini stream events into the model's events. One instance per stream. */
export class GeminiStreamTranslator {
  #meta: StreamMeta;
  #candidates = new Map<number, CandidateState>();
  #usage: ModelUsage | undefined;
  #stopped = false;

  /** `meta` is the stream's: the model Gemini names (`modelVersion`) is written into it. */
  constructor(meta: StreamMeta) {
    this.#meta = meta;
  }

  /** True after an error event was produced: nothing more should be read. */
  get stopped(): boolean {
    return this.#stopped;
  }

  /** End the stream with an error event (`code` defaults to bad_stream). */
  fail(message: string, code = "bad_stream"): ModelEvent[] {
    return this.#stopped ? [] : this.#error(message, code);
  }

  #error(message: string, code: string, extra: Record<string, unknown> = {}): ModelEvent[] {
    this.#stopped = true;
    return [{ type: "error", error: { message, code, ...extra } }];
  }

  #state(index: number): CandidateState {
    let s = this.#candidates.get(index);
    if (!s) {
      s = { toolCalls: 0, finished: false };
      this.#candidates.set(index, s);
    }
    return s;
  }

  /** Translate one upstream event's `data` into zero or more events. */
  push(data: string): ModelEvent[] {
    if (this.#stopped) return [];
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
    if (r.usageMetadata) this.#usage = modelUsage(mapUsage(r.usageMetadata));
    const out: ModelEvent[] = [];
    for (const [i, c] of (r.candidates ?? []).entries()) {
      const choice = candidateIndex(c, i);
      const s = this.#state(choice);
      if (s.finished) continue;
      const { text, toolCalls } = candidateOutput(c);
      if (text) out.push({ type: "text", choice, text });
      for (const tc of toolCalls) {
        const index = s.toolCalls++;
        out.push({ type: "tool_call", choice, index, id: tc.id, name: tc.name });
        out.push({ type: "tool_args", choice, index, arguments: tc.arguments });
      }
      if (c.finishReason) {
        s.finished = true;
        const reason = mapFinishReason(c.finishReason, s.toolCalls > 0);
        if (reason) out.push({ type: "finish", choice, reason });
      }
    }
    if (!r.candidates?.length && r.promptFeedback?.blockReason && !this.#candidates.size) {
      const s = this.#state(0);
      s.finished = true;
      out.push({ type: "refusal", choice: 0, text: blockRefusal(r.promptFeedback) });
      out.push({ type: "finish", choice: 0, reason: "content_filter" });
    }
    return out;
  }

  /**
   * The upstream closed: the usage (always; the Chat front end shows it only when the client asked) — or
   * nothing for an empty stream (so the commit rule fails over), or an error when a started answer never got a
   * finish reason (it was cut off).
   */
  end(): ModelEvent[] {
    if (this.#stopped) return [];
    if (!this.#candidates.size) return [];
    if ([...this.#candidates.values()].some((s) => !s.finished)) {
      return this.#error(
        "Gemini ended the stream without a finish reason; the answer may be cut off.",
        "bad_stream",
      );
    }
    return this.#usage ? [{ type: "usage", usage: this.#usage }] : [];
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
  meta: StreamMeta,
  onBytes: () => void = () => {},
  maxEventBytes = MAX_EVENT_BYTES,
): ReadableStream<ModelEvent> {
  return pipeSseThrough(body, new GeminiStreamTranslator(meta), {
    provider: "Gemini",
    onBytes,
    maxEventBytes,
  });
}
