/**
 * The conversation model's event stream (src/model/): the one Chat-SSE → events transform and the commit
 * rule's verdict, table by table; then every front end's renderer on the same events (text, reasoning with its
 * signature, parallel tool calls with split arguments, usage with cached and reasoning tokens, an error after
 * the commit, finish reasons), checked on the wire each protocol's clients read.
 */
import assert from "node:assert/strict";
import { chatSseEvents } from "../../src/model/chat_sse.ts";
import { eventVerdict, type ModelEvent, type StreamMeta } from "../../src/model/events.ts";
import { type EventRenderer, eventsOf, renderEvents } from "../../src/model/render.ts";
import { completionResult, resultEvents } from "../../src/model/result.ts";
import { chatUsage, modelUsage } from "../../src/model/usage.ts";
import { ChatRenderer } from "../../src/frontends/chat/stream.ts";
import { deltaSse, roleDelta } from "../../src/openai/build.ts";
import { MessagesRenderer } from "../../src/frontends/anthropic/stream.ts";
import { ResponsesRenderer } from "../../src/frontends/responses/stream.ts";
import { GeminiRenderer } from "../../src/frontends/gemini/stream.ts";
import { FunctionNames } from "../../src/frontends/responses/names.ts";
import { parseResponsesBody } from "../../src/frontends/responses/parse.ts";
import { checkMessagesGrammar, parseMessagesSse } from "../support/messages_grammar.ts";

const enc = new TextEncoder();

/** Chat chunk data (objects or raw strings) as SSE bytes, split into pieces of `size` bytes. */
function chatSse(datas: (Record<string, unknown> | string)[], size = 1 << 20): ReadableStream<Uint8Array> {
  const all = enc.encode(
    datas.map((d) => `data: ${typeof d === "string" ? d : JSON.stringify(d)}\n\n`).join(""),
  );
  const pieces: Uint8Array[] = [];
  for (let i = 0; i < all.length; i += size) pieces.push(all.slice(i, i + size));
  return ReadableStream.from(pieces);
}

async function collect(events: ReadableStream<ModelEvent>): Promise<ModelEvent[]> {
  const out: ModelEvent[] = [];
  for await (const ev of events) out.push(ev);
  return out;
}

const chunk = (delta: Record<string, unknown>, finish: string | null = null, index = 0) => ({
  id: "chatcmpl-up",
  model: "up-model",
  choices: [{ index, delta, finish_reason: finish }],
});

const USAGE_CHUNK = {
  choices: [],
  usage: {
    prompt_tokens: 20,
    completion_tokens: 9,
    total_tokens: 29,
    prompt_tokens_details: { cached_tokens: 5 },
    completion_tokens_details: { reasoning_tokens: 7 },
  },
};

