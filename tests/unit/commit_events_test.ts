/**
 * The commit rule over the model's events (src/runner/commit_events.ts): held until content, an error before
 * the commit fails the attempt, an empty stream fails over, the watchdog and the request's deadline end a
 * stream that never commits, usage goes to the summary, and an error after the commit is one classified,
 * scrubbed error event.
 */
import assert from "node:assert/strict";
import { commitEvents } from "../../src/runner/commit_events.ts";
import { IdleTimer } from "../../src/runner/idle.ts";
import type { UpstreamFailure } from "../../src/runner/backend.ts";
import type { ModelEvent } from "../../src/model/events.ts";

const SECRET = "sk-secret-value";

function options(timer: IdleTimer, o: { commitBy?: number; cancelled?: () => void } = {}) {
  return {
    timer,
    meta: { id: "c", created: 1, model: "up" },
    cancelUpstream: o.cancelled ?? (() => {}),
    classifyInBand: (e: unknown): UpstreamFailure => ({
      action: "next-key",
      status: 429,
      type: "rate_limit_error",
      code: "rate_limited",
      message: `upstream said: ${(e as { message?: string })?.message}`,
      outcome: "429",
    }),
    scrub: (t: string) => t.replaceAll(SECRET, "[key]"),
    commitBy: o.commitBy,
  };
}

/** Events delivered one per pull; `open` leaves the stream open after them (a stall). */
function events(list: ModelEvent[], open = false, cancelled?: () => void): ReadableStream<ModelEvent> {
  let i = 0;
  return new ReadableStream<ModelEvent>({
    pull(c) {
      if (i < list.length) c.enqueue(list[i++]);
      else if (!open) c.close();
    },
    cancel() {
      cancelled?.();
    },
  }, { highWaterMark: 0 });
}

async function all(s: ReadableStream<ModelEvent>): Promise<ModelEvent[]> {
  const out: ModelEvent[] = [];
  for await (const ev of s) out.push(ev);
  return out;
}

const usage = { promptTokens: 4, completionTokens: 2, totalTokens: 6, cachedTokens: 1 };

Deno.test("events commit: held until content, then passed on; usage reaches the summary as Chat usage", async () => {
  const timer = new IdleTimer(5_000, () => {});
  const list: ModelEvent[] = [
    { type: "text", choice: 0, text: "" },
    { type: "text", choice: 0, text: "hi" },
    { type: "finish", choice: 0, reason: "stop" },
    { type: "usage", usage },
  ];
  const r = await commitEvents(events(list), options(timer));
  assert.ok(r.ok && r.value.kind === "events");
  assert.deepEqual(await all(r.value.events), list);
  const summary = await r.value.done;
  assert.deepEqual(summary.usage, {
    prompt_tokens: 4,
    completion_tokens: 2,
    total_tokens: 6,
    prompt_tokens_details: { cached_tokens: 1 },
  });
  assert.equal(summary.model, "up");
  assert.equal(summary.error, undefined);
});

Deno.test("events commit: an error before the commit fails the attempt (classified, scrubbed); an empty stream fails over", async () => {
  let cancelled = 0;
  const r = await commitEvents(
    events([{ type: "error", error: { message: `bad key ${SECRET}` } }], true, () => cancelled++),
    options(new IdleTimer(5_000, () => {}), { cancelled: () => cancelled++ }),
  );
  assert.ok(!r.ok);
  assert.equal(r.failure.status, 429);
  assert.equal(r.failure.message, "upstream said: bad key [key]");
  assert.ok(cancelled >= 1, "the upstream was stopped");
  const empty = await commitEvents(events([]), options(new IdleTimer(5_000, () => {})));
  assert.ok(!empty.ok && empty.failure.outcome === "empty_stream");
});

Deno.test("events commit: the watchdog and the request's deadline end a stream that never commits", async () => {
  const idle = await commitEvents(events([], true), options(new IdleTimer(30, () => {})));
  assert.ok(!idle.ok && idle.failure.code === "upstream_timeout" && idle.failure.status === 504);
  const timer = new IdleTimer(60_000, () => {});
  const late = await commitEvents(events([], true), options(timer, { commitBy: Date.now() + 30 }));
  timer.stop();
  assert.ok(!late.ok);
  assert.match(late.failure.message, /only keep-alives/);
});

Deno.test("events commit: after the commit an error ends the stream with one classified error event; a stall with the watchdog's", async () => {
  let cancelled = 0;
  const r = await commitEvents(
    events([
      { type: "text", choice: 0, text: "a" },
      { type: "error", error: { message: `late ${SECRET}` } },
      { type: "text", choice: 0, text: "never" },
    ], true),
    options(new IdleTimer(5_000, () => {}), { cancelled: () => cancelled++ }),
  );
  assert.ok(r.ok && r.value.kind === "events");
  assert.deepEqual(await all(r.value.events), [
    { type: "text", choice: 0, text: "a" },
    {
      type: "error",
      error: {
        message: "upstream said: late [key]",
        type: "rate_limit_error",
        code: "rate_limited",
        status: 429,
      },
    },
  ]);
  assert.equal((await r.value.done).error, "upstream said: late [key]");
  assert.ok(cancelled >= 1);

  const stalled = await commitEvents(
    events([{ type: "text", choice: 0, text: "half" }], true),
    options(new IdleTimer(30, () => {})),
  );
  assert.ok(stalled.ok && stalled.value.kind === "events");
  const out = await all(stalled.value.events);
  assert.deepEqual(out[0], { type: "text", choice: 0, text: "half" });
  assert.ok(out[1].type === "error" && out[1].error.code === "upstream_timeout");
});
