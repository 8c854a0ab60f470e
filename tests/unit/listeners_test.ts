import assert from "node:assert/strict";
import { Listeners } from "../../src/core/listeners.ts";

Deno.test("listeners: every subscriber in subscription order, once however often subscribed; one leaving mid-event skips no other", () => {
  const l = new Listeners<number>();
  const seen: string[] = [];
  const a = (v: number) => seen.push(`a${v}`);
  l.subscribe(a);
  l.subscribe(a);
  const offB = l.subscribe((v) => {
    seen.push(`b${v}`);
    offB();
  });
  const offC = l.subscribe((v) => seen.push(`c${v}`));
  l.emit(1);
  l.emit(2);
  offC();
  l.emit(3);
  assert.deepEqual(seen, ["a1", "b1", "c1", "a2", "c2", "a3"]);
});
