import assert from "node:assert/strict";
import { MockOpenAI } from "../mocks/openai_upstream.ts";
import { startTestProxy } from "../helpers.ts";
import { NAME, VERSION } from "../../src/core/version.ts";

const KEY1 = "sk-or-v1-" + "1".repeat(64);

Deno.test("non-streaming chat through the real OpenAI SDK reaches OpenRouter with the key and model", async () => {
  const mock = MockOpenAI.start();
  const proxy = await startTestProxy(["--disable-auth", "--openrouter-api-base-url", mock.url], {
    OPENROUTER_API_KEY: KEY1,
  });
  try {
    const res = await proxy.client().chat.completions.create({
      model: "openrouter:meta-llama/llama-3.3-70b-instruct:free",
      messages: [{ role: "user", content: "hi there" }],
    }).withResponse();
    assert.equal(
      res.data.choices[0].message.content,
      "Echo from meta-llama/llama-3.3-70b-instruct:free: hi there",
    );
    assert.equal(res.response.headers.get("x-llmproxy-backend"), "openrouter");
    assert.equal(
      res.response.headers.get("x-llmproxy-model"),
      "openrouter:meta-llama/llama-3.3-70b-instruct:free",
    );
    assert.equal(res.response.headers.get("x-llmproxy-key"), "OPENROUTER_API_KEY");
    assert.equal(res.response.headers.get("x-llmproxy-attempts"), "1");
    assert.match(res.response.headers.get("x-request-id") ?? "", /^req_[0-9a-f]{32}$/);
    assert.equal(mock.chats.length, 1);
    assert.equal(mock.chats[0].key, KEY1);
    assert.equal(mock.chats[0].body?.model, "meta-llama/llama-3.3-70b-instruct:free");
  } finally {
    await proxy.close();
    await mock.close();
  }
});

Deno.test("streaming chat through the SDK gets every delta", async () => {
  const mock = MockOpenAI.start();
  const proxy = await startTestProxy(["--disable-auth", "--openrouter-api-base-url", mock.url], {
    OPENROUTER_API_KEY: KEY1,
  });
  try {
    const stream = await proxy.client().chat.completions.create({
      model: "openai/gpt-4o-mini",
      messages: [{ role: "user", content: "one two three" }],
      stream: true,
    });
    let text = "";
    let finish: string | null = null;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta?.content ?? "";
      finish = chunk.choices[0]?.finish_reason ?? finish;
      assert.equal(chunk.usage ?? undefined, undefined, "usage chunk the client did not ask for is dropped");
    }
    assert.equal(text, "Echo from openai/gpt-4o-mini: one two three");
    assert.equal(finish, "stop");
    const sent = mock.chats[0].body!;
    assert.deepEqual(sent.stream_options, { include_usage: true }, "proxy asks OpenRouter for usage");
  } finally {
    await proxy.close();
    await mock.close();
  }
});

Deno.test("OpenRouter attribution headers come from APP_SITE_URL and APP_X_TITLE", async () => {
  const mock = MockOpenAI.start();
  const proxy = await startTestProxy(["--disable-auth", "--openrouter-api-base-url", mock.url], {
    OPENROUTER_API_KEY: KEY1,
    APP_SITE_URL: "https://example.test/app",
    APP_X_TITLE: "My App",
  });
  try {
    await proxy.client().chat.completions.create({ model: "m", messages: [{ role: "user", content: "x" }] });
    assert.equal(mock.chats[0].headers["http-referer"], "https://example.test/app");
    assert.equal(mock.chats[0].headers["x-title"], "My App");
    // The key's headers are built once per key: the key, the attribution and the user-agent all still arrive.
    assert.equal(mock.chats[0].headers.authorization, `Bearer ${KEY1}`);
    assert.equal(mock.chats[0].headers["user-agent"], `${NAME}/${VERSION}`);
  } finally {
    await proxy.close();
    await mock.close();
  }
});
