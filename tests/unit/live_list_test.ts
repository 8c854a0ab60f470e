import assert from "node:assert/strict";
import { LiveList } from "../../src/core/live_list.ts";

Deno.test("LiveList: add and remove in any order; size and values follow; a second remove is a no-op", () => {
  const list = new LiveList<string>();
  const a = list.add("a"), b = list.add("b"), c = list.add("c"), d = list.add("d");
  assert.deepEqual(list.values(), ["a", "b", "c", "d"]);
  list.remove(b); // middle
  list.remove(a); // head
  list.remove(d); // tail
  assert.deepEqual(list.values(), ["c"]);
  assert.equal(list.size, 1);
  list.remove(a);
  assert.equal(list.size, 1, "removing twice changes nothing");
  list.remove(c);
  assert.equal(list.size, 0);
  assert.deepEqual(list.values(), []);
  const e = list.add("e");
  assert.deepEqual(list.values(), ["e"], "usable again once empty");
  assert.equal(e.live, true);
});

Deno.test("LiveList: a removed entry keeps nothing (no value, no neighbours), so it cannot keep others alive", () => {
  const list = new LiveList<object>();
  const first = list.add({}), middle = list.add({}), last = list.add({});
  list.remove(middle);
  assert.equal(middle.live, false);
  assert.equal(middle.value, undefined);
  assert.equal(middle.prev, undefined);
  assert.equal(middle.next, undefined);
  assert.equal(first.next, last, "its neighbours are joined");
  assert.equal(last.prev, first);
});

Deno.test("LiveList.forEach: visits what is present, skips an entry removed before its turn, not one added meanwhile", () => {
  const list = new LiveList<number>();
  const entries = [1, 2, 3, 4].map((n) => list.add(n));
  const seen: number[] = [];
  list.forEach((n, entry) => {
    seen.push(n);
    if (n === 1) list.remove(entries[2]); // 3 goes before its turn
    if (n === 2) list.add(5);
    list.remove(entry); // removing the current one is allowed
  });
  assert.deepEqual(seen, [1, 2, 4]);
  assert.deepEqual(list.values(), [5]);
});
