import assert from "node:assert/strict";
import { Deadlines } from "../../src/core/deadlines.ts";
import { FakeTime } from "../support/fake_time.ts";

Deno.test("deadlines fire in order, settled ones never, and a changed delay keeps its own order", () => {
  const time = new FakeTime();
  const d = new Deadlines();
  const fired: string[] = [];
  try {
    const a = d.add(60, () => fired.push("a"));
    time.tick(20);
    d.add(60, () => fired.push("b"));
    d.add(20, () => fired.push("short")); // a shorter delay added later still fires first
    d.settle(a);
    time.tick(30);
    assert.deepEqual(fired, ["short"]);
    time.tick(60);
    assert.deepEqual(
      fired,
      ["short", "b"],
      "b fired at its own deadline although a (settled) was ahead of it",
    );
    const c = d.add(30, () => fired.push("c"));
    d.settle(c);
    time.tick(60);
    assert.deepEqual(fired, ["short", "b"]);
  } finally {
    d.close();
    time.restore();
  }
});

Deno.test("deadlines: many at once cost one timer, and each fires no earlier than its delay", () => {
  const time = new FakeTime();
  const d = new Deadlines();
  const started = Date.now();
  const at: number[] = [];
  try {
    for (let i = 0; i < 1000; i++) d.add(40, () => at.push(Date.now() - started));
    assert.equal(time.pending, 1, "one timer for all");
    time.tick(39);
    assert.equal(at.length, 0, "none before its delay");
    time.tick(1);
    assert.equal(at.length, 1000);
    assert.ok(at.every((ms) => ms === 40), `fired at ${Math.min(...at)}–${Math.max(...at)} ms`);
  } finally {
    d.close();
    time.restore();
  }
});
