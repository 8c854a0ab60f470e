import assert from "node:assert/strict";
import { mapFinishReason, mapUsage, toModelResult } from "../../src/providers/gemini/response.ts";
import { signatureFromToolCallId } from "../../src/providers/gemini/ids.ts";
import type { GeminiResponse } from "../../src/providers/gemini/types.ts";
import { resultCompletion } from "../../src/frontends/chat/completion.ts";

const META = { id: "chatcmpl-test", created: 1732680000, model: "gemini-2.5-flash" };

/** A `chat.completion` as the tests read it. */
interface Completion {
  model: string;
  usage?: { prompt_tokens: number };
  choices: {
    index: number;
    message: {
      content: string | null;
      tool_calls?: { id: string; type: string; function: { name: string; arguments: string } }[];
    };
    finish_reason: string;
  }[];
}

/** What a Chat client gets for a whole Gemini answer: the provider's result, rendered by the Chat front end. */
function toCompletion(r: GeminiResponse, meta = META): Completion {
  return resultCompletion(toModelResult(r, meta)) as unknown as Completion;
}

const finishTable: [string | undefined, boolean, string | null][] = [
  ["STOP", false, "stop"],
  ["STOP", true, "tool_calls"],
  ["MAX_TOKENS", false, "length"],
  ["MAX_TOKENS", true, "tool_calls"],
  ["SAFETY", false, "content_filter"],
  ["SAFETY", true, "content_filter"],
  ["RECITATION", false, "content_filter"],
  ["BLOCKLIST", false, "content_filter"],
  ["PROHIBITED_CONTENT", false, "content_filter"],
  ["SPII", false, "content_filter"],
  ["IMAGE_SAFETY", false, "content_filter"],
  ["MALFORMED_FUNCTION_CALL", false, "stop"],
  ["OTHER", false, "stop"],
  ["FINISH_REASON_UNSPECIFIED", false, "stop"],
  [undefined, false, null],
];
for (const [reason, tools, want] of finishTable) {
  Deno.test(`gemini finishReason ${reason}${tools ? " with function calls" : ""} → ${want}`, () => {
    assert.equal(mapFinishReason(reason, tools), want);
  });
}

Deno.test("gemini usageMetadata → OpenAI usage (thoughts count as completion, tool-use prompt as prompt)", () => {
  assert.deepEqual(
    mapUsage({
      promptTokenCount: 11,
      toolUsePromptTokenCount: 4,
      candidatesTokenCount: 5,
      thoughtsTokenCount: 20,
      cachedContentTokenCount: 3,
      totalTokenCount: 40,
    }),
    {
      prompt_tokens: 15,
      completion_tokens: 25,
      total_tokens: 40,
      prompt_tokens_details: { cached_tokens: 3 },
      completion_tokens_details: { reasoning_tokens: 20 },
    },
  );
  assert.deepEqual(mapUsage({ promptTokenCount: 2 }), {
    prompt_tokens: 2,
    completion_tokens: 0,
    total_tokens: 2,
    prompt_tokens_details: { cached_tokens: 0 },
    completion_tokens_details: { reasoning_tokens: 0 },
  });
});

Deno.test("gemini text answer → chat.completion (thought parts dropped, modelVersion reported)", () => {
  const r: GeminiResponse = {
    candidates: [{
      content: {
        role: "model",
        parts: [{ text: "thinking…", thought: true }, { text: "Hello" }, { text: " world" }],
      },
      finishReason: "STOP",
      index: 0,
    }],
    usageMetadata: { promptTokenCount: 11, candidatesTokenCount: 2, totalTokenCount: 13 },
    modelVersion: "gemini-2.5-flash-001",
  };
  assert.deepEqual(toCompletion(r, META), {
    id: "chatcmpl-test",
    object: "chat.completion",
    created: 1732680000,
    model: "gemini-2.5-flash-001",
    choices: [{
      index: 0,
      message: { role: "assistant", content: "Hello world", refusal: null },
      finish_reason: "stop",
      logprobs: null,
    }],
    usage: {
      prompt_tokens: 11,
      completion_tokens: 2,
      total_tokens: 13,
      prompt_tokens_details: { cached_tokens: 0 },
      completion_tokens_details: { reasoning_tokens: 0 },
    },
  });
});

