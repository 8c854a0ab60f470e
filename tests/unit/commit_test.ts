import assert from "node:assert/strict";
import { commitStream, scanMarkers } from "../../src/runner/commit.ts";
import { IdleTimer } from "../../src/runner/idle.ts";
import type { UpstreamFailure } from "../../src/runner/backend.ts";

const enc = new TextEncoder();

/** A body that stalls after `first` and ignores the abort of its fetch (cancelUpstream does nothing). */
function stalled(first?: string): ReadableStream<Uint8Array> {
  return new ReadableStream({
    start(c) {
      if (first) c.enqueue(enc.encode(first));
    },
  });
}

function options(timer: IdleTimer) {
  return {
    timer,
    signal: new AbortController().signal,
    cancelUpstream: () => {}, // the abort never reaches the body
    classifyInBand: (e: unknown): UpstreamFailure => ({
      action: "next-key",
      status: 502,
      type: "api_error",
      code: "upstream_error",
      message: String(e),
      outcome: "error",
    }),
    dropUsageChunks: false,
    scrub: (t: string) => t,
  };
}

Deno.test("the --timeout watchdog ends a stalled stream even when the upstream abort does not reach the body", async () => {
  let timer = new IdleTimer(50, () => {});
  const before = await commitStream(stalled(), options(timer));
  assert.equal(before.ok, false);
  assert.equal(!before.ok && before.failure.code, "upstream_timeout");

  timer = new IdleTimer(50, () => {});
  const chunk = { choices: [{ index: 0, delta: { content: "half" }, finish_reason: null }] };
  const after = await commitStream(stalled(`data: ${JSON.stringify(chunk)}\n\n`), options(timer));
  assert.ok(after.ok && after.value.kind === "stream");
  const text = await new Response(after.value.stream).text();
  assert.match(text, /half/);
  assert.match(text, /"error".*upstream_timeout/, "one error event ends the stream");
  assert.equal((await after.value.done).error !== undefined, true);
});

/** A body that sends each text as one chunk. */
function bodyOf(...chunks: string[]): ReadableStream<Uint8Array> {
  return new ReadableStream({
    start(c) {
      for (const t of chunks) c.enqueue(enc.encode(t));
      c.close();
    },
  });
}

/** Count the JSON.parse calls whose text matches `which` until `restore` is called. */
function countParses(which: RegExp): { count: () => number; restore: () => void } {
  const parse = JSON.parse;
  let n = 0;
  JSON.parse = (text: string, reviver?: Parameters<typeof JSON.parse>[1]) => {
    if (typeof text === "string" && which.test(text)) n++;
    return parse(text, reviver);
  };
  return { count: () => n, restore: () => void (JSON.parse = parse) };
}

Deno.test("a usage-only chunk at the commit point is parsed once: usage recorded, chunk dropped, role delta kept", async () => {
  const role = `data: ${JSON.stringify({ model: "m", choices: [{ delta: { role: "assistant" } }] })}\n\n`;
  const usage = `data: ${JSON.stringify({ choices: [], usage: { prompt_tokens: 3, total_tokens: 3 } })}\n\n`;
  const body = bodyOf(role + usage + "data: [DONE]\n\n");
  const parses = countParses(/"usage"/);
  const timer = new IdleTimer(60_000, () => {});
  try {
    const r = await commitStream(body, { ...options(timer), dropUsageChunks: true });
    assert.ok(r.ok && r.value.kind === "stream");
    const text = await new Response(r.value.stream).text();
    const summary = await r.value.done;
    assert.equal(text, role + "data: [DONE]\n\n");
    assert.deepEqual(summary.usage, { prompt_tokens: 3, total_tokens: 3 });
    assert.equal(summary.model, "m");
    assert.equal(parses.count(), 1);
  } finally {
    parses.restore();
    timer.stop();
  }
});

