/**
 * The Anthropic Messages front end (SPEC §17.1) through the official `@anthropic-ai/sdk`, row by row: the
 * request translated for a Chat upstream (OpenRouter-shaped mock) and for Gemini, answers and streams in the
 * Messages shape and event grammar (stream and non-stream parity), tool use both ways, reasoning as thinking
 * blocks, stop reasons, errors before and after the commit, local replies, sessions, wildcard aliases,
 * count_tokens, usage records naming the front end, and the pass-through to the anthropic provider.
 */
import assert from "node:assert/strict";
import Anthropic from "@anthropic-ai/sdk";
import { startTestProxy, type TestProxy } from "../helpers.ts";
import { MockOpenAI, orError, sseResponse } from "../mocks/openai_upstream.ts";
import { anthropicError, event, messageEvents, MockAnthropic } from "../mocks/anthropic_upstream.ts";
import { geminiAnswer, geminiSse, MockGemini } from "../mocks/gemini_upstream.ts";
import { checkMessagesGrammar, type MessagesEvent, parseMessagesSse } from "../support/messages_grammar.ts";

const CLIENT_KEY = "llmproxy-client-key-for-tests";
const OR_KEY_1 = "sk-or-v1-" + "a".repeat(64);
const OR_KEY_2 = "sk-or-v1-" + "b".repeat(64);
const ANT_KEY_1 = "sk-ant-api03-" + "1".repeat(40);
const ANT_KEY_2 = "sk-ant-api03-" + "2".repeat(40);
const MODEL = "openai/gpt-4o-mini";

interface Env {
  p: TestProxy;
  or: MockOpenAI;
  sdk: (opts?: { headers?: Record<string, string>; authToken?: boolean }) => Anthropic;
}

async function withProxy(
  fn: (e: Env) => Promise<void>,
  args: string[] = [],
  env: Record<string, string> = {},
): Promise<void> {
  const or = MockOpenAI.start();
  const p = await startTestProxy(args, {
    LLM_INTERACTIVE_PROXY_API_KEY: CLIENT_KEY,
    OPENROUTER_API_KEY_1: OR_KEY_1,
    OPENROUTER_API_KEY_2: OR_KEY_2,
    OPENROUTER_API_BASE_URL: or.url,
    ...env,
  });
  const sdk = (opts: { headers?: Record<string, string>; authToken?: boolean } = {}) =>
    new Anthropic({
      ...(opts.authToken ? { authToken: CLIENT_KEY, apiKey: null } : { apiKey: CLIENT_KEY }),
      baseURL: p.url,
      maxRetries: 0,
      defaultHeaders: opts.headers,
    });
  try {
    await fn({ p, or, sdk });
  } finally {
    await p.close();
    await or.close();
  }
}

/** A Chat chunk event (for scripted Chat upstream streams). */
function chunk(
  delta: Record<string, unknown>,
  finish: string | null = null,
  extra: Record<string, unknown> = {},
) {
  return `data: ${
    JSON.stringify({
      id: "gen-1",
      object: "chat.completion.chunk",
      model: "mock-model",
      choices: [{ index: 0, delta, finish_reason: finish }],
      ...extra,
    })
  }`;
}

function usageChunk(prompt: number, completion: number, cached = 0) {
  return `data: ${
    JSON.stringify({
      id: "gen-1",
      object: "chat.completion.chunk",
      model: "mock-model",
      choices: [],
      usage: {
        prompt_tokens: prompt,
        completion_tokens: completion,
        total_tokens: prompt + completion,
        prompt_tokens_details: { cached_tokens: cached },
      },
    })
  }`;
}

/** All events of a streamed answer through the SDK. */
async function streamEvents(client: Anthropic, body: Anthropic.MessageCreateParamsNonStreaming) {
  const stream = await client.messages.create({ ...body, stream: true });
  const events: MessagesEvent[] = [];
  for await (const ev of stream) events.push(ev as unknown as MessagesEvent);
  return events;
}

/** A raw POST to /v1/messages (to see the SSE text itself). */
function post(p: TestProxy, body: unknown, headers: Record<string, string> = {}, path = "/v1/messages") {
  return p.fetch(path, {
    method: "POST",
    headers: { "content-type": "application/json", "x-api-key": CLIENT_KEY, ...headers },
    body: JSON.stringify(body),
  });
}

