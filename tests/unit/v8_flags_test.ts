import assert from "node:assert/strict";
import { shippedV8Flags, v8FlagsOfTasks } from "../../scripts/v8_flags.ts";
import { compileArgs } from "../../scripts/compile.ts";

const ROOT = new URL("../../", import.meta.url);

Deno.test("deno task start, deno task dev and the release binary run V8 with the same memory flags", async () => {
  const denoJson = JSON.parse(await Deno.readTextFile(new URL("deno.json", ROOT)));
  const flags = await shippedV8Flags(ROOT);
  assert.deepEqual(flags, ["--v8-flags=--max-semi-space-size=8,--heap-growing-percent=50"]);
  assert.deepEqual(v8FlagsOfTasks({ tasks: { start: denoJson.tasks.dev } }), flags);
  const args = compileArgs("x86_64-unknown-linux-gnu", "dist/x", flags);
  assert.ok(args.includes(flags[0]), args.join(" "));
  assert.equal(args.at(-1), "src/main.ts");
});

Deno.test("this Deno's V8 accepts the shipped flags (a Deno upgrade that drops one fails here)", async () => {
  const flags = await shippedV8Flags(ROOT);
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["eval", ...flags, "1"],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  const bad = await new Deno.Command(Deno.execPath(), {
    args: ["eval", "--v8-flags=--no-such-flag-here", "1"],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.notEqual(bad.code, 0, "an unknown V8 flag must fail, or the test above proves nothing");
});

Deno.test("v8FlagsOfTasks: no start task or no V8 flag is no flag", () => {
  assert.deepEqual(v8FlagsOfTasks({}), []);
  assert.deepEqual(v8FlagsOfTasks({ tasks: { start: "deno run -A src/main.ts" } }), []);
});
