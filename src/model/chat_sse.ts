/**
 * The one transform from a Chat Completions SSE byte stream (a Chat upstream's committed stream) to
 * {@link ModelEvent}s, so each non-Chat front end renders from events only. `[DONE]` ends the events (a
 * choice that never finished is finished then: `tool_calls` when it called a tool, else `stop`); an error
 * event ends them with that error; a stream that closes before anything finished ends with a cut-off error. What follows `[DONE]` is read to its end
 * within a short grace, not cancelled at once (`core/past_end.ts`).
 */
import { createParser } from "eventsource-parser";
import { CUT_OFF_MESSAGE, type ModelEvent, type StreamMeta } from "./events.ts";
import { ChatChunkReader } from "./chat_chunks.ts";
import { readPastEnd } from "../core/past_end.ts";

/** Chat SSE bytes → events; `meta` gets the model and id the chunks name. Cancelling it cancels `body`. */
export function chatSseEvents(
  body: ReadableStream<Uint8Array>,
  meta?: StreamMeta,
): ReadableStream<ModelEvent> {
  const chunks = new ChatChunkReader(meta);
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let pending: ModelEvent[] = [];
  let ended = false; // [DONE] or an error: nothing more is read
  const started = new Set<number>();
  const finished = new Set<number>();
  /** Choices that called a tool: ended by `[DONE]` alone, they finished for their tool calls. */
  const calling = new Set<number>();
  const end = (ev?: ModelEvent) => {
    if (ended) return;
    if (ev) pending.push(ev);
    ended = true;
  };
  const parser = createParser({
    onEvent: (sse) => {
      if (ended) return;
      const data = sse.data;
      if (data.trim() === "[DONE]") {
        // A choice that never said why it finished is finished here, as the upstream ended it.
        for (const c of started.size ? started : [0]) {
          if (finished.has(c)) continue;
          pending.push({ type: "finish", choice: c, reason: calling.has(c) ? "tool_calls" : "stop" });
        }
        return end();
      }
      let chunk: unknown;
      try {
        chunk = JSON.parse(data);
      } catch {
        return end({
          type: "error",
          error: { message: "The upstream sent a stream event that is not JSON." },
        });
      }
      if (!chunk || typeof chunk !== "object" || Array.isArray(chunk)) {
        return end({
          type: "error",
          error: { message: "The upstream sent a stream event that is not an object." },
        });
      }
      for (const ev of chunks.chunk(chunk as Record<string, unknown>)) {
        if (ev.type === "error") return end(ev);
        if (ev.type === "finish") finished.add(ev.choice);
        else if ("choice" in ev) started.add(ev.choice);
        if (ev.type === "tool_call") calling.add(ev.choice);
        pending.push(ev);
      }
    },
  });
  return new ReadableStream<ModelEvent>({
    async pull(c) {
      // Loop until something is enqueued: a pull that enqueues nothing would not be called again.
      for (;;) {
        const r = await reader.read();
        if (r.done) {
          parser.feed(decoder.decode() + "\n\n");
          if (!ended && !finished.size) {
            end({
              type: "error",
              error: { message: CUT_OFF_MESSAGE, type: "api_error", code: "upstream_error" },
            });
          }
          ended = true;
        } else parser.feed(decoder.decode(r.value, { stream: true }));
        const out = pending;
        pending = [];
        for (const ev of out) c.enqueue(ev);
        if (ended) {
          c.close();
          if (!r.done) void readPastEnd(reader);
          return;
        }
        if (out.length) return;
      }
    },
    cancel(reason) {
      return reader.cancel(reason);
    },
  }, { highWaterMark: 0 });
}
