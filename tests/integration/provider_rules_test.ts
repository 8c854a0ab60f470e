/** SPEC §5.2: OpenRouter's free-model limits cool an openrouter key, never an extra backend's key. */
import assert from "node:assert/strict";
import { MockOpenAI, orError } from "../mocks/openai_upstream.ts";
import { startTestProxy } from "../helpers.ts";

Deno.test("a 429 'free-models-per-day' cools all :free models on openrouter, one model on an extra backend", async () => {
  const mock = MockOpenAI.start();
  mock.onChat = () => orError(429, "Rate limit exceeded: free-models-per-day. Add 10 credits");
  const dir = await Deno.makeTempDir();
  await Deno.writeTextFile(
    `${dir}/c.json`,
    JSON.stringify({ backends: { local: { type: "openai", base_url: mock.url, api_key_env: "LOCAL_KEY" } } }),
  );
  const proxy = await startTestProxy(["--disable-auth", "--config", `${dir}/c.json`], {
    OPENROUTER_API_KEY: "sk-or-test-key-openrouter-1111",
    OPENROUTER_API_BASE_URL: mock.url,
    LOCAL_KEY: "local-key-value-1111",
  });
  const midnight = new Date();
  midnight.setUTCHours(24, 0, 0, 0);
  try {
    for (const backend of ["openrouter", "local"]) {
      const res = await proxy.fetch("/v1/chat/completions", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({
          model: `${backend}:a/model:free`,
          messages: [{ role: "user", content: "hi" }],
        }),
      });
      await res.body?.cancel();
      assert.equal(res.status, 429, backend);
    }
    const registry = proxy.ctx.registry;
    const openrouterUntil = registry.pool("openrouter").coolingUntil("OPENROUTER_API_KEY", "b/other:free");
    assert.ok(openrouterUntil! >= midnight.getTime(), "every :free model cools until 00:00 UTC");
    assert.ok(
      registry.pool("local").coolingUntil("LOCAL_KEY", "a/model:free"),
      "the model that failed cools",
    );
    assert.equal(
      registry.pool("local").coolingUntil("LOCAL_KEY", "b/other:free"),
      undefined,
      "no key-wide limit",
    );
  } finally {
    await proxy.close();
    await mock.close();
    await Deno.remove(dir, { recursive: true });
  }
});
