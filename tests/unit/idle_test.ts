import assert from "node:assert/strict";
import { IdleTimer } from "../../src/runner/idle.ts";
import { FakeTime } from "../support/fake_time.ts";

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

Deno.test("IdleTimers of one delay share one timer, and each fires when its own silence reaches the delay", () => {
  const time = new FakeTime();
  try {
    const fired: string[] = [];
    const a = new IdleTimer(1000, () => fired.push(`a@${time.now}`));
    time.tick(300);
    const b = new IdleTimer(1000, () => fired.push(`b@${time.now}`));
    const c = new IdleTimer(1000, () => fired.push(`c@${time.now}`));
    assert.equal(time.pending, 1, "one timer for the three");
    for (let i = 0; i < 10; i++) {
      time.tick(200);
      a.touch(); // a stays busy
      if (i === 0) c.stop(); // c stopped before its moment: never fires
    }
    // b was created at +300 and never touched: due at +1300, not at the shared timer's later moments.
    assert.deepEqual(fired, [`b@${1_700_000_001_300}`]);
    assert.equal(b.fired, true);
    assert.equal(a.fired, false);
    time.tick(999);
    assert.equal(a.fired, false);
    time.tick(1);
    assert.deepEqual(fired, [`b@${1_700_000_001_300}`, `a@${1_700_000_003_300}`]);
    assert.equal(time.pending, 0, "nothing left armed once every watchdog fired or stopped");
    const d = new IdleTimer(1000, () => fired.push("d"));
    d.stop();
    assert.equal(time.pending, 0, "stopping the last one clears the timer");
  } finally {
    time.restore();
  }
});