Deno.test("messages: the request is translated for a Chat upstream; the answer is a Messages message", async () => {
  await withProxy(async ({ or, sdk }) => {
    const msg = await sdk().messages.create({
      model: MODEL,
      max_tokens: 300,
      system: [
        { type: "text", text: "You are terse." },
        { type: "text", text: "Answer in English.", cache_control: { type: "ephemeral" } },
      ],
      messages: [
        {
          role: "user",
          content: [
            { type: "text", text: "Describe these." },
            { type: "image", source: { type: "base64", media_type: "image/png", data: "iVBORw0KGgo=" } },
            { type: "image", source: { type: "url", url: "https://example.com/cat.jpg" } },
          ],
        },
        // Claude Code's environment block: system text at its place.
        { role: "system", content: [{ type: "text", text: "# Environment\ncwd: /tmp" }] } as never,
      ],
      stop_sequences: ["END", "STOP"],
      temperature: 0.3,
      top_p: 0.9,
      top_k: 40,
      metadata: { user_id: "u-1" },
      thinking: { type: "adaptive" } as never,
      // What Claude Code sends that a Chat upstream has no use for: dropped, never an error.
      context_management: { edits: [{ type: "clear_thinking_20251015", keep: "all" }] },
      output_config: { effort: "medium" },
    } as Anthropic.MessageCreateParamsNonStreaming);
    assert.match(msg.id, /^msg_[0-9a-f]{24}$/);
    assert.equal(msg.type, "message");
    assert.equal(msg.role, "assistant");
    assert.equal(msg.model, MODEL);
    assert.deepEqual(msg.content, [{ type: "text", text: `Echo from ${MODEL}: Describe these.` }]);
    assert.equal(msg.stop_reason, "end_turn");
    assert.equal(msg.stop_sequence, null);
    assert.deepEqual(msg.usage, {
      input_tokens: 7,
      output_tokens: 5,
      cache_read_input_tokens: 0,
      cache_creation_input_tokens: 0,
    });
    assert.deepEqual(or.chats[0].body, {
      model: MODEL,
      messages: [
        { role: "system", content: "You are terse.\nAnswer in English." },
        {
          role: "user",
          content: [
            { type: "text", text: "Describe these." },
            { type: "image_url", image_url: { url: "data:image/png;base64,iVBORw0KGgo=" } },
            { type: "image_url", image_url: { url: "https://example.com/cat.jpg" } },
          ],
        },
        { role: "system", content: "# Environment\ncwd: /tmp" },
      ],
      max_tokens: 300,
      temperature: 0.3,
      top_p: 0.9,
      top_k: 40,
      stop: ["END", "STOP"],
    });
  });
});

Deno.test("messages: a text stream follows the grammar and says what the JSON answer says", async () => {
  await withProxy(async ({ or, sdk }) => {
    const body = {
      model: MODEL,
      max_tokens: 50,
      messages: [{ role: "user" as const, content: "two words" }],
    };
    const events = await streamEvents(sdk(), body);
    const s = checkMessagesGrammar(events);
    const json = await sdk().messages.create(body);
    assert.deepEqual(s.blocks, json.content);
    assert.equal(s.stopReason, json.stop_reason);
    assert.deepEqual(s.usage, json.usage, "usage arrives in message_delta");
    assert.ok(events.filter((e) => e.type === "content_block_delta").length > 1, "text arrives in pieces");
    assert.deepEqual(or.chats[0].body?.stream_options, { include_usage: true }, "usage is asked for");
  });
});

Deno.test("messages: a Chat tool call arrives as tool_use with input_json_delta fragments; the next turn goes back as tool_calls and tool messages", async () => {
  await withProxy(async ({ or, sdk }) => {
    const args = '{"file_path":"/tmp/a.txt","content":"hi"}';
    or.onChat = (req) => {
      if (req.body?.stream !== true) {
        return Response.json({
          id: "gen-2",
          object: "chat.completion",
          model: "mock-model",
          choices: [{
            index: 0,
            message: {
              role: "assistant",
              content: "Writing it.",
              tool_calls: [{ id: "call_w1", type: "function", function: { name: "Write", arguments: args } }],
            },
            finish_reason: "tool_calls",
          }],
          usage: { prompt_tokens: 30, completion_tokens: 12, total_tokens: 42 },
        });
      }
      return sseResponse([
        chunk({ role: "assistant", content: "" }),
        chunk({ content: "Writing it." }),
        chunk({
          tool_calls: [{
            index: 0,
            id: "call_w1",
            type: "function",
            function: { name: "Write", arguments: "" },
          }],
        }),
        chunk({ tool_calls: [{ index: 0, function: { arguments: args.slice(0, 10) } }] }),
        chunk({ tool_calls: [{ index: 0, function: { arguments: args.slice(10, 25) } }] }),
        chunk({ tool_calls: [{ index: 0, function: { arguments: args.slice(25) } }] }),
        chunk({}, "tool_calls"),
        usageChunk(30, 12),
        "data: [DONE]",
      ]);
    };
    const tools: Anthropic.Tool[] = [{
      name: "Write",
      description: "Write a file",
      input_schema: {
        type: "object",
        properties: { file_path: { type: "string" }, content: { type: "string" } },
        required: ["file_path", "content"],
      },
    }];
    const body = {
      model: MODEL,
      max_tokens: 100,
      tools,
      tool_choice: { type: "any" as const },
      messages: [{ role: "user" as const, content: "write hi to /tmp/a.txt" }],
    };
    const s = checkMessagesGrammar(await streamEvents(sdk(), body));
    const expected = [
      { type: "text", text: "Writing it." },
      { type: "tool_use", id: "call_w1", name: "Write", input: { file_path: "/tmp/a.txt", content: "hi" } },
    ];
    assert.deepEqual(s.blocks, expected);
    assert.equal(s.fragments.get(1)?.length, 3, "the arguments arrive as they came, in fragments");
    assert.equal(s.stopReason, "tool_use");
    const json = await sdk().messages.create(body);
    assert.deepEqual(json.content, expected);
    assert.equal(json.stop_reason, "tool_use");
    assert.equal(or.chats[0].body?.tool_choice, "required");
    assert.deepEqual(or.chats[0].body?.tools, [{
      type: "function",
      function: { name: "Write", description: "Write a file", parameters: tools[0].input_schema },
    }]);

    or.onChat = undefined;
    await sdk().messages.create({
      ...body,
      tool_choice: { type: "tool", name: "Write" },
      messages: [
        ...body.messages,
        { role: "assistant", content: json.content },
        {
          role: "user",
          content: [{
            type: "tool_result",
            tool_use_id: "call_w1",
            is_error: true,
            content: [{ type: "text", text: "disk full" }],
          }],
        },
      ],
    });
    const sent = or.chats.at(-1)!.body!;
    assert.deepEqual(sent.tool_choice, { type: "function", function: { name: "Write" } });
    assert.deepEqual((sent.messages as unknown[]).slice(1), [
      {
        role: "assistant",
        content: "Writing it.",
        tool_calls: [{ id: "call_w1", type: "function", function: { name: "Write", arguments: args } }],
      },
      { role: "tool", tool_call_id: "call_w1", content: "Error: disk full" },
    ]);
  });
});

