/** The builders of ids (src/model/ids.ts), chunks and completions (src/openai/build.ts): the wire format, byte for byte. */
import assert from "node:assert/strict";
import {
  chunk,
  completion,
  completionChoice,
  deltaSse,
  roleDelta,
  SSE_DONE,
  toolCallDeltas,
  usageSse,
} from "../../src/openai/build.ts";
import { chatUsage, zeroModelUsage } from "../../src/model/usage.ts";
import { resultChoice } from "../../src/model/result.ts";
import { resultCompletion } from "../../src/frontends/chat/completion.ts";
import { completionId, newStreamMeta, toolCallId } from "../../src/model/ids.ts";
import { completionToSse } from "../../src/frontends/chat/completion_sse.ts";

const META = { id: "chatcmpl-x", created: 7, model: "m" };

Deno.test("ids: chatcmpl- with 32 hex digits, call_ with 24, fresh each time", () => {
  assert.match(completionId(), /^chatcmpl-[0-9a-f]{32}$/);
  assert.match(toolCallId(), /^call_[0-9a-f]{24}$/);
  assert.notEqual(completionId(), completionId());
  const meta = newStreamMeta("gemini-2.5-flash");
  assert.match(meta.id, /^chatcmpl-[0-9a-f]{32}$/);
  assert.equal(meta.model, "gemini-2.5-flash");
  assert.ok(Math.abs(meta.created - Date.now() / 1000) < 5);
});

Deno.test("chunks: field order id, object, created, model, choices[, usage]", () => {
  assert.equal(
    deltaSse(META, 0, roleDelta()),
    'data: {"id":"chatcmpl-x","object":"chat.completion.chunk","created":7,"model":"m",' +
      '"choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]}\n\n',
  );
  assert.equal(
    deltaSse(META, 1, {}, "stop"),
    'data: {"id":"chatcmpl-x","object":"chat.completion.chunk","created":7,"model":"m",' +
      '"choices":[{"index":1,"delta":{},"finish_reason":"stop"}]}\n\n',
  );
  assert.equal(
    usageSse(META, chatUsage(zeroModelUsage())),
    'data: {"id":"chatcmpl-x","object":"chat.completion.chunk","created":7,"model":"m","choices":[],' +
      '"usage":{"prompt_tokens":0,"completion_tokens":0,"total_tokens":0}}\n\n',
  );
  assert.deepEqual(Object.keys(chunk(META, [])), ["id", "object", "created", "model", "choices"]);
  assert.deepEqual(roleDelta("Hi"), { role: "assistant", content: "Hi" });
  assert.equal(SSE_DONE, "data: [DONE]\n\n");
});

Deno.test("tool-call deltas are numbered from where the choice's calls left off", () => {
  const calls = [{ id: "a", type: "function" }, { id: "b", type: "function" }];
  assert.deepEqual(toolCallDeltas(calls, 2), [
    { index: 2, id: "a", type: "function" },
    { index: 3, id: "b", type: "function" },
  ]);
  assert.deepEqual(Object.keys(toolCallDeltas(calls)[0]), ["index", "id", "type"]);
});

Deno.test("completions: field order id, object, created, model, choices, then the tail as given", () => {
  const c = completion(META, [completionChoice(0, { role: "assistant", content: "ok" }, "stop")], {
    usage: chatUsage(zeroModelUsage()),
    system_fingerprint: null,
  });
  assert.equal(
    JSON.stringify(c),
    '{"id":"chatcmpl-x","object":"chat.completion","created":7,"model":"m","choices":[{"index":0,' +
      '"message":{"role":"assistant","content":"ok"},"finish_reason":"stop","logprobs":null}],' +
      '"usage":{"prompt_tokens":0,"completion_tokens":0,"total_tokens":0},"system_fingerprint":null}',
  );
});

