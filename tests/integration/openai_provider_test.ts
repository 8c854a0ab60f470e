/**
 * The `openai` provider (SPEC §3.4) through the proxy with the real `openai` SDK: Chat Completions to
 * `<base>/chat/completions`, usage asked for in streams, keys rotating, a rejected key disabled.
 */
import assert from "node:assert/strict";
import { MockOpenAI, orError } from "../mocks/openai_upstream.ts";
import { startTestProxy, type TestProxy } from "../helpers.ts";

const K1 = "sk-proj-" + "1".repeat(48);
const K2 = "sk-proj-" + "2".repeat(48);

async function withOpenAI(fn: (p: TestProxy, m: MockOpenAI) => Promise<void>) {
  const mock = MockOpenAI.start();
  const proxy = await startTestProxy(["--disable-auth"], {
    OPENAI_API_BASE_URL: mock.url,
    OPENAI_API_KEY_1: K1,
    OPENAI_API_KEY_2: K2,
  });
  try {
    await fn(proxy, mock);
  } finally {
    await proxy.close();
    await mock.close();
  }
}

const ask = (text: string) => ({
  model: "openai:gpt-4o-mini",
  messages: [{ role: "user" as const, content: text }],
});

Deno.test("openai: a JSON answer comes back through the SDK; the upstream gets the bare model at /chat/completions", async () => {
  await withOpenAI(async (p, mock) => {
    const { data, response } = await p.client().chat.completions.create(ask("hi")).withResponse();
    assert.equal(data.choices[0].message.content, "Echo from gpt-4o-mini: hi");
    assert.equal(response.headers.get("x-llmproxy-key"), "OPENAI_API_KEY_1");
    assert.equal(mock.chats.length, 1);
    assert.ok(mock.chats[0].path.endsWith("/chat/completions"));
    assert.equal(mock.chats[0].body?.model, "gpt-4o-mini");
    assert.equal(mock.chats[0].key, K1);
  });
});

Deno.test("openai: a stream asks upstream for usage and drops the usage-only chunk the client did not ask for", async () => {
  await withOpenAI(async (p, mock) => {
    const stream = await p.client().chat.completions.create({ ...ask("stream me"), stream: true });
    let text = "";
    let usageChunks = 0;
    for await (const c of stream) {
      text += c.choices[0]?.delta?.content ?? "";
      if (c.usage) usageChunks++;
    }
    assert.equal(text, "Echo from gpt-4o-mini: stream me");
    assert.equal(usageChunks, 0);
    assert.deepEqual(mock.chats[0].body?.stream_options, { include_usage: true });
  });
});

Deno.test("openai: requests rotate over the key pool", async () => {
  await withOpenAI(async (p, mock) => {
    for (const t of ["a", "b", "c"]) await p.client().chat.completions.create(ask(t));
    assert.deepEqual(mock.chats.map((r) => r.key), [K1, K2, K1]);
  });
});

Deno.test("openai: a 401 disables the key; the request and later ones use the other key", async () => {
  await withOpenAI(async (p, mock) => {
    mock.onChat = (req) => req.key === K1 ? orError(401, "Incorrect API key provided") : undefined;
    const { data, response } = await p.client().chat.completions.create(ask("one")).withResponse();
    assert.equal(data.choices[0].message.content, "Echo from gpt-4o-mini: one");
    assert.equal(response.headers.get("x-llmproxy-key"), "OPENAI_API_KEY_2");
    for (const t of ["two", "three"]) await p.client().chat.completions.create(ask(t));
    assert.deepEqual(mock.chats.map((r) => r.key), [K1, K2, K2, K2]);
  });
});
