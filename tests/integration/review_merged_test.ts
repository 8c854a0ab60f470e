/**
 * An adversarial review of the day's merged work (typed events, the Chat `[DONE]` rule, carried reasoning,
 * `--workers`), through the real surface: what a hostile or unusual upstream, client or operator found.
 */
import assert from "node:assert/strict";
import Anthropic from "@anthropic-ai/sdk";
import { runCli, spawnProxy, startTestProxy, withOpenRouter } from "../helpers.ts";
import { sseResponse } from "../mocks/openai_upstream.ts";
import { MockAnthropic } from "../mocks/anthropic_upstream.ts";

const OR_KEY = "sk-or-v1-" + "7".repeat(64);

/** One Chat chunk event (`data:` line) of choice 0. */
function chunk(delta: Record<string, unknown>, finish: string | null = null): string {
  return `data: ${
    JSON.stringify({
      id: "chatcmpl-r",
      object: "chat.completion.chunk",
      model: "up-model",
      choices: [{ index: 0, delta, finish_reason: finish }],
    })
  }`;
}

Deno.test("responses ← Chat upstream: a streamed refusal reaches the Responses client as a refusal part (SDK), as the JSON answer has it", async () => {
  // The Responses renderer had no case for refusal events: the stream completed with an empty output, so a
  // Codex-style client saw nothing at all where the model refused.
  await withOpenRouter(async (p, mock) => {
    mock.onChat = () =>
      sseResponse([
        chunk({ role: "assistant", refusal: "I can't " }),
        chunk({ refusal: "help with that." }),
        chunk({}, "stop"),
        "data: [DONE]",
      ]);
    const stream = p.client().responses.stream({ model: "m", input: "hi" });
    const types: string[] = [];
    for await (const ev of stream) types.push(ev.type);
    const final = await stream.finalResponse();
    assert.equal(final.status, "completed");
    const message = final.output.find((o) => o.type === "message");
    assert.ok(message && message.type === "message", `a message item: ${JSON.stringify(final.output)}`);
    assert.deepEqual(
      message.content.map((c) => c.type === "refusal" ? { type: c.type, refusal: c.refusal } : c),
      [{ type: "refusal", refusal: "I can't help with that." }],
    );
    assert.ok(types.includes("response.refusal.delta"), types.join(","));
    assert.ok(types.includes("response.refusal.done"), types.join(","));
  });
});

Deno.test("chat [DONE] rule: a finished answer followed by usage and trailing empty chunks, closed without [DONE], is not flagged as cut off", async () => {
  // The close was judged from the last two chunks read: a finish reason three reads back (finish, usage, an
  // empty chunk, a keep-alive) was not seen, so a whole answer got a cut-off error after it — in the Chat
  // client's SDK, and through the Chat-SSE transform as an error event to an Anthropic client.
  await withOpenRouter(async (p, mock) => {
    const usage = `data: ${
      JSON.stringify({
        id: "chatcmpl-r",
        object: "chat.completion.chunk",
        model: "up-model",
        choices: [],
        usage: { prompt_tokens: 3, completion_tokens: 2, total_tokens: 5 },
      })
    }`;
    // Paced like a server that writes each event as it goes, so the proxy reads them one by one.
    mock.onChat = () =>
      sseResponse([
        chunk({ role: "assistant", content: "whole answer" }),
        chunk({}, "stop"),
        usage,
        chunk({}),
        ": bye",
      ], 15);
    const stream = await p.client().chat.completions.create({
      model: "m",
      stream: true,
      messages: [{ role: "user", content: "hi" }],
    });
    let text = "";
    for await (const c of stream) text += c.choices[0]?.delta?.content ?? "";
    assert.equal(text, "whole answer");

    const res = await p.fetch("/v1/messages", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        model: "m",
        max_tokens: 10,
        stream: true,
        messages: [{ role: "user", content: "hi" }],
      }),
    });
    const raw = await res.text();
    assert.doesNotMatch(raw, /event: error/, raw);
    assert.match(raw, /"stop_reason":"end_turn"/);
    assert.match(raw, /event: message_stop/);
  });
});