Deno.test("messages: reasoning comes as a thinking block first (the proxy's signature when the provider gave none)", async () => {
  await withProxy(async ({ or, sdk }) => {
    or.onChat = (req) =>
      req.body?.stream === true
        ? sseResponse([
          chunk({ role: "assistant", content: "", reasoning_content: "Let me " }),
          chunk({ reasoning_content: "think." }),
          chunk({ content: "42" }),
          chunk({}, "stop"),
          "data: [DONE]",
        ])
        : Response.json({
          id: "g",
          object: "chat.completion",
          model: "mock-model",
          choices: [{
            index: 0,
            message: { role: "assistant", content: "42", reasoning_content: "Let me think." },
            finish_reason: "stop",
          }],
        });
    const body = {
      model: MODEL,
      max_tokens: 2000,
      thinking: { type: "enabled" as const, budget_tokens: 1500 },
      messages: [{ role: "user" as const, content: "answer?" }],
    };
    const s = checkMessagesGrammar(await streamEvents(sdk(), body));
    const expected = [
      { type: "thinking", thinking: "Let me think.", signature: "llmproxy:unsigned" },
      { type: "text", text: "42" },
    ];
    assert.deepEqual(s.blocks, expected);
    assert.deepEqual((await sdk().messages.create(body)).content, expected);
    assert.equal(or.chats[0].body?.reasoning_effort, "medium");
  });
});

Deno.test("messages: stop reasons (length → max_tokens, content filter → refusal), stream and JSON alike", async () => {
  await withProxy(async ({ or, sdk }) => {
    for (const [finish, stop] of [["length", "max_tokens"], ["content_filter", "refusal"]]) {
      or.onChat = (req) =>
        req.body?.stream === true
          ? sseResponse([chunk({ role: "assistant", content: "cut" }), chunk({}, finish), "data: [DONE]"])
          : Response.json({
            id: "g",
            object: "chat.completion",
            model: "m",
            choices: [{ index: 0, message: { role: "assistant", content: "cut" }, finish_reason: finish }],
          });
      const body = { model: MODEL, max_tokens: 5, messages: [{ role: "user" as const, content: "x" }] };
      assert.equal(checkMessagesGrammar(await streamEvents(sdk(), body)).stopReason, stop);
      assert.equal((await sdk().messages.create(body)).stop_reason, stop);
    }
  });
});

Deno.test("messages: a failure after the commit ends the stream with event: error; a cut-off stream too", async () => {
  await withProxy(async ({ p, or }) => {
    or.onChat = () =>
      sseResponse([
        chunk({ role: "assistant", content: "partial " }),
        `data: ${JSON.stringify({ error: { message: "provider blew up", code: 502 } })}`,
      ]);
    const body = { model: MODEL, max_tokens: 5, stream: true, messages: [{ role: "user", content: "x" }] };
    let res = await post(p, body);
    assert.equal(res.status, 200);
    let s = checkMessagesGrammar(parseMessagesSse(await res.text()));
    assert.deepEqual(s.blocks, [{ type: "text", text: "partial " }]);
    assert.equal(s.error?.type, "api_error");
    assert.match(s.error!.message, /provider blew up/);

    or.onChat = () => sseResponse([chunk({ role: "assistant", content: "half an ans" })]);
    res = await post(p, body);
    s = checkMessagesGrammar(parseMessagesSse(await res.text()));
    assert.equal(s.error?.type, "api_error");
    assert.match(s.error!.message, /cut off|before/);
  });
});

Deno.test("messages: a client that hangs up mid-stream ends the upstream request at once", async () => {
  await withProxy(async ({ p, or }) => {
    let cancelled: () => void;
    const upstreamCancelled = new Promise<void>((r) => (cancelled = r));
    or.onChat = () => {
      const enc = new TextEncoder();
      let sent = false;
      const body = new ReadableStream<Uint8Array>({
        pull(c) {
          // The first piece of the answer, then nothing until the client goes away.
          if (!sent) c.enqueue(enc.encode(chunk({ role: "assistant", content: "first" }) + "\n\n"));
          sent = true;
          return new Promise(() => {});
        },
        cancel: () => cancelled(),
      });
      return new Response(body, { headers: { "content-type": "text/event-stream" } });
    };
    const ac = new AbortController();
    const res = await p.fetch("/v1/messages", {
      method: "POST",
      headers: { "content-type": "application/json", "x-api-key": CLIENT_KEY },
      body: JSON.stringify({
        model: MODEL,
        max_tokens: 5,
        stream: true,
        messages: [{ role: "user", content: "x" }],
      }),
      signal: ac.signal,
    });
    const reader = res.body!.getReader();
    assert.match(new TextDecoder().decode((await reader.read()).value), /message_start/);
    ac.abort();
    await reader.cancel().catch(() => {});
    await upstreamCancelled; // the mock saw its response body cancelled: the upstream request is gone
  });
});

