import assert from "node:assert/strict";
import { renderEvents } from "../../src/model/render.ts";
import { ChatRenderer } from "../../src/frontends/chat/stream.ts";
import OpenAI from "openai";
import {
  geminiAnswer,
  geminiSse,
  invalidKey400,
  MockGemini,
  quota429,
  usageMeta,
} from "../mocks/gemini_upstream.ts";
import { MockOpenAI } from "../mocks/openai_upstream.ts";
import { startTestProxy, type TestProxy } from "../helpers.ts";
import { createGemini } from "../../src/providers/gemini/client.ts";
import { createUpstreamClient } from "../../src/runner/upstream_client.ts";
import { createScrubber } from "../../src/security/scrub.ts";

const KEY1 = "AIzaSy" + "A".repeat(33);
const KEY2 = "AIzaSy" + "B".repeat(33);
const MODEL = "gemini:gemini-2.5-flash";

async function withGemini(
  fn: (mock: MockGemini, proxy: TestProxy) => Promise<void>,
  opts: { env?: Record<string, string>; args?: string[]; setup?: (mock: MockGemini) => void } = {},
): Promise<void> {
  const mock = MockGemini.start();
  opts.setup?.(mock);
  const proxy = await startTestProxy(
    [
      "--disable-auth",
      "--gemini-api-base-url",
      mock.url,
      "--key-strategy",
      "fill-first",
      ...(opts.args ?? []),
    ],
    opts.env ?? { GEMINI_API_KEY_1: KEY1, GEMINI_API_KEY_2: KEY2 },
  );
  try {
    await fn(mock, proxy);
  } finally {
    await proxy.close();
    await mock.close();
  }
}

Deno.test("gemini chat through the OpenAI SDK: translated request, key in the header, mapped answer", async () => {
  await withGemini(async (mock, proxy) => {
    const res = await proxy.client().chat.completions.create({
      model: MODEL,
      messages: [
        { role: "system", content: "You are terse." },
        { role: "user", content: "hi there" },
      ],
      temperature: 0.2,
      max_tokens: 64,
      stop: ["END"],
    }).withResponse();
    assert.equal(res.data.choices[0].message.content, "Echo from gemini-2.5-flash: hi there");
    assert.equal(res.data.choices[0].finish_reason, "stop");
    assert.equal(res.data.object, "chat.completion");
    assert.equal(res.data.model, "gemini-2.5-flash");
    assert.deepEqual(res.data.usage, {
      prompt_tokens: 11,
      completion_tokens: 5,
      total_tokens: 16,
      prompt_tokens_details: { cached_tokens: 0 },
      completion_tokens_details: { reasoning_tokens: 0 },
    });
    assert.equal(res.response.headers.get("x-llmproxy-backend"), "gemini");
    assert.equal(res.response.headers.get("x-llmproxy-model"), MODEL);
    assert.equal(res.response.headers.get("x-llmproxy-key"), "GEMINI_API_KEY_1");
    const sent = mock.generations;
    assert.equal(sent.length, 1);
    assert.equal(sent[0].path, "/v1beta/models/gemini-2.5-flash:generateContent");
    assert.equal(sent[0].search, "", "the key never goes into the URL");
    assert.equal(sent[0].key, KEY1);
    assert.deepEqual(sent[0].body, {
      systemInstruction: { parts: [{ text: "You are terse." }] },
      contents: [{ role: "user", parts: [{ text: "hi there" }] }],
      generationConfig: { temperature: 0.2, maxOutputTokens: 64, stopSequences: ["END"] },
    });
  });
});

