/** SPEC §1.2: a `model_aliases` target that no backend can serve stops the start with exit 2 naming the field. */
import assert from "node:assert/strict";
import { runCli, startTestProxy } from "../helpers.ts";

Deno.test("model_aliases to an unknown backend exits 2 naming the file, the field and the known backends", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/c.json`;
    await Deno.writeTextFile(path, JSON.stringify({ model_aliases: { "gpt-4o": "nosuch:model" } }));
    const cli = (args: string[]) =>
      runCli([...args, "--port", "0", "--data-dir", dir, "--kv", ":memory:"], {
        env: { HOME: dir },
        cwd: dir,
        timeoutMs: 15_000,
      });
    const r = await cli(["--config", path]);
    assert.equal(r.code, 2, r.stderr);
    assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
    assert.match(
      r.stderr,
      new RegExp(
        `config file ${path}: field model_aliases\\.gpt-4o: "nosuch:model": "nosuch" is not a backend \\(known backends: openrouter, gemini, gemini-cli-direct\\)`,
      ),
    );
    await Deno.writeTextFile(path, JSON.stringify({ model_aliases: { a: "openrouter:" } }));
    const empty = await cli(["--config", path]);
    assert.equal(empty.code, 2, empty.stderr);
    assert.match(empty.stderr, /field model_aliases\.a: "openrouter:" names no model/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("model_aliases to backend:model, a route, or a plain model name (the default backend) are accepted", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/c.json`;
    await Deno.writeTextFile(
      path,
      JSON.stringify({
        failover_routes: { fast: { policy: "m", elements: ["openrouter:a/b"] } },
        model_aliases: {
          one: "openrouter:openai/gpt-4o",
          two: "fast",
          three: "gpt-4o",
          four: "meta-llama/llama-3.3-70b-instruct:free",
        },
      }),
    );
    const p = await startTestProxy(["--config", path, "--disable-auth"]);
    await p.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