const TABLE: { name: string; chat: (Record<string, unknown> | string)[]; events: ModelEvent[] }[] = [
  {
    name: "text, the role delta holding nothing",
    chat: [
      chunk({ role: "assistant", content: "" }),
      chunk({ content: "Hel" }),
      chunk({ content: "lo" }),
      chunk({}, "stop"),
      "[DONE]",
    ],
    events: [
      { type: "text", choice: 0, text: "Hel" },
      { type: "text", choice: 0, text: "lo" },
      { type: "finish", choice: 0, reason: "stop" },
    ],
  },
  {
    name: "reasoning (both field names) with its signature, then text",
    chat: [
      chunk({ reasoning_content: "hm " }),
      chunk({ reasoning: "ok" }),
      chunk({ reasoning_signature: "EqQBsig" }),
      chunk({ content: "A" }, "stop"),
      "[DONE]",
    ],
    events: [
      { type: "reasoning", choice: 0, text: "hm " },
      { type: "reasoning", choice: 0, text: "ok" },
      { type: "reasoning_signature", choice: 0, signature: "EqQBsig" },
      { type: "text", choice: 0, text: "A" },
      { type: "finish", choice: 0, reason: "stop" },
    ],
  },
  {
    name: "parallel tool calls with split arguments",
    chat: [
      chunk({
        tool_calls: [
          { index: 0, id: "call_a", type: "function", function: { name: "Read", arguments: '{"p"' } },
          { index: 1, id: "call_b", type: "function", function: { name: "Bash", arguments: "" } },
        ],
      }),
      chunk({ tool_calls: [{ index: 1, function: { arguments: '{"c":"ls"}' } }] }),
      chunk({ tool_calls: [{ index: 0, function: { arguments: ":1}" } }] }),
      chunk({}, "tool_calls"),
      "[DONE]",
    ],
    events: [
      { type: "tool_call", choice: 0, index: 0, id: "call_a", name: "Read" },
      { type: "tool_args", choice: 0, index: 0, arguments: '{"p"' },
      { type: "tool_call", choice: 0, index: 1, id: "call_b", name: "Bash" },
      { type: "tool_args", choice: 0, index: 1, arguments: '{"c":"ls"}' },
      { type: "tool_args", choice: 0, index: 0, arguments: ":1}" },
      { type: "finish", choice: 0, reason: "tool_calls" },
    ],
  },
  {
    name: "tool calls without index follow their id",
    chat: [
      chunk({ tool_calls: [{ id: "a", function: { name: "f", arguments: "{" } }] }),
      chunk({ tool_calls: [{ function: { arguments: "}" } }] }),
      chunk({ tool_calls: [{ id: "b", function: { name: "g", arguments: "{}" } }] }),
      chunk({}, "tool_calls"),
    ],
    events: [
      { type: "tool_call", choice: 0, index: 0, id: "a", name: "f" },
      { type: "tool_args", choice: 0, index: 0, arguments: "{" },
      { type: "tool_args", choice: 0, index: 0, arguments: "}" },
      { type: "tool_call", choice: 0, index: 1, id: "b", name: "g" },
      { type: "tool_args", choice: 0, index: 1, arguments: "{}" },
      { type: "finish", choice: 0, reason: "tool_calls" },
    ],
  },
  {
    name: "usage with cached and reasoning tokens (a usage-only chunk)",
    chat: [chunk({ content: "x" }, "length"), USAGE_CHUNK, "[DONE]"],
    events: [
      { type: "text", choice: 0, text: "x" },
      { type: "finish", choice: 0, reason: "length" },
      {
        type: "usage",
        usage: {
          promptTokens: 20,
          completionTokens: 9,
          totalTokens: 29,
          cachedTokens: 5,
          reasoningTokens: 7,
        },
      },
    ],
  },
  {
    name: "an error after the commit ends the events; nothing after it is read",
    chat: [
      chunk({ content: "a" }),
      { error: { message: "slow down", type: "rate_limit_error", code: "rate_limit_exceeded" } },
      chunk({ content: "never" }),
    ],
    events: [
      { type: "text", choice: 0, text: "a" },
      {
        type: "error",
        error: { message: "slow down", type: "rate_limit_error", code: "rate_limit_exceeded" },
      },
    ],
  },
  {
    name: "finish reasons as the upstream said them; refusal; a second choice keeps its index",
    chat: [
      chunk({ refusal: "no" }, "content_filter"),
      chunk({ content: "B" }, "length", 1),
      "[DONE]",
    ],
    events: [
      { type: "refusal", choice: 0, text: "no" },
      { type: "finish", choice: 0, reason: "content_filter" },
      { type: "text", choice: 1, text: "B" },
      { type: "finish", choice: 1, reason: "length" },
    ],
  },
  {
    name: "[DONE] without a finish finishes the choice; a bad event ends with an error",
    chat: [chunk({ content: "x" }), "[DONE]"],
    events: [{ type: "text", choice: 0, text: "x" }, { type: "finish", choice: 0, reason: "stop" }],
  },
  {
    name: "[DONE] without a finish after a tool call finishes the choice for its tool calls",
    chat: [
      chunk({
        tool_calls: [{
          index: 0,
          id: "call_a",
          type: "function",
          function: { name: "Read", arguments: "{}" },
        }],
      }),
      "[DONE]",
    ],
    events: [
      { type: "tool_call", choice: 0, index: 0, id: "call_a", name: "Read" },
      { type: "tool_args", choice: 0, index: 0, arguments: "{}" },
      { type: "finish", choice: 0, reason: "tool_calls" },
    ],
  },
  {
    name: "a stream that closes before anything finished is cut off",
    chat: [chunk({ content: "half" })],
    events: [
      { type: "text", choice: 0, text: "half" },
      {
        type: "error",
        error: {
          message: "The upstream ended the stream before the answer finished; it may be cut off.",
          type: "api_error",
          code: "upstream_error",
        },
      },
    ],
  },
  {
    name: "an event that is not JSON ends the events with an error",
    chat: [chunk({ content: "x" }), "{not json"],
    events: [
      { type: "text", choice: 0, text: "x" },
      { type: "error", error: { message: "The upstream sent a stream event that is not JSON." } },
    ],
  },
];