Deno.test("gemini streaming through the SDK: deltas as they arrive, usage only when asked", async () => {
  await withGemini(async (mock, proxy) => {
    const client = proxy.client();
    const stream = await client.chat.completions.create({
      model: MODEL,
      messages: [{ role: "user", content: "one two three" }],
      stream: true,
    });
    let text = "";
    let finish: string | null = null;
    let chunks = 0;
    for await (const chunk of stream) {
      chunks++;
      text += chunk.choices[0]?.delta?.content ?? "";
      finish = chunk.choices[0]?.finish_reason ?? finish;
      assert.equal(chunk.usage ?? undefined, undefined, "no usage chunk without include_usage");
    }
    assert.equal(text, "Echo from gemini-2.5-flash: one two three");
    assert.equal(finish, "stop");
    assert.ok(chunks >= 7, `one chunk per upstream delta (got ${chunks})`);
    assert.equal(mock.generations[0].path, "/v1beta/models/gemini-2.5-flash:streamGenerateContent");
    assert.equal(mock.generations[0].search, "?alt=sse");

    const withUsage = await client.chat.completions.create({
      model: MODEL,
      messages: [{ role: "user", content: "a b" }],
      stream: true,
      stream_options: { include_usage: true },
    });
    let usage: OpenAI.CompletionUsage | undefined;
    for await (const chunk of withUsage) usage = chunk.usage ?? usage;
    assert.equal(usage?.prompt_tokens, 11);
    assert.equal(usage?.completion_tokens, 5, "one token per mock delta: 'Echo from gemini-2.5-flash: a b'");
    assert.equal(usage?.total_tokens, 16);
  });
});

Deno.test("gemini streaming: the first byte reaches the client before the upstream finishes", async () => {
  await withGemini(async (mock, proxy) => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    mock.onGenerate = () => {
      const enc = new TextEncoder();
      const ev = (o: unknown) => enc.encode(`data: ${JSON.stringify(o)}\r\n\r\n`);
      return new Response(
        new ReadableStream({
          async start(c) {
            c.enqueue(ev(geminiAnswer([{ text: "first " }], null, null)));
            await gate;
            c.enqueue(ev(geminiAnswer([{ text: "second" }], "STOP")));
            c.close();
          },
        }),
        { headers: { "content-type": "text/event-stream" } },
      );
    };
    const stream = await proxy.client().chat.completions.create({
      model: MODEL,
      messages: [{ role: "user", content: "x" }],
      stream: true,
    });
    const it = stream[Symbol.asyncIterator]();
    let seen = "";
    while (!seen.includes("first")) seen += (await it.next()).value?.choices[0]?.delta?.content ?? "";
    release();
    for (let r = await it.next(); !r.done; r = await it.next()) {
      seen += r.value.choices[0]?.delta?.content ?? "";
    }
    assert.equal(seen, "first second");
  });
});

