import assert from "node:assert/strict";
import { GeminiStreamTranslator, translateGeminiSse } from "../../src/providers/gemini/stream.ts";
import { signatureFromToolCallId } from "../../src/providers/gemini/ids.ts";
import type { ModelEvent } from "../../src/model/events.ts";
import { renderEvents } from "../../src/model/render.ts";
import { ChatRenderer } from "../../src/frontends/chat/stream.ts";

const META = { id: "chatcmpl-s", created: 1732680000, model: "gemini-2.5-flash" };

/**
 * The translator's events as a Chat client sees them (the Chat front end's renderer, usage asked for): the
 * wire the translator produced itself before it emitted events.
 */
function chat(events: ModelEvent[]): string {
  const r = new ChatRenderer({ ...META }, true);
  const text = events.map((ev) => r.event(ev)).join("");
  return text + (r.ended ? "" : r.end());
}

/** A translated stream as the Chat front end renders it. */
function chatStream(events: ReadableStream<ModelEvent>): Promise<string> {
  return new Response(renderEvents(events, new ChatRenderer({ ...META }, true))).text();
}

/** The JSON payloads of SSE text (`[DONE]` kept as a string). */
function payloads(text: string): unknown[] {
  return text.split(/\n\n/).filter((e) => e.trim()).map((e) => {
    assert.ok(e.startsWith("data: "), `every event is one data line: ${e}`);
    const d = e.slice(6);
    return d === "[DONE]" ? d : JSON.parse(d);
  });
}

const chunk = (choices: unknown[], extra: Record<string, unknown> = {}) => ({
  id: "chatcmpl-s",
  object: "chat.completion.chunk",
  created: 1732680000,
  model: "gemini-2.5-flash",
  choices,
  ...extra,
});

Deno.test("gemini stream: role first, text deltas, finish, usage chunk, [DONE]", () => {
  const t = new GeminiStreamTranslator({ ...META });
  const out = chat([
    ...t.push(
      JSON.stringify({ candidates: [{ content: { role: "model", parts: [{ text: "Hel" }] }, index: 0 }] }),
    ),
    ...t.push(JSON.stringify({
      candidates: [{ content: { role: "model", parts: [{ text: "lo" }] }, finishReason: "STOP", index: 0 }],
      usageMetadata: { promptTokenCount: 3, candidatesTokenCount: 2, totalTokenCount: 5 },
    })),
    ...t.end(),
  ]);
  assert.deepEqual(payloads(out), [
    chunk([{ index: 0, delta: { role: "assistant", content: "" }, finish_reason: null }]),
    chunk([{ index: 0, delta: { content: "Hel" }, finish_reason: null }]),
    chunk([{ index: 0, delta: { content: "lo" }, finish_reason: null }]),
    chunk([{ index: 0, delta: {}, finish_reason: "stop" }]),
    chunk([], {
      usage: {
        prompt_tokens: 3,
        completion_tokens: 2,
        total_tokens: 5,
        prompt_tokens_details: { cached_tokens: 0 },
        completion_tokens_details: { reasoning_tokens: 0 },
      },
    }),
    "[DONE]",
  ]);
});

Deno.test("gemini stream: function calls become tool calls with running index, finish tool_calls", () => {
  const t = new GeminiStreamTranslator({ ...META });
  const events = [
    ...t.push(JSON.stringify({
      candidates: [{
        content: { parts: [{ functionCall: { name: "a", args: { x: 1 } }, thoughtSignature: "c2ln" }] },
      }],
    })),
    ...t.push(JSON.stringify({
      candidates: [{
        content: { parts: [{ functionCall: { name: "b", args: {} } }] },
        finishReason: "STOP",
      }],
    })),
    ...t.end(),
  ];
  const calls = events.flatMap((e) => e.type === "tool_call" ? [[e.index, e.name]] : []);
  const args = events.flatMap((e) => e.type === "tool_args" ? [[e.index, e.arguments]] : []);
  assert.deepEqual(calls, [[0, "a"], [1, "b"]]);
  assert.deepEqual(args, [[0, '{"x":1}'], [1, "{}"]]);
  const first = events.find((e) => e.type === "tool_call");
  assert.equal(signatureFromToolCallId(first?.type === "tool_call" ? first.id : ""), "c2ln");
  assert.deepEqual(
    events.at(-1),
    { type: "finish", choice: 0, reason: "tool_calls" },
    "no usage: Gemini sent none",
  );
  const out = payloads(chat(events));
  assert.deepEqual(out.at(-2), chunk([{ index: 0, delta: {}, finish_reason: "tool_calls" }]));
  assert.equal(out.at(-1), "[DONE]", "no usage chunk when Gemini sent no usage");
});

Deno.test("gemini stream: two candidates keep their own index and role delta", () => {
  const t = new GeminiStreamTranslator({ ...META });
  const out = payloads(chat([
    ...t.push(JSON.stringify({
      candidates: [
        { content: { parts: [{ text: "A" }] }, index: 0, finishReason: "STOP" },
        { content: { parts: [{ text: "B" }] }, index: 1, finishReason: "MAX_TOKENS" },
      ],
    })),
    ...t.end(),
  ]));
  assert.deepEqual(out, [
    chunk([{ index: 0, delta: { role: "assistant", content: "" }, finish_reason: null }]),
    chunk([{ index: 0, delta: { content: "A" }, finish_reason: null }]),
    chunk([{ index: 0, delta: {}, finish_reason: "stop" }]),
    chunk([{ index: 1, delta: { role: "assistant", content: "" }, finish_reason: null }]),
    chunk([{ index: 1, delta: { content: "B" }, finish_reason: null }]),
    chunk([{ index: 1, delta: {}, finish_reason: "length" }]),
    "[DONE]",
  ]);
});

