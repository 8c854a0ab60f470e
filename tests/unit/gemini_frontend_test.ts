/** The Gemini front end's pure pieces (SPEC §17.3): parsing, rendering, the stream transforms, the dialect. */
import assert from "node:assert/strict";
import { parseGenerateContent } from "../../src/frontends/gemini/parse.ts";
import { resultToGemini } from "../../src/frontends/gemini/render.ts";
import { completionResult } from "../../src/model/result.ts";
import { GeminiRenderer, jsonArrayFraming, sseDataEvents } from "../../src/frontends/gemini/stream.ts";
import { chatSseEvents } from "../../src/model/chat_sse.ts";
import { renderEvents } from "../../src/model/render.ts";
import { GEMINI_DIALECT } from "../../src/providers/gemini/dialect.ts";
import { geminiFinishReason, geminiUsage, mapUsage } from "../../src/providers/gemini/mappings.ts";
import { withSignature } from "../../src/providers/gemini/ids.ts";
import { googleErrorEvent } from "../../src/providers/gemini/google_error.ts";

const text = (t: string) => ({ contents: [{ role: "user", parts: [{ text: t }] }] });

/** Chat SSE bytes → the model's events (`model/chat_sse.ts`) → the Gemini front end's stream, as text. */
function chatSseToGemini(inputs: Uint8Array[], sse: boolean): Promise<string> {
  const meta = { id: "", created: 0, model: "" };
  const events = chatSseEvents(ReadableStream.from(inputs), meta);
  return new Response(renderEvents(events, new GeminiRenderer(meta, sse))).text();
}

/** Chat event data → Chat SSE bytes → the Gemini front end's SSE stream → the data of each Gemini event. */
async function geminiEvents(datas: string[]): Promise<string[]> {
  const enc = new TextEncoder();
  const out = await chatSseToGemini(datas.map((d) => enc.encode(`data: ${d}\n\n`)), true);
  return out.split("\n\n").filter((e) => e).map((e) => e.replace(/^data: /, ""));
}

/** Run strings through a transform and collect what comes out. */
async function through<I, O>(inputs: I[], t: TransformStream<I, O>): Promise<O[]> {
  const out: O[] = [];
  const source = ReadableStream.from(inputs).pipeThrough(t);
  for await (const o of source) out.push(o);
  return out;
}

const chunk = (choices: unknown[], extra: Record<string, unknown> = {}) =>
  JSON.stringify({ id: "c1", object: "chat.completion.chunk", model: "m", choices, ...extra });

Deno.test("parse: thinkingConfig → reasoning_effort (budgets to the smallest effort that covers them, levels as they are)", () => {
  const effort = (thinkingConfig: unknown) =>
    parseGenerateContent({ ...text("x"), generationConfig: { thinkingConfig } }, "m", false).chat
      .reasoning_effort;
  assert.equal(effort({ thinkingBudget: 0 }), "none");
  assert.equal(effort({ thinkingBudget: 100 }), "minimal");
  assert.equal(effort({ thinkingBudget: 1024 }), "low");
  assert.equal(effort({ thinkingBudget: 8192, includeThoughts: true }), "medium");
  assert.equal(effort({ thinkingBudget: 100000 }), "high");
  assert.equal(effort({ thinkingBudget: -1 }), undefined, "dynamic: the provider decides");
  assert.equal(effort({ thinkingLevel: "HIGH" }), "high");
  assert.equal(effort({ includeThoughts: true }), undefined);
});

Deno.test("parse: toolConfig modes and allowed names; responseMimeType alone is json_object", () => {
  const tools = [{ functionDeclarations: [{ name: "a" }, { name: "b" }, { name: "c" }] }];
  const parse = (functionCallingConfig: unknown) =>
    parseGenerateContent({ ...text("x"), tools, toolConfig: { functionCallingConfig } }, "m", false).chat;
  const names = (c: Record<string, unknown>) =>
    (c.tools as { function: { name: string } }[]).map((t) => t.function.name);
  const auto = parse({ mode: "AUTO", allowedFunctionNames: ["a", "c"] });
  assert.equal(auto.tool_choice, "auto");
  assert.deepEqual(names(auto), ["a", "c"]);
  const any = parse({ mode: "ANY", allowedFunctionNames: ["a", "b"] });
  assert.equal(any.tool_choice, "required");
  assert.deepEqual(names(any), ["a", "b"]);
  const none = parse({ mode: "NONE" });
  assert.equal(none.tool_choice, "none");
  assert.deepEqual(names(none), ["a", "b", "c"]);
  assert.throws(
    () => parse({ mode: "ANY", allowedFunctionNames: ["zzz"] }),
    /allowedFunctionNames: names "zzz"/,
  );
  const json = parseGenerateContent(
    { ...text("x"), generationConfig: { responseMimeType: "application/json", candidateCount: 1 } },
    "m",
    false,
  ).chat;
  assert.deepEqual(json.response_format, { type: "json_object" });
  assert.equal(json.n, undefined, "candidateCount 1 is the default");
});