Deno.test("gemini tool-call round trip, streaming: functionCall, functionResponse and the echoed thoughtSignature", async () => {
  await withGemini(async (mock, proxy) => {
    mock.onGenerate = (req) => {
      const contents = req.body!.contents as { role: string; parts: Record<string, unknown>[] }[];
      const last = contents.at(-1)!;
      if (last.parts.some((p) => p.functionResponse)) {
        return geminiSse([
          geminiAnswer([{ text: "It is 18C and sunny in Paris." }], "STOP", usageMeta(30, 9)),
        ]);
      }
      return geminiSse([
        geminiAnswer([{ text: "Let me check. " }], null, null),
        geminiAnswer(
          [{
            functionCall: { name: "get_weather", args: { city: "Paris" } },
            thoughtSignature: "U0lHLXBhcmlz",
          }],
          "STOP",
          usageMeta(20, 6, 40),
        ),
      ]);
    };
    const client = proxy.client();
    const tools: OpenAI.ChatCompletionTool[] = [{
      type: "function",
      function: {
        name: "get_weather",
        description: "Current weather",
        parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
      },
    }];
    const messages: OpenAI.ChatCompletionMessageParam[] = [{ role: "user", content: "Weather in Paris?" }];

    const first = await client.chat.completions.create({ model: MODEL, messages, tools, stream: true });
    let content = "";
    let finish: string | null = null;
    const calls: { id: string; name: string; args: string }[] = [];
    for await (const chunk of first) {
      const d = chunk.choices[0]?.delta;
      content += d?.content ?? "";
      for (const tc of d?.tool_calls ?? []) {
        calls[tc.index] ??= { id: "", name: "", args: "" };
        calls[tc.index].id += tc.id ?? "";
        calls[tc.index].name += tc.function?.name ?? "";
        calls[tc.index].args += tc.function?.arguments ?? "";
      }
      finish = chunk.choices[0]?.finish_reason ?? finish;
    }
    assert.equal(content, "Let me check. ");
    assert.equal(finish, "tool_calls");
    assert.equal(calls.length, 1);
    assert.equal(calls[0].name, "get_weather");
    assert.deepEqual(JSON.parse(calls[0].args), { city: "Paris" });
    assert.match(calls[0].id, /^call_/);

    messages.push({
      role: "assistant",
      content,
      tool_calls: [{
        id: calls[0].id,
        type: "function",
        function: { name: calls[0].name, arguments: calls[0].args },
      }],
    });
    messages.push({ role: "tool", tool_call_id: calls[0].id, content: '{"temp":"18C","sky":"sunny"}' });
    const second = await client.chat.completions.create({ model: MODEL, messages, tools, stream: true });
    let answer = "";
    for await (const chunk of second) answer += chunk.choices[0]?.delta?.content ?? "";
    assert.equal(answer, "It is 18C and sunny in Paris.");

    const sent = mock.generations[1].body!;
    assert.deepEqual(sent.contents, [
      { role: "user", parts: [{ text: "Weather in Paris?" }] },
      {
        role: "model",
        parts: [
          { text: "Let me check. " },
          {
            functionCall: { name: "get_weather", args: { city: "Paris" } },
            thoughtSignature: "U0lHLXBhcmlz",
          },
        ],
      },
      {
        role: "user",
        parts: [{ functionResponse: { name: "get_weather", response: { temp: "18C", sky: "sunny" } } }],
      },
    ]);
    assert.deepEqual(sent.tools, [{
      functionDeclarations: [{
        name: "get_weather",
        description: "Current weather",
        parametersJsonSchema: {
          type: "object",
          properties: { city: { type: "string" } },
          required: ["city"],
        },
      }],
    }]);
  });
});

Deno.test("gemini tool call, non-streaming, with a named tool_choice", async () => {
  await withGemini(async (mock, proxy) => {
    mock.onGenerate = () =>
      Response.json(geminiAnswer([{ functionCall: { name: "now", args: {} } }], "STOP", usageMeta(5, 2)));
    const res = await proxy.client().chat.completions.create({
      model: MODEL,
      messages: [{ role: "user", content: "time?" }],
      tools: [{ type: "function", function: { name: "now" } }],
      tool_choice: { type: "function", function: { name: "now" } },
    });
    assert.equal(res.choices[0].finish_reason, "tool_calls");
    assert.equal(res.choices[0].message.content, null);
    const tc = res.choices[0].message.tool_calls![0];
    assert.equal(tc.type, "function");
    assert.deepEqual(tc.type === "function" && tc.function, { name: "now", arguments: "{}" });
    assert.deepEqual(mock.generations[0].body!.toolConfig, {
      functionCallingConfig: { mode: "ANY", allowedFunctionNames: ["now"] },
    });
  });
});