Deno.test("no leak: a key inside a carried thinking block is redacted on the translated way too (a command beside the text), as on the pass-through", async () => {
  // The carried reasoning rides on the assistant message under a symbol key; the redactor walked string keys
  // only, so the anthropic provider wrote the thinking back upstream with the key in it.
  const mock = MockAnthropic.start();
  const GOOGLE = "AIza" + "Q".repeat(35);
  const p = await startTestProxy(["--disable-auth"], {
    ANTHROPIC_API_BASE_URL: mock.url,
    ANTHROPIC_API_KEY: "sk-ant-api03-" + "k".repeat(80),
    OPENROUTER_API_KEY: OR_KEY,
  });
  try {
    for (const typed of ["!/set(project=x) go on", "go on"]) {
      const res = await p.fetch("/v1/messages", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({
          model: "anthropic:claude-sonnet-4-5",
          max_tokens: 2000,
          thinking: { type: "enabled", budget_tokens: 1024 },
          messages: [
            { role: "user", content: "first" },
            {
              role: "assistant",
              content: [
                { type: "thinking", thinking: `the keys are ${OR_KEY} and ${GOOGLE}`, signature: "sig-1" },
                { type: "text", text: "ok" },
              ],
            },
            { role: "user", content: typed },
          ],
        }),
      });
      assert.equal(res.status, 200, typed);
      assert.equal(res.headers.get("x-llmproxy-redactions"), "2", typed);
      await res.body?.cancel();
      const sent = JSON.stringify(mock.messages.at(-1)?.body);
      assert.match(sent, /"type":"thinking"/, `${typed}: the thinking block still goes back`);
      assert.ok(!sent.includes(OR_KEY), `${typed}: the configured key is redacted`);
      assert.ok(!sent.includes(GOOGLE), `${typed}: the secret shape is redacted`);
    }
  } finally {
    await p.close();
    await mock.close();
  }
});