Deno.test("messages: errors in Anthropic shape — 400 with the field path, 401, 429 with retry-after", async () => {
  await withProxy(async ({ p, or, sdk }) => {
    let res = await post(p, {
      model: MODEL,
      max_tokens: 5,
      messages: [{ role: "user", content: [{ type: "text" }] }],
    });
    assert.equal(res.status, 400);
    assert.deepEqual(await res.json(), {
      type: "error",
      error: {
        type: "invalid_request_error",
        message: "Invalid request: messages.0.content.0.text: must be a string.",
      },
    });
    res = await p.fetch("/v1/messages", {
      method: "POST",
      headers: { "x-api-key": CLIENT_KEY },
      body: "{oops",
    });
    assert.equal(res.status, 400);
    assert.equal((await res.json()).error.type, "invalid_request_error");

    res = await post(p, { model: MODEL, messages: [{ role: "user", content: "x" }] }, {
      "x-api-key": "wrong",
    });
    assert.equal(res.status, 401);
    assert.equal((await res.json()).error.type, "authentication_error");
    res = await p.fetch("/v1/messages", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: MODEL, max_tokens: 5, messages: [{ role: "user", content: "x" }] }),
    });
    assert.equal(res.status, 401);
    assert.match((await res.json()).error.message, /send your llmproxy client key as x-api-key/);
    // Bearer works as well as x-api-key.
    const viaBearer = await sdk({ authToken: true }).messages.create({
      model: MODEL,
      max_tokens: 5,
      messages: [{ role: "user", content: "bearer" }],
    });
    assert.match((viaBearer.content[0] as { text: string }).text, /bearer/);

    or.onChat = () => {
      const r = orError(429, "Rate limit exceeded.");
      r.headers.set("retry-after", "120");
      return r;
    };
    const err = await sdk().messages.create({
      model: MODEL,
      max_tokens: 5,
      messages: [{ role: "user", content: "x" }],
    }).catch((e) => e);
    assert.ok(err instanceof Anthropic.RateLimitError, String(err));
    assert.equal(err.status, 429);
    assert.equal((err.error as { error: { type: string } }).error.type, "rate_limit_error");
    assert.ok(Number(err.headers?.get("retry-after")) > 100, "retry-after is sent");
    // Both keys now cool down: the next request is answered 429 at once, with how long to wait.
    const cooling = await post(p, {
      model: MODEL,
      max_tokens: 5,
      messages: [{ role: "user", content: "x" }],
    });
    assert.equal(cooling.status, 429);
    assert.ok(Number(cooling.headers.get("retry-after")) > 100, "retry-after is sent");
    assert.equal((await cooling.json()).error.type, "rate_limit_error");
  });
});