Deno.test("parse: function responses match their calls by id, else by name in order; a stream asks for usage", () => {
  const { chat } = parseGenerateContent(
    {
      contents: [
        { role: "user", parts: [{ text: "go" }] },
        {
          role: "model",
          parts: [
            { functionCall: { name: "read", args: { p: 1 }, id: "x.1" } },
            { functionCall: { name: "read", args: { p: 2 } } },
            { functionCall: { name: "list", args: {} } },
          ],
        },
        {
          role: "function",
          parts: [
            { functionResponse: { name: "list", response: { n: 0 } } },
            { functionResponse: { name: "read", response: { r: 2 } } },
            { functionResponse: { name: "read", id: "x.1", response: { r: 1 } } },
          ],
        },
      ],
    },
    "m",
    true,
  );
  const calls = chat.messages[1].tool_calls!.map((c) => c.id);
  assert.deepEqual(calls, ["x_1", "call_1_1", "call_1_2"], "ids are safe for every provider");
  assert.deepEqual(chat.messages.slice(2).map((m) => [m.tool_call_id, m.content]), [
    ["call_1_2", '{"n":0}'],
    ["call_1_1", '{"r":2}'],
    ["x_1", '{"r":1}'],
  ]);
  assert.equal(chat.stream, true);
  assert.deepEqual(chat.stream_options, { include_usage: true });
});

Deno.test("render: a tool call's id that carries a thought signature comes back as the part's thoughtSignature", () => {
  const r = resultToGemini(completionResult({
    id: "chatcmpl-1",
    model: "m",
    choices: [{
      index: 0,
      message: {
        role: "assistant",
        content: null,
        refusal: "I can't.",
        tool_calls: [
          { id: withSignature("call_9", "sig/+=="), function: { name: "f", arguments: "[1]" } },
          { id: "call_8", function: { name: "g", arguments: "not json" } },
        ],
      },
      finish_reason: "length",
    }],
  }));
  assert.deepEqual(r.candidates, [{
    content: {
      role: "model",
      parts: [
        { text: "I can't." },
        { functionCall: { name: "f", args: { value: [1] }, id: "call_9" }, thoughtSignature: "sig/+==" },
        { functionCall: { name: "g", args: { arguments: "not json" }, id: "call_8" } },
      ],
    },
    finishReason: "MAX_TOKENS",
    index: 0,
  }]);
});

Deno.test("stream: Chat chunks become Gemini events; tool calls go out whole with the finish; usage rides on the last event", async () => {
  const out = await geminiEvents([
    chunk([{ index: 0, delta: { role: "assistant", content: "" } }]),
    chunk([{ index: 0, delta: { reasoning: "hmm" } }]),
    chunk([{ index: 0, delta: { content: "Hi" } }, { index: 1, delta: { content: "Yo" } }]),
    chunk([{
      index: 0,
      delta: {
        tool_calls: [
          { index: 0, id: "call_a", function: { name: "f", arguments: '{"x"' } },
          { index: 1, id: "call_b", function: { name: "g", arguments: "" } },
        ],
      },
    }]),
    chunk([{ index: 0, delta: { tool_calls: [{ index: 0, function: { arguments: ":1}" } }] } }]),
    chunk([{ index: 0, delta: {}, finish_reason: "tool_calls" }, {
      index: 1,
      delta: {},
      finish_reason: "stop",
    }]),
    chunk([], { usage: { prompt_tokens: 3, completion_tokens: 4, total_tokens: 7 } }),
    "[DONE]",
  ]);
  const events = out.map((e) => JSON.parse(e));
  assert.deepEqual(events.slice(0, 3).map((e) => e.candidates), [
    [{ content: { role: "model", parts: [{ text: "hmm", thought: true }] }, index: 0 }],
    [{ content: { role: "model", parts: [{ text: "Hi" }] }, index: 0 }],
    [{ content: { role: "model", parts: [{ text: "Yo" }] }, index: 1 }],
  ]);
  assert.equal(events.length, 4, "tool-call fragments and the finish are held for the last event");
  assert.deepEqual(events[3], {
    candidates: [
      {
        content: {
          role: "model",
          parts: [
            { functionCall: { name: "f", args: { x: 1 }, id: "call_a" } },
            { functionCall: { name: "g", args: {}, id: "call_b" } },
          ],
        },
        finishReason: "STOP",
        index: 0,
      },
      { content: { role: "model", parts: [] }, finishReason: "STOP", index: 1 },
    ],
    usageMetadata: { promptTokenCount: 3, candidatesTokenCount: 4, totalTokenCount: 7 },
    modelVersion: "m",
    responseId: "c1",
  });
});