Deno.test("--workers: a second llmproxy --workers on a port already served fails with exit 2 and says so, instead of sharing it through SO_REUSEPORT", async () => {
  const dir = await Deno.makeTempDir();
  const first = await spawnProxy(["--disable-auth", "--workers", "2", "--data-dir", `${dir}/a`], {
    env: { HOME: dir },
  });
  try {
    const second = await runCli(
      ["--disable-auth", "--workers", "2", "--port", String(first.port), "--data-dir", `${dir}/b`],
      { env: { HOME: dir }, timeoutMs: 25_000 },
    );
    assert.equal(second.code, 2, `the second process must not serve: ${second.stdout}${second.stderr}`);
    assert.match(second.stderr, new RegExp(`cannot listen on 127\\.0\\.0\\.1:${first.port}.*in use`, "i"));
    // The first still serves.
    const res = await fetch(`http://127.0.0.1:${first.port}/health`);
    assert.equal(res.status, 200);
    await res.body?.cancel();
  } finally {
    await first.kill();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("messages ← Chat upstream: parallel tool calls whose argument fragments interleave reach the Anthropic SDK with whole inputs", async () => {
  // Messages blocks cannot interleave: a fragment of the first call that came after the second call started
  // was dropped, so the SDK got `{"path":` as the first tool's input (and failed to parse it).
  await withOpenRouter(async (p, mock) => {
    const call = (index: number, id: string, name: string) => ({
      index,
      id,
      type: "function",
      function: { name, arguments: "" },
    });
    const args = (index: number, piece: string) => ({ index, function: { arguments: piece } });
    mock.onChat = () =>
      sseResponse([
        chunk({ role: "assistant", content: null, tool_calls: [call(0, "call_a", "read")] }),
        chunk({ tool_calls: [args(0, '{"path":')] }),
        chunk({ tool_calls: [call(1, "call_b", "list")] }),
        chunk({ tool_calls: [args(1, '{"dir":')] }),
        chunk({ tool_calls: [args(0, '"a.txt"}')] }),
        chunk({ tool_calls: [args(1, '"src"}')] }),
        chunk({}, "tool_calls"),
        "data: [DONE]",
      ]);
    const client = new Anthropic({ apiKey: "unused", baseURL: p.url, maxRetries: 0 });
    const message = await client.messages.stream({
      model: "m",
      max_tokens: 100,
      messages: [{ role: "user", content: "go" }],
    }).finalMessage();
    assert.equal(message.stop_reason, "tool_use");
    assert.deepEqual(
      message.content.map((b) => b.type === "tool_use" ? { id: b.id, name: b.name, input: b.input } : b),
      [
        { id: "call_a", name: "read", input: { path: "a.txt" } },
        { id: "call_b", name: "list", input: { dir: "src" } },
      ],
    );
  });
});

Deno.test("no leak: a key typed as the model name (or the session id) of a token count is refused like a completion's, never sent to the counting backend", async () => {
  // Completions refuse a secret in 'model' (SPEC §19); the token counts (Messages count_tokens, and the Gemini
  // front end's :countTokens, which asks the backend's own count since today) sent it to Google or Anthropic,
  // in the URL and the body.
  const seen: string[] = [];
  const upstream = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    seen.push(`${req.url} ${await req.text()} ${[...req.headers.values()].join(" ")}`);
    if (req.method === "GET") {
      return Response.json({
        data: [{ id: "claude-x", type: "model" }],
        models: [{ name: "models/gem", supportedGenerationMethods: ["generateContent"] }],
      });
    }
    return Response.json({ totalTokens: 42, input_tokens: 42 });
  });
  const base = `http://127.0.0.1:${upstream.addr.port}`;
  const h = { "content-type": "application/json" };
  try {
    for (const backend of ["gemini", "anthropic"]) {
      const p = await startTestProxy(["--disable-auth", "--default-backend", backend], {
        GEMINI_API_BASE_URL: `${base}/v1beta`,
        GEMINI_API_KEY: "AIza" + "B".repeat(35),
        ANTHROPIC_API_BASE_URL: `${base}/v1`,
        ANTHROPIC_API_KEY: "sk-ant-api03-" + "k".repeat(80),
        OPENROUTER_API_KEY: OR_KEY,
      });
      try {
        const contents = JSON.stringify({ contents: [{ role: "user", parts: [{ text: "hi" }] }] });
        const messages = (model: string) =>
          JSON.stringify({ model, messages: [{ role: "user", content: "hi" }] });
        const asks: [string, RequestInit][] = [
          [`/v1beta/models/${OR_KEY}:countTokens`, { method: "POST", headers: h, body: contents }],
          ["/v1/messages/count_tokens", { method: "POST", headers: h, body: messages(OR_KEY) }],
          ["/v1/messages/count_tokens", {
            method: "POST",
            headers: h,
            body: messages(`${backend}:${OR_KEY}`),
          }],
          ["/v1/messages/count_tokens", {
            method: "POST",
            headers: { ...h, "x-session-id": OR_KEY },
            body: messages(`${backend}:gem`),
          }],
        ];
        for (const [path, init] of asks) {
          const res = await p.fetch(path, init);
          const text = await res.text();
          assert.equal(res.status, 400, `${backend} ${path}: ${text}`);
          assert.ok(!text.includes(OR_KEY), `${backend} ${path}: the answer does not repeat it`);
        }
        assert.deepEqual(
          seen.filter((s) => s.includes(OR_KEY)),
          [],
          `${backend}: no upstream call carries the key`,
        );
      } finally {
        await p.close();
      }
    }
  } finally {
    await upstream.shutdown();
  }
});

Deno.test("chat and responses ← anthropic stream: a tool call without parameters has arguments {} (as the JSON answer has), not an empty string", async () => {
  // Anthropic streams no input for a tool without parameters (one empty partial_json); the translated stream
  // gave "" as the arguments, which a client's JSON.parse (the OpenAI SDK's tool runner, Codex) fails on.
  const enc = new TextEncoder();
  const ev = (type: string, data: Record<string, unknown>) =>
    `event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`;
  const upstream = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    await req.text();
    if (req.method === "GET") return Response.json({ data: [{ id: "claude-x", type: "model" }] });
    const events = [
      ev("message_start", {
        message: {
          id: "msg_1",
          type: "message",
          role: "assistant",
          model: "claude-x",
          content: [],
          usage: { input_tokens: 1, output_tokens: 0 },
        },
      }),
      ev("content_block_start", {
        index: 0,
        content_block: { type: "tool_use", id: "toolu_1", name: "now", input: {} },
      }),
      ev("content_block_delta", { index: 0, delta: { type: "input_json_delta", partial_json: "" } }),
      ev("content_block_stop", { index: 0 }),
      ev("message_delta", { delta: { stop_reason: "tool_use" }, usage: { output_tokens: 5 } }),
      ev("message_stop", {}),
    ];
    return new Response(enc.encode(events.join("")), { headers: { "content-type": "text/event-stream" } });
  });
  const p = await startTestProxy(["--disable-auth"], {
    ANTHROPIC_API_BASE_URL: `http://127.0.0.1:${upstream.addr.port}/v1`,
    ANTHROPIC_API_KEY: "sk-ant-api03-" + "k".repeat(80),
  });
  try {
    const client = p.client();
    const parameters = { type: "object", properties: {} };
    const chat = await client.chat.completions.stream({
      model: "anthropic:claude-x",
      tools: [{ type: "function", function: { name: "now", parameters } }],
      messages: [{ role: "user", content: "time?" }],
    }).finalChatCompletion();
    assert.equal(chat.choices[0].message.tool_calls?.[0]?.type, "function");
    const call = chat.choices[0].message.tool_calls![0];
    assert.equal(call.type === "function" ? call.function.arguments : undefined, "{}");

    const response = await client.responses.stream({
      model: "anthropic:claude-x",
      tools: [{ type: "function", name: "now", parameters, strict: false }],
      input: "time?",
    }).finalResponse();
    const fc = response.output.find((o) => o.type === "function_call");
    assert.equal(fc?.type === "function_call" ? fc.arguments : undefined, "{}");
  } finally {
    await p.close();
    await upstream.shutdown();
  }
});

