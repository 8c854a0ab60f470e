import assert from "node:assert/strict";
import { classifyAnthropicFailure, ratelimitResetUntil } from "../../src/providers/anthropic/errors.ts";
import { translateRequest } from "../../src/providers/anthropic/request.ts";
import { AnthropicStreamTranslator } from "../../src/providers/anthropic/stream.ts";
import { withReasoning } from "../../src/model/reasoning.ts";
import type { ChatRequest, Message } from "../../src/model/request.ts";

const NOW = Date.parse("2026-01-01T00:00:00Z");

Deno.test("anthropic 429 without retry-after cools until the exhausted limit's reset", () => {
  const h = new Headers({
    "anthropic-ratelimit-requests-remaining": "5",
    "anthropic-ratelimit-requests-reset": "2026-01-01T00:00:10Z",
    "anthropic-ratelimit-tokens-remaining": "0",
    "anthropic-ratelimit-tokens-reset": "2026-01-01T00:00:40Z",
  });
  assert.equal(ratelimitResetUntil(h, NOW), NOW + 40_000);
  const f = classifyAnthropicFailure(
    429,
    h,
    '{"type":"error","error":{"type":"rate_limit_error"}}',
    "K",
    "anthropic",
    NOW,
  );
  assert.equal(f.cooldown?.untilMs, NOW + 40_000);
  const o = classifyAnthropicFailure(
    529,
    undefined,
    '{"error":{"type":"overloaded_error"}}',
    "K",
    "anthropic",
    NOW,
  );
  assert.equal(o.action, "next-key");
  assert.equal(o.cooldown, undefined);
  assert.equal(classifyAnthropicFailure(403, undefined, "", "K", "anthropic", NOW).cooldown?.disable, true);
});

Deno.test("anthropic request: images, reasoning_effort and the field path of a problem", () => {
  const t = translateRequest({
    messages: [{
      role: "user",
      content: [{ type: "image_url", image_url: { url: "data:image/png;base64,AAAA" } }, {
        type: "text",
        text: "?",
      }],
    }],
    reasoning_effort: "low",
    max_tokens: 100,
    temperature: 1,
  });
  assert.deepEqual((t.messages as { content: unknown[] }[])[0].content[0], {
    type: "image",
    source: { type: "base64", media_type: "image/png", data: "AAAA" },
  });
  assert.deepEqual(t.thinking, { type: "enabled", budget_tokens: 1024 });
  assert.ok((t.max_tokens as number) > 1024);
  assert.equal(t.temperature, undefined);
  assert.throws(
    () => translateRequest({ messages: [{ role: "user", content: [{ type: "input_audio" }] }] }),
    /messages\.0\.content\.0\.type/,
  );
});

Deno.test("anthropic stream: thinking and its signature are kept; max_tokens → length; a cut stream is an error", () => {
  const meta = { id: "c", created: 1, model: "m" };
  const t = new AnthropicStreamTranslator(meta);
  const ev = (o: Record<string, unknown>) => t.push(JSON.stringify(o));
  ev({ type: "message_start", message: { model: "claude", usage: { input_tokens: 2 } } });
  assert.equal(meta.model, "claude", "the model Anthropic names is the stream's");
  const thinking = ev({
    type: "content_block_delta",
    index: 0,
    delta: { type: "thinking_delta", thinking: "hm" },
  });
  assert.deepEqual(thinking, [{ type: "reasoning", choice: 0, text: "hm" }]);
  assert.deepEqual(
    ev({ type: "content_block_delta", index: 0, delta: { type: "signature_delta", signature: "S" } }),
    [{ type: "reasoning_signature", choice: 0, signature: "S" }],
  );
  assert.deepEqual(
    ev({ type: "content_block_start", index: 1, content_block: { type: "redacted_thinking", data: "ENC" } }),
    [{ type: "redacted_reasoning", choice: 0, data: "ENC" }],
  );
  assert.deepEqual(
    ev({ type: "message_delta", delta: { stop_reason: "max_tokens" }, usage: { output_tokens: 3 } }),
    [{ type: "finish", choice: 0, reason: "length" }],
  );
  const end = t.end();
  assert.equal(end.length, 1);
  assert.ok(end[0].type === "usage" && end[0].usage.totalTokens === 5);
  const cut = new AnthropicStreamTranslator({ id: "c", created: 1, model: "m" });
  cut.push(
    JSON.stringify({ type: "content_block_delta", index: 0, delta: { type: "text_delta", text: "a" } }),
  );
  const failed = cut.end();
  assert.ok(failed[0].type === "error");
  assert.match(failed[0].error.message, /without a stop reason/);
});

Deno.test("anthropic request: an assistant turn's reasoning goes back first as its blocks, only with thinking on", () => {
  const assistant = withReasoning<Message>({ role: "assistant", content: "a" }, [
    { kind: "thinking", text: "t", signature: "S" },
    { kind: "redacted", data: "D" },
  ]);
  const body = {
    messages: [{ role: "user", content: "q" }, assistant, { role: "user", content: "q2" }],
  } as ChatRequest;
  const on = translateRequest({ ...body, reasoning_effort: "low" });
  assert.deepEqual((on.messages as { content: unknown[] }[])[1].content, [
    { type: "thinking", thinking: "t", signature: "S" },
    { type: "redacted_thinking", data: "D" },
    { type: "text", text: "a" },
  ]);
  const off = translateRequest(body);
  assert.deepEqual((off.messages as { content: unknown[] }[])[1].content, [{ type: "text", text: "a" }]);
  assert.doesNotMatch(JSON.stringify(body), /"S"/, "the reasoning is in no JSON body");
});