Deno.test("gemini 429 with RetryInfo rotates to the second key and cools the first", async () => {
  await withGemini(async (mock, proxy) => {
    mock.onGenerate = (req) =>
      req.key === KEY1 ? quota429("GenerateRequestsPerMinutePerProjectPerModel-FreeTier", "37s") : undefined;
    const client = proxy.client();
    const res = await client.chat.completions.create({
      model: MODEL,
      messages: [{ role: "user", content: "hello" }],
    }).withResponse();
    assert.equal(res.data.choices[0].message.content, "Echo from gemini-2.5-flash: hello");
    assert.equal(res.response.headers.get("x-llmproxy-key"), "GEMINI_API_KEY_2");
    assert.equal(res.response.headers.get("x-llmproxy-attempts"), "2");
    assert.deepEqual(mock.generations.map((r) => r.key), [KEY1, KEY2]);

    // The first key is cooling for this model: the next request goes straight to the second.
    const again = await client.chat.completions.create({
      model: MODEL,
      messages: [{ role: "user", content: "again" }],
    }).withResponse();
    assert.equal(again.response.headers.get("x-llmproxy-attempts"), "1");
    assert.deepEqual(mock.generations.map((r) => r.key), [KEY1, KEY2, KEY2]);
  });
});

Deno.test("gemini 429 on every key → 429 rate_limit_exceeded with Retry-After from RetryInfo", async () => {
  await withGemini(async (mock, proxy) => {
    mock.onGenerate = () => quota429("GenerateRequestsPerMinutePerProjectPerModel-FreeTier", "90s");
    const res = await proxy.fetch("/v1/chat/completions", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: MODEL, messages: [{ role: "user", content: "x" }] }),
    });
    const body = await res.json();
    assert.equal(res.status, 429);
    assert.equal(body.error.code, "rate_limit_exceeded");
    const wait = Number(res.headers.get("retry-after"));
    assert.ok(wait > 60 && wait <= 90, `retry-after ${wait}`);
    assert.equal(res.headers.get("x-should-retry"), "false");
  }, { args: ["--max-wait", "0"] });
});

Deno.test("gemini API_KEY_INVALID → 502 upstream_auth_failed naming the label, never the key; next key is used", async () => {
  await withGemini(async (mock, proxy) => {
    mock.validKeys = new Set(["some-other-valid-key"]);
    const res = await proxy.fetch("/v1/chat/completions", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: MODEL, messages: [{ role: "user", content: "x" }] }),
    });
    const text = await res.text();
    assert.equal(res.status, 502);
    const body = JSON.parse(text);
    assert.equal(body.error.code, "upstream_auth_failed");
    assert.equal(body.error.type, "api_error");
    assert.match(body.error.message, /GEMINI_API_KEY_1/);
    assert.ok(!text.includes(KEY1), "no key value in the body");
    for (const [k, v] of res.headers) assert.ok(!v.includes(KEY1), `no key value in header ${k}`);
    assert.equal(mock.generations.length, 1);
  }, { env: { GEMINI_API_KEY_1: KEY1 } });

  await withGemini(async (mock, proxy) => {
    mock.validKeys = new Set([KEY2]);
    const res = await proxy.client().chat.completions.create({
      model: MODEL,
      messages: [{ role: "user", content: "x" }],
    }).withResponse();
    assert.equal(res.response.headers.get("x-llmproxy-key"), "GEMINI_API_KEY_2");
    assert.deepEqual(mock.generations.map((r) => r.key), [KEY1, KEY2]);
  });
});

Deno.test("gemini unknown model → 404 model_not_found", async () => {
  await withGemini(async (_mock, proxy) => {
    await assert.rejects(
      proxy.client().chat.completions.create({
        model: "gemini:gemini-0-nope",
        messages: [{ role: "user", content: "x" }],
      }),
      (e: unknown) => {
        assert.ok(e instanceof OpenAI.NotFoundError);
        assert.equal(e.code, "model_not_found");
        assert.match(e.message, /gemini-0-nope is not found/);
        return true;
      },
    );
  });
});

Deno.test("gemini upstream 400 is returned with its status and message", async () => {
  await withGemini(async (mock, proxy) => {
    mock.onGenerate = () =>
      Response.json(
        { error: { code: 400, message: "Invalid JSON payload received.", status: "INVALID_ARGUMENT" } },
        { status: 400 },
      );
    await assert.rejects(
      proxy.client().chat.completions.create({ model: MODEL, messages: [{ role: "user", content: "x" }] }),
      (e: unknown) => {
        assert.ok(e instanceof OpenAI.BadRequestError);
        assert.equal(e.code, "invalid_argument");
        assert.match(e.message, /Invalid JSON payload received/);
        return true;
      },
    );
    assert.equal(mock.generations.length, 1, "a client error is not retried on the next key");
  });
});

