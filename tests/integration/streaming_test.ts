import assert from "node:assert/strict";
import OpenAI from "openai";
import {
  chunkEvent as chunk,
  echoCompletion,
  echoEvents,
  MockOpenAI,
  sseResponse,
} from "../mocks/openai_upstream.ts";
import { sdkStreamUntilError, sseEvents, startTestProxy, type TestProxy } from "../helpers.ts";

const K1 = "sk-or-v1-" + "1".repeat(64);
const K2 = "sk-or-v1-" + "2".repeat(64);

async function withProxy(
  fn: (p: TestProxy, m: MockOpenAI) => Promise<void>,
  args: string[] = [],
  keys = [K1, K2],
) {
  const mock = MockOpenAI.start();
  const env: Record<string, string> = { OPENROUTER_API_BASE_URL: mock.url };
  keys.forEach((k, i) => (env[`OPENROUTER_API_KEY_${i + 1}`] = k));
  const proxy = await startTestProxy(["--disable-auth", ...args], env);
  try {
    await fn(proxy, mock);
  } finally {
    await proxy.close();
    await mock.close();
  }
}
const inBandError = `data: ${
  JSON.stringify({
    id: "g",
    object: "chat.completion.chunk",
    error: { code: "server_error", message: "Provider disconnected" },
    choices: [{ index: 0, delta: { content: "" }, finish_reason: "error" }],
  })
}`;

const streamUntilError = (p: TestProxy) => sdkStreamUntilError(p);

async function collect(stream: AsyncIterable<OpenAI.Chat.Completions.ChatCompletionChunk>): Promise<string> {
  let text = "";
  for await (const c of stream) text += c.choices[0]?.delta?.content ?? "";
  return text;
}

Deno.test("an in-band error before the commit fails over to the next key; the client sees one clean stream", async () => {
  await withProxy(async (p, mock) => {
    mock.onChat = (req) =>
      req.key === K1
        ? sseResponse([
          ": OPENROUTER PROCESSING",
          chunk("")!.replace('"content":""', '"role":"assistant","content":""'),
          inBandError,
        ])
        : undefined;
    const res = await p.fetch("/v1/chat/completions", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: "m1", messages: [{ role: "user", content: "go" }], stream: true }),
    });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("x-llmproxy-key"), "OPENROUTER_API_KEY_2");
    assert.equal(res.headers.get("x-llmproxy-attempts"), "2");
    const { data, raw } = await sseEvents(res);
    assert.equal(
      raw.match(/OPENROUTER PROCESSING/g)?.length,
      1,
      "held keep-alive of the failed attempt never sent",
    );
    const text = data.filter((d) => d !== "[DONE]").map((d) => JSON.parse(d).choices[0]?.delta?.content ?? "")
      .join("");
    assert.equal(text, "Echo from m1: go");
    assert.ok(!raw.includes("Provider disconnected"));
  });
});

Deno.test("after the commit an upstream error ends the stream with one error event (no failover, no duplicate text)", async () => {
  await withProxy(async (p, mock) => {
    mock.onChat = () => sseResponse([chunk("Hello "), chunk("wor"), inBandError, chunk("never")]);
    const { text, err } = await streamUntilError(p);
    assert.equal(text, "Hello wor");
    assert.ok(err instanceof OpenAI.APIError, `got ${err}`);
    assert.match(err.message, /Provider disconnected/);
    assert.equal(mock.chats.length, 1, "no failover after the commit");
  });
});

Deno.test("--timeout: no first byte → next key, then 504; a slow but steady stream is not cut", async () => {
  await withProxy(async (p, mock) => {
    // Upstream answers after 1.5 s (well past the 0.4 s --timeout), or as soon as the proxy gave up on both.
    const held: (() => void)[] = [];
    const timers: ReturnType<typeof setTimeout>[] = [];
    mock.onChat = () =>
      new Promise<Response>((r) => {
        const late = () => r(new Response("late"));
        held.push(late);
        timers.push(setTimeout(late, 1500));
      });
    const err = await p.client().chat.completions.create({
      model: "m",
      messages: [{ role: "user", content: "x" }],
    })
      .catch((e) => e);
    assert.equal(err.status, 504);
    assert.equal(err.code, "upstream_timeout");
    assert.equal(mock.chats.length, 2, "both keys were tried");
    timers.forEach(clearTimeout);
    held.forEach((late) => late());

    mock.onChat = () => sseResponse(echoEvents("m", "one two three four five six"), 150);
    const text = await collect(
      await p.client().chat.completions.create({
        model: "m",
        messages: [{ role: "user", content: "x" }],
        stream: true,
      }),
    );
    assert.equal(text, "one two three four five six", "1 s of streaming with a 0.4 s --timeout");
  }, ["--timeout", "0.4"]);
});