for (const row of TABLE) {
  Deno.test(`Chat SSE → events: ${row.name}`, async () => {
    for (const size of [1, 7, 1 << 20]) {
      const meta: StreamMeta = { id: "", created: 0, model: "asked" };
      assert.deepEqual(
        await collect(chatSseEvents(chatSse(row.chat, size), meta)),
        row.events,
        `pieces of ${size}`,
      );
      if (row.chat.some((d) => typeof d === "object" && "model" in d)) {
        assert.equal(meta.model, "up-model", "the upstream's model and id are the stream's");
        assert.equal(meta.id, "chatcmpl-up");
      }
    }
  });
}

Deno.test("Chat SSE → events: what follows [DONE] is read to its end, not cancelled", async () => {
  let cancelled = false;
  let pulls = 0;
  const body = new ReadableStream<Uint8Array>({
    pull(c) {
      pulls++;
      if (pulls === 1) {
        c.enqueue(enc.encode(`data: ${JSON.stringify(chunk({ content: "x" }, "stop"))}\n\ndata: [DONE]\n\n`));
      } else if (pulls < 4) c.enqueue(enc.encode(": trailing\n\n"));
      else c.close();
    },
    cancel() {
      cancelled = true;
    },
  });
  assert.equal((await collect(chatSseEvents(body))).length, 2);
  for (let i = 0; i < 50 && pulls < 4; i++) await Promise.resolve();
  assert.equal(cancelled, false);
});

Deno.test("the commit rule's verdict: content, finish and usage commit; an error (or an error finish) fails; nothing else holds", () => {
  const u = { promptTokens: 1, completionTokens: 1, totalTokens: 2 };
  const table: [ModelEvent, ReturnType<typeof eventVerdict>][] = [
    [{ type: "text", choice: 0, text: "" }, "hold"],
    [{ type: "text", choice: 0, text: "x" }, "commit"],
    [{ type: "reasoning", choice: 0, text: "r" }, "commit"],
    [{ type: "reasoning_signature", choice: 0, signature: "s" }, "commit"],
    [{ type: "tool_call", choice: 0, index: 0, id: "a", name: "f" }, "commit"],
    [{ type: "tool_args", choice: 0, index: 0, arguments: "" }, "hold"],
    [{ type: "finish", choice: 0, reason: "stop" }, "commit"],
    [{ type: "usage", usage: u }, "commit"],
    [{ type: "error", error: { message: "m" } }, { error: { message: "m" } }],
    [{ type: "finish", choice: 0, reason: "error" }, {
      error: { message: "the upstream ended the stream with an error", code: "upstream_error" },
    }],
  ];
  for (const [ev, want] of table) assert.deepEqual(eventVerdict(ev), want, JSON.stringify(ev));
});

