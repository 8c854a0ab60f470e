/**
 * The streaming commit rule (SPEC §7) over a translated provider's stream of the conversation model's events
 * (`model/events.ts`), with nothing to parse: events are held until the first one that commits (content, a
 * finish, usage), an error event before that fails the attempt (so the attempt engine can fail over), the
 * --timeout watchdog and the request's deadline end a stream that never commits. After the commit, events pass
 * on as they are; the usage event is kept for the usage record, and an error event — or a watchdog or
 * connection failure — ends the stream with one classified error event whose texts are scrubbed of key values.
 * The decisions and failures are those of the byte path (`commit.ts`).
 */
import type { AttemptInput, AttemptResult, StreamSummary, UpstreamFailure } from "./backend.ts";
import type { Posted } from "./http.ts";
import type { IdleTimer } from "./idle.ts";
import {
  commitWithPosted,
  emptyStream,
  failedBeforeCommit,
  noContentByDeadline,
  readFailure,
} from "./commit.ts";
import { eventVerdict, type ModelEvent, type StreamMeta } from "../model/events.ts";
import { chatUsage } from "../model/usage.ts";

/** How {@link commitEvents} reads one stream of events. */
export interface EventCommitOptions {
  /** Watchdog for the first byte and the gaps (the producer touches it on every upstream chunk). */
  timer: IdleTimer;
  /** Stop the upstream (abort the fetch, kill the process). */
  cancelUpstream: () => void;
  /** Turn an in-band error (an error event, an error finish) into a failure. */
  classifyInBand: (error: unknown) => UpstreamFailure;
  /** Give up (504) when the stream has not committed by this time (ms epoch). */
  commitBy?: number;
  /** Removes key values from every error text this stream reports (SPEC §19). */
  scrub: (text: string) => string;
  /** The events' meta (its model is the summary's). */
  meta: StreamMeta;
}

/**
 * Read `events` until the commit point. Resolves to a failure (nothing was sent to the client) or to a
 * committed stream of events that starts with the held ones.
 */
export async function commitEvents(
  events: ReadableStream<ModelEvent>,
  opts: EventCommitOptions,
): Promise<AttemptResult> {
  const reader = events.getReader();
  const stopReading = () => void reader.cancel().catch(() => {});
  opts.timer.onFire(stopReading);
  // Keep-alives make no events: the deadline ends the wait itself rather than at the next event.
  let late = false;
  const deadline = opts.commitBy === undefined ? undefined : setTimeout(() => {
    late = true;
    stopReading();
  }, Math.max(0, opts.commitBy - Date.now()));
  const fail = (failure: UpstreamFailure): AttemptResult => {
    clearTimeout(deadline);
    return failedBeforeCommit(opts, stopReading, failure);
  };
  const held: ModelEvent[] = [];
  for (;;) {
    let r: ReadableStreamReadResult<ModelEvent>;
    try {
      r = await reader.read();
    } catch (e) {
      return fail(readFailure(opts, e));
    }
    if (r.done) {
      if (opts.timer.fired) return fail(readFailure(opts, undefined));
      return fail(late ? noContentByDeadline() : emptyStream());
    }
    opts.timer.touch();
    const verdict = eventVerdict(r.value);
    if (typeof verdict === "object") return fail(opts.classifyInBand(verdict.error));
    held.push(r.value);
    if (verdict === "commit") break;
  }
  clearTimeout(deadline);
  return { ok: true, value: passOn(reader, held, opts) };
}

/** The committed stream: the held events, then the rest as they come, judged for errors and usage. */
function passOn(
  reader: ReadableStreamDefaultReader<ModelEvent>,
  held: ModelEvent[],
  opts: EventCommitOptions,
): { kind: "events"; events: ReadableStream<ModelEvent>; meta: StreamMeta; done: Promise<StreamSummary> } {
  const summary: StreamSummary = {};
  const { promise: done, resolve } = Promise.withResolvers<StreamSummary>();
  let finished = false;
  const finish = () => {
    if (finished) return;
    finished = true;
    opts.timer.stop();
    summary.model = opts.meta.model;
    resolve(summary);
  };
  /** The one error event that ends a committed stream (texts scrubbed). */
  const errorEvent = (f: UpstreamFailure): ModelEvent => {
    const message = opts.scrub(f.message);
    summary.error = message;
    return { type: "error", error: { message, type: f.type, code: opts.scrub(f.code), status: f.status } };
  };
  const end = (c: ReadableStreamDefaultController<ModelEvent>, last?: ModelEvent, stop = false) => {
    if (last) c.enqueue(last);
    c.close();
    if (stop) {
      opts.cancelUpstream();
      reader.cancel().catch(() => {});
    }
    finish();
  };
  const note = (ev: ModelEvent) => {
    if (ev.type === "usage") summary.usage = chatUsage(ev.usage);
  };
  for (const ev of held) note(ev);
  const events = new ReadableStream<ModelEvent>({
    start(c) {
      for (const ev of held) c.enqueue(ev);
    },
    async pull(c) {
      let r: ReadableStreamReadResult<ModelEvent>;
      try {
        r = await reader.read();
      } catch (e) {
        return end(c, errorEvent(readFailure(opts, e)));
      }
      if (r.done) return end(c, opts.timer.fired ? errorEvent(readFailure(opts, undefined)) : undefined);
      opts.timer.touch();
      const ev = r.value;
      const verdict = eventVerdict(ev);
      if (typeof verdict === "object") return end(c, errorEvent(opts.classifyInBand(verdict.error)), true);
      note(ev);
      c.enqueue(ev);
    },
    cancel() {
      opts.cancelUpstream();
      reader.cancel().catch(() => {});
      summary.error ??= "client disconnected";
      finish();
    },
  }, { highWaterMark: 0 });
  return { kind: "events", events, meta: opts.meta, done };
}

/** Run a translated stream of events for an answer `postUpstream` got through the commit rule, wired to that request. */
export async function commitPostedEvents(
  posted: Extract<Posted, { ok: true }>,
  events: ReadableStream<ModelEvent>,
  input: AttemptInput,
  options: Pick<EventCommitOptions, "classifyInBand" | "scrub" | "meta">,
): Promise<AttemptResult> {
  return await commitWithPosted(
    posted,
    input,
    (controls) => commitEvents(events, { ...options, ...controls }),
  );
}