Deno.test("--timeout: a stream that stalls after the commit ends with an error event", async () => {
  await withProxy(async (p, mock) => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    mock.onChat = () => {
      const enc = new TextEncoder();
      const body = new ReadableStream<Uint8Array>({
        start(c) {
          c.enqueue(enc.encode(chunk("partial") + "\n\n"));
        },
        pull() {
          return new Promise((r) => (timer = setTimeout(r, 3000)));
        },
        cancel() {
          clearTimeout(timer);
        },
      });
      return new Response(body, { headers: { "content-type": "text/event-stream" } });
    };
    const { text, err } = await streamUntilError(p);
    assert.equal(text, "partial");
    assert.ok(err instanceof OpenAI.APIError);
    assert.match(err.message, /--timeout/);
    clearTimeout(timer);
  }, ["--timeout", "0.3"]);
});

Deno.test("a client that disconnects mid-stream aborts the upstream request at once", async () => {
  await withProxy(async (p, mock) => {
    let cancelled = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    mock.onChat = () => {
      const enc = new TextEncoder();
      let i = 0;
      const body = new ReadableStream<Uint8Array>({
        async pull(c) {
          await new Promise((r) => (timer = setTimeout(r, 50)));
          c.enqueue(enc.encode(chunk(`t${i++} `) + "\n\n"));
        },
        cancel() {
          cancelled = true;
          clearTimeout(timer);
        },
      });
      return new Response(body, { headers: { "content-type": "text/event-stream" } });
    };
    const ctl = new AbortController();
    const res = await p.fetch("/v1/chat/completions", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: "m", messages: [{ role: "user", content: "x" }], stream: true }),
      signal: ctl.signal,
    });
    const reader = res.body!.getReader();
    await reader.read();
    ctl.abort();
    await reader.cancel().catch(() => {});
    for (let i = 0; i < 100 && !cancelled; i++) await new Promise((r) => setTimeout(r, 20));
    assert.ok(cancelled, "the upstream stream was cancelled");
  });
});

Deno.test("usage: kept when the client asks, JSON answers to stream:true become SSE", async () => {
  await withProxy(async (p, mock) => {
    const stream = await p.client().chat.completions.create({
      model: "m",
      messages: [{ role: "user", content: "x" }],
      stream: true,
      stream_options: { include_usage: true },
    });
    let usage: unknown;
    for await (const c of stream) usage ??= c.usage ?? undefined;
    assert.deepEqual(usage, { prompt_tokens: 7, completion_tokens: 4, total_tokens: 11, cost: 0.00042 });

    mock.onChat = () => Response.json(echoCompletion("m", "as json"));
    const text = await collect(
      await p.client().chat.completions.create({
        model: "m",
        messages: [{ role: "user", content: "x" }],
        stream: true,
      }),
    );
    assert.equal(text, "as json");
  });
});

Deno.test("many concurrent streams each get exactly their own text", async () => {
  await withProxy(async (p) => {
    const texts = await Promise.all(Array.from({ length: 20 }, (_, i) =>
      p.client().chat.completions.create({
        model: "m",
        messages: [{ role: "user", content: `n${i} a b c` }],
        stream: true,
      }).then(collect)));
    texts.forEach((t, i) => assert.equal(t, `Echo from m: n${i} a b c`));
  });
});

/** An SSE response that starts with `head` and then sends `total` bytes of one event that never ends. */
function endlessEvent(head: string, total: number): Response {
  const enc = new TextEncoder();
  const piece = enc.encode("z".repeat(65536));
  let sent = -1;
  const stream = new ReadableStream<Uint8Array>({
    pull(c) {
      if (sent < 0) {
        c.enqueue(enc.encode(head + 'data: {"choices":[{"index":0,"delta":{"content":"'));
        sent = 0;
      } else if (sent < total) {
        c.enqueue(piece);
        sent += piece.length;
      } else c.close();
    },
  });
  return new Response(stream, { headers: { "content-type": "text/event-stream" } });
}