Deno.test("stream: a Chat error event becomes Google's error object and ends the stream", async () => {
  const out = await geminiEvents([
    chunk([{ index: 0, delta: { content: "a" } }]),
    JSON.stringify({
      error: { message: "slow down", type: "rate_limit_error", code: "rate_limit_exceeded" },
    }),
    chunk([{ index: 0, delta: { content: "never" } }]),
  ]);
  assert.equal(out.length, 2);
  assert.deepEqual(JSON.parse(out[1]), {
    error: {
      code: 429,
      message: "slow down",
      status: "RESOURCE_EXHAUSTED",
      details: [{
        "@type": "type.googleapis.com/google.rpc.ErrorInfo",
        reason: "rate_limit_exceeded",
        domain: "llmproxy",
      }],
    },
  });
  assert.equal(
    googleErrorEvent({ message: "late", type: "api_error", code: "upstream_timeout" }).includes('"code":504'),
    true,
  );
});

Deno.test("stream framing: SSE data events from any line endings and chunking; SSE or a JSON array out", async () => {
  const enc = new TextEncoder();
  const bytes = enc.encode('data: {"a":1}\r\n\r\ndata: {"b":\ndata: 2}\n\n: keep-alive\n\ndata: {"c":3}');
  const pieces = [bytes.subarray(0, 7), bytes.subarray(7, 19), bytes.subarray(19)];
  const data = await through(pieces, sseDataEvents());
  assert.deepEqual(data, ['{"a":1}', '{"b":\n2}', '{"c":3}']);
  assert.equal((await through(['{"a":1}', '{"b":2}'], jsonArrayFraming())).join(""), '[{"a":1},\r\n{"b":2}]');
  assert.equal((await through([], jsonArrayFraming())).join(""), "[]");
  // The translated stream framed as Google's JSON array, whole, in one transform.
  const array = await chatSseToGemini(
    [enc.encode(
      `data: ${chunk([{ index: 0, delta: { content: "x" }, finish_reason: "stop" }])}\n\ndata: [DONE]\n\n`,
    )],
    false,
  );
  assert.equal(JSON.parse(array)[0].candidates[0].content.parts[0].text, "x");
});

Deno.test("Gemini dialect: hold until a part or a finish, fail on an in-band error, read usage after the commit", () => {
  const inspect = (v: unknown) => GEMINI_DIALECT.inspect(typeof v === "string" ? v : JSON.stringify(v), "");
  assert.equal(inspect({ candidates: [{ content: { parts: [{ text: "" }] } }] }), "hold");
  assert.equal(inspect({ usageMetadata: { promptTokenCount: 3 } }), "hold");
  assert.equal(inspect({ candidates: [{ content: { parts: [{ text: "x" }] } }] }), "commit");
  assert.equal(
    inspect({ candidates: [{ content: { parts: [{ functionCall: { name: "f" } }] } }] }),
    "commit",
  );
  assert.equal(inspect({ candidates: [{ finishReason: "SAFETY" }] }), "commit");
  assert.equal(inspect({ promptFeedback: { blockReason: "SAFETY" } }), "commit");
  const err = inspect({ error: { code: 429, message: "quota", status: "RESOURCE_EXHAUSTED" } });
  assert.deepEqual(err, {
    error: {
      message: "quota",
      code: "upstream_error",
      google: { code: 429, message: "quota", status: "RESOURCE_EXHAUSTED" },
    },
  });
  assert.equal(typeof inspect("not json"), "object");
  assert.equal(GEMINI_DIALECT.inspect(undefined, ": keep-alive"), "hold");
  const read = GEMINI_DIALECT.read(
    { usageMetadata: { promptTokenCount: 5, candidatesTokenCount: 2 } },
    undefined,
  );
  assert.equal(read.usage?.prompt_tokens, 5);
  assert.equal(read.usage?.completion_tokens, 2);
});

Deno.test("mappings: usage and finish reasons round-trip between Gemini and Chat", () => {
  const gemini = {
    promptTokenCount: 10,
    candidatesTokenCount: 4,
    thoughtsTokenCount: 3,
    cachedContentTokenCount: 2,
    totalTokenCount: 17,
  };
  assert.deepEqual(geminiUsage(mapUsage(gemini)), gemini);
  assert.deepEqual(geminiUsage({ prompt_tokens: -1, completion_tokens: 2.7, total_tokens: 1e30 }), {
    promptTokenCount: 0,
    candidatesTokenCount: 3,
    totalTokenCount: 1_000_000_000,
  });
  assert.deepEqual(
    ["stop", "tool_calls", "length", "content_filter", "weird"].map(geminiFinishReason),
    ["STOP", "STOP", "MAX_TOKENS", "SAFETY", "OTHER"],
  );
});