const badInputs: { name: string; messages: unknown[]; message: RegExp }[] = [
  {
    name: "an unsupported content part type",
    messages: [{ role: "user", content: [{ type: "video_url", video_url: { url: "https://x/v.mp4" } }] }],
    message: /content part type "video_url" is not supported by the gemini backend/,
  },
  {
    name: "a tool message without a matching call",
    messages: [{ role: "user", content: "x" }, { role: "tool", tool_call_id: "call_missing", content: "r" }],
    message: /tool_call_id "call_missing" does not match any tool call/,
  },
  {
    name: "an empty user message",
    messages: [{ role: "user", content: "" }],
    message: /user message needs non-empty content/,
  },
];
for (const b of badInputs) {
  Deno.test(`gemini rejects ${b.name} with a clear 400 and no upstream call`, async () => {
    await withGemini(async (mock, proxy) => {
      await assert.rejects(
        proxy.client().chat.completions.create({
          model: MODEL,
          messages: b.messages as OpenAI.ChatCompletionMessageParam[],
        }),
        (e: unknown) => {
          assert.ok(e instanceof OpenAI.BadRequestError, String(e));
          assert.equal(e.status, 400);
          assert.match(e.message, b.message);
          return true;
        },
      );
      assert.equal(mock.generations.length, 0);
    });
  });
}

Deno.test("gemini malformed SSE before any content fails over to the next key; on every key → 502", async () => {
  await withGemini(async (mock, proxy) => {
    mock.onGenerate = (req) => req.key === KEY1 ? geminiSse(["{this is not json"]) : undefined;
    const stream = await proxy.client().chat.completions.create({
      model: MODEL,
      messages: [{ role: "user", content: "ok then" }],
      stream: true,
    }).withResponse();
    assert.equal(stream.response.headers.get("x-llmproxy-key"), "GEMINI_API_KEY_2");
    let text = "";
    for await (const c of stream.data) text += c.choices[0]?.delta?.content ?? "";
    assert.equal(text, "Echo from gemini-2.5-flash: ok then");

    mock.onGenerate = () => geminiSse(["{this is not json"]);
    const res = await proxy.fetch("/v1/chat/completions", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: MODEL, messages: [{ role: "user", content: "x" }], stream: true }),
    });
    const body = await res.json();
    assert.equal(res.status, 502);
    assert.equal(body.error.code, "upstream_error");
    assert.match(body.error.message, /not JSON/);
  });
});

Deno.test("gemini malformed SSE after content ends the stream with an error event the SDK raises", async () => {
  await withGemini(async (mock, proxy) => {
    // The garbage is sent only once the client has the first delta, so the proxy has surely committed.
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    mock.onGenerate = () => {
      const enc = new TextEncoder();
      return new Response(
        new ReadableStream({
          async start(c) {
            c.enqueue(
              enc.encode(`data: ${JSON.stringify(geminiAnswer([{ text: "partial " }], null, null))}\r\n\r\n`),
            );
            await gate;
            c.enqueue(enc.encode("data: garbage\r\n\r\n"));
            c.close();
          },
        }),
        { headers: { "content-type": "text/event-stream" } },
      );
    };
    const stream = await proxy.client().chat.completions.create({
      model: MODEL,
      messages: [{ role: "user", content: "x" }],
      stream: true,
    });
    let text = "";
    await assert.rejects(
      (async () => {
        for await (const c of stream) {
          text += c.choices[0]?.delta?.content ?? "";
          if (text) release();
        }
      })(),
      (e: unknown) => {
        assert.ok(e instanceof OpenAI.APIError);
        assert.match(e.message, /not JSON/);
        return true;
      },
    );
    assert.equal(text, "partial ");
    assert.equal(mock.generations.length, 1, "no failover after the commit");
  });
});