Deno.test("an upstream event that never ends is cut at the event size limit, before and after the commit", async () => {
  await withProxy(
    async (p, mock) => {
      const body = JSON.stringify({ model: "m/x", messages: [{ role: "user", content: "x" }], stream: true });
      const headers = { "content-type": "application/json" };
      mock.onChat = () => endlessEvent("", 10 * 1024 * 1024);
      let res = await p.fetch("/v1/chat/completions", { method: "POST", headers, body });
      assert.equal(res.status, 502, "before the commit: a real error status");
      const err = await res.json();
      assert.equal(err.error.code, "upstream_error");
      assert.match(err.error.message, /too large.*--max-upstream-body-mb 8/);
      mock.onChat = () => endlessEvent(chunk("hello") + "\n\n", 10 * 1024 * 1024);
      res = await p.fetch("/v1/chat/completions", { method: "POST", headers, body });
      assert.equal(res.status, 200);
      const { data } = await sseEvents(res);
      assert.match(data[0], /hello/);
      assert.match(data.at(-1)!, /"error".*too large/, "after the commit: one error event ends the stream");
    },
    ["--max-upstream-body-mb", "8"],
    [K1],
  );
});

Deno.test("an upstream that sends only keep-alives is given up at the request's deadline (504), not held forever", async () => {
  await withProxy(
    async (p, mock) => {
      const timers = new Set<ReturnType<typeof setInterval>>();
      mock.onChat = () => {
        const enc = new TextEncoder();
        let t: ReturnType<typeof setInterval>;
        const stream = new ReadableStream<Uint8Array>({
          start(c) {
            t = setInterval(() => c.enqueue(enc.encode(": OPENROUTER PROCESSING\n\n")), 20);
            timers.add(t);
          },
          cancel() {
            clearInterval(t);
            timers.delete(t);
          },
        });
        return new Response(stream, { headers: { "content-type": "text/event-stream" } });
      };
      const res = await p.fetch("/v1/chat/completions", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ model: "m/x", messages: [{ role: "user", content: "x" }], stream: true }),
        signal: AbortSignal.timeout(20_000),
      });
      assert.equal(res.status, 504);
      assert.equal((await res.json()).error.code, "upstream_timeout");
      for (let i = 0; i < 50 && timers.size; i++) await new Promise((r) => setTimeout(r, 20));
      assert.equal(timers.size, 0, "the upstream request was cancelled");
    },
    ["--timeout", "0.3", "--max-wait", "0"],
    [K1],
  );
});

Deno.test("a Chat upstream that closes a committed stream mid-answer: the SDK raises a cut-off error; a whole answer without [DONE] is not flagged", async () => {
  await withProxy(async (p, mock) => {
    // Cut: content, then the connection ends (no finish reason, no [DONE]).
    mock.onChat = () => sseResponse([chunk("Hel")!, chunk("lo")!]);
    const cut = await streamUntilError(p);
    assert.equal(cut.text, "Hello", "the committed text arrives");
    assert.match(
      String((cut.err as Error)?.message),
      /cut off/,
      "the SDK raises instead of taking half an answer",
    );

    // Whole, but the upstream omits [DONE] (it sent a finish reason): no error.
    mock.onChat = () => sseResponse([chunk("Hel")!, chunk("lo")!, chunk("", "stop")!]);
    const whole = await streamUntilError(p);
    assert.equal(whole.text, "Hello");
    assert.equal(whole.err, undefined);

    // Whole, with [DONE] and a usage chunk after the finish chunk: no error, no extra event.
    mock.onChat = () =>
      sseResponse([
        chunk("Hi")!,
        chunk("", "stop")!,
        `data: ${JSON.stringify({ id: "g", object: "chat.completion.chunk", choices: [], usage: null })}`,
        "data: [DONE]",
      ]);
    const res = await p.fetch("/v1/chat/completions", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: "m1", messages: [{ role: "user", content: "go" }], stream: true }),
    });
    const { raw } = await sseEvents(res);
    assert.ok(!raw.includes('"error"'), raw);
  });
});