Deno.test("messages, responses, gemini ← Chat upstream that keeps its stream open after [DONE]: the client has its answer, and the upstream request is ended soon after", async () => {
  // The Chat-SSE transform read what follows [DONE] to its end (to keep the connection): an upstream that
  // went on sending keep-alives held its request, and the proxy's in-flight record of it, open for ever.
  await withOpenRouter(async (p, mock) => {
    const enc = new TextEncoder();
    let cancelled = 0;
    let timer: ReturnType<typeof setTimeout> | undefined;
    mock.onChat = () => {
      const answer = [chunk({ role: "assistant", content: "hello" }), chunk({}, "stop"), "data: [DONE]"];
      let i = 0;
      return new Response(
        new ReadableStream({
          async pull(c) {
            if (i < answer.length) return c.enqueue(enc.encode(answer[i++] + "\n\n"));
            await new Promise((r) => (timer = setTimeout(r, 50)));
            c.enqueue(enc.encode(": still here\n\n"));
          },
          cancel() {
            clearTimeout(timer);
            cancelled++;
          },
        }),
        { headers: { "content-type": "text/event-stream" } },
      );
    };
    const h = { "content-type": "application/json" };
    const messages = [{ role: "user", content: "hi" }];
    const asks: [string, string, RegExp][] = [
      [
        "/v1/messages",
        JSON.stringify({ model: "m", max_tokens: 9, stream: true, messages }),
        /event: message_stop/,
      ],
      ["/v1/responses", JSON.stringify({ model: "m", stream: true, input: "hi" }), /response\.completed/],
      [
        "/v1beta/models/m:streamGenerateContent?alt=sse",
        JSON.stringify({ contents: [{ role: "user", parts: [{ text: "hi" }] }] }),
        /"finishReason":"STOP"/,
      ],
    ];
    for (const [i, [path, body, end]] of asks.entries()) {
      const res = await p.fetch(path, { method: "POST", headers: h, body });
      assert.match(await res.text(), end, path);
      // Bounded polling: the upstream request must end within a few seconds, not never.
      for (let k = 0; k < 100 && cancelled <= i; k++) await new Promise((r) => setTimeout(r, 50));
      assert.equal(cancelled, i + 1, `${path}: the upstream request was ended`);
    }
  });
});

Deno.test("gemini ← Chat upstream: a tool call with a huge index does not freeze the proxy", async () => {
  // The Gemini renderer kept a choice's calls in an array at the upstream's index: index 4294967294 made the
  // finish walk four billion holes, with the event loop (every other request) blocked for a minute and more.
  await withOpenRouter(async (p, mock) => {
    mock.onChat = () =>
      sseResponse([
        chunk({
          role: "assistant",
          tool_calls: [{
            index: 4294967294,
            id: "c1",
            type: "function",
            function: { name: "f", arguments: "{}" },
          }],
        }),
        chunk({}, "tool_calls"),
        "data: [DONE]",
      ]);
    const started = performance.now();
    const res = await p.fetch("/v1beta/models/m:streamGenerateContent?alt=sse", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ contents: [{ role: "user", parts: [{ text: "hi" }] }] }),
    });
    const raw = await res.text();
    const ms = performance.now() - started;
    assert.match(raw, /"functionCall":\{"name":"f","args":\{\},"id":"c1"\}/);
    assert.ok(ms < 5000, `answered in ${Math.round(ms)} ms`);
  });
});

