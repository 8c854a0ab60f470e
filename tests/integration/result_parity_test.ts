/**
 * Stream/JSON parity of a translated provider's whole answer (issue 13): the anthropic provider reads one
 * Messages answer — signed thinking, redacted thinking, text, a tool call, cache and output tokens — into the
 * model's `ModelResult` when it comes as JSON, and into the model's events when it streams. Each front end
 * (Chat, Anthropic Messages, Responses, Gemini) must say the same in its JSON answer as in its stream, over
 * HTTP against the proxy with the upstream mocked in Anthropic's wire format. A Messages client's JSON keeps
 * the thinking block with its signature intact and the redacted thinking in order.
 */
import assert from "node:assert/strict";
import { startTestProxy, type TestProxy } from "../helpers.ts";
import { sseResponse } from "../mocks/openai_upstream.ts";
import { event, MockAnthropic } from "../mocks/anthropic_upstream.ts";
import { checkMessagesGrammar, parseMessagesSse } from "../support/messages_grammar.ts";

const CLIENT_KEY = "llmproxy-client-key-for-tests";
const ANT_KEY = "sk-ant-api03-" + "1".repeat(40);
const MODEL = "anthropic:claude-sonnet-4-5";
const SIGNATURE = "EqQBsig/+==";

/** The one answer the upstream gives, as a Messages `message`. */
const ANSWER = {
  id: "msg_up",
  type: "message",
  role: "assistant",
  model: "claude-sonnet-4-5-20250929",
  content: [
    { type: "thinking", thinking: "Let me think.", signature: SIGNATURE },
    { type: "redacted_thinking", data: "ENCRYPTED" },
    { type: "text", text: "Reading it." },
    { type: "tool_use", id: "toolu_01", name: "read_file", input: { path: "a.txt" } },
  ],
  stop_reason: "tool_use",
  stop_sequence: null,
  usage: { input_tokens: 11, output_tokens: 9, cache_read_input_tokens: 3, cache_creation_input_tokens: 2 },
};

/** The same answer as Anthropic streams it. */
function answerEvents(): string[] {
  const { content, usage, stop_reason, ...message } = ANSWER;
  const out = [
    event("message_start", {
      message: { ...message, content: [], stop_reason: null, usage: { ...usage, output_tokens: 1 } },
    }),
  ];
  content.forEach((block, index) => {
    if (block.type === "thinking") {
      out.push(
        event("content_block_start", {
          index,
          content_block: { type: "thinking", thinking: "", signature: "" },
        }),
        event("content_block_delta", { index, delta: { type: "thinking_delta", thinking: "Let me " } }),
        event("content_block_delta", { index, delta: { type: "thinking_delta", thinking: "think." } }),
        event("content_block_delta", { index, delta: { type: "signature_delta", signature: SIGNATURE } }),
      );
    } else if (block.type === "text") {
      out.push(
        event("content_block_start", { index, content_block: { type: "text", text: "" } }),
        event("content_block_delta", { index, delta: { type: "text_delta", text: block.text } }),
      );
    } else if (block.type === "tool_use") {
      out.push(
        event("content_block_start", { index, content_block: { ...block, input: {} } }),
        event("content_block_delta", {
          index,
          delta: { type: "input_json_delta", partial_json: '{"path":' },
        }),
        event("content_block_delta", {
          index,
          delta: { type: "input_json_delta", partial_json: '"a.txt"}' },
        }),
      );
    } else {
      out.push(event("content_block_start", { index, content_block: block }));
    }
    out.push(event("content_block_stop", { index }));
  });
  out.push(
    event("message_delta", { delta: { stop_reason, stop_sequence: null }, usage: { output_tokens: 9 } }),
    event("message_stop", {}),
  );
  return out;
}

async function withProxy(fn: (p: TestProxy, mock: MockAnthropic) => Promise<void>): Promise<void> {
  const mock = MockAnthropic.start();
  mock.onMessages = (req) =>
    req.body?.stream === true ? sseResponse(answerEvents()) : Response.json(structuredClone(ANSWER));
  const p = await startTestProxy([], {
    LLM_INTERACTIVE_PROXY_API_KEY: CLIENT_KEY,
    ANTHROPIC_API_BASE_URL: mock.url,
    ANTHROPIC_API_KEY_1: ANT_KEY,
  });
  try {
    await fn(p, mock);
  } finally {
    await p.close();
    await mock.close();
  }
}

function post(p: TestProxy, path: string, body: unknown, headers: Record<string, string>): Promise<Response> {
  return p.fetch(path, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify(body),
  });
}

const BEARER = { authorization: `Bearer ${CLIENT_KEY}` };

