/**
 * A config-file OpenAI-compatible backend without `api_key_env` (a local server such as Ollama): functional
 * without a key, and its requests go upstream without an Authorization header. With `api_key_env` and no key
 * set, it is off and names the variable.
 */
import assert from "node:assert/strict";
import { MockOpenAI } from "../mocks/openai_upstream.ts";
import { inProcessProxy } from "../support/in_process.ts";
import { parseConfigText } from "../../src/config/file.ts";
import { optionTable } from "../../src/config/options.ts";
import { PROVIDERS } from "../../src/providers/list.ts";

Deno.test("a config-file backend without api_key_env serves requests with no key and no Authorization header", async () => {
  const mock = MockOpenAI.start();
  mock.requireKey = false;
  const dir = await Deno.makeTempDir();
  await Deno.writeTextFile(
    `${dir}/c.json`,
    JSON.stringify({
      backends: {
        local: { type: "openai", base_url: mock.url },
        needskey: { type: "openai", base_url: mock.url, api_key_env: "NEEDS_KEY" },
      },
    }),
  );
  const proxy = await inProcessProxy(["--disable-auth", "--config", `${dir}/c.json`]);
  try {
    const health = await (await proxy.fetch("/health")).json();
    assert.equal(health.backends.local.functional, true);
    assert.equal(health.backends.local.problem, undefined);
    assert.equal(health.backends.needskey.functional, false);
    assert.equal(health.backends.needskey.problem, "no API key configured (set NEEDS_KEY or NEEDS_KEY_1..N)");
    assert.ok(proxy.backendsText.includes("local (0 keys, functional)"), proxy.backendsText);

    const r = await proxy.client().chat.completions.create({
      model: "local:llama3.2",
      messages: [{ role: "user", content: "hi" }],
      stream: true,
    });
    let text = "";
    for await (const c of r) text += c.choices[0]?.delta?.content ?? "";
    assert.equal(text, "Echo from llama3.2: hi");
    assert.equal(mock.chats.length, 1);
    assert.equal(mock.chats[0].headers.authorization, undefined, "no Authorization header upstream");
    // The model list comes without a key too, and a bare name goes to the first functional backend: local.
    const ids = (await proxy.client().models.list()).data.map((m) => m.id);
    assert.ok(ids.includes("local:openai/gpt-4o-mini"), ids.join(" "));
    assert.ok(mock.requests.filter((q) => q.path.endsWith("/models")).every((q) => !q.headers.authorization));
    const plain = await proxy.client().chat.completions.create({
      model: "qwen2.5",
      messages: [{ role: "user", content: "b" }],
    }).withResponse();
    assert.equal(plain.response.headers.get("x-llmproxy-backend"), "local");
    assert.equal(plain.data.choices[0].message.content, "Echo from qwen2.5: b");
  } finally {
    await proxy.close();
    await mock.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("README's --config example is a valid file whose Ollama backend needs no key", async () => {
  const readme = await Deno.readTextFile(new URL("../../README.md", import.meta.url));
  const section = readme.slice(readme.indexOf("### The `--config` file"));
  const json = section.slice(
    section.indexOf("```json\n") + 8,
    section.indexOf("\n```", section.indexOf("```json")),
  );
  const file = await parseConfigText(json, "README.md", optionTable(PROVIDERS));
  assert.equal(file.backends?.ollama?.api_key_env, undefined);
  assert.equal(file.backends?.ollama?.base_url, "http://127.0.0.1:11434/v1");
});
