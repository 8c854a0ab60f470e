/** The nesting check of request bodies: brackets inside strings (escaped quotes included) do not count. */
import assert from "node:assert/strict";
import { nestsDeeperThan } from "../../src/core/json_depth.ts";

Deno.test("nestsDeeperThan counts arrays and objects, not brackets inside strings", () => {
  assert.equal(nestsDeeperThan('{"a":[{"b":1}]}', 3), false);
  assert.equal(nestsDeeperThan('{"a":[{"b":[1]}]}', 3), true);
  assert.equal(nestsDeeperThan(`{"a":"${"[".repeat(100)}"}`, 1), false, "brackets in a string");
  assert.equal(nestsDeeperThan(`{"a":"\\"${"{".repeat(100)}"}`, 1), false, "after an escaped quote");
  assert.equal(
    nestsDeeperThan(`{"a":"\\\\",${"[".repeat(3)}`, 3),
    true,
    "an escaped backslash ends no string",
  );
  assert.equal(nestsDeeperThan("[]".repeat(10_000), 1), false, "siblings are not depth");
});