Deno.test("usage: Chat usage ⇄ the model's, details only where the upstream gave them, counts clamped", () => {
  const anthropic = {
    prompt_tokens: 14,
    completion_tokens: 9,
    total_tokens: 23,
    prompt_tokens_details: { cached_tokens: 3, cache_creation_tokens: 0 },
  };
  assert.deepEqual(chatUsage(modelUsage(anthropic)), anthropic);
  const cli = {
    prompt_tokens: 3,
    completion_tokens: 6,
    total_tokens: 9,
    completion_tokens_details: { reasoning_tokens: 4 },
  };
  assert.deepEqual(chatUsage(modelUsage(cli)), cli);
  assert.deepEqual(modelUsage({ prompt_tokens: -3, completion_tokens: 1.6, total_tokens: 1e30, cost: 0.5 }), {
    promptTokens: 0,
    completionTokens: 2,
    totalTokens: 1_000_000_000,
    cost: 0.5,
  });
});

// ---- renderers: the same events through every front end ----

const META: StreamMeta = { id: "chatcmpl-r", created: 7, model: "up-model" };

/** The answer every renderer gets: reasoning with its signature, text, two tool calls with split arguments, usage. */
const ANSWER: ModelEvent[] = [
  { type: "reasoning", choice: 0, text: "Let me " },
  { type: "reasoning", choice: 0, text: "think." },
  { type: "reasoning_signature", choice: 0, signature: "EqQBsig" },
  { type: "text", choice: 0, text: "Calling." },
  { type: "tool_call", choice: 0, index: 0, id: "call_a", name: "Read" },
  { type: "tool_args", choice: 0, index: 0, arguments: '{"p"' },
  { type: "tool_args", choice: 0, index: 0, arguments: ":1}" },
  { type: "tool_call", choice: 0, index: 1, id: "call_b", name: "Bash" },
  { type: "tool_args", choice: 0, index: 1, arguments: '{"c":"ls"}' },
  { type: "finish", choice: 0, reason: "tool_calls" },
  {
    type: "usage",
    usage: { promptTokens: 20, completionTokens: 9, totalTokens: 29, cachedTokens: 5, reasoningTokens: 7 },
  },
];

const FAILED: ModelEvent[] = [
  { type: "text", choice: 0, text: "par" },
  {
    type: "error",
    error: {
      message: "The upstream sent nothing within --timeout.",
      type: "api_error",
      code: "upstream_timeout",
      status: 504,
    },
  },
];

function render(events: ModelEvent[], renderer: EventRenderer): Promise<string> {
  return new Response(renderEvents(eventsOf(events), renderer)).text();
}

/** The JSON payloads of `data:` lines (`[DONE]` kept as a string). */
function dataOf(sse: string): unknown[] {
  return sse.split("\n\n").filter((e) => e.trim()).map((e) => {
    const d = e.split("\n").find((l) => l.startsWith("data: "))!.slice(6);
    return d === "[DONE]" ? d : JSON.parse(d);
  });
}

Deno.test("Chat renderer: role first, one chunk per event, usage only when asked, [DONE]; an error ends it", async () => {
  const asked = dataOf(await render(ANSWER, new ChatRenderer({ ...META }, true))) as Record<
    string,
    unknown
  >[];
  const deltas = asked.slice(0, -2).map((c) =>
    (c.choices as { delta: unknown; finish_reason: unknown }[])[0]
  );
  assert.deepEqual(deltas.map((d) => d.delta), [
    { role: "assistant", content: "" },
    { reasoning_content: "Let me " },
    { reasoning_content: "think." },
    { reasoning_signature: "EqQBsig" },
    { content: "Calling." },
    { tool_calls: [{ index: 0, id: "call_a", type: "function", function: { name: "Read", arguments: "" } }] },
    { tool_calls: [{ index: 0, function: { arguments: '{"p"' } }] },
    { tool_calls: [{ index: 0, function: { arguments: ":1}" } }] },
    { tool_calls: [{ index: 1, id: "call_b", type: "function", function: { name: "Bash", arguments: "" } }] },
    { tool_calls: [{ index: 1, function: { arguments: '{"c":"ls"}' } }] },
    {},
  ]);
  assert.equal(deltas.at(-1)!.finish_reason, "tool_calls");
  assert.deepEqual(asked.at(-2), {
    id: "chatcmpl-r",
    object: "chat.completion.chunk",
    created: 7,
    model: "up-model",
    choices: [],
    usage: {
      prompt_tokens: 20,
      completion_tokens: 9,
      total_tokens: 29,
      prompt_tokens_details: { cached_tokens: 5 },
      completion_tokens_details: { reasoning_tokens: 7 },
    },
  });
  assert.equal(asked.at(-1), "[DONE]");
  const plain = await render(ANSWER, new ChatRenderer({ ...META }, false));
  assert.doesNotMatch(plain, /"usage"/, "no usage chunk unless the client asked");
  const failed = dataOf(await render(FAILED, new ChatRenderer({ ...META }, false)));
  assert.deepEqual(failed.at(-1), {
    error: {
      message: "The upstream sent nothing within --timeout.",
      type: "api_error",
      code: "upstream_timeout",
    },
  });
  assert.ok(!failed.includes("[DONE]"));
});

