/**
 * Streams for the Gemini front end (SPEC §17.3): the conversation model's events → Gemini events framed as SSE
 * without `[DONE]` or as Google's JSON array ({@link GeminiRenderer}, driven by `model/render.ts`); and, for a
 * passed-through Gemini stream the client wants as a JSON array, SSE bytes → event data ({@link sseDataEvents})
 * → the array ({@link jsonArrayFraming}).
 */
import { createParser } from "eventsource-parser";
import { geminiFinishReason, geminiUsage } from "../../providers/gemini/mappings.ts";
import { errorInfo, googleErrorBody, statusOfFailure } from "../../providers/gemini/google_error.ts";
import type { GeminiPart, GeminiUsage } from "../../providers/gemini/types.ts";
import { CUT_OFF_MESSAGE, type ModelError, type ModelEvent, type StreamMeta } from "../../model/events.ts";
import type { EventRenderer } from "../../model/render.ts";
import { chatUsage } from "../../model/usage.ts";
import { functionCallPart } from "./parts.ts";
import type { Obj } from "./fields.ts";

/** SSE bytes → the data of each event (a last event without its blank line still counts). */
export function sseDataEvents(): TransformStream<Uint8Array, string> {
  const decoder = new TextDecoder();
  let out: string[] = [];
  const parser = createParser({ onEvent: (ev) => out.push(ev.data) });
  const drain = (c: TransformStreamDefaultController<string>) => {
    for (const d of out) c.enqueue(d);
    out = [];
  };
  return new TransformStream({
    transform(chunk, c) {
      parser.feed(decoder.decode(chunk, { stream: true }));
      drain(c);
    },
    flush(c) {
      parser.feed(decoder.decode() + "\n\n");
      drain(c);
    },
  });
}

/** Event data (JSON objects) → one JSON array, element by element as they come, as Google streams it. */
export function jsonArrayFraming(): TransformStream<string, string> {
  let first = true;
  return new TransformStream({
    transform(data, c) {
      c.enqueue(first ? `[${data}` : `,\r\n${data}`);
      first = false;
    },
    flush(c) {
      c.enqueue(first ? "[]" : "]");
    },
  });
}

/** A tool call being assembled from its fragments. */
interface CallDraft {
  id: string;
  name: string;
  args: string;
}

/**
 * Events → Gemini response JSON, framed. Text and reasoning go out as they come (reasoning as `thought` parts);
 * a tool call goes out whole as a `functionCall` part with its choice's finish; the finishing candidates wait
 * for the end so the last event carries `usageMetadata`, as Gemini's does. An error event becomes Google's
 * error object and ends the stream, and so do events that end before any finish: the answer may be cut off.
 */
export class GeminiRenderer implements EventRenderer {
  /**
   * Each choice's tool calls by their index. A map, not an array: the index is the upstream's number, and an
   * array at index 4294967294 made the finish walk four billion holes with the event loop blocked.
   */
  #calls = new Map<number, Map<number, CallDraft>>();
  #held: Obj[] = [];
  #usage: GeminiUsage | undefined;
  #finished = false;
  #first = true;
  ended = false;

  /** `meta` gives `modelVersion` and `responseId` as each event is written; `sse` picks the framing. */
  constructor(private readonly meta: StreamMeta, private readonly sse: boolean) {}

  #frame(json: string): string {
    const out = this.sse ? `data: ${json}\n\n` : this.#first ? `[${json}` : `,\r\n${json}`;
    this.#first = false;
    return out;
  }

  #meta(): Obj {
    return {
      ...(this.meta.model ? { modelVersion: this.meta.model } : {}),
      ...(this.meta.id ? { responseId: this.meta.id } : {}),
    };
  }

  #part(index: number, part: GeminiPart): string {
    return this.#frame(
      JSON.stringify({ candidates: [{ content: { role: "model", parts: [part] }, index }], ...this.#meta() }),
    );
  }

  #fail(e: ModelError): string {
    const type = typeof e.type === "string" ? e.type : "api_error";
    const code = typeof e.code === "string" ? e.code : "upstream_error";
    const message = typeof e.message === "string" ? e.message : "The upstream failed during the stream.";
    this.ended = true;
    return this.#frame(
      JSON.stringify(googleErrorBody(statusOfFailure(type, code), message, [errorInfo(code)])),
    ) +
      (this.sse ? "" : "]");
  }

  event(ev: ModelEvent): string {
    if (this.ended) return "";
    switch (ev.type) {
      case "text":
      case "refusal":
        return ev.text ? this.#part(ev.choice, { text: ev.text }) : "";
      case "reasoning":
        return ev.text ? this.#part(ev.choice, { text: ev.text, thought: true }) : "";
      case "tool_call": {
        const calls = this.#calls.get(ev.choice) ?? new Map<number, CallDraft>();
        this.#calls.set(ev.choice, calls);
        calls.set(ev.index, { id: ev.id, name: ev.name, args: "" });
        return "";
      }
      case "tool_args": {
        const draft = this.#calls.get(ev.choice)?.get(ev.index);
        if (draft) draft.args += ev.arguments;
        return "";
      }
      case "finish": {
        this.#finished = true;
        const parts: GeminiPart[] = [];
        const calls = [...this.#calls.get(ev.choice) ?? []].sort(([a], [b]) => a - b);
        for (const [, call] of calls) parts.push(functionCallPart(call.id, call.name, call.args));
        this.#calls.delete(ev.choice);
        this.#held.push({
          content: { role: "model", parts },
          finishReason: geminiFinishReason(ev.reason),
          index: ev.choice,
        });
        return "";
      }
      case "usage":
        this.#usage = geminiUsage(chatUsage(ev.usage));
        return "";
      case "error":
        return this.#fail(ev.error);
      default: // signatures and redacted reasoning: Gemini has no place for them
        return "";
    }
  }

  /** The finishing candidates with the usage, and the array's end; an unfinished answer ends with an error. */
  end(): string {
    if (this.ended) return "";
    let out = "";
    if (this.#held.length || this.#usage) {
      out += this.#frame(JSON.stringify({
        candidates: this.#held,
        ...(this.#usage ? { usageMetadata: this.#usage } : {}),
        ...this.#meta(),
      }));
    }
    if (!this.#finished) return out + this.#fail({ message: CUT_OFF_MESSAGE });
    this.ended = true;
    return out + (this.sse ? "" : this.#first ? "[]" : "]");
  }
}
