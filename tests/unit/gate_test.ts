/** Herd control (SPEC §19): after a cool-down ends, waiters for a key go one at a time (fake clock). */
import assert from "node:assert/strict";
import { KeyPool } from "../../src/state/keys.ts";

const NOW = Date.UTC(2026, 10, 27, 15, 30, 0);

function pool() {
  let now = NOW;
  const p = new KeyPool("openrouter", [{ label: "A", value: "A-value-xxxxxx" }], "fill-first", () => now);
  return { p, advance: (ms: number) => (now += ms), now: () => now };
}

Deno.test("a key off its cool-down takes one attempt at a time until a success nobody waited for", () => {
  const { p, advance } = pool();
  assert.equal(p.busy("A", "m"), false);
  const free1 = p.take("A", "m");
  assert.equal(p.busy("A", "m"), false, "a key that never cooled has no turns");
  free1(true);

  p.cool("A", "m", { scope: "key-model", untilMs: NOW + 1000, reason: "429" });
  advance(1001);
  assert.equal(p.coolingUntil("A", "m"), undefined, "the cool-down has ended");
  const first = p.take("A", "m");
  assert.equal(p.busy("A", "m"), true, "the next waiter waits for the first one");
  assert.equal(p.busy("A", "other"), false, "another model is not held");
  first(true);
  assert.equal(p.busy("A", "m"), false, "released");
  const second = p.take("A", "m");
  assert.equal(p.busy("A", "m"), true, "still one at a time: someone was waiting when the first succeeded");
  second(true);
  const third = p.take("A", "m");
  third(true); // nobody asked while it ran: the key is open again
  const a = p.take("A", "m");
  const b = p.take("A", "m");
  assert.equal(p.busy("A", "m"), false, "open: attempts flow");
  a(true);
  b(true);
});

Deno.test("a 429 during the turn cools the key again and the waiters keep waiting; a reset wakes them", async () => {
  const { p, advance, now } = pool();
  p.cool("A", "m", { scope: "key-model", untilMs: NOW + 1000, reason: "429" });
  advance(1001);
  const turn = p.take("A", "m");
  assert.equal(p.busy("A", "m"), true);
  let woke = false;
  p.changed().then(() => (woke = true));
  p.cool("A", "m", { scope: "key-model", untilMs: now() + 500, reason: "429" });
  turn(false);
  await Promise.resolve();
  assert.equal(woke, true, "waiters are woken to look again");
  assert.equal(p.coolingUntil("A", "m"), now() + 500, "…and find the key cooling");
  advance(501);
  const next = p.take("A", "m");
  assert.equal(p.busy("A", "m"), true, "one at a time again after the new cool-down");
  let reset = false;
  p.changed().then(() => (reset = true));
  p.reset();
  await Promise.resolve();
  assert.equal(reset, true);
  assert.equal(p.busy("A", "m"), false, "a reset opens the key");
  next(true);
});

Deno.test("a :free-scope cool-down holds every :free model of the key while it recovers", () => {
  const { p, advance } = pool();
  p.cool("A", "x:free", { scope: "key-free", untilMs: NOW + 1000, reason: "free-models-per-min" });
  advance(1001);
  const turn = p.take("A", "x:free");
  assert.equal(p.busy("A", "y:free"), true);
  assert.equal(p.busy("A", "paid"), false);
  turn(true);
});

Deno.test("a pool's cool-down and disable events reach every subscriber; one unsubscribing leaves the others", () => {
  const now = 1_000_000;
  const p = new KeyPool("openrouter", [{ label: "A", value: "A-value-xxxxxx" }], "fill-first", () => now);
  const store: string[] = [];
  const metrics: string[] = [];
  p.keyCooled.subscribe((r) => store.push(`cool ${r.label}`));
  const stop = p.keyCooled.subscribe((r) => metrics.push(`cool ${r.label}`));
  p.keyDisabled.subscribe((r) => store.push(`disable ${r.label}`));
  p.cool("A", "m", { scope: "key-model", untilMs: now + 5_000, reason: "429" });
  stop();
  p.cool("A", "m", { scope: "key-model", untilMs: now + 6_000, reason: "429" });
  p.disable("A", "401");
  assert.deepEqual(store, ["cool A", "cool A", "disable A"]);
  assert.deepEqual(metrics, ["cool A"]);
});