/** The `data:` payloads of an SSE body (without `[DONE]`). */
function dataEvents(raw: string): Record<string, unknown>[] {
  return raw.split("\n").filter((l) => l.startsWith("data: ") && l !== "data: [DONE]")
    .map((l) => JSON.parse(l.slice(6)));
}

type Obj = Record<string, unknown>;

Deno.test("parity, Messages client (translated: a command beside the text): the JSON message holds the signed thinking, the redacted thinking, text and tool_use in order, as the stream does", async () => {
  await withProxy(async (p, mock) => {
    const body = {
      model: MODEL,
      max_tokens: 3000,
      thinking: { type: "enabled", budget_tokens: 2000 },
      messages: [{ role: "user", content: "!/set(interactive=off) read a.txt" }],
    };
    const jsonRes = await post(p, "/v1/messages", body, { "x-api-key": CLIENT_KEY });
    assert.equal(jsonRes.status, 200);
    const message = await jsonRes.json();
    assert.match(jsonRes.headers.get("x-llmproxy-commands") ?? "", /interactive/);
    assert.equal(mock.requests.at(-1)!.body!.stream, undefined, "the JSON request was not streamed upstream");
    assert.doesNotMatch(
      JSON.stringify(mock.requests.at(-1)!.body),
      /!\/set/,
      "translated, not passed through",
    );
    const blocks = [
      { type: "thinking", thinking: "Let me think.", signature: SIGNATURE },
      { type: "redacted_thinking", data: "ENCRYPTED" },
      { type: "text", text: "Reading it." },
      { type: "tool_use", id: "toolu_01", name: "read_file", input: { path: "a.txt" } },
    ];
    assert.deepEqual(message.content, blocks);
    assert.equal(message.type, "message");
    assert.equal(message.model, ANSWER.model);
    assert.equal(message.stop_reason, "tool_use");
    assert.deepEqual(message.usage, {
      input_tokens: 11,
      output_tokens: 9,
      cache_read_input_tokens: 3,
      cache_creation_input_tokens: 2,
    });

    const streamRes = await post(p, "/v1/messages", { ...body, stream: true }, { "x-api-key": CLIENT_KEY });
    assert.equal(streamRes.status, 200);
    const s = checkMessagesGrammar(parseMessagesSse(await streamRes.text()));
    assert.equal(mock.requests.at(-1)!.body!.stream, true);
    assert.deepEqual(s.blocks, blocks, "the stream says what the JSON says");
    assert.equal(s.stopReason, message.stop_reason);
    assert.equal(s.usage?.output_tokens, message.usage.output_tokens);
  });
});

Deno.test("parity, Chat client: the JSON completion and the chunks carry the same reasoning with its signature, text, tool call, finish and usage", async () => {
  await withProxy(async (p) => {
    const body = {
      model: MODEL,
      reasoning_effort: "low",
      messages: [{ role: "user", content: "read a.txt" }],
    };
    const jsonRes = await post(p, "/v1/chat/completions", body, BEARER);
    assert.equal(jsonRes.status, 200);
    const completion = await jsonRes.json();
    assert.equal(completion.object, "chat.completion");
    const m = completion.choices[0].message;
    const want = {
      content: "Reading it.",
      reasoning: "Let me think.",
      signature: SIGNATURE,
      calls: [{ id: "toolu_01", name: "read_file", arguments: '{"path":"a.txt"}' }],
      finish: "tool_calls",
    };
    assert.deepEqual({
      content: m.content,
      reasoning: m.reasoning_content,
      signature: m.reasoning_signature,
      calls: m.tool_calls.map((tc: { id: string; function: { name: string; arguments: string } }) => ({
        id: tc.id,
        name: tc.function.name,
        arguments: tc.function.arguments,
      })),
      finish: completion.choices[0].finish_reason,
    }, want);
    assert.deepEqual(completion.usage, {
      prompt_tokens: 16,
      completion_tokens: 9,
      total_tokens: 25,
      prompt_tokens_details: { cached_tokens: 3, cache_creation_tokens: 2 },
    });

    const streamRes = await post(p, "/v1/chat/completions", {
      ...body,
      stream: true,
      stream_options: { include_usage: true },
    }, BEARER);
    assert.equal(streamRes.status, 200);
    const chunks = dataEvents(await streamRes.text());
    let content = "", reasoning = "", signature = "", finish = "";
    const calls: { id: string; name: string; arguments: string }[] = [];
    let usage: unknown;
    for (const c of chunks) {
      if (c.usage) usage = c.usage;
      for (const ch of (c.choices ?? []) as Obj[]) {
        const d = ch.delta as Obj;
        content += (d.content as string) ?? "";
        reasoning += (d.reasoning_content as string) ?? "";
        signature += (d.reasoning_signature as string) ?? "";
        for (const tc of (d.tool_calls ?? []) as { index: number; id?: string; function: Obj }[]) {
          calls[tc.index] ??= { id: tc.id ?? "", name: "", arguments: "" };
          calls[tc.index].name += (tc.function.name as string) ?? "";
          calls[tc.index].arguments += (tc.function.arguments as string) ?? "";
        }
        if (ch.finish_reason) finish = ch.finish_reason as string;
      }
    }
    assert.deepEqual(
      { content, reasoning, signature, calls, finish },
      want,
      "the stream says what the JSON says",
    );
    assert.deepEqual(usage, completion.usage);
  });
});