Deno.test("gemini prompt blocked by safety → content_filter through the SDK", async () => {
  await withGemini(async (mock, proxy) => {
    mock.onGenerate = () =>
      Response.json({ promptFeedback: { blockReason: "SAFETY" }, usageMetadata: { promptTokenCount: 4 } });
    const res = await proxy.client().chat.completions.create({
      model: MODEL,
      messages: [{ role: "user", content: "x" }],
    });
    assert.equal(res.choices[0].finish_reason, "content_filter");
    assert.equal(res.choices[0].message.refusal, "Gemini blocked the prompt (SAFETY).");
  });
});

Deno.test("/v1/models lists gemini:<id> from every page, generateContent models only", async () => {
  await withGemini(async (mock, proxy) => {
    const ids = [];
    for await (const m of proxy.client().models.list()) ids.push(m.id);
    const gemini = ids.filter((id) => id.startsWith("gemini:")).sort();
    assert.deepEqual(gemini, [
      "gemini:gemini-2.5-flash",
      "gemini:gemini-2.5-pro",
      "gemini:gemini-3-pro-preview",
    ]);
    const lists = mock.requests.filter((r) => r.path === "/v1beta/models");
    assert.equal(lists.length, 2, "two pages");
    assert.equal(new URLSearchParams(lists[0].search).get("pageSize"), "1000");
    assert.equal(new URLSearchParams(lists[1].search).get("pageToken"), "2");
    assert.ok(lists.every((r) => r.key === KEY1 && !r.search.includes("key=")));
  });
});

/** An SSE response that sends `first` (if any) and then nothing until cancelled. */
function stalledSse(first: Record<string, unknown> | undefined, onCancel: () => void): Response {
  return new Response(
    new ReadableStream({
      start(c) {
        if (first) c.enqueue(new TextEncoder().encode(`data: ${JSON.stringify(first)}\r\n\r\n`));
      },
      cancel: onCancel,
    }),
    { headers: { "content-type": "text/event-stream" } },
  );
}

Deno.test("gemini --timeout: a silent stream is a 504 upstream_timeout; a stall after content ends with an error event", async () => {
  await withGemini(async (mock, proxy) => {
    let cancels = 0;
    mock.onGenerate = () => stalledSse(undefined, () => cancels++);
    const res = await proxy.fetch("/v1/chat/completions", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: MODEL, messages: [{ role: "user", content: "x" }], stream: true }),
    });
    const body = await res.json();
    assert.equal(res.status, 504);
    assert.equal(body.error.code, "upstream_timeout");

    mock.onGenerate = () => stalledSse(geminiAnswer([{ text: "half" }], null, null), () => cancels++);
    const stream = await proxy.client().chat.completions.create({
      model: MODEL,
      messages: [{ role: "user", content: "x" }],
      stream: true,
    });
    let text = "";
    await assert.rejects(
      (async () => {
        for await (const c of stream) text += c.choices[0]?.delta?.content ?? "";
      })(),
      (e: unknown) => e instanceof OpenAI.APIError && /--timeout|within/.test(e.message),
    );
    assert.equal(text, "half");
    for (let i = 0; i < 100 && cancels < 2; i++) await new Promise((r) => setTimeout(r, 5));
    assert.equal(cancels, 2, "both stalled upstream streams were cancelled");
  }, { env: { GEMINI_API_KEY_1: KEY1 }, args: ["--timeout", "0.3"] });
});

