/**
 * An adversarial review of the front ends and their pass-throughs (SPEC §12, §17, §19), through HTTP against
 * the proxy: what a hostile client or upstream found that the other tests did not cover.
 */
import assert from "node:assert/strict";
import Anthropic from "@anthropic-ai/sdk";
import { startTestProxy } from "../helpers.ts";
import { MockAnthropic } from "../mocks/anthropic_upstream.ts";
import { MockOpenAI } from "../mocks/openai_upstream.ts";
import { checkMessagesGrammar, parseMessagesSse } from "../support/messages_grammar.ts";

const CLIENT_KEY = "llmproxy-client-key-for-attacks";
const ANT_KEY = "sk-ant-api03-" + "k".repeat(80);
const OR_KEY = "sk-or-v1-" + "7".repeat(64);

Deno.test("messages → anthropic: a key value in a forwarded protocol header (anthropic-beta) is redacted like the body", async () => {
  const mock = MockAnthropic.start();
  const p = await startTestProxy([], {
    LLM_INTERACTIVE_PROXY_API_KEY: CLIENT_KEY,
    ANTHROPIC_API_BASE_URL: mock.url,
    ANTHROPIC_API_KEY: ANT_KEY,
    // Another upstream's key: redaction keeps it from reaching Anthropic.
    OPENROUTER_API_KEY: OR_KEY,
  });
  try {
    const body = {
      model: "anthropic:claude-sonnet-4-5",
      max_tokens: 16,
      messages: [{ role: "user", content: `hi ${OR_KEY}` }],
    };
    const headers = {
      authorization: `Bearer ${CLIENT_KEY}`,
      "content-type": "application/json",
      "anthropic-version": "2023-06-01",
      "anthropic-beta": `effort-2025-11-24,${OR_KEY}`,
    };
    for (const path of ["/v1/messages", "/v1/messages/count_tokens"]) {
      const res = await p.fetch(path, { method: "POST", headers, body: JSON.stringify(body) });
      assert.equal(res.status, 200, path);
      await res.body?.cancel();
    }
    const sent = mock.requests.filter((r) => r.path.startsWith("/v1/messages"));
    assert.equal(sent.length, 2);
    for (const r of sent) {
      assert.ok(!JSON.stringify(r.body).includes(OR_KEY), `${r.path}: the body is redacted`);
      assert.ok(!JSON.stringify(r.headers).includes(OR_KEY), `${r.path}: no header carries the key`);
      assert.match(r.headers["anthropic-beta"], /^effort-2025-11-24,/, `${r.path}: the header is still sent`);
    }
  } finally {
    await p.close();
    await mock.close();
  }
});

Deno.test("every front end: a body nested deeper than the limit is a 400 in its own shape before any upstream call, never a 500 after a paid one", async () => {
  const mock = MockOpenAI.start();
  const p = await startTestProxy([], {
    LLM_INTERACTIVE_PROXY_API_KEY: CLIENT_KEY,
    OPENROUTER_API_BASE_URL: mock.url,
    OPENROUTER_API_KEY: OR_KEY,
  });
  let closed = false;
  try {
    const N = 100_000;
    const deep = '{"a":'.repeat(N) + "1" + "}".repeat(N);
    const cases: [string, string, (j: Record<string, unknown>) => unknown][] = [
      [
        "/v1/responses",
        `{"model":"openrouter:m","input":"hi","tools":[{"type":"function","name":"f","parameters":${deep}}]}`,
        (j) => (j.error as { code: string }).code,
      ],
      [
        "/v1/chat/completions",
        `{"model":"openrouter:m","messages":[{"role":"user","content":"hi"}],"x":${deep}}`,
        (j) => (j.error as { code: string }).code,
      ],
      [
        "/v1/messages",
        `{"model":"openrouter:m","max_tokens":5,"messages":[{"role":"user","content":"hi"}],"x":${deep}}`,
        (j) => j.type === "error" && (j.error as { type: string }).type,
      ],
      [
        "/v1beta/models/openrouter:m:generateContent",
        `{"contents":[{"role":"user","parts":[{"text":"hi"}]}],"x":${deep}}`,
        (j) => (j.error as { status: string }).status,
      ],
    ];
    const expected = ["invalid_request", "invalid_request", "invalid_request_error", "INVALID_ARGUMENT"];
    for (const [i, [path, body, shape]] of cases.entries()) {
      const res = await p.fetch(path, {
        method: "POST",
        headers: { authorization: `Bearer ${CLIENT_KEY}`, "content-type": "application/json" },
        body,
      });
      const json = await res.json();
      assert.equal(res.status, 400, `${path}: ${JSON.stringify(json).slice(0, 200)}`);
      assert.equal(shape(json), expected[i], path);
      assert.match(JSON.stringify(json), /nested deeper than/, path);
    }
    assert.equal(
      mock.chats.length,
      0,
      "no upstream call was made (and paid) for a body that cannot be answered",
    );
    await p.close();
    closed = true;
    assert.match(
      await p.logText(),
      /POST \/v1\/responses → 400 invalid_request: Request body is nested deeper/,
    );
  } finally {
    if (!closed) await p.close();
    await mock.close();
  }
});