Deno.test("gemini stream: blocked prompt → refusal delta and content_filter", () => {
  const t = new GeminiStreamTranslator({ ...META });
  const out = payloads(chat([
    ...t.push(JSON.stringify({ promptFeedback: { blockReason: "PROHIBITED_CONTENT" } })),
    ...t.end(),
  ]));
  assert.deepEqual(out, [
    chunk([{ index: 0, delta: { role: "assistant", content: "" }, finish_reason: null }]),
    chunk([{
      index: 0,
      delta: { refusal: "Gemini blocked the prompt (PROHIBITED_CONTENT)." },
      finish_reason: null,
    }]),
    chunk([{ index: 0, delta: {}, finish_reason: "content_filter" }]),
    "[DONE]",
  ]);
});

Deno.test("gemini stream: a non-JSON event → one error event, then nothing", () => {
  const t = new GeminiStreamTranslator({ ...META });
  const out = [
    ...t.push("{not json"),
    ...t.push(JSON.stringify({ candidates: [{ content: { parts: [{ text: "x" }] } }] })),
    ...t.end(),
  ];
  assert.deepEqual(out, [{
    type: "error",
    error: { message: "Gemini sent a stream event that is not JSON.", code: "bad_stream" },
  }]);
  assert.equal(t.stopped, true);
});

Deno.test("gemini stream: an in-band Google error keeps the original error for classification", () => {
  const t = new GeminiStreamTranslator({ ...META });
  const err = { code: 503, message: "The model is overloaded.", status: "UNAVAILABLE" };
  assert.deepEqual(t.push(JSON.stringify({ error: err })), [{
    type: "error",
    error: { message: "The model is overloaded.", code: "upstream_error", google: err },
  }]);
});

Deno.test("gemini stream: an empty stream produces nothing; a cut-off answer ends with an error", () => {
  assert.deepEqual(new GeminiStreamTranslator({ ...META }).end(), []);
  const t = new GeminiStreamTranslator({ ...META });
  t.push(JSON.stringify({ candidates: [{ content: { parts: [{ text: "partial" }] } }] }));
  assert.deepEqual(t.end(), [{
    type: "error",
    error: {
      message: "Gemini ended the stream without a finish reason; the answer may be cut off.",
      code: "bad_stream",
    },
  }]);
});

/** A byte stream delivering `text` in pieces of `size` bytes (to split events and UTF-8 sequences). */
function bytes(text: string, size: number): ReadableStream<Uint8Array> {
  const all = new TextEncoder().encode(text);
  let off = 0;
  return new ReadableStream({
    pull(c) {
      if (off >= all.length) return c.close();
      c.enqueue(all.slice(off, off + size));
      off += size;
    },
  });
}

Deno.test("translateGeminiSse parses CRLF-framed events split at any byte, including inside UTF-8", async () => {
  const ev = (o: unknown) => `data: ${JSON.stringify(o)}\r\n\r\n`;
  const upstream = ev({ candidates: [{ content: { parts: [{ text: "héllo " }] } }] }) +
    ev({ candidates: [{ content: { parts: [{ text: "wörld" }] }, finishReason: "STOP" }] });
  for (const size of [1, 3, 7, 1000]) {
    let touched = 0;
    const text = await chatStream(translateGeminiSse(bytes(upstream, size), { ...META }, () => touched++));
    const out = payloads(text) as { choices?: { delta: { content?: string } }[] }[];
    const content = out.map((c) => typeof c === "object" ? c.choices?.[0]?.delta.content ?? "" : "").join("");
    assert.equal(content, "héllo wörld", `piece size ${size}`);
    assert.equal(out.at(-1), "[DONE]");
    assert.ok(
      touched >= Math.ceil(new TextEncoder().encode(upstream).length / size),
      "watchdog touched per chunk",
    );
  }
});

Deno.test("translateGeminiSse: a final event without the trailing blank line still counts", async () => {
  const upstream = `data: ${
    JSON.stringify({ candidates: [{ content: { parts: [{ text: "ok" }] }, finishReason: "STOP" }] })
  }`;
  const out = payloads(await chatStream(translateGeminiSse(bytes(upstream, 5), { ...META })));
  assert.equal(out.length, 4);
  assert.equal(out.at(-1), "[DONE]");
});

Deno.test("translateGeminiSse stops and cancels the upstream after malformed data", async () => {
  let cancelled = false;
  const enc = new TextEncoder();
  let n = 0;
  const upstream = new ReadableStream<Uint8Array>({
    pull(c) {
      c.enqueue(enc.encode(n++ === 0 ? "data: garbage\n\n" : `data: {"candidates":[]}\n\n`));
    },
    cancel() {
      cancelled = true;
    },
  });
  const out = [];
  for await (const ev of translateGeminiSse(upstream, { ...META })) out.push(ev);
  assert.deepEqual(out, [{
    type: "error",
    error: { message: "Gemini sent a stream event that is not JSON.", code: "bad_stream" },
  }]);
  for (let i = 0; i < 50 && !cancelled; i++) await new Promise((r) => setTimeout(r, 1));
  assert.equal(cancelled, true);
});
