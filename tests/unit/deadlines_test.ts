import assert from "node:assert/strict";
import { Deadlines } from "../../src/core/deadlines.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

Deno.test("deadlines fire in order, settled ones never, and a changed delay keeps its own order", async () => {
  const d = new Deadlines();
  const fired: string[] = [];
  try {
    const a = d.add(60, () => fired.push("a"));
    await sleep(20);
    d.add(60, () => fired.push("b"));
    d.add(20, () => fired.push("short")); // a shorter delay added later still fires first
    d.settle(a);
    await sleep(30);
    assert.deepEqual(fired, ["short"]);
    await sleep(60);
    assert.deepEqual(
      fired,
      ["short", "b"],
      "b fired at its own deadline although a (settled) was ahead of it",
    );
    const c = d.add(30, () => fired.push("c"));
    d.settle(c);
    await sleep(60);
    assert.deepEqual(fired, ["short", "b"]);
  } finally {
    d.close();
  }
});

Deno.test("deadlines: many at once cost one timer, and each fires no earlier than its delay", async () => {
  const d = new Deadlines();
  const started = Date.now();
  const at: number[] = [];
  try {
    for (let i = 0; i < 1000; i++) d.add(40, () => at.push(Date.now() - started));
    await sleep(120);
    assert.equal(at.length, 1000);
    assert.ok(Math.min(...at) >= 39, `fired after ${Math.min(...at)} ms`);
  } finally {
    d.close();
  }
});
