/**
 * Input and stream hygiene (issue 12, the Low findings): values outside an allowed set are a 400 naming the
 * field, SSE with CR-only line endings is understood, and garbage after the commit ends the stream cleanly.
 */
import assert from "node:assert/strict";
import OpenAI from "openai";
import { MockGemini } from "../mocks/gemini_upstream.ts";
import { chunkEvent as chunk } from "../mocks/openai_upstream.ts";
import { sdkStreamUntilError, startTestProxy, type TestProxy, withOpenRouter } from "../helpers.ts";

/** An SSE answer whose events are sent as given, one chunk each (no line endings added). */
function rawSse(chunks: string[]): Response {
  const enc = new TextEncoder();
  let i = 0;
  const body = new ReadableStream<Uint8Array>({
    pull(c) {
      if (i >= chunks.length) return c.close();
      c.enqueue(enc.encode(chunks[i++]));
    },
  });
  return new Response(body, { headers: { "content-type": "text/event-stream" } });
}

const sdkStream = (p: TestProxy) => sdkStreamUntilError(p, "openrouter:m");

Deno.test("gemini: a reasoning_effort outside the allowed set is a 400 naming the field and the values", async () => {
  const mock = MockGemini.start();
  const p = await startTestProxy(["--disable-auth", "--gemini-api-base-url", mock.url], {
    GEMINI_API_KEY_1: "AIzaSy" + "H".repeat(33),
  });
  try {
    for (const effort of ["__proto__", "constructor", "extreme", 5, true]) {
      const res = await p.fetch("/v1/chat/completions", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({
          model: "gemini:gemini-2.5-flash",
          reasoning_effort: effort,
          messages: [{ role: "user", content: "x" }],
        }),
      });
      const err = (await res.json()).error;
      assert.equal(res.status, 400, `${effort}: ${JSON.stringify(err)}`);
      assert.match(err.message, /reasoning_effort must be one of none, minimal, low, medium, high/);
    }
    assert.equal(mock.generations.length, 0, "nothing went upstream");
    const ok = await p.fetch("/v1/chat/completions", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        model: "gemini:gemini-2.5-flash",
        reasoning_effort: "low",
        messages: [{ role: "user", content: "x" }],
      }),
    });
    assert.equal(ok.status, 200);
    await ok.body?.cancel();
    const sent = mock.generations[0].body as { generationConfig?: { thinkingConfig?: unknown } };
    assert.deepEqual(sent.generationConfig?.thinkingConfig, { thinkingBudget: 1024 });
  } finally {
    await p.close();
    await mock.close();
  }
});

Deno.test("SSE with CR-only line endings (allowed by the SSE standard) is streamed, not taken for an empty answer", async () => {
  await withOpenRouter(async (p, mock) => {
    mock.onChat = () =>
      rawSse([
        ": OPENROUTER PROCESSING\r\r",
        `${chunk("Hello ")}\r\r`,
        `${chunk("world")}\r\r${chunk("", "stop")}\r\r`,
        "data: [DONE]\r\r",
      ]);
    const { text, err } = await sdkStream(p);
    assert.equal(err, undefined);
    assert.equal(text, "Hello world");
    assert.equal(mock.chats.length, 1);
  });
});

Deno.test("garbage after the commit (HTML, JSON cut short, empty data) ends the stream with one error event the SDK raises", async () => {
  let proxy: TestProxy | undefined;
  await withOpenRouter(async (p, mock) => {
    proxy = p;
    const cases: string[][] = [
      [
        `${chunk("Hello ")}\n\n`,
        "data: <html><body>502 Bad Gateway</body></html>\n\n",
        `${chunk("never")}\n\n`,
      ],
      [
        `${chunk("Hello ")}\n\n`,
        'data: {"id":"g","choices":[{"index":0,"delta":{"content":"nev\n\n',
        `${chunk("never")}\n\n`,
      ],
      [`${chunk("Hello ")}\n\ndata:\n\n${chunk("never")}\n\n`], // one read: the commit and the garbage together
      [`${chunk("Hello ")}\n\n`, 'data: {"trunc'], // the stream's last bytes, without a blank line
    ];
    for (const events of cases) {
      mock.onChat = () => rawSse(events);
      const { text, err } = await sdkStream(p);
      assert.equal(text, "Hello ", JSON.stringify(events));
      assert.ok(err instanceof OpenAI.APIError, `${JSON.stringify(events)}: got ${err}`);
      assert.match(err.message, /not JSON/);
    }
    const usage = await p.fetch("/usage/recent?limit=10").then((r) => r.json());
    assert.ok(
      usage.data.filter((r: { outcome: string }) => r.outcome === "stream_error").length >= cases.length,
      JSON.stringify(usage),
    );
  });
  // The log is written in batches: read it once the proxy has closed.
  assert.match(
    await proxy!.logText(),
    /stream ended with an error event: The upstream sent a stream event that is not JSON/,
  );
});

Deno.test("well-formed streams pass untouched: comments, event: lines, extra spaces, CRLF, [DONE]", async () => {
  await withOpenRouter(async (p, mock) => {
    const upstream = [
      ": OPENROUTER PROCESSING\n\n",
      `event: message\n${chunk("a")}\n\n`,
      `${chunk("b").replace("data: ", "data:   ")}  \r\n\r\n`,
      `${chunk("", "stop")}\n\n`,
      "data: [DONE]\n\n",
    ];
    mock.onChat = () => rawSse(upstream);
    const res = await p.fetch("/v1/chat/completions", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        model: "openrouter:m",
        stream: true,
        messages: [{ role: "user", content: "x" }],
      }),
    });
    assert.equal(await res.text(), upstream.join(""), "the client gets the upstream's bytes");
  });
});
