/**
 * The one pipe a translating backend's stream goes through: upstream SSE bytes → events (eventsource-parser)
 * → the backend's translator → OpenAI-format SSE text → bytes. Every upstream chunk touches the watchdog; an
 * event over the size limit or one the translator cannot read ends the stream with an error event (a bad
 * answer, never a "connection failure"); after the translator stops, the output ends.
 */
import { createParser, type ParseError } from "eventsource-parser";
import { readChunks } from "./chunk_reader.ts";

/** Turns one upstream event's data into OpenAI-format SSE text. */
export interface SseTranslator {
  push(data: string): string;
  /** The error event that ends the stream (code `too_large` for an event over the limit). */
  fail(message: string, code?: string): string;
  /** What to send when the upstream stream ends (`[DONE]`, or an error when it ended too early). */
  end(): string;
  readonly stopped: boolean;
}

/** Pipe `body` through `translator`; `provider` names the upstream in error texts. */
export function pipeSseThrough(
  body: ReadableStream<Uint8Array>,
  translator: SseTranslator,
  o: { provider: string; onBytes: () => void; maxEventBytes: number },
): ReadableStream<Uint8Array> {
  let pending: string[] = [];
  const mb = Math.round((o.maxEventBytes / (1024 * 1024)) * 1000) / 1000;
  const parser = createParser({
    onEvent: (ev) => {
      try {
        pending.push(translator.push(ev.data));
      } catch (e) { // a shape no check foresaw
        pending.push(
          translator.fail(
            `${o.provider} sent a stream event that could not be read (${(e as Error)?.name}).`,
          ),
        );
      }
    },
    // Other parse problems (an unknown field, a bad `retry`) are ignored, as the SSE format says.
    onError: (e: ParseError) => {
      if (e.type !== "max-buffer-size-exceeded") return;
      pending.push(translator.fail(
        `${o.provider} sent a stream event too large: over ${mb} MiB (--max-upstream-body-mb ${mb}); ask for less or raise the limit.`,
        "too_large",
      ));
    },
    maxBufferSize: o.maxEventBytes,
  });
  const take = () => {
    const text = pending.join("");
    pending = [];
    return text;
  };
  // One stream, not four piped transforms (tap, decode, translate, encode): each hop is a promise round per
  // chunk, and the upstream is read through readChunks (no 64 KiB buffer per read).
  const reader = readChunks(body);
  const decoder = new TextDecoder();
  const encoder = new TextEncoder();
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      // Loop until something is enqueued: a pull that enqueues nothing would not be called again.
      for (;;) {
        const r = await reader.read();
        if (r.done) {
          // A last event without its blank line still counts (lenient, unlike a browser EventSource).
          parser.feed(decoder.decode());
          if (!translator.stopped) parser.feed("\n\n");
          const text = take() + translator.end();
          if (text) controller.enqueue(encoder.encode(text));
          controller.close();
          return;
        }
        o.onBytes();
        parser.feed(decoder.decode(r.value, { stream: true }));
        const text = take();
        if (text) controller.enqueue(encoder.encode(text));
        if (translator.stopped) {
          controller.close();
          reader.cancel().catch(() => {});
          return;
        }
        if (text) return;
      }
    },
    cancel: (reason) => reader.cancel(reason),
  }, { highWaterMark: 0 });
}