Deno.test("Chat renderer: a text chunk written directly is byte for byte the builder's, also after the model is named late", () => {
  const meta = { id: 'chatcmpl-"q', created: 9, model: "first" };
  const r = new ChatRenderer(meta, false);
  assert.equal(
    r.event({ type: "text", choice: 0, text: 'a "quoted"\n é' }),
    deltaSse(meta, 0, roleDelta()) + deltaSse(meta, 0, { content: 'a "quoted"\n é' }),
  );
  meta.model = "named-later";
  assert.equal(
    r.event({ type: "reasoning", choice: 0, text: "r" }),
    deltaSse(meta, 0, { reasoning_content: "r" }),
  );
  assert.equal(
    r.event({ type: "refusal", choice: 1, text: "no" }),
    deltaSse(meta, 1, roleDelta()) + deltaSse(meta, 1, { refusal: "no" }),
  );
});

Deno.test("Messages renderer: thinking with its signature, text, tool_use blocks in order, usage with cache reads; error event", async () => {
  const s = checkMessagesGrammar(parseMessagesSse(await render(ANSWER, new MessagesRenderer({ ...META }))));
  assert.deepEqual(s.blocks, [
    { type: "thinking", thinking: "Let me think.", signature: "EqQBsig" },
    { type: "text", text: "Calling." },
    { type: "tool_use", id: "call_a", name: "Read", input: { p: 1 } },
    { type: "tool_use", id: "call_b", name: "Bash", input: { c: "ls" } },
  ]);
  assert.equal(s.stopReason, "tool_use");
  assert.deepEqual(s.usage, {
    input_tokens: 15,
    output_tokens: 9,
    cache_read_input_tokens: 5,
    cache_creation_input_tokens: 0,
  });
  const unsigned = checkMessagesGrammar(parseMessagesSse(
    await render(
      [{ type: "reasoning", choice: 0, text: "r" }, { type: "finish", choice: 0, reason: "length" }],
      new MessagesRenderer({ ...META }),
    ),
  ));
  assert.deepEqual(unsigned.blocks, [{ type: "thinking", thinking: "r", signature: "llmproxy:unsigned" }]);
  assert.equal(unsigned.stopReason, "max_tokens");
  const failed = checkMessagesGrammar(
    parseMessagesSse(await render(FAILED, new MessagesRenderer({ ...META }))),
  );
  assert.deepEqual(failed.blocks, [{ type: "text", text: "par" }]);
  assert.deepEqual(failed.error, {
    type: "api_error",
    message: "The upstream sent nothing within --timeout.",
  });
});