Deno.test("messages: commands are answered locally in Messages shape, also inside Claude Code's context blocks", async () => {
  await withProxy(async ({ p, or, sdk }) => {
    const hello = await sdk().messages.create({
      model: MODEL,
      max_tokens: 5,
      messages: [{ role: "user", content: "!/hello" }],
    });
    assert.equal(hello.content.length, 1);
    assert.match((hello.content[0] as { text: string }).text, /llmproxy/);
    assert.equal(hello.stop_reason, "end_turn");
    assert.equal(hello.usage.input_tokens, 0);
    const s = checkMessagesGrammar(
      await streamEvents(sdk(), {
        model: MODEL,
        max_tokens: 5,
        messages: [{ role: "user", content: "!/help" }],
      }),
    );
    assert.match(String(s.blocks[0].text), /!\/set\(/);
    // As Claude Code sends it: a <system-reminder> part before the typed text, its environment block after.
    const claudeShaped = {
      model: "claude-opus-5-5",
      max_tokens: 5,
      stream: true,
      messages: [
        {
          role: "user",
          content: [
            { type: "text", text: "<system-reminder>\nAttribution: add a trailer.\n</system-reminder>\n" },
            { type: "text", text: "!/hello" },
          ],
        },
        { role: "system", content: [{ type: "text", text: "# Environment\n - cwd: /tmp" }] },
      ],
    };
    const res = await post(p, claudeShaped, { "user-agent": "claude-cli/2.1.328 (external, sdk-cli)" });
    const local = checkMessagesGrammar(parseMessagesSse(await res.text()));
    assert.match(String(local.blocks[0].text), /llmproxy/);
    assert.equal(or.chats.length, 0, "nothing went upstream");
    // A command with text besides it: the text goes upstream, the confirmation in a header.
    const mixed = await sdk().messages.create({
      model: MODEL,
      max_tokens: 5,
      messages: [{ role: "user", content: "!/set(interactive=off) tell me" }],
    }).asResponse();
    assert.match(mixed.headers.get("x-llmproxy-commands") ?? "", /interactive/);
    assert.match(((await mixed.json()).content[0] as { text: string }).text, /tell me/);
    assert.doesNotMatch(JSON.stringify(or.chats[0].body), /!\/set/);
  });
});

Deno.test("messages: X-Session-ID keeps a session's model override; usage records name the front end", async () => {
  await withProxy(async ({ p, or, sdk }) => {
    const s1 = sdk({ headers: { "X-Session-ID": "cc-s1" } });
    const set = await s1.messages.create({
      model: "claude-opus-5-5",
      max_tokens: 5,
      messages: [{ role: "user", content: "!/set(model=openrouter:google/gemini-2.5-flash)" }],
    });
    assert.match((set.content[0] as { text: string }).text, /model/);
    await s1.messages.create({
      model: "claude-opus-5-5",
      max_tokens: 5,
      messages: [{ role: "user", content: "x" }],
    });
    assert.equal(or.chats.at(-1)!.body!.model, "google/gemini-2.5-flash");
    await sdk({ headers: { "X-Session-ID": "cc-s2" } }).messages.create({
      model: "claude-opus-5-5",
      max_tokens: 5,
      messages: [{ role: "user", content: "x" }],
    });
    assert.equal(or.chats.at(-1)!.body!.model, "claude-opus-5-5", "another session is not steered");
    checkMessagesGrammar(
      await streamEvents(sdk(), {
        model: MODEL,
        max_tokens: 5,
        messages: [{ role: "user", content: "streamed" }],
      }),
    );
    const recent = await (await p.fetch("/usage/recent?limit=10", {
      headers: { authorization: `Bearer ${CLIENT_KEY}` },
    })).json();
    const upstream = recent.data.filter((r: { backend?: string }) => r.backend === "openrouter");
    assert.equal(upstream.length, 3);
    for (const r of recent.data) assert.equal(r.frontend, "anthropic");
    // A translated stream ends as the upstream's did: recorded ok with its usage, not as a disconnect.
    const streamed = upstream.find((r: { stream: boolean }) => r.stream);
    assert.deepEqual([streamed.outcome, streamed.promptTokens], ["ok", 7]);
  });
});

Deno.test("messages: model_aliases keys ending in * send every claude-… name to one target", async () => {
  const dir = await Deno.makeTempDir();
  const config = `${dir}/config.json`;
  await Deno.writeTextFile(
    config,
    JSON.stringify({
      model_aliases: {
        "claude-*": `openrouter:${MODEL}`,
        "claude-haiku-4-5": "openrouter:google/gemini-2.5-flash",
      },
    }),
  );
  try {
    await withProxy(async ({ or, sdk }) => {
      for (
        const [asked, sent] of [
          ["claude-opus-5-5", MODEL],
          ["claude-sonnet-4-5-20250929", MODEL],
          ["claude-haiku-4-5", "google/gemini-2.5-flash"],
        ]
      ) {
        const res = await sdk().messages.create({
          model: asked,
          max_tokens: 5,
          messages: [{ role: "user", content: "x" }],
        }).asResponse();
        assert.equal(res.headers.get("x-llmproxy-model"), `openrouter:${sent}`);
        await res.body?.cancel();
        assert.equal(or.chats.at(-1)!.body!.model, sent);
      }
    }, ["--config", config]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("messages: count_tokens estimates system, tools and messages; never 0; errors in Anthropic shape", async () => {
  await withProxy(async ({ p, sdk }) => {
    const messages = [{ role: "user" as const, content: "How many tokens is this?" }];
    const base = (await sdk().messages.countTokens({ model: "claude-opus-5-5", messages })).input_tokens;
    assert.ok(base > 0);
    const withSystem = await sdk().messages.countTokens({
      model: "claude-opus-5-5",
      messages,
      system: "Be brief.",
    });
    assert.ok(withSystem.input_tokens > base);
    const withTool = await sdk().messages.countTokens({
      model: "claude-opus-5-5",
      messages,
      tools: [{ name: "Read", description: "Read a file", input_schema: { type: "object", properties: {} } }],
    });
    assert.ok(withTool.input_tokens > base);
    const res = await post(p, { model: "m", messages: [] }, {}, "/messages/count_tokens?beta=true");
    assert.equal(res.status, 400);
    assert.equal((await res.json()).error.type, "invalid_request_error");
  });
});

Deno.test("messages: count_tokens asks Gemini's countTokens for a gemini model (prompt redacted), else estimates", async () => {
  const asked: { path: string; key: string | null; body: Record<string, unknown> }[] = [];
  let fail = false;
  const google = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    const url = new URL(req.url);
    if (!url.pathname.endsWith(":countTokens")) return Response.json({ models: [] });
    asked.push({ path: url.pathname, key: req.headers.get("x-goog-api-key"), body: await req.json() });
    if (fail) {
      return Response.json({ error: { code: 500, message: "boom", status: "INTERNAL" } }, { status: 500 });
    }
    return Response.json({
      totalTokens: 4321,
      promptTokensDetails: [{ modality: "TEXT", tokenCount: 4321 }],
    });
  });
  const GEMINI_KEY = "AIza" + "c".repeat(35);
  try {
    await withProxy(
      async ({ sdk }) => {
        const params = {
          model: "gemini:gemini-2.5-flash",
          system: "Be brief.",
          tools: [{
            name: "Read",
            input_schema: {
              type: "object" as const,
              properties: { p: { type: "string" } },
              additionalProperties: false,
            },
          }],
          messages: [{ role: "user" as const, content: `my key is ${OR_KEY_1}` }],
        };
        assert.equal((await sdk().messages.countTokens(params)).input_tokens, 4321);
        assert.equal(asked.length, 1);
        assert.equal(asked[0].path, "/v1beta/models/gemini-2.5-flash:countTokens");
        assert.equal(asked[0].key, GEMINI_KEY);
        const g = asked[0].body.generateContentRequest as Record<string, unknown>;
        assert.equal(g.model, "models/gemini-2.5-flash");
        assert.deepEqual(g.systemInstruction, { parts: [{ text: "Be brief." }] });
        assert.doesNotMatch(
          JSON.stringify(g),
          /additionalProperties/,
          "the tools are cleaned as for generateContent",
        );
        assert.doesNotMatch(JSON.stringify(asked[0].body), new RegExp(OR_KEY_1), "the prompt is redacted");
        fail = true; // Gemini cannot count: the estimate answers
        const estimated = (await sdk().messages.countTokens(params)).input_tokens;
        assert.ok(estimated > 0 && estimated !== 4321);
        const other = await sdk().messages.countTokens({ ...params, model: MODEL });
        assert.ok(other.input_tokens > 0);
        assert.equal(asked.length, 2, "a backend without a count of its own is not asked");
      },
      [],
      { GEMINI_API_KEY: GEMINI_KEY, GEMINI_API_BASE_URL: `http://127.0.0.1:${google.addr.port}` },
    );
  } finally {
    await google.shutdown();
  }
});

Deno.test("messages: on Gemini, text and a tool call whose thought signature survives the round trip through the client", async () => {
  const gemini = MockGemini.start();
  try {
    await withProxy(
      async ({ sdk }) => {
        const text = await sdk().messages.create({
          model: "gemini:gemini-2.5-flash",
          max_tokens: 50,
          system: "Be brief.",
          messages: [{ role: "user", content: "hello gemini" }],
        });
        assert.match((text.content[0] as { text: string }).text, /hello gemini/);
        assert.equal(gemini.generations[0].body?.systemInstruction !== undefined, true);

        gemini.onGenerate = (req) =>
          req.rpc === "streamGenerateContent"
            ? geminiSse([
              geminiAnswer([{
                functionCall: { name: "Bash", args: { command: "ls" } },
                thoughtSignature: "c2lnLTE=",
              }]),
            ])
            : undefined;
        const tools = [{ name: "Bash", input_schema: { type: "object" as const, properties: {} } }];
        const body = {
          model: "gemini:gemini-2.5-flash",
          max_tokens: 50,
          tools,
          messages: [{ role: "user" as const, content: "list files" }],
        };
        const s = checkMessagesGrammar(await streamEvents(sdk(), body));
        assert.equal(s.stopReason, "tool_use");
        const call = s.blocks[0] as { type: string; id: string; input: unknown };
        assert.equal(call.type, "tool_use");
        assert.deepEqual(call.input, { command: "ls" });
        gemini.onGenerate = undefined;
        await sdk().messages.create({
          ...body,
          messages: [
            ...body.messages,
            { role: "assistant", content: [s.blocks[0] as unknown as Anthropic.ToolUseBlockParam] },
            { role: "user", content: [{ type: "tool_result", tool_use_id: call.id, content: "a.txt" }] },
          ],
        });
        const contents = gemini.generations.at(-1)!.body!.contents as { parts: Record<string, unknown>[] }[];
        assert.equal(contents[1].parts[0].thoughtSignature, "c2lnLTE=", "Gemini gets its own signature back");
      },
      [],
      { GEMINI_API_KEY: "AIza" + "g".repeat(35), GEMINI_API_BASE_URL: gemini.url },
    );
  } finally {
    await gemini.close();
  }
});

/** A proxy in front of the Anthropic mock (two keys). */
async function withAnthropic(fn: (p: TestProxy, m: MockAnthropic, sdk: Anthropic) => Promise<void>) {
  const mock = MockAnthropic.start();
  const p = await startTestProxy([], {
    LLM_INTERACTIVE_PROXY_API_KEY: CLIENT_KEY,
    ANTHROPIC_API_BASE_URL: mock.url,
    ANTHROPIC_API_KEY_1: ANT_KEY_1,
    ANTHROPIC_API_KEY_2: ANT_KEY_2,
  });
  try {
    await fn(p, mock, new Anthropic({ apiKey: CLIENT_KEY, baseURL: p.url, maxRetries: 0 }));
  } finally {
    await p.close();
    await mock.close();
  }
}

Deno.test("messages → anthropic: the client's body passes through with unknown fields and its protocol headers", async () => {
  await withAnthropic(async (p, mock) => {
    const body = {
      model: "anthropic:claude-sonnet-4-5",
      max_tokens: 64,
      system: [{ type: "text", text: "sys", cache_control: { type: "ephemeral" } }],
      messages: [{
        role: "user",
        content: [{ type: "text", text: "hi", cache_control: { type: "ephemeral" } }],
      }],
      context_management: { edits: [{ type: "clear_thinking_20251015", keep: "all" }] },
      output_config: { effort: "medium" },
      thinking: { type: "adaptive" },
      some_future_field: { x: 1 },
      stream: true,
    };
    const res = await post(p, body, {
      "anthropic-version": "2023-06-01",
      "anthropic-beta": "context-management-2025-06-27,effort-2025-11-24",
    });
    assert.equal(res.status, 200);
    const raw = await res.text();
    const upstream = messageEvents("claude-sonnet-4-5", "Echo from claude-sonnet-4-5: hi");
    assert.equal(raw, upstream.map((e) => e + "\n\n").join(""), "the stream's bytes are the upstream's");
    checkMessagesGrammar(parseMessagesSse(raw));
    const sent = mock.messages[0];
    assert.deepEqual(sent.body, { ...body, model: "claude-sonnet-4-5" });
    assert.equal(sent.headers["anthropic-beta"], "context-management-2025-06-27,effort-2025-11-24");
    assert.equal(sent.headers["anthropic-version"], "2023-06-01");
    assert.equal(sent.key, ANT_KEY_1);
    assert.equal(res.headers.get("x-llmproxy-backend"), "anthropic");

    const json = await post(p, { ...body, stream: false });
    assert.equal((await json.json()).id, "msg_mock", "a JSON answer passes as it came");
    // Usage is read from the passed-through stream and JSON for the records (input includes cache reads).
    const recent =
      await (await p.fetch("/usage/recent", { headers: { authorization: `Bearer ${CLIENT_KEY}` } })).json();
    for (const r of recent.data) {
      assert.deepEqual(
        [r.frontend, r.backend, r.promptTokens, r.completionTokens],
        ["anthropic", "anthropic", 14, 9],
      );
    }
    assert.equal(recent.data.length, 2);
  });
});

Deno.test("messages → anthropic: an error before the commit fails over to the next key; after it, event: error ends the stream", async () => {
  await withAnthropic(async (p, mock, sdk) => {
    mock.onMessages = (_req, n) =>
      n === 1 ? anthropicError(429, "rate_limit_error", "slow down", { "retry-after": "30" }) : undefined;
    const events = await streamEvents(sdk, {
      model: "anthropic:claude-sonnet-4-5",
      max_tokens: 5,
      messages: [{ role: "user", content: "retry me" }],
    });
    assert.match(JSON.stringify(checkMessagesGrammar(events).blocks), /retry me/);
    assert.deepEqual(mock.messages.map((r) => r.key), [ANT_KEY_1, ANT_KEY_2]);

    // 529 on every key: 503 overloaded_error, no cool-down.
    mock.onMessages = () => anthropicError(529, "overloaded_error", "Overloaded");
    const err = await sdk.messages.create({
      model: "anthropic:claude-sonnet-4-5",
      max_tokens: 5,
      messages: [{ role: "user", content: "x" }],
    }).catch((e) => e);
    assert.equal(err.status, 503);
    assert.equal(err.error.error.type, "overloaded_error");

    mock.onMessages = (req) =>
      sseResponse([
        ...messageEvents(String(req.body?.model), "some words here").slice(0, 4),
        event("error", { error: { type: "overloaded_error", message: "Overloaded mid-stream" } }),
      ]);
    const res = await post(p, {
      model: "anthropic:claude-sonnet-4-5",
      max_tokens: 5,
      stream: true,
      messages: [{ role: "user", content: "x" }],
    });
    const s = checkMessagesGrammar(parseMessagesSse(await res.text()));
    assert.equal(s.error?.type, "overloaded_error");
    assert.match(s.error!.message, /Overloaded mid-stream/);
  });
});

Deno.test("messages → anthropic: count_tokens is Anthropic's own, for the client's body with its beta header", async () => {
  await withAnthropic(async (p, mock, sdk) => {
    const params = {
      model: "anthropic:claude-sonnet-4-5",
      system: "sys",
      messages: [{ role: "user" as const, content: "count me" }],
      tools: [{ name: "Read", input_schema: { type: "object" as const, properties: {} } }],
    };
    // A field count_tokens does not take (Anthropic refuses max_tokens there) is left out.
    const res = await post(
      p,
      { ...params, max_tokens: 64 },
      { "anthropic-beta": "token-counting-2024-11-01" },
      "/v1/messages/count_tokens",
    );
    assert.deepEqual(await res.json(), { input_tokens: 777 });
    const asked = mock.requests.find((r) => r.path === "/v1/messages/count_tokens")!;
    assert.deepEqual(asked.body, { ...params, model: "claude-sonnet-4-5" });
    assert.equal(asked.headers["anthropic-beta"], "token-counting-2024-11-01");
    assert.equal(asked.key, ANT_KEY_1);
    mock.countTokens = undefined; // Anthropic cannot count: the estimate answers
    const estimated = (await sdk.messages.countTokens(params)).input_tokens;
    assert.ok(estimated > 0 && estimated !== 777);
    assert.equal(mock.messages.length, 0, "counting sends no message");
  });
});

Deno.test("messages → anthropic: thinking the proxy marked unsigned is never sent back; Anthropic's own is", async () => {
  await withAnthropic(async (p, mock) => {
    const signed = { type: "thinking", thinking: "mine", signature: "EqQBCkYIBxgCKkDreal" };
    const res = await post(p, {
      model: "anthropic:claude-sonnet-4-5",
      max_tokens: 3000,
      thinking: { type: "enabled", budget_tokens: 2000 },
      messages: [
        { role: "user", content: "q1" },
        { role: "assistant", content: [signed, { type: "text", text: "a1" }] },
        { role: "user", content: "q2" },
        {
          role: "assistant",
          content: [{ type: "thinking", thinking: "gemini's", signature: "llmproxy:unsigned" }, {
            type: "text",
            text: "a2",
          }],
        },
        { role: "user", content: "q3" },
      ],
    });
    assert.equal(res.status, 200);
    await res.body?.cancel();
    const sent = mock.messages[0].body!;
    const msgs = sent.messages as { content: unknown[] }[];
    assert.deepEqual(msgs[1].content[0], signed);
    assert.deepEqual(msgs[3].content, [{ type: "text", text: "a2" }]);
    assert.doesNotMatch(JSON.stringify(sent), /llmproxy:unsigned/);
  });
});

Deno.test("messages → anthropic, translated (a command beside the text): thinking with its signature and redacted thinking reach the client intact, in order", async () => {
  await withAnthropic(async (p, mock) => {
    mock.onMessages = () =>
      sseResponse([
        event("message_start", {
          message: {
            id: "msg_up",
            type: "message",
            role: "assistant",
            model: "claude-sonnet-4-5",
            content: [],
          },
        }),
        event("content_block_start", {
          index: 0,
          content_block: { type: "thinking", thinking: "", signature: "" },
        }),
        event("content_block_delta", { index: 0, delta: { type: "thinking_delta", thinking: "Let me " } }),
        event("content_block_delta", { index: 0, delta: { type: "thinking_delta", thinking: "think." } }),
        event("content_block_delta", {
          index: 0,
          delta: { type: "signature_delta", signature: "EqQBsig==" },
        }),
        event("content_block_stop", { index: 0 }),
        event("content_block_start", {
          index: 1,
          content_block: { type: "redacted_thinking", data: "ENCRYPTED" },
        }),
        event("content_block_stop", { index: 1 }),
        event("content_block_start", { index: 2, content_block: { type: "text", text: "" } }),
        event("content_block_delta", { index: 2, delta: { type: "text_delta", text: "Answer." } }),
        event("content_block_stop", { index: 2 }),
        event("message_delta", { delta: { stop_reason: "end_turn" }, usage: { output_tokens: 7 } }),
        event("message_stop", {}),
      ]);
    const res = await post(p, {
      model: "anthropic:claude-sonnet-4-5",
      max_tokens: 3000,
      thinking: { type: "enabled", budget_tokens: 2000 },
      messages: [{ role: "user", content: "!/set(interactive=off) think first" }],
      stream: true,
    });
    assert.equal(res.status, 200);
    assert.match(res.headers.get("x-llmproxy-commands") ?? "", /interactive/);
    const events = parseMessagesSse(await res.text());
    // Translated, not passed through: the command was cut from what went upstream.
    assert.doesNotMatch(JSON.stringify(mock.requests.at(-1)!.body), /!\/set/);
    const s = checkMessagesGrammar(events);
    assert.deepEqual(s.blocks, [
      { type: "thinking", thinking: "Let me think.", signature: "EqQBsig==" },
      { type: "redacted_thinking", data: "ENCRYPTED" },
      { type: "text", text: "Answer." },
    ]);
    const deltas = events.filter((e) => e.type === "content_block_delta" && e.index === 0)
      .map((e) => (e.delta as { type: string }).type);
    assert.deepEqual(
      deltas,
      ["thinking_delta", "thinking_delta", "signature_delta"],
      "the signature closes it",
    );
    assert.equal(s.stopReason, "end_turn");
  });
});

Deno.test("messages → anthropic, translated (a command beside the text): the turns' signed thinking goes back first, Anthropic's own only; a Chat upstream never sees it", async () => {
  const signed = { type: "thinking", thinking: "I should read it.", signature: "EqQBCkYIBxgCKkDreal" };
  const redacted = { type: "redacted_thinking", data: "ENCRYPTED" };
  const messages = [
    { role: "user", content: "read a.txt" },
    {
      role: "assistant",
      content: [signed, redacted, { type: "tool_use", id: "toolu_1", name: "Read", input: { p: "a.txt" } }],
    },
    { role: "user", content: [{ type: "tool_result", tool_use_id: "toolu_1", content: "hello" }] },
    {
      role: "assistant",
      content: [{ type: "thinking", thinking: "gemini's", signature: "llmproxy:unsigned" }, {
        type: "text",
        text: "It says hello.",
      }],
    },
    { role: "user", content: "!/set(interactive=off) and now?" },
  ];
  const tools = [{ name: "Read", input_schema: { type: "object", properties: { p: { type: "string" } } } }];
  await withAnthropic(async (p, mock) => {
    const res = await post(p, {
      model: "anthropic:claude-sonnet-4-5",
      max_tokens: 3000,
      thinking: { type: "enabled", budget_tokens: 2000 },
      tools,
      messages,
    });
    assert.equal(res.status, 200);
    assert.match(res.headers.get("x-llmproxy-commands") ?? "", /interactive/);
    await res.body?.cancel();
    const sent = mock.requests.at(-1)!.body!;
    assert.doesNotMatch(JSON.stringify(sent), /!\/set/, "translated, not passed through");
    assert.ok(sent.thinking, "thinking is on");
    const turns = sent.messages as { role: string; content: Record<string, unknown>[] }[];
    assert.deepEqual(
      turns[1].content.slice(0, 2),
      [signed, redacted],
      "the signed turn starts with its thinking",
    );
    assert.equal(turns[1].content[2].type, "tool_use");
    assert.doesNotMatch(
      JSON.stringify(sent),
      /llmproxy:unsigned|gemini's/,
      "unsigned thinking is never sent",
    );
  });
  await withProxy(async ({ p, or }) => {
    const res = await post(p, { model: MODEL, max_tokens: 3000, tools, messages });
    assert.equal(res.status, 200);
    await res.body?.cancel();
    assert.doesNotMatch(JSON.stringify(or.chats.at(-1)!.body), /EqQBCkYIBxgCKkDreal|ENCRYPTED/);
  });
});