/** One upstream for the three pass-throughs: each stream commits ("hello") and then closes without its end. */
function cutOffUpstream(): Deno.HttpServer<Deno.NetAddr> {
  const first: Record<string, string> = {
    messages:
      'event: message_start\ndata: {"type":"message_start","message":{"id":"msg_u","type":"message",' +
      '"role":"assistant","model":"claude-x","content":[],"usage":{"input_tokens":3,"output_tokens":0}}}\n\n' +
      'event: content_block_start\ndata: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}\n\n' +
      'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"hello"}}\n\n',
    responses: 'event: response.created\ndata: {"type":"response.created","sequence_number":0,"response":' +
      '{"id":"resp_u","object":"response","status":"in_progress","output":[]}}\n\n' +
      'event: response.output_text.delta\ndata: {"type":"response.output_text.delta","sequence_number":1,' +
      '"item_id":"m","output_index":0,"content_index":0,"delta":"hello"}\n\n',
    gemini: 'data: {"candidates":[{"content":{"role":"model","parts":[{"text":"hello"}]},"index":0}],' +
      '"usageMetadata":{"promptTokenCount":3,"candidatesTokenCount":1}}\n\n',
  };
  return Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    const path = new URL(req.url).pathname;
    if (req.method === "GET") return Response.json({ object: "list", data: [], models: [] });
    await req.body?.cancel();
    const kind = path.endsWith("/messages")
      ? "messages"
      : path.endsWith("/responses")
      ? "responses"
      : "gemini";
    return new Response(first[kind], { headers: { "content-type": "text/event-stream" } });
  });
}

