/** SPEC §1.2: a `model_aliases` target that no backend can serve stops the start with exit 2 naming the field. */
import assert from "node:assert/strict";
import { runMain, startTestProxy } from "../helpers.ts";
import { MockOpenAI } from "../mocks/openai_upstream.ts";
import { PROVIDERS } from "../../src/providers/list.ts";

Deno.test("model_aliases to an unknown backend exits 2 naming the file, the field and the known backends", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/c.json`;
    await Deno.writeTextFile(path, JSON.stringify({ model_aliases: { "gpt-4o": "nosuch:model" } }));
    const cli = (args: string[]) =>
      runMain([...args, "--port", "0", "--data-dir", dir, "--kv", ":memory:"], {
        env: { HOME: dir },
        cwd: dir,
      });
    const r = await cli(["--config", path]);
    assert.equal(r.code, 2, r.stderr);
    assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
    assert.match(
      r.stderr,
      new RegExp(
        `config file ${path}: field model_aliases\\.gpt-4o: "nosuch:model": "nosuch" is not a backend \\(known backends: ${
          PROVIDERS.map((p) => p.name).join(", ")
        }\\)`,
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

Deno.test("a model named like an Object.prototype member (toString, constructor, …) goes upstream, not to a 500", async () => {
  // The alias table was a plain object: `aliases["toString"]` found the inherited function, so every such
  // model name was an internal error, with or without a config file.
  const mock = MockOpenAI.start();
  const p = await startTestProxy(["--disable-auth"], {
    OPENROUTER_API_BASE_URL: mock.url,
    OPENROUTER_API_KEY: "sk-or-v1-" + "1".repeat(64),
  });
  try {
    for (const model of ["toString", "constructor", "hasOwnProperty", "valueOf", "__defineGetter__"]) {
      const res = await p.fetch("/v1/chat/completions", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ model, messages: [{ role: "user", content: "hi" }] }),
      });
      const text = await res.text();
      assert.equal(res.status, 200, `${model}: ${text}`);
      assert.equal(res.headers.get("x-llmproxy-model"), `openrouter:${model}`);
    }
  } finally {
    await p.close();
    await mock.close();
  }
});