Deno.test("gemini functionCall parts → tool_calls with ids carrying the thoughtSignature", () => {
  const r: GeminiResponse = {
    candidates: [{
      content: {
        role: "model",
        parts: [
          { functionCall: { name: "get_weather", args: { city: "Paris" } }, thoughtSignature: "U0lHLTE=" },
          { functionCall: { name: "get_time" } },
        ],
      },
      finishReason: "STOP",
    }],
  };
  const c = toCompletion(r, META);
  const msg = c.choices[0].message;
  assert.equal(c.choices[0].finish_reason, "tool_calls");
  assert.equal(msg.content, null);
  assert.equal(c.usage, undefined);
  assert.equal(c.model, "gemini-2.5-flash");
  assert.deepEqual(
    msg.tool_calls!.map((t) => ({ type: t.type, function: t.function })),
    [
      { type: "function", function: { name: "get_weather", arguments: '{"city":"Paris"}' } },
      { type: "function", function: { name: "get_time", arguments: "{}" } },
    ],
  );
  assert.equal(signatureFromToolCallId(msg.tool_calls![0].id), "U0lHLTE=");
  assert.equal(signatureFromToolCallId(msg.tool_calls![1].id), undefined);
  assert.notEqual(msg.tool_calls![0].id, msg.tool_calls![1].id);
});

Deno.test("several gemini candidates → several choices, ordered by index", () => {
  const r: GeminiResponse = {
    candidates: [
      { content: { parts: [{ text: "B" }] }, finishReason: "MAX_TOKENS", index: 1 },
      { content: { parts: [{ text: "A" }] }, finishReason: "STOP", index: 0 },
    ],
  };
  const c = toCompletion(r, META);
  assert.deepEqual(
    c.choices.map((ch) => [ch.index, ch.message.content, ch.finish_reason]),
    [[0, "A", "stop"], [1, "B", "length"]],
  );
});

Deno.test("gemini safety-stopped candidate → content_filter with the partial text", () => {
  const r: GeminiResponse = {
    candidates: [{ content: { parts: [{ text: "Par" }] }, finishReason: "SAFETY" }],
  };
  const c = toCompletion(r, META);
  assert.equal(c.choices[0].finish_reason, "content_filter");
  assert.equal(c.choices[0].message.content, "Par");
});

Deno.test("gemini candidate without content (finishReason SAFETY) → empty content_filter choice", () => {
  const c = toCompletion({ candidates: [{ finishReason: "PROHIBITED_CONTENT" }] }, META);
  assert.deepEqual(c.choices[0].message, { role: "assistant", content: "", refusal: null });
  assert.equal(c.choices[0].finish_reason, "content_filter");
});

Deno.test("gemini promptFeedback.blockReason without candidates → content_filter with a refusal", () => {
  const c = toCompletion({
    promptFeedback: { blockReason: "SAFETY", blockReasonMessage: "harassment" },
    usageMetadata: { promptTokenCount: 9, totalTokenCount: 9 },
  }, META);
  assert.deepEqual(c.choices, [{
    index: 0,
    message: { role: "assistant", content: "", refusal: "Gemini blocked the prompt (SAFETY): harassment." },
    finish_reason: "content_filter",
    logprobs: null,
  }]);
  assert.equal(c.usage?.prompt_tokens, 9);
});

Deno.test("gemini response with neither candidates nor a block reason → no choices", () => {
  assert.deepEqual(toModelResult({ usageMetadata: {} }, META).choices, []);
});