Deno.test("a whole answer of the model as a chat.completion: refusal null, reasoning with its signature, tool calls, usage details", () => {
  const text = resultCompletion({
    meta: META,
    choices: [resultChoice(0, "stop", { text: "ok" })],
    usage: zeroModelUsage(),
  });
  assert.equal(
    JSON.stringify(text),
    '{"id":"chatcmpl-x","object":"chat.completion","created":7,"model":"m","choices":[{"index":0,' +
      '"message":{"role":"assistant","content":"ok","refusal":null},"finish_reason":"stop","logprobs":null}],' +
      '"usage":{"prompt_tokens":0,"completion_tokens":0,"total_tokens":0}}',
  );
  const reasoned = resultCompletion({
    meta: META,
    choices: [resultChoice(0, "tool_calls", {
      reasoning: [
        { kind: "thinking", text: "a", signature: "S1" },
        { kind: "redacted", data: "X" },
        { kind: "thinking", text: "b", signature: "S2" },
      ],
      toolCalls: [{ id: "call_1", name: "f", arguments: "{}" }],
    })],
    usage: { promptTokens: 5, completionTokens: 2, totalTokens: 7, cachedTokens: 3, cacheWriteTokens: 1 },
  });
  assert.equal(
    JSON.stringify(reasoned),
    '{"id":"chatcmpl-x","object":"chat.completion","created":7,"model":"m","choices":[{"index":0,' +
      '"message":{"role":"assistant","content":null,"refusal":null,"reasoning_content":"ab",' +
      '"reasoning_signature":"S1S2","tool_calls":[{"id":"call_1","type":"function",' +
      '"function":{"name":"f","arguments":"{}"}}]},"finish_reason":"tool_calls","logprobs":null}],' +
      '"usage":{"prompt_tokens":5,"completion_tokens":2,"total_tokens":7,' +
      '"prompt_tokens_details":{"cached_tokens":3,"cache_creation_tokens":1}}}',
  );
  const noUsage = resultCompletion({
    meta: META,
    choices: [resultChoice(0, "content_filter", { refusal: "no" })],
  });
  assert.equal(noUsage.usage, undefined, "an answer that reported no usage shows none");
  assert.deepEqual((noUsage.choices as { message: unknown }[])[0].message, {
    role: "assistant",
    content: "",
    refusal: "no",
  });
});

Deno.test("completionToSse: role, content, tool calls, finish per choice; usage only when asked; [DONE]", () => {
  const calls = [{ id: "call_1", type: "function", function: { name: "f", arguments: "{}" } }];
  const c = completion(META, [
    completionChoice(0, { role: "assistant", content: "hi" }, "stop"),
    completionChoice(1, { role: "assistant", content: null, tool_calls: calls }, "tool_calls"),
  ], { usage: chatUsage(zeroModelUsage()) });
  const head = '{"id":"chatcmpl-x","object":"chat.completion.chunk","created":7,"model":"m","choices":';
  const want = [
    `[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]`,
    `[{"index":0,"delta":{"content":"hi"},"finish_reason":null}]`,
    `[{"index":0,"delta":{},"finish_reason":"stop"}]`,
    `[{"index":1,"delta":{"role":"assistant","content":""},"finish_reason":null}]`,
    `[{"index":1,"delta":{"tool_calls":[{"index":0,"id":"call_1","type":"function",` +
    `"function":{"name":"f","arguments":"{}"}}]},"finish_reason":null}]`,
    `[{"index":1,"delta":{},"finish_reason":"tool_calls"}]`,
  ].map((choices) => `data: ${head}${choices}}\n\n`).join("");
  const usage = `data: ${head}[],"usage":{"prompt_tokens":0,"completion_tokens":0,"total_tokens":0}}\n\n`;
  assert.equal(completionToSse(c, false), want + SSE_DONE);
  assert.equal(completionToSse(c, true), want + usage + SSE_DONE);
  const bare = completionToSse({ choices: [{ message: { content: "x" } }] }, false);
  assert.match(
    bare,
    /^data: \{"id":"chatcmpl-[0-9a-f]{32}","object":"chat.completion.chunk","created":\d+,"model":""/,
  );
});
