import assert from "node:assert/strict";
import { MockOpenAI } from "../mocks/openai_upstream.ts";
import { startTestProxy } from "../helpers.ts";

const KEY = "sk-or-v1-" + "c".repeat(64);

Deno.test("/v1/models aggregates backend:model ids and routes; /v1/models/{id} accepts / and %2F", async () => {
  const mock = MockOpenAI.start();
  const dir = await Deno.makeTempDir();
  await Deno.writeTextFile(
    `${dir}/c.json`,
    JSON.stringify({
      failover_routes: { smart: { policy: "m", elements: ["openrouter:openai/gpt-4o-mini"] } },
    }),
  );
  const proxy = await startTestProxy(["--disable-auth", "--config", `${dir}/c.json`], {
    OPENROUTER_API_KEY: KEY,
    OPENROUTER_API_BASE_URL: mock.url,
  });
  try {
    const client = proxy.client();
    const list = await client.models.list();
    const ids = list.data.map((m) => m.id);
    assert.ok(ids.includes("openrouter:meta-llama/llama-3.3-70b-instruct:free"));
    assert.ok(ids.includes("openrouter:openai/gpt-4o-mini"));
    assert.ok(ids.includes("smart"));
    const route = list.data.find((m) => m.id === "smart")!;
    assert.equal(route.owned_by, "route");
    assert.equal(list.data.find((m) => m.id === "openrouter:openai/gpt-4o-mini")!.owned_by, "openrouter");
    const one = await client.models.retrieve("openrouter:openai/gpt-4o-mini");
    assert.equal(one.id, "openrouter:openai/gpt-4o-mini");
    const encoded = await proxy.fetch("/v1/models/openrouter%3Aopenai%2Fgpt-4o-mini");
    assert.equal((await encoded.json()).id, "openrouter:openai/gpt-4o-mini");
    const missing = await proxy.fetch("/v1/models/openrouter:nope");
    assert.equal(missing.status, 404);
    assert.equal((await missing.json()).error.code, "model_not_found");
    const bad = await proxy.fetch("/v1/models/%E0%A4%A");
    assert.equal(bad.status, 400);
    await bad.body?.cancel();
    const before = mock.requests.filter((r) => r.path.endsWith("/models")).length;
    await (await proxy.fetch("/v1/models")).body?.cancel();
    assert.equal(
      mock.requests.filter((r) => r.path.endsWith("/models")).length,
      before,
      "the list is cached",
    );
    const health = await (await proxy.fetch("/health")).json();
    assert.equal(health.backends.openrouter.models, 3);
  } finally {
    await proxy.close();
    await mock.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a failing model listing never breaks start-up; /health says why and chat still works", async () => {
  const mock = MockOpenAI.start();
  mock.modelsStatus = 500;
  const proxy = await startTestProxy(["--disable-auth"], {
    OPENROUTER_API_KEY: KEY,
    OPENROUTER_API_BASE_URL: mock.url,
  });
  try {
    const list = await proxy.client().models.list();
    assert.equal(list.data.length, 0);
    const health = await (await proxy.fetch("/health")).json();
    assert.equal(health.backends.openrouter.functional, true);
    assert.equal(health.backends.openrouter.models, null);
    assert.match(health.backends.openrouter.problem, /model listing failed/);
    const chat = await proxy.client().chat.completions.create({
      model: "openai/gpt-4o-mini",
      messages: [{ role: "user", content: "hi" }],
    });
    assert.match(chat.choices[0].message.content!, /Echo/);
  } finally {
    await proxy.close();
    await mock.close();
  }
});

Deno.test("aliases, --force-model and the default backend decide the target", async () => {
  const mock = MockOpenAI.start();
  const dir = await Deno.makeTempDir();
  await Deno.writeTextFile(
    `${dir}/c.json`,
    JSON.stringify({ model_aliases: { "gpt-4o": "openrouter:openai/gpt-4o" } }),
  );
  const proxy = await startTestProxy(["--disable-auth", "--config", `${dir}/c.json`], {
    OPENROUTER_API_KEY: KEY,
    OPENROUTER_API_BASE_URL: mock.url,
  });
  const forced = await startTestProxy(["--disable-auth", "--force-model", "openrouter:forced/model"], {
    OPENROUTER_API_KEY: KEY,
    OPENROUTER_API_BASE_URL: mock.url,
  });
  try {
    const r = await proxy.client().chat.completions.create({
      model: "gpt-4o",
      messages: [{ role: "user", content: "a" }],
    })
      .withResponse();
    assert.equal(mock.chats.at(-1)!.body!.model, "openai/gpt-4o");
    assert.equal(r.response.headers.get("x-llmproxy-model"), "openrouter:openai/gpt-4o");
    await forced.client().chat.completions.create({
      model: "gpt-4o",
      messages: [{ role: "user", content: "a" }],
    });
    assert.equal(mock.chats.at(-1)!.body!.model, "forced/model");
  } finally {
    await proxy.close();
    await forced.close();
    await mock.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("extra OpenAI-compatible backends from the config file are served by name", async () => {
  const mock = MockOpenAI.start();
  const dir = await Deno.makeTempDir();
  await Deno.writeTextFile(
    `${dir}/c.json`,
    JSON.stringify({ backends: { local: { type: "openai", base_url: mock.url, api_key_env: "LOCAL_KEY" } } }),
  );
  const proxy = await startTestProxy(["--disable-auth", "--config", `${dir}/c.json`], {
    LOCAL_KEY_1: "local-key-value-1111",
  });
  try {
    const r = await proxy.client().chat.completions.create({
      model: "local:qwen2.5",
      messages: [{ role: "user", content: "a" }],
      stream: true,
    });
    let text = "";
    for await (const c of r) text += c.choices[0]?.delta?.content ?? "";
    assert.equal(text, "Echo from qwen2.5: a");
    assert.equal(mock.chats[0].key, "local-key-value-1111");
    assert.equal(mock.chats[0].body!.stream_options, undefined, "request_usage off: nothing added");
    const ids = (await proxy.client().models.list()).data.map((m) => m.id);
    assert.ok(ids.includes("local:openai/gpt-4o-mini"));
    // no keys for openrouter: the default backend is the first one with credentials
    const plain = await proxy.client().chat.completions.create({
      model: "x",
      messages: [{ role: "user", content: "b" }],
    })
      .withResponse();
    assert.equal(plain.response.headers.get("x-llmproxy-backend"), "local");
    const off = await proxy.client().chat.completions.create({
      model: "openrouter:x",
      messages: [{ role: "user", content: "b" }],
    }).catch((e) => e);
    assert.equal(off.status, 503);
    assert.equal(off.code, "backend_unavailable");
  } finally {
    await proxy.close();
    await mock.close();
    await Deno.remove(dir, { recursive: true });
  }
});
