/**
 * The `anthropic` provider (SPEC §3.4) through the proxy with the `openai` SDK: a Chat request translated to
 * Messages (x-api-key, anthropic-version), JSON and streamed answers with a tool call translated back, 429
 * rotating to the next key with a cool-down, 529 trying the next key without one.
 */
import assert from "node:assert/strict";
import { anthropicError, messageEvents, MockAnthropic } from "../mocks/anthropic_upstream.ts";
import { sseResponse } from "../mocks/openai_upstream.ts";
import { startTestProxy, type TestProxy } from "../helpers.ts";

const K1 = "sk-ant-api03-" + "1".repeat(40);
const K2 = "sk-ant-api03-" + "2".repeat(40);
const MODEL = "anthropic:claude-sonnet-4-5";

async function withAnthropic(fn: (p: TestProxy, m: MockAnthropic) => Promise<void>) {
  const mock = MockAnthropic.start();
  const proxy = await startTestProxy(["--disable-auth"], {
    ANTHROPIC_API_BASE_URL: mock.url,
    ANTHROPIC_API_KEY_1: K1,
    ANTHROPIC_API_KEY_2: K2,
  });
  try {
    await fn(proxy, mock);
  } finally {
    await proxy.close();
    await mock.close();
  }
}

Deno.test("anthropic: a Chat request becomes a Messages request; the answer comes back as a chat.completion", async () => {
  await withAnthropic(async (p, mock) => {
    const res = await p.client().chat.completions.create({
      model: MODEL,
      messages: [{ role: "system", content: "be brief" }, { role: "user", content: "hi" }],
      stop: "END",
      temperature: 0.5,
    });
    assert.equal(res.choices[0].message.content, "Echo from claude-sonnet-4-5: hi");
    assert.equal(res.choices[0].finish_reason, "stop");
    assert.equal(res.usage?.prompt_tokens, 14, "input plus cache reads");
    assert.equal(res.usage?.prompt_tokens_details?.cached_tokens, 3);
    const sent = mock.messages[0];
    assert.equal(sent.key, K1);
    assert.equal(sent.headers["anthropic-version"], "2023-06-01");
    assert.deepEqual(sent.body, {
      model: "claude-sonnet-4-5",
      messages: [{ role: "user", content: [{ type: "text", text: "hi" }] }],
      system: "be brief",
      max_tokens: 4096,
      temperature: 0.5,
      stop_sequences: ["END"],
    });
  });
});

Deno.test("anthropic: a stream with text and a tool call arrives as chunks; tools and tool results are translated", async () => {
  await withAnthropic(async (p, mock) => {
    mock.onMessages = (req) =>
      sseResponse(
        messageEvents(String(req.body?.model), "Let me look.", {
          id: "toolu_1",
          name: "get_weather",
          input: { city: "Paris" },
        }),
      );
    const stream = await p.client().chat.completions.create({
      model: MODEL,
      stream: true,
      tools: [{ type: "function", function: { name: "get_weather", parameters: { type: "object" } } }],
      tool_choice: "required",
      messages: [
        { role: "user", content: "weather?" },
        {
          role: "assistant",
          content: null,
          tool_calls: [{
            id: "toolu_0",
            type: "function",
            function: { name: "get_weather", arguments: "{}" },
          }],
        },
        { role: "tool", tool_call_id: "toolu_0", content: "sunny" },
      ],
    });
    let text = "";
    let args = "";
    let name: string | undefined;
    let finish: string | null = null;
    for await (const c of stream) {
      const d = c.choices[0]?.delta;
      text += d?.content ?? "";
      for (const tc of d?.tool_calls ?? []) {
        name ??= tc.function?.name;
        args += tc.function?.arguments ?? "";
      }
      finish = c.choices[0]?.finish_reason ?? finish;
    }
    assert.equal(text, "Let me look.");
    assert.equal(name, "get_weather");
    assert.deepEqual(JSON.parse(args), { city: "Paris" });
    assert.equal(finish, "tool_calls");
    const body = mock.messages[0].body!;
    assert.equal(body.stream, true);
    assert.deepEqual(body.tools, [{ name: "get_weather", input_schema: { type: "object" } }]);
    assert.deepEqual(body.tool_choice, { type: "any" });
    assert.deepEqual(body.messages, [
      { role: "user", content: [{ type: "text", text: "weather?" }] },
      { role: "assistant", content: [{ type: "tool_use", id: "toolu_0", name: "get_weather", input: {} }] },
      { role: "user", content: [{ type: "tool_result", tool_use_id: "toolu_0", content: "sunny" }] },
    ]);
  });
});

Deno.test("anthropic: a 429 rotates to the next key, which then cools (retry-after)", async () => {
  await withAnthropic(async (p, mock) => {
    mock.onMessages = (req) =>
      req.key === K1
        ? anthropicError(429, "rate_limit_error", "Number of requests has exceeded your rate limit", {
          "retry-after": "60",
        })
        : undefined;
    const ask = () =>
      p.client().chat.completions.create({ model: MODEL, messages: [{ role: "user", content: "x" }] })
        .withResponse();
    const first = await ask();
    assert.equal(first.response.headers.get("x-llmproxy-key"), "ANTHROPIC_API_KEY_2");
    await ask();
    await ask();
    assert.deepEqual(mock.messages.map((r) => r.key), [K1, K2, K2, K2], "K1 cools after its 429");
  });
});

Deno.test("anthropic: 529 overloaded tries the next key and cools nothing", async () => {
  await withAnthropic(async (p, mock) => {
    let overloaded = true;
    mock.onMessages = (req) =>
      overloaded && req.key === K1 ? anthropicError(529, "overloaded_error", "Overloaded") : undefined;
    const ask = () =>
      p.client().chat.completions.create({ model: MODEL, messages: [{ role: "user", content: "x" }] })
        .withResponse();
    const first = await ask();
    assert.equal(first.response.headers.get("x-llmproxy-key"), "ANTHROPIC_API_KEY_2");
    overloaded = false;
    await ask();
    await ask();
    assert.ok(mock.messages.slice(1).some((r) => r.key === K1), "K1 was not cooled by a 529");
  });
});

Deno.test("anthropic: an error object in a 200 answer is read as that error (overloaded: next key, then the client's 503), not as a malformed answer", async () => {
  await withAnthropic(async (p, mock) => {
    mock.onMessages = () =>
      Response.json({ type: "error", error: { type: "overloaded_error", message: "Overloaded" } });
    const res = await p.fetch("/v1/chat/completions", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: MODEL, messages: [{ role: "user", content: "x" }] }),
    });
    const body = await res.json();
    assert.equal(mock.messages.length, 2, "both keys tried");
    assert.doesNotMatch(body.error.message, /malformed/, body.error.message);
    assert.match(body.error.message, /[Oo]verloaded/, body.error.message);
    assert.ok(res.status === 503 || res.status === 529, `status ${res.status}`);
  });
});
