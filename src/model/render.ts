/**
 * The one driver that turns a {@link ModelEvent} stream into a front end's bytes: a front end writes only its
 * {@link EventRenderer} (events → its grammar's text); this reads the events, encodes what the renderer writes
 * and ends the bytes where the renderer says. One stream that pulls from the events itself (no pipe stages:
 * each costs a hop per chunk on the hot path); cancelling it cancels the events.
 */
import type { ModelEvent } from "./events.ts";

/** A protocol's writer of one answer's events. One instance per stream. */
export interface EventRenderer {
  /** The text for one event (empty when it writes nothing yet). */
  event(ev: ModelEvent): string;
  /** The text that ends the stream once the events ended (e.g. a final event; may wait to store the answer). */
  end(): string | Promise<string>;
  /** True once the renderer wrote its last event (after an error): later events are not read. */
  readonly ended: boolean;
}

const encoder = new TextEncoder();

/** Render `events` with `renderer` as a byte stream. */
export function renderEvents(
  events: ReadableStream<ModelEvent>,
  renderer: EventRenderer,
): ReadableStream<Uint8Array> {
  const reader = events.getReader();
  return new ReadableStream<Uint8Array>({
    async pull(c) {
      // Loop until something is enqueued: a pull that enqueues nothing would not be called again.
      for (;;) {
        const r = await reader.read();
        if (r.done || renderer.ended) {
          const text = renderer.ended ? "" : await renderer.end();
          if (text) c.enqueue(encoder.encode(text));
          c.close();
          if (!r.done) reader.cancel().catch(() => {});
          return;
        }
        const text = renderer.event(r.value);
        if (text) {
          c.enqueue(encoder.encode(text));
          if (renderer.ended) {
            c.close();
            reader.cancel().catch(() => {});
          }
          return;
        }
      }
    },
    cancel(reason) {
      return reader.cancel(reason);
    },
  }, { highWaterMark: 0 });
}

/** A whole answer's events as a stream (a local reply or a JSON answer the client wanted streamed). */
export function eventsOf(events: readonly ModelEvent[]): ReadableStream<ModelEvent> {
  return new ReadableStream<ModelEvent>({
    start(c) {
      for (const ev of events) c.enqueue(ev);
      c.close();
    },
  });
}
