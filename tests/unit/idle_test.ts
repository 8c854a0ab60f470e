import assert from "node:assert/strict";
import { IdleTimer } from "../../src/runner/idle.ts";

Deno.test("IdleTimer with a timeout beyond setTimeout's 2^31 ms range waits instead of spinning", async () => {
  const real = globalThis.setTimeout;
  let arms = 0;
  globalThis.setTimeout = ((fn: () => void, ms?: number) => {
    arms++;
    return real(fn, ms);
  }) as typeof setTimeout;
  let fired = false;
  const timer = new IdleTimer(3_000_000_000, () => (fired = true));
  try {
    await new Promise((r) => real(r, 50));
  } finally {
    globalThis.setTimeout = real;
    timer.stop();
  }
  assert.equal(fired, false);
  assert.equal(arms, 1, "armed once, not re-armed every millisecond");
});