Deno.test("chat ← anthropic stream that keeps sending pings after message_stop: the client gets its whole answer and [DONE] at once, and the upstream request is ended soon after", async () => {
  // The translated events ended only when the upstream closed: an upstream that kept its stream open after
  // message_stop (pings) left the client waiting for [DONE] for ever, its answer already whole.
  const enc = new TextEncoder();
  const ev = (type: string, data: Record<string, unknown>) =>
    `event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`;
  let cancelled = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const upstream = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    await req.text();
    if (req.method === "GET") return Response.json({ data: [{ id: "claude-x", type: "model" }] });
    const answer = [
      ev("message_start", {
        message: {
          id: "msg_1",
          type: "message",
          role: "assistant",
          model: "claude-x",
          content: [],
          usage: { input_tokens: 3, output_tokens: 0 },
        },
      }),
      ev("content_block_start", { index: 0, content_block: { type: "text", text: "" } }),
      ev("content_block_delta", { index: 0, delta: { type: "text_delta", text: "whole answer" } }),
      ev("content_block_stop", { index: 0 }),
      ev("message_delta", { delta: { stop_reason: "end_turn" }, usage: { output_tokens: 2 } }),
      ev("message_stop", {}),
    ];
    let i = 0;
    return new Response(
      new ReadableStream({
        async pull(c) {
          if (i < answer.length) return c.enqueue(enc.encode(answer[i++]));
          await new Promise((r) => (timer = setTimeout(r, 50)));
          c.enqueue(enc.encode(ev("ping", {})));
        },
        cancel() {
          clearTimeout(timer);
          cancelled++;
        },
      }),
      { headers: { "content-type": "text/event-stream" } },
    );
  });
  const p = await startTestProxy(["--disable-auth"], {
    ANTHROPIC_API_BASE_URL: `http://127.0.0.1:${upstream.addr.port}/v1`,
    ANTHROPIC_API_KEY: "sk-ant-api03-" + "k".repeat(80),
  });
  try {
    const stream = await p.client().chat.completions.create({
      model: "anthropic:claude-x",
      stream: true,
      stream_options: { include_usage: true },
      messages: [{ role: "user", content: "hi" }],
    }, { signal: AbortSignal.timeout(5000) });
    let text = "";
    let usage: unknown;
    for await (const c of stream) {
      text += c.choices[0]?.delta?.content ?? "";
      usage ??= c.usage ?? undefined;
    }
    assert.equal(text, "whole answer");
    assert.deepEqual((usage as { completion_tokens?: number })?.completion_tokens, 2);
    for (let k = 0; k < 100 && cancelled === 0; k++) await new Promise((r) => setTimeout(r, 50));
    assert.equal(cancelled, 1, "the upstream request was ended");
  } finally {
    await p.close();
    await upstream.shutdown();
  }
});

Deno.test("messages ← Chat upstream: many tool calls without an index cost linear time, not quadratic", async () => {
  // The Chat chunk reader numbered a call without `index` by the highest index so far (a spread over every call)
  // and looked its id up by walking them all: 40,000 calls (4 MB of upstream) took some 20 s of CPU, in
  // synchronous slices that held up every other request.
  const N = 40_000;
  await withOpenRouter(async (p, mock) => {
    const events: string[] = [];
    for (let i = 0; i < N; i += 1000) {
      events.push(chunk({
        tool_calls: Array.from({ length: 1000 }, (_, k) => ({
          id: `c${i + k}`,
          type: "function",
          function: { name: "f", arguments: "{}" },
        })),
      }));
    }
    events.push(chunk({}, "tool_calls"), "data: [DONE]");
    mock.onChat = () => sseResponse(events);
    const started = performance.now();
    const res = await p.fetch("/v1/messages", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        model: "m",
        max_tokens: 9,
        stream: true,
        messages: [{ role: "user", content: "go" }],
      }),
    });
    const raw = await res.text();
    const ms = performance.now() - started;
    assert.equal(raw.match(/"type":"tool_use"/g)?.length, N);
    assert.match(raw, /"id":"c39999"/);
    assert.ok(ms < 10_000, `answered in ${Math.round(ms)} ms`);
  });
});

Deno.test("messages ← Chat upstream: a tool call ended by [DONE] alone (no finish reason) stops for tool_use, not end_turn", async () => {
  // A Chat server that omits the finish chunk: a Messages client (Claude Code) that sees end_turn after a
  // tool_use block does not run the tool, and the agent stops.
  await withOpenRouter(async (p, mock) => {
    mock.onChat = () =>
      sseResponse([
        chunk({
          role: "assistant",
          tool_calls: [{
            index: 0,
            id: "call_1",
            type: "function",
            function: { name: "Read", arguments: "" },
          }],
        }),
        chunk({ tool_calls: [{ index: 0, function: { arguments: '{"path":"a.txt"}' } }] }),
        "data: [DONE]",
      ]);
    const client = new Anthropic({ apiKey: "unused", baseURL: p.url, maxRetries: 0 });
    const message = await client.messages.stream({
      model: "m",
      max_tokens: 100,
      messages: [{ role: "user", content: "go" }],
      tools: [{ name: "Read", input_schema: { type: "object", properties: { path: { type: "string" } } } }],
    }).finalMessage();
    assert.equal(message.stop_reason, "tool_use");
    const use = message.content.find((b) => b.type === "tool_use");
    assert.ok(use && use.type === "tool_use");
    assert.deepEqual(use.input, { path: "a.txt" });
  });
});
