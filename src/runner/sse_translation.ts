/**
 * The one pipe a translating backend's stream goes through: upstream SSE bytes → events (eventsource-parser)
 * → the backend's translator → the conversation model's events (`model/events.ts`), with no text built on the
 * way. Every upstream chunk touches the watchdog; an event over the size limit or one the translator cannot
 * read ends the stream with an error event (a bad answer, never a "connection failure"); after the translator
 * stops, or once it saw its protocol's terminal event, the output ends.
 */
import { createParser, type ParseError } from "eventsource-parser";
import { readChunks } from "./chunk_reader.ts";
import type { ModelEvent } from "../model/events.ts";
import { readPastEnd } from "../core/past_end.ts";

/** Turns one upstream event's data into the model's events. */
export interface SseTranslator {
  push(data: string): ModelEvent[];
  /** The error event that ends the stream (code `too_large` for an event over the limit). */
  fail(message: string, code?: string): ModelEvent[];
  /** What to send when the upstream stream ends (usage, or an error when it ended too early). */
  end(): ModelEvent[];
  readonly stopped: boolean;
  /**
   * True once the upstream sent its protocol's terminal event (Anthropic's `message_stop`): the answer is
   * whole, so the events end there ({@link end} is asked then) without waiting for the upstream to close.
   */
  readonly complete?: boolean;
}

/** Pipe `body` through `translator`; `provider` names the upstream in error texts. */
export function pipeSseThrough(
  body: ReadableStream<Uint8Array>,
  translator: SseTranslator,
  o: { provider: string; onBytes: () => void; maxEventBytes: number },
): ReadableStream<ModelEvent> {
  let pending: ModelEvent[] = [];
  const add = (events: ModelEvent[]) => {
    for (const ev of events) pending.push(ev);
  };
  const mb = Math.round((o.maxEventBytes / (1024 * 1024)) * 1000) / 1000;
  const parser = createParser({
    onEvent: (ev) => {
      try {
        add(translator.push(ev.data));
      } catch (e) { // a shape no check foresaw
        add(
          translator.fail(
            `${o.provider} sent a stream event that could not be read (${(e as Error)?.name}).`,
          ),
        );
      }
    },
    // Other parse problems (an unknown field, a bad `retry`) are ignored, as the SSE format says.
    onError: (e: ParseError) => {
      if (e.type !== "max-buffer-size-exceeded") return;
      add(translator.fail(
        `${o.provider} sent a stream event too large: over ${mb} MiB (--max-upstream-body-mb ${mb}); ask for less or raise the limit.`,
        "too_large",
      ));
    },
    maxBufferSize: o.maxEventBytes,
  });
  const flush = (c: ReadableStreamDefaultController<ModelEvent>): boolean => {
    const out = pending;
    pending = [];
    for (const ev of out) c.enqueue(ev);
    return out.length > 0;
  };
  // The upstream is read through readChunks (no 64 KiB buffer per read), in one stream (no piped stages).
  const reader = readChunks(body);
  const decoder = new TextDecoder();
  return new ReadableStream<ModelEvent>({
    async pull(c) {
      // Loop until something is enqueued: a pull that enqueues nothing would not be called again.
      for (;;) {
        const r = await reader.read();
        if (r.done) {
          // A last event without its blank line still counts (lenient, unlike a browser EventSource).
          parser.feed(decoder.decode());
          if (!translator.stopped) parser.feed("\n\n");
          add(translator.end());
          flush(c);
          c.close();
          return;
        }
        o.onBytes();
        parser.feed(decoder.decode(r.value, { stream: true }));
        const sent = flush(c);
        if (translator.stopped) {
          c.close();
          reader.cancel().catch(() => {});
          return;
        }
        if (translator.complete) {
          // What follows the terminal event is read for a short grace, then cancelled (core/past_end.ts).
          add(translator.end());
          flush(c);
          c.close();
          void readPastEnd(reader);
          return;
        }
        if (sent) return;
      }
    },
    cancel: (reason) => reader.cancel(reason),
  }, { highWaterMark: 0 });
}