Deno.test("Responses renderer: reasoning, message and function_call items; usage with cached and reasoning tokens; failure", async () => {
  const body = parseResponsesBody(JSON.stringify({ model: "m", input: "hi", stream: true }));
  const meta = { id: "resp_1", created_at: 7, model: "asked" };
  const opts = { body, meta, names: new FunctionNames(), stream: { ...META } };
  const events = dataOf(await render(ANSWER, new ResponsesRenderer(opts))) as Record<string, unknown>[];
  assert.deepEqual(
    events.map((e) => e.sequence_number),
    events.map((_, i) => i),
    "sequence numbers count up",
  );
  const done = events.at(-1)!;
  assert.equal(done.type, "response.completed");
  const response = done.response as { model: string; output: Record<string, unknown>[]; usage: unknown };
  assert.equal(response.model, "up-model");
  assert.deepEqual(response.output.map((o) => o.type), [
    "reasoning",
    "message",
    "function_call",
    "function_call",
  ]);
  assert.deepEqual(response.output.slice(2).map((o) => [o.call_id, o.name, o.arguments]), [
    ["call_a", "Read", '{"p":1}'],
    ["call_b", "Bash", '{"c":"ls"}'],
  ]);
  assert.deepEqual(response.usage, {
    input_tokens: 20,
    output_tokens: 9,
    total_tokens: 29,
    input_tokens_details: { cached_tokens: 5 },
    output_tokens_details: { reasoning_tokens: 7 },
  });
  const failed = dataOf(
    await render(FAILED, new ResponsesRenderer({ ...opts, stream: { ...META } })),
  ) as Record<
    string,
    unknown
  >[];
  assert.equal(failed.at(-1)!.type, "response.failed");
  assert.deepEqual((failed.at(-1)!.response as { error: unknown }).error, {
    code: "upstream_timeout",
    message: "The upstream sent nothing within --timeout.",
  });
});

Deno.test("Gemini renderer: thought and text parts as they come, tool calls whole with the finish, usage on the last event; SSE or array", async () => {
  const sse = dataOf(await render(ANSWER, new GeminiRenderer({ ...META }, true))) as Record<
    string,
    unknown
  >[];
  const parts = sse.map((e) => (e.candidates as { content: { parts: unknown[] } }[])[0].content.parts);
  assert.deepEqual(parts, [
    [{ text: "Let me ", thought: true }],
    [{ text: "think.", thought: true }],
    [{ text: "Calling." }],
    [
      { functionCall: { name: "Read", args: { p: 1 }, id: "call_a" } },
      { functionCall: { name: "Bash", args: { c: "ls" }, id: "call_b" } },
    ],
  ]);
  const last = sse.at(-1)!;
  assert.equal((last.candidates as { finishReason: string }[])[0].finishReason, "STOP");
  assert.deepEqual(last.usageMetadata, {
    promptTokenCount: 20,
    candidatesTokenCount: 2,
    thoughtsTokenCount: 7,
    cachedContentTokenCount: 5,
    totalTokenCount: 29,
  });
  assert.equal(last.modelVersion, "up-model");
  assert.equal(last.responseId, "chatcmpl-r");
  const array = JSON.parse(await render(ANSWER, new GeminiRenderer({ ...META }, false)));
  assert.equal(array.length, 4);
  const failed = JSON.parse(await render(FAILED, new GeminiRenderer({ ...META }, false)));
  assert.equal(failed.at(-1).error.code, 504);
});

Deno.test("a whole answer streams through the same renderers (completion → result → events)", async () => {
  const result = completionResult({
    id: "chatcmpl-w",
    created: 3,
    model: "m",
    choices: [{
      index: 0,
      message: {
        role: "assistant",
        content: "hi",
        reasoning_content: "r",
        reasoning_signature: "S",
        tool_calls: [{ id: "c1", type: "function", function: { name: "f", arguments: "{}" } }],
      },
      finish_reason: "tool_calls",
    }],
    usage: { prompt_tokens: 1, completion_tokens: 2, total_tokens: 3 },
  });
  const events = resultEvents(result);
  assert.deepEqual(events.map((e) => e.type), [
    "reasoning",
    "reasoning_signature",
    "text",
    "tool_call",
    "tool_args",
    "finish",
    "usage",
  ]);
  const s = checkMessagesGrammar(parseMessagesSse(await render(events, new MessagesRenderer(result.meta))));
  assert.deepEqual(s.blocks, [
    { type: "thinking", thinking: "r", signature: "S" },
    { type: "text", text: "hi" },
    { type: "tool_use", id: "c1", name: "f", input: {} },
  ]);
});
