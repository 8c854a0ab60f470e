/**
 * A Chat chunk stream → the model's events (`model/chat_sse.ts`) → the Messages event grammar
 * (`frontends/anthropic/stream.ts`, SPEC §17.1) on the shapes upstreams really send:
 * several whole tool calls in one delta (Gemini), tool calls without `index`, reasoning before text, a stream
 * cut off before its finish, usage after the finish.
 */
import assert from "node:assert/strict";
import { MessagesRenderer } from "../../src/frontends/anthropic/stream.ts";
import { chatSseEvents } from "../../src/model/chat_sse.ts";
import { renderEvents } from "../../src/model/render.ts";
import { checkMessagesGrammar, parseMessagesSse } from "../support/messages_grammar.ts";

async function run(
  deltas: (Record<string, unknown> | string)[],
): Promise<ReturnType<typeof checkMessagesGrammar>> {
  const sse = deltas.map((d) => `data: ${typeof d === "string" ? d : JSON.stringify(d)}\n\n`).join("");
  const meta = { id: "", created: 0, model: "requested" };
  const events = chatSseEvents(ReadableStream.from([new TextEncoder().encode(sse)]), meta);
  const out = await new Response(renderEvents(events, new MessagesRenderer(meta))).text();
  return checkMessagesGrammar(parseMessagesSse(out));
}

const chunk = (delta: Record<string, unknown>, finish: string | null = null) => ({
  model: "m",
  choices: [{ index: 0, delta, finish_reason: finish }],
});

Deno.test("anthropic stream: two whole tool calls in one delta become two tool_use blocks in order", async () => {
  const s = await run([
    chunk({ role: "assistant", content: "" }),
    chunk({
      tool_calls: [
        { index: 0, id: "a", type: "function", function: { name: "Read", arguments: '{"p":1}' } },
        { index: 1, id: "b", type: "function", function: { name: "Bash", arguments: '{"c":"ls"}' } },
      ],
    }),
    chunk({}, "tool_calls"),
    { choices: [], usage: { prompt_tokens: 10, completion_tokens: 3, total_tokens: 13 } },
    "[DONE]",
  ]);
  assert.deepEqual(s.blocks, [
    { type: "tool_use", id: "a", name: "Read", input: { p: 1 } },
    { type: "tool_use", id: "b", name: "Bash", input: { c: "ls" } },
  ]);
  assert.equal(s.stopReason, "tool_use");
  assert.deepEqual(s.usage, {
    input_tokens: 10,
    output_tokens: 3,
    cache_read_input_tokens: 0,
    cache_creation_input_tokens: 0,
  });
});

Deno.test("anthropic stream: tool-call deltas without index follow their id", async () => {
  const s = await run([
    chunk({ tool_calls: [{ id: "a", function: { name: "Read", arguments: '{"p"' } }] }),
    chunk({ tool_calls: [{ function: { arguments: ":1}" } }] }),
    chunk({ tool_calls: [{ id: "b", function: { name: "Bash", arguments: "{}" } }] }),
    chunk({}, "tool_calls"),
    "[DONE]",
  ]);
  assert.deepEqual(s.blocks, [
    { type: "tool_use", id: "a", name: "Read", input: { p: 1 } },
    { type: "tool_use", id: "b", name: "Bash", input: {} },
  ]);
});

Deno.test("anthropic stream: reasoning, then text; a signature from the provider is kept", async () => {
  const s = await run([
    chunk({ reasoning: "hm" }),
    chunk({ reasoning_signature: "EqQBsig" }),
    chunk({ content: "ok" }),
    chunk({}, "stop"),
    "[DONE]",
  ]);
  assert.deepEqual(s.blocks, [
    { type: "thinking", thinking: "hm", signature: "EqQBsig" },
    { type: "text", text: "ok" },
  ]);
  assert.equal(s.stopReason, "end_turn");
});

Deno.test("anthropic stream: cut off before the finish ends with an error event; a finish without [DONE] completes", async () => {
  assert.equal((await run([chunk({ content: "half" })])).error?.type, "api_error");
  const done = await run([chunk({ content: "all" }), chunk({}, "length")]);
  assert.equal(done.error, undefined);
  assert.equal(done.stopReason, "max_tokens");
  const bad = await run([chunk({ content: "x" }), "{not json"]);
  assert.equal(bad.error?.type, "api_error");
});