/** A Responses output item without its generated id. */
function item(i: Obj): Obj {
  const { id: _id, ...rest } = i;
  return rest;
}

Deno.test("parity, Responses client: the JSON response and the stream's completed response hold the same output and usage", async () => {
  await withProxy(async (p) => {
    const body = { model: MODEL, input: "read a.txt", store: false, reasoning: { effort: "low" } };
    const jsonRes = await post(p, "/v1/responses", body, BEARER);
    assert.equal(jsonRes.status, 200);
    const response = await jsonRes.json();
    assert.equal(response.status, "completed");
    const output = (response.output as Obj[]).map(item);
    assert.deepEqual(output, [
      { type: "reasoning", summary: [{ type: "summary_text", text: "Let me think." }] },
      {
        type: "message",
        status: "completed",
        role: "assistant",
        content: [{ type: "output_text", text: "Reading it.", annotations: [], logprobs: [] }],
      },
      {
        type: "function_call",
        status: "completed",
        call_id: "toolu_01",
        name: "read_file",
        arguments: '{"path":"a.txt"}',
      },
    ]);
    assert.deepEqual(response.usage, {
      input_tokens: 16,
      output_tokens: 9,
      total_tokens: 25,
      input_tokens_details: { cached_tokens: 3 },
      output_tokens_details: { reasoning_tokens: 0 },
    });

    const streamRes = await post(p, "/v1/responses", { ...body, stream: true }, BEARER);
    assert.equal(streamRes.status, 200);
    const completed = dataEvents(await streamRes.text()).find((e) => e.type === "response.completed");
    assert.ok(completed, "the stream completes");
    const final = completed.response as Obj;
    assert.deepEqual((final.output as Obj[]).map(item), output, "the stream says what the JSON says");
    assert.deepEqual(final.usage, response.usage);
    assert.equal(final.model, response.model);
  });
});

/** What a Gemini answer says: thought text, text, function calls, the finish reason, the usage. */
function geminiSays(events: Obj[]): Obj {
  let thought = "", text = "", finish: unknown;
  const calls: unknown[] = [];
  let usage: unknown;
  for (const e of events) {
    if (e.usageMetadata) usage = e.usageMetadata;
    for (const c of (e.candidates ?? []) as Obj[]) {
      if (c.finishReason) finish = c.finishReason;
      for (const part of ((c.content as Obj | undefined)?.parts ?? []) as Obj[]) {
        if (part.functionCall) calls.push(part.functionCall);
        else if (part.thought) thought += part.text;
        else if (typeof part.text === "string") text += part.text;
      }
    }
  }
  return { thought, text, calls, finish, usage };
}

Deno.test("parity, Gemini client: generateContent and streamGenerateContent say the same thought, text, function call, finish and usage", async () => {
  await withProxy(async (p) => {
    const body = { contents: [{ role: "user", parts: [{ text: "read a.txt" }] }] };
    const headers = { "x-goog-api-key": CLIENT_KEY };
    const jsonRes = await post(p, `/v1beta/models/${MODEL}:generateContent`, body, headers);
    assert.equal(jsonRes.status, 200);
    const whole = geminiSays([await jsonRes.json()]);
    assert.deepEqual(whole, {
      thought: "Let me think.",
      text: "Reading it.",
      calls: [{ name: "read_file", args: { path: "a.txt" }, id: "toolu_01" }],
      finish: "STOP",
      usage: {
        promptTokenCount: 16,
        candidatesTokenCount: 9,
        cachedContentTokenCount: 3,
        totalTokenCount: 25,
      },
    });
    const streamRes = await post(p, `/v1beta/models/${MODEL}:streamGenerateContent?alt=sse`, body, headers);
    assert.equal(streamRes.status, 200);
    assert.deepEqual(
      geminiSays(dataEvents(await streamRes.text())),
      whole,
      "the stream says what the JSON says",
    );
  });
});
