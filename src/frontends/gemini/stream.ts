/**
 * Streams for the Gemini front end (SPEC §17.3): a translated Chat stream → Gemini events framed as SSE without
 * `[DONE]` or as Google's JSON array, in one transform ({@link chatSseToGeminiBytes}); and, for a passed-through
 * Gemini stream the client wants as a JSON array, SSE bytes → event data ({@link sseDataEvents}) → the array
 * ({@link jsonArrayFraming}).
 */
import { createParser } from "eventsource-parser";
import type { Usage } from "../../openai/types.ts";
import { geminiFinishReason, geminiUsage } from "../../providers/gemini/mappings.ts";
import { errorInfo, googleErrorBody, statusOfFailure } from "../../providers/gemini/google_error.ts";
import type { GeminiPart, GeminiUsage } from "../../providers/gemini/types.ts";
import { functionCallPart, reasoningText } from "./parts.ts";
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

/** Where translated events go. */
type Out = { enqueue(json: string): void };

/** A tool call being assembled from its fragments. */
interface CallDraft {
  id?: string;
  name: string;
  args: string;
}

/** One choice's state in a Chat stream. */
interface ChoiceState {
  calls: CallDraft[];
}

/**
 * Chat chunk data → Gemini response JSON. Text and reasoning go out as they come (reasoning as `thought`
 * parts); a tool call goes out whole as a `functionCall` part with its choice's finish; the finishing
 * candidates wait for the usage chunk so the last event carries `usageMetadata`, as Gemini's does. A Chat
 * error event becomes Google's error object and ends the stream, and so does a stream that closes before any
 * finish reason (and without `[DONE]`): the answer may be cut off. `[DONE]` is not sent on. Plain calls: each
 * Chat event's data in, Gemini JSON out.
 */
function geminiTranslator(): {
  data(d: string, out: (json: string) => void): void;
  end(out: (json: string) => void): void;
} {
  const choices = new Map<number, ChoiceState>();
  let held: Obj[] = [];
  let usage: GeminiUsage | undefined;
  let model: string | undefined;
  let responseId: string | undefined;
  let stopped = false;
  let finished = false; // a choice's finish_reason arrived
  const meta = () => ({
    ...(model ? { modelVersion: model } : {}),
    ...(responseId ? { responseId } : {}),
  });
  const flushHeld = (c: Out) => {
    if (!held.length && !usage) return;
    c.enqueue(JSON.stringify({
      candidates: held,
      ...(usage ? { usageMetadata: usage } : {}),
      ...meta(),
    }));
    held = [];
    usage = undefined;
  };
  const fail = (c: Out, e: Obj) => {
    const type = typeof e.type === "string" ? e.type : "api_error";
    const code = typeof e.code === "string" ? e.code : "upstream_error";
    const message = typeof e.message === "string" ? e.message : "The upstream failed during the stream.";
    c.enqueue(JSON.stringify(googleErrorBody(statusOfFailure(type, code), message, [errorInfo(code)])));
    stopped = true;
  };
  return {
    data(data, out) {
      const c = { enqueue: out };
      if (stopped) return;
      if (data.trim() === "[DONE]") {
        flushHeld(c);
        stopped = true;
        return;
      }
      let chunk: Obj;
      try {
        chunk = JSON.parse(data);
      } catch {
        return fail(c, { message: "The upstream sent a stream event that is not JSON.", code: "bad_stream" });
      }
      if (chunk === null || typeof chunk !== "object") return;
      if (chunk.error) return fail(c, (typeof chunk.error === "object" ? chunk.error : {}) as Obj);
      if (typeof chunk.model === "string") model = chunk.model;
      if (typeof chunk.id === "string") responseId = chunk.id;
      if (chunk.usage && typeof chunk.usage === "object") usage = geminiUsage(chunk.usage as Usage);
      const candidates: Obj[] = [];
      for (const [i, choice] of (Array.isArray(chunk.choices) ? chunk.choices as Obj[] : []).entries()) {
        const index = typeof choice.index === "number" ? choice.index : i;
        let state = choices.get(index);
        if (!state) choices.set(index, state = { calls: [] });
        const delta = (choice.delta ?? {}) as Obj;
        const parts: GeminiPart[] = [];
        const reasoning = reasoningText(delta);
        if (reasoning) parts.push({ text: reasoning, thought: true });
        if (typeof delta.content === "string" && delta.content) parts.push({ text: delta.content });
        if (typeof delta.refusal === "string" && delta.refusal) parts.push({ text: delta.refusal });
        for (const [k, tc] of (Array.isArray(delta.tool_calls) ? delta.tool_calls as Obj[] : []).entries()) {
          const at = typeof tc.index === "number" ? tc.index : k;
          const draft = state.calls[at] ??= { name: "", args: "" };
          const fn = (tc.function ?? {}) as Obj;
          if (typeof tc.id === "string" && tc.id) draft.id = tc.id;
          if (typeof fn.name === "string") draft.name ||= fn.name;
          if (typeof fn.arguments === "string") draft.args += fn.arguments;
        }
        const finish = choice.finish_reason;
        if (typeof finish === "string" && finish) {
          finished = true;
          for (const call of state.calls) {
            if (call) parts.push(functionCallPart(call.id, call.name, call.args));
          }
          state.calls = [];
          held.push({ content: { role: "model", parts }, finishReason: geminiFinishReason(finish), index });
        } else if (parts.length) candidates.push({ content: { role: "model", parts }, index });
      }
      if (candidates.length) c.enqueue(JSON.stringify({ candidates, ...meta() }));
    },
    end(out) {
      const c = { enqueue: out };
      if (stopped) return;
      flushHeld(c);
      if (!finished) {
        fail(c, { message: "The upstream ended the stream before the answer finished; it may be cut off." });
      }
    },
  };
}

/**
 * Chat SSE bytes → Gemini events as bytes, framed as SSE (`sse`) or Google's JSON array: decoding, event
 * parsing, translation, framing and encoding in one `TransformStream` — as four piped transforms each hop cost a
 * promise round per chunk, which made this front end's streams the slowest.
 */
export function chatSseToGeminiBytes(sse: boolean): TransformStream<Uint8Array, Uint8Array> {
  const decoder = new TextDecoder();
  const encoder = new TextEncoder();
  const t = geminiTranslator();
  let first = true;
  let out = "";
  const frame = (json: string) => {
    out += sse ? `data: ${json}\n\n` : first ? `[${json}` : `,\r\n${json}`;
    first = false;
  };
  const parser = createParser({ onEvent: (ev) => t.data(ev.data, frame) });
  const send = (c: TransformStreamDefaultController<Uint8Array>) => {
    if (out) c.enqueue(encoder.encode(out));
    out = "";
  };
  return new TransformStream({
    transform(chunk, c) {
      parser.feed(decoder.decode(chunk, { stream: true }));
      send(c);
    },
    flush(c) {
      parser.feed(decoder.decode() + "\n\n");
      t.end(frame);
      if (!sse) out += first ? "[]" : "]";
      send(c);
    },
  });
}