Deno.test("pass-through streams: an upstream that closes after the commit without its protocol's end gives the client the protocol's error event, not a silently cut answer", async () => {
  const upstream = cutOffUpstream();
  const base = `http://127.0.0.1:${upstream.addr.port}`;
  const p = await startTestProxy([], {
    LLM_INTERACTIVE_PROXY_API_KEY: CLIENT_KEY,
    ANTHROPIC_API_KEY: ANT_KEY,
    ANTHROPIC_API_BASE_URL: `${base}/v1`,
    OPENAI_API_KEY: "sk-proj-" + "q".repeat(48),
    OPENAI_API_BASE_URL: `${base}/v1`,
    GEMINI_API_KEY: "AIzaSy" + "q".repeat(33),
    GEMINI_API_BASE_URL: base,
  });
  try {
    const cases: [string, Record<string, unknown>, RegExp][] = [
      [
        "/v1/messages",
        {
          model: "anthropic:claude-x",
          max_tokens: 9,
          stream: true,
          messages: [{ role: "user", content: "hi" }],
        },
        /event: error\ndata: \{"type":"error","error":\{"type":"api_error","message":"[^"]*cut off/,
      ],
      [
        "/v1/responses",
        { model: "openai:gpt-4o-mini", store: false, stream: true, input: "hi" },
        /event: response\.failed\ndata: .*"status":"failed".*cut off/,
      ],
      [
        "/v1beta/models/gemini:gemini-2.5-flash:streamGenerateContent?alt=sse",
        { contents: [{ role: "user", parts: [{ text: "hi" }] }] },
        /data: \{"error":\{"code":502,"message":"[^"]*cut off[^"]*","status":"UNAVAILABLE"/,
      ],
    ];
    for (const [path, body, error] of cases) {
      const res = await p.fetch(path, {
        method: "POST",
        headers: { authorization: `Bearer ${CLIENT_KEY}`, "content-type": "application/json" },
        body: JSON.stringify(body),
      });
      assert.equal(res.status, 200, path);
      assert.equal(
        res.headers.get("x-llmproxy-backend"),
        path.includes("gemini") ? "gemini" : path.includes("messages") ? "anthropic" : "openai",
      );
      const text = await res.text();
      assert.match(text, /hello/, `${path}: the committed text arrives`);
      assert.match(text, error, `${path}: ${text}`);
    }
  } finally {
    await p.close();
    await upstream.shutdown();
  }
});

Deno.test("gemini front end, translated: a Chat upstream that closes before its finish_reason ends the Gemini stream with Google's error (SSE and JSON array), as the other front ends do", async () => {
  const upstream = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    if (req.method === "GET") return Response.json({ object: "list", data: [{ id: "m", object: "model" }] });
    await req.body?.cancel();
    const cut =
      'data: {"id":"c","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"hello"}}]}\n\n' +
      'data: {"id":"c","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"tool_calls":' +
      '[{"index":0,"id":"call_1","type":"function","function":{"name":"f","arguments":"{\\"a\\""}}]}}]}\n\n';
    return new Response(cut, { headers: { "content-type": "text/event-stream" } });
  });
  const p = await startTestProxy([], {
    LLM_INTERACTIVE_PROXY_API_KEY: CLIENT_KEY,
    OPENROUTER_API_KEY: OR_KEY,
    OPENROUTER_API_BASE_URL: `http://127.0.0.1:${upstream.addr.port}/v1`,
  });
  try {
    for (const alt of ["?alt=sse", ""]) {
      const res = await p.fetch(`/v1beta/models/openrouter:m:streamGenerateContent${alt}`, {
        method: "POST",
        headers: { "x-goog-api-key": CLIENT_KEY, "content-type": "application/json" },
        body: JSON.stringify({ contents: [{ role: "user", parts: [{ text: "hi" }] }] }),
      });
      assert.equal(res.status, 200);
      const text = await res.text();
      assert.match(text, /hello/, alt);
      assert.match(
        text,
        /"error":\{"code":502,"message":"[^"]*cut off[^"]*","status":"UNAVAILABLE"/,
        `${alt}: ${text}`,
      );
      if (!alt) assert.doesNotThrow(() => JSON.parse(text), "the JSON array stays one JSON value");
    }
  } finally {
    await p.close();
    await upstream.shutdown();
  }
});

Deno.test("pass-through: an upstream that answers a stream request with one JSON body still gives the client a stream (Messages events, Responses events), never JSON (SPEC §16)", async () => {
  const upstream = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    const path = new URL(req.url).pathname;
    if (req.method === "GET") return Response.json({ object: "list", data: [] });
    await req.body?.cancel();
    if (path.endsWith("/messages")) {
      return Response.json({
        id: "msg_u",
        type: "message",
        role: "assistant",
        model: "claude-x",
        content: [
          { type: "thinking", thinking: "hmm", signature: "sig" },
          { type: "text", text: "hello" },
          { type: "tool_use", id: "toolu_1", name: "f", input: { a: 1 } },
        ],
        stop_reason: "tool_use",
        stop_sequence: null,
        usage: { input_tokens: 5, output_tokens: 7 },
      });
    }
    return Response.json({
      id: "resp_u",
      object: "response",
      created_at: 1,
      status: "completed",
      model: "gpt-x",
      output: [
        { type: "reasoning", id: "rs_1", summary: [] },
        {
          type: "message",
          id: "msg_1",
          role: "assistant",
          status: "completed",
          content: [{ type: "output_text", text: "hello", annotations: [] }],
        },
        {
          type: "function_call",
          id: "fc_1",
          call_id: "call_1",
          name: "f",
          arguments: '{"a":1}',
          status: "completed",
        },
      ],
      usage: { input_tokens: 5, output_tokens: 7, total_tokens: 12 },
    });
  });
  const base = `http://127.0.0.1:${upstream.addr.port}/v1`;
  const p = await startTestProxy([], {
    LLM_INTERACTIVE_PROXY_API_KEY: CLIENT_KEY,
    ANTHROPIC_API_KEY: ANT_KEY,
    ANTHROPIC_API_BASE_URL: base,
    OPENAI_API_KEY: "sk-proj-" + "q".repeat(48),
    OPENAI_API_BASE_URL: base,
  });
  try {
    const res = await p.fetch("/v1/messages", {
      method: "POST",
      headers: { "x-api-key": CLIENT_KEY, "content-type": "application/json" },
      body: JSON.stringify({
        model: "anthropic:claude-x",
        max_tokens: 9,
        stream: true,
        messages: [{ role: "user", content: "hi" }],
      }),
    });
    assert.match(res.headers.get("content-type") ?? "", /^text\/event-stream/);
    checkMessagesGrammar(parseMessagesSse(await res.text()));

    const sdk = new Anthropic({ apiKey: CLIENT_KEY, baseURL: p.url, maxRetries: 0 });
    const message = await sdk.messages.stream({
      model: "anthropic:claude-x",
      max_tokens: 9,
      messages: [{ role: "user", content: "hi" }],
    }).finalMessage();
    assert.deepEqual(message.content, [
      { type: "thinking", thinking: "hmm", signature: "sig" },
      { type: "text", text: "hello" },
      { type: "tool_use", id: "toolu_1", name: "f", input: { a: 1 } },
    ]);
    assert.equal(message.stop_reason, "tool_use");
    assert.equal(message.usage.output_tokens, 7);

    const stream = await p.client(CLIENT_KEY).responses.create({
      model: "openai:gpt-4o-mini",
      input: "hi",
      store: false,
      stream: true,
    });
    const types: string[] = [];
    let text = "";
    let done: { output_text?: string; output: unknown[] } | undefined;
    for await (const ev of stream) {
      types.push(ev.type);
      if (ev.type === "response.output_text.delta") text += ev.delta;
      if (ev.type === "response.completed") done = ev.response;
    }
    assert.equal(types[0], "response.created");
    assert.equal(types.at(-1), "response.completed");
    assert.equal(text, "hello");
    assert.equal(done?.output.length, 3);
    assert.equal(types.filter((t) => t === "response.output_item.done").length, 3);
  } finally {
    await p.close();
    await upstream.shutdown();
  }
});