Deno.test("gemini streaming request rejected for a bad key before the stream rotates to the next key", async () => {
  await withGemini(async (mock, proxy) => {
    mock.onGenerate = (req) => req.key === KEY1 ? invalidKey400() : undefined;
    const res = await proxy.client().chat.completions.create({
      model: MODEL,
      messages: [{ role: "user", content: "streamed" }],
      stream: true,
    }).withResponse();
    let text = "";
    for await (const c of res.data) text += c.choices[0]?.delta?.content ?? "";
    assert.equal(text, "Echo from gemini-2.5-flash: streamed");
    assert.equal(res.response.headers.get("x-llmproxy-key"), "GEMINI_API_KEY_2");
    assert.deepEqual(mock.generations.map((r) => [r.key, r.search]), [[KEY1, "?alt=sse"], [
      KEY2,
      "?alt=sse",
    ]]);
  });
});

Deno.test("/v1/models still lists gemini models when the first key is rejected", async () => {
  await withGemini(async (mock, proxy) => {
    const res = await proxy.fetch("/v1/models");
    const ids = ((await res.json()).data as { id: string }[]).map((m) => m.id).filter((id) =>
      id.startsWith("gemini:")
    );
    assert.equal(ids.length, 3);
    assert.deepEqual(
      mock.requests.filter((r) => r.path === "/v1beta/models").map((r) => r.key),
      [KEY1, KEY2, KEY2],
      "key 1 rejected, then both pages with key 2",
    );
  }, { setup: (mock) => (mock.validKeys = new Set([KEY2])) });
});

Deno.test("gemini backend reports stream usage in its StreamSummary even when the client did not ask for it", async () => {
  const mock = MockGemini.start();
  const client = createUpstreamClient();
  try {
    const backend = createGemini({
      name: "gemini",
      baseUrl: mock.url,
      keys: [{ label: "GEMINI_API_KEY_1", value: KEY1 }],
      scrub: createScrubber([KEY1]),
      client,
    });
    const result = await backend.attempt({
      body: { model: MODEL, messages: [{ role: "user", content: "a b c" }], stream: true },
      model: "gemini-2.5-flash",
      key: backend.keys[0],
      stream: true,
      signal: new AbortController().signal,
      timeoutMs: 10_000,
    });
    // The backend answers the model's events (usage included); the Chat front end's renderer shows usage only
    // to a client that asked for it.
    assert.ok(result.ok && result.value.kind === "events");
    const text = await new Response(
      renderEvents(result.value.events, new ChatRenderer(result.value.meta, false)),
    )
      .text();
    assert.ok(!text.includes('"usage"'), "the client gets no usage chunk");
    assert.ok(text.endsWith("data: [DONE]\n\n"));
    const summary = await result.value.done;
    assert.deepEqual(summary.usage, {
      prompt_tokens: 11,
      completion_tokens: 6,
      total_tokens: 17,
      prompt_tokens_details: { cached_tokens: 0 },
      completion_tokens_details: { reasoning_tokens: 0 },
    });
    assert.equal(summary.model, "gemini-2.5-flash");
    assert.equal(summary.error, undefined);
  } finally {
    client.close();
    await mock.close();
  }
});

Deno.test("gemini backend translates a request once: the check and every attempt share it", async () => {
  const mock = MockGemini.start();
  const client = createUpstreamClient();
  try {
    const backend = createGemini({
      name: "gemini",
      baseUrl: mock.url,
      keys: [{ label: "GEMINI_API_KEY_1", value: KEY1 }],
      scrub: createScrubber([KEY1]),
      client,
    });
    let reads = 0;
    const messages = [{ role: "user" as const, content: "a b c" }];
    const body = {
      model: MODEL,
      get messages() {
        reads++;
        return messages;
      },
      reasoning_effort: "low",
    };
    assert.equal(backend.unsupported?.(body), undefined);
    for (const model of ["gemini-2.5-flash", "gemini-3-pro-preview"]) {
      const result = await backend.attempt({
        body,
        model,
        key: backend.keys[0],
        stream: false,
        signal: new AbortController().signal,
        timeoutMs: 10_000,
      });
      assert.ok(result.ok, model);
    }
    assert.equal(reads, 1, "one translation for the check and both attempts");
    const thinking = mock.generations.map((g) =>
      (g.body as { generationConfig?: { thinkingConfig?: unknown } }).generationConfig?.thinkingConfig
    );
    assert.deepEqual(thinking, [{ thinkingBudget: 1024 }, { thinkingLevel: "low" }]);
  } finally {
    client.close();
    await mock.close();
  }
});