Deno.test('after the commit, chunks with `"usage":null` (OpenAI\'s streams) pass through unparsed; real usage and in-band errors are still read', async () => {
  const chunk = (content: string, extra: Record<string, unknown> = {}) =>
    `data: ${JSON.stringify({ model: "m", choices: [{ delta: { content } }], usage: null, ...extra })}\n\n`;
  const usage = `data: ${JSON.stringify({ choices: [], usage: { prompt_tokens: 3, total_tokens: 5 } })}\n\n`;
  const events = [
    chunk("a"),
    chunk("b"),
    chunk("c"),
    `data: {"model":"m","choices":[{"delta":{"content":"d"}}],"usage" : null}\n\n`, // spaced as some upstreams do
    usage,
    "data: [DONE]\n\n",
  ];
  const body = bodyOf(...events);
  const parses = countParses(/"usage"\s*:\s*null/);
  const timer = new IdleTimer(60_000, () => {});
  try {
    const r = await commitStream(body, { ...options(timer), dropUsageChunks: true });
    assert.ok(r.ok && r.value.kind === "stream");
    const text = await new Response(r.value.stream).text();
    const summary = await r.value.done;
    assert.equal(
      text,
      events.slice(0, 4).join("") + "data: [DONE]\n\n",
      "bytes pass through; the usage chunk is dropped",
    );
    assert.deepEqual(summary.usage, { prompt_tokens: 3, total_tokens: 5 });
    assert.equal(parses.count(), 1, "only the chunk that decided the commit was parsed");
  } finally {
    parses.restore();
    timer.stop();
  }

  // An in-band error after the commit is still found when the chunk also has `"usage":null`.
  const failing = bodyOf(chunk("a"), chunk("", { error: { message: "boom" } }));
  const timer2 = new IdleTimer(60_000, () => {});
  try {
    const r = await commitStream(failing, options(timer2));
    assert.ok(r.ok && r.value.kind === "stream");
    const text = await new Response(r.value.stream).text();
    assert.match(
      text,
      /data: \{"error":\{"message":"\[object Object\]","type":"api_error"/,
      "the classifier saw the error",
    );
  } finally {
    timer2.stop();
  }
});

Deno.test("a Gemini stream passed through is parsed only at its commit and at its finish: usage from the last event", async () => {
  const { GEMINI_DIALECT } = await import("../../src/providers/gemini/dialect.ts");
  const event = (text: string, extra: Record<string, unknown> = {}) =>
    `data: ${
      JSON.stringify({
        candidates: [{ content: { role: "model", parts: [{ text }] }, index: 0, ...extra }],
        usageMetadata: { promptTokenCount: 4, candidatesTokenCount: 1, totalTokenCount: 5 },
        modelVersion: "gemini-2.5-flash",
      })
    }\r\n\r\n`;
  const last = `data: ${
    JSON.stringify({
      candidates: [{ content: { role: "model", parts: [{ text: "d" }] }, finishReason: "STOP", index: 0 }],
      usageMetadata: { promptTokenCount: 4, candidatesTokenCount: 9, totalTokenCount: 13 },
      modelVersion: "gemini-2.5-flash",
    })
  }\r\n\r\n`;
  const events = [event("a"), event("b"), event("c"), last];
  const parses = countParses(/usageMetadata/);
  const timer = new IdleTimer(60_000, () => {});
  try {
    const r = await commitStream(bodyOf(...events), { ...options(timer), dialect: GEMINI_DIALECT });
    assert.ok(r.ok && r.value.kind === "stream");
    const lf = (t: string) => t.replaceAll("\r\n", "\n");
    // The events pass as they came (an event the rule read is re-emitted with LF line ends: the same SSE).
    assert.equal(lf(await new Response(r.value.stream).text()), lf(events.join("")));
    const summary = await r.value.done;
    assert.equal(summary.usage?.completion_tokens, 9, "the final totals");
    assert.equal(parses.count(), 2, "the committing event and the finishing one, not the two in between");
  } finally {
    parses.restore();
    timer.stop();
  }
});

Deno.test("scanMarkers: one pass finds each marker not set to null, as a field or a value", () => {
  const enc = new TextEncoder();
  const m = ['"usage"', '"error"', '"finish_reason"'].map((s) => enc.encode(s));
  const scan = (s: string, skip = 0) => scanMarkers(enc.encode(s), m, skip);
  assert.equal(scan('{"choices":[{"delta":{"content":"hi"},"finish_reason":null}],"usage":null}'), 0);
  assert.equal(scan('{"usage" :  null, "finish_reason":\tnull}'), 0);
  assert.equal(scan('{"usage":{"prompt_tokens":1}}'), 0b001);
  assert.equal(scan('{"choices":[{"finish_reason":"error"}]}'), 0b110, "a marker as a value counts");
  assert.equal(scan('{"choices":[{"finish_reason":"stop"}],"usage":null}'), 0b100);
  assert.equal(scan('{"error":{"message":"x"},"usage":{}}', 0b001), 0b010, "skipped bits are not reported");
  assert.equal(scan('{"x":1,"usa'), 0, "a marker cut at the end is not there yet");
  assert.equal(scan('{"usage":nul'), 0b001, "a value that may not be null is read");
  assert.equal(scan('"""""usage":{}'), 0b001);
  assert.equal(scan(""), 0);
});