Deno.test("a route skips its gemini element for a request Gemini cannot take and serves it from the next", async () => {
  const gemini = MockGemini.start();
  const openrouter = MockOpenAI.start();
  const dir = await Deno.makeTempDir();
  const config = `${dir}/config.json`;
  await Deno.writeTextFile(
    config,
    JSON.stringify({
      failover_routes: { mixed: { policy: "k", elements: [MODEL, "openrouter:openai/gpt-4o-mini"] } },
    }),
  );
  const proxy = await startTestProxy(
    [
      "--disable-auth",
      "--config",
      config,
      "--gemini-api-base-url",
      gemini.url,
      "--openrouter-api-base-url",
      openrouter.url,
    ],
    { GEMINI_API_KEY_1: KEY1, OPENROUTER_API_KEY: "sk-or-v1-" + "1".repeat(64) },
  );
  try {
    const client = proxy.client();
    const plain = await client.chat.completions.create({
      model: "mixed",
      messages: [{ role: "user", content: "hi" }],
    }).withResponse();
    assert.equal(plain.response.headers.get("x-llmproxy-backend"), "gemini");
    const video = await client.chat.completions.create({
      model: "mixed",
      messages: [{
        role: "user",
        content: [{ type: "text", text: "see" }, {
          type: "video_url",
          video_url: { url: "https://x/v.mp4" },
        }],
      }] as OpenAI.ChatCompletionMessageParam[],
    }).withResponse();
    assert.equal(video.response.headers.get("x-llmproxy-backend"), "openrouter");
    assert.equal(video.data.choices[0].message.content, "Echo from openai/gpt-4o-mini: see");
    assert.equal(gemini.generations.length, 1, "the video request never reached Gemini");
  } finally {
    await proxy.close();
    await gemini.close();
    await openrouter.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("gemini: a model name with '.' or '..' segments (or a lone surrogate) is a 400 and cannot leave /models/ on the upstream", async () => {
  await withGemini(async (mock, proxy) => {
    for (
      const model of [
        "gemini:../../x",
        "gemini:a/../../v1/models/b",
        "gemini:.",
        "gemini:a//b",
        "gemini:a\ud800",
      ]
    ) {
      const res = await proxy.fetch("/v1/chat/completions", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ model, messages: [{ role: "user", content: "hi" }] }),
      });
      const body = await res.json();
      assert.equal(res.status, 400, model);
      assert.equal(body.error.code, "invalid_request");
      assert.match(body.error.message, /model/);
    }
    assert.ok(
      mock.requests.every((r) => r.path.startsWith("/v1beta/models")),
      mock.requests.map((r) => r.path).join(" "),
    );
  });
});

Deno.test("a bare model name the default backend does not list goes to the one backend that lists it", async () => {
  const openrouter = MockOpenAI.start();
  try {
    await withGemini(async (_mock, proxy) => {
      await (await proxy.fetch("/v1/models")).body?.cancel(); // both model lists are known now
      const res = await proxy.fetch("/v1/chat/completions", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ model: "gemini-2.5-flash", messages: [{ role: "user", content: "hi" }] }),
      });
      await res.body?.cancel();
      assert.equal(res.status, 200);
      assert.equal(res.headers.get("x-llmproxy-backend"), "gemini");
      assert.equal(openrouter.chats.length, 0);
    }, {
      args: ["--openrouter-api-base-url", openrouter.url, "--default-backend", "openrouter"],
      env: { GEMINI_API_KEY_1: KEY1, OPENROUTER_API_KEY: "sk-or-v1-" + "o".repeat(64) },
    });
  } finally {
    await openrouter.close();
  }
});
