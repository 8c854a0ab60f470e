/**
 * Hostile upstreams (SPEC §19 "No duplicate paid work", "No crash"): a client disconnect or a --timeout on a
 * kept-alive upstream connection ends the attempt without a second copy going out; an answer larger than
 * --max-upstream-body-mb fails the attempt with 502 and the proxy keeps serving.
 */
import assert from "node:assert/strict";
import { startTestProxy, type TestProxy } from "../helpers.ts";
import { geminiAnswer, geminiSse, MockGemini } from "../mocks/gemini_upstream.ts";
import { recentUsage } from "../../src/usage/query.ts";

const K1 = "sk-or-v1-" + "1".repeat(64);
const K2 = "sk-or-v1-" + "2".repeat(64);

/** One chat POST the upstream received. */
interface Seen {
  model: string;
  key: string | undefined;
  /** Fires when the proxy closes this request. */
  signal: AbortSignal;
}

type Script = (seen: Seen) => Response | Promise<Response> | undefined;

/**
 * A minimal OpenAI-compatible upstream that records every chat POST (model, key, its abort signal) and answers
 * with `script` or a small completion. `arrived(model)` resolves when a POST for that model has come in.
 */
function startUpstream() {
  const seen: Seen[] = [];
  const waiters: { model: string; n: number; resolve: (s: Seen) => void }[] = [];
  let script: Script = () => undefined;
  const gate = Promise.withResolvers<void>();
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    if (req.method !== "POST") return Response.json({ data: [] });
    const body = await req.json();
    const auth = req.headers.get("authorization");
    const s: Seen = { model: String(body.model), key: auth?.slice(7), signal: req.signal };
    seen.push(s);
    for (const w of waiters) if (w.model === s.model && w.n === up.count(s.model)) w.resolve(s);
    return (await script(s)) ?? Response.json(completion(s.model));
  });
  const up = {
    url: `http://127.0.0.1:${server.addr.port}/api/v1`,
    seen,
    count: (model: string) => seen.filter((s) => s.model === model).length,
    set script(fn: Script) {
      script = fn;
    },
    /** Resolves when the `n`-th POST for `model` has come in. */
    arrived: (model: string, n = 1) => {
      const already = seen.filter((s) => s.model === model)[n - 1];
      return already
        ? Promise.resolve(already)
        : new Promise<Seen>((resolve) => waiters.push({ model, n, resolve }));
    },
    /** Let every stalled request answer (see {@link stall}). */
    release: () => gate.resolve(),
    released: gate.promise,
    close: () => server.shutdown(),
  };
  return up;
}

type Upstream = ReturnType<typeof startUpstream>;

function completion(model: string) {
  return {
    id: "gen-1",
    object: "chat.completion",
    created: 1,
    model,
    choices: [{ index: 0, message: { role: "assistant", content: "hello" }, finish_reason: "stop" }],
    usage: { prompt_tokens: 1000, completion_tokens: 1000, total_tokens: 2000 },
  };
}

/** Run `fn` against a proxy in front of a fresh upstream; returns the closed proxy (its final log). */
async function withProxy(
  fn: (p: TestProxy, up: Upstream) => Promise<void>,
  args: string[] = [],
  keys = [K1],
): Promise<TestProxy> {
  const up = startUpstream();
  const env: Record<string, string> = { OPENROUTER_API_BASE_URL: up.url };
  keys.forEach((k, i) => (env[`OPENROUTER_API_KEY_${i + 1}`] = k));
  const proxy = await startTestProxy(["--disable-auth", "--key-strategy", "fill-first", ...args], env);
  try {
    await fn(proxy, up);
  } finally {
    up.release(); // nothing stalls the shutdown, whatever failed
    await proxy.close();
    await up.close();
  }
  return proxy;
}

const chat = (p: TestProxy, model: string, init: RequestInit = {}, stream = false) =>
  p.fetch("/v1/chat/completions", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ model, stream, messages: [{ role: "user", content: "x" }] }),
    ...init,
  });

/** POST and read the whole answer. */
async function ask(p: TestProxy, model: string, stream = false) {
  const res = await chat(p, model, {}, stream);
  return { status: res.status, text: await res.text() };
}

/** Answer once `released`, or "gone" when the proxy closed the request first. */
function stall(s: Seen, released: Promise<void>): Promise<Response> {
  return new Promise((resolve) => {
    s.signal.addEventListener("abort", () => resolve(new Response("gone")), { once: true });
    released.then(() => resolve(Response.json(completion(s.model))));
  });
}

function closed(s: Seen): Promise<void> {
  return s.signal.aborted
    ? Promise.resolve()
    : new Promise((r) => s.signal.addEventListener("abort", () => r(), { once: true }));
}

Deno.test("a client that disconnects while the upstream stalls on a kept-alive connection: one POST, no ok record", async () => {
  await withProxy(async (p, up) => {
    up.script = (s) => (s.model === "stall" ? stall(s, up.released) : undefined);
    assert.equal((await ask(p, "warm")).status, 200, "warms one kept-alive upstream connection");

    const gone = new AbortController();
    const pending = chat(p, "stall", { signal: gone.signal }).catch((e) => e);
    const first = await up.arrived("stall");
    gone.abort();
    assert.ok((await pending) instanceof Error);
    await closed(first); // the proxy closed its upstream request
    assert.equal((await ask(p, "after")).status, 200, "the proxy still serves");
    up.release(); // a copy sent again would now be answered
    assert.equal((await ask(p, "last")).status, 200);
    await p.ctx.usage.flush();
    assert.equal(up.count("stall"), 1, "the upstream saw the abandoned request once");
    const records = (await recentUsage(p.kv, { limit: 50 })).filter((r) => r.model === "stall");
    assert.ok(records.every((r) => r.outcome !== "ok"), `no ok record: ${JSON.stringify(records)}`);
  });
});

Deno.test("--timeout on a kept-alive connection: 504 upstream_timeout, the stalled request sent once", async () => {
  await withProxy(async (p, up) => {
    up.script = (s) => (s.model === "stall" ? stall(s, up.released) : undefined);
    assert.equal((await ask(p, "warm")).status, 200);
    // The answer, unless a second copy of the request reaches the upstream first (then the test fails).
    const res = await Promise.race([
      ask(p, "stall"),
      up.arrived("stall", 2).then(() => assert.fail("the stalled request was sent again")),
    ]);
    assert.equal(res.status, 504, res.text);
    assert.equal(JSON.parse(res.text).error.code, "upstream_timeout");
    await closed(up.seen.find((s) => s.model === "stall")!);
    up.release();
    assert.equal((await ask(p, "after")).status, 200);
    assert.equal(up.count("stall"), 1, "one POST for one attempt");
  }, ["--timeout", "0.5"]);
});

Deno.test("--timeout with a second key: failover to it, one POST per attempt", async () => {
  await withProxy(
    async (p, up) => {
      up.script = (s) => (s.model === "stall" && s.key === K1 ? stall(s, up.released) : undefined);
      assert.equal((await ask(p, "warm")).status, 200);
      const res = await Promise.race([
        ask(p, "stall"),
        // On K2 this is the failover; on K1 it is a second copy (then the test fails).
        up.arrived("stall", 2).then((s) =>
          s.key === K1 ? assert.fail("the stalled request was sent again") : new Promise<never>(() => {})
        ),
      ]);
      assert.equal(res.status, 200, res.text);
      const first = up.seen.find((s) => s.model === "stall" && s.key === K1)!;
      await closed(first);
      up.release();
      assert.equal((await ask(p, "after")).status, 200);
      assert.deepEqual(
        up.seen.filter((s) => s.model === "stall").map((s) => (s.key === K1 ? "K1" : "K2")),
        ["K1", "K2"],
      );
    },
    ["--timeout", "0.5"],
    [K1, K2],
  );
});

const MB = 1024 * 1024;
const big = (n: number) => "x".repeat(n);

/** A body of `bytes` bytes sent in 64 KiB chunks without a content-length (chunked). */
function chunked(bytes: number, status = 200, type = "application/json"): Response {
  const piece = new TextEncoder().encode(big(64 * 1024));
  let sent = 0;
  return new Response(
    new ReadableStream<Uint8Array>({
      pull(c) {
        if (sent >= bytes) return c.close();
        c.enqueue(piece);
        sent += piece.length;
      },
    }),
    { status, headers: { "content-type": type } },
  );
}

Deno.test("--max-upstream-body-mb: oversized answers (200, error body, chunked) are a 502; the proxy keeps serving", async () => {
  const proxy = await withProxy(async (p, up) => {
    const json = JSON.stringify({ ...completion("m"), pad: big(2.5 * MB) });
    up.script = (s) => {
      switch (s.model) {
        case "big-json":
          return new Response(json, { headers: { "content-type": "application/json" } });
        case "big-error":
          return new Response(`<html>${big(2.5 * MB)}</html>`, {
            status: 500,
            headers: { "content-type": "text/html" },
          });
        case "big-chunked":
          return chunked(3 * MB);
        case "big-chunked-error":
          return chunked(3 * MB, 503, "text/html");
        case "fits":
          return Response.json({ ...completion("fits"), pad: big(MB / 2) });
      }
    };
    for (const model of ["big-json", "big-error", "big-chunked", "big-chunked-error"]) {
      const res = await ask(p, model);
      assert.equal(res.status, 502, `${model}: ${res.text.slice(0, 200)}`);
      const err = JSON.parse(res.text).error;
      assert.equal(err.code, "upstream_error", model);
      assert.match(err.message, /too large.*1 MiB.*--max-upstream-body-mb/, model);
      assert.match(err.message, /openrouter/, model);
      const ok = await ask(p, "fits");
      assert.equal(ok.status, 200, `after ${model}: the proxy still serves`);
    }
  }, ["--max-upstream-body-mb", "1"]);
  assert.match(await proxy.logText(), /openrouter sent an answer too large/, "a log line says why");
});

/** An SSE answer from raw event texts (each gets its blank line). */
function sse(events: string[]): Response {
  return new Response(events.map((e) => e + "\n\n").join(""), {
    headers: { "content-type": "text/event-stream" },
  });
}

const delta = (content: string) =>
  `data: ${
    JSON.stringify({ id: "g", object: "chat.completion.chunk", choices: [{ index: 0, delta: { content } }] })
  }`;

Deno.test("--max-upstream-body-mb: a stream event or held prefix over it is a 502 before the commit", async () => {
  await withProxy(async (p, up) => {
    up.script = (s) => {
      if (s.model === "big-event") return sse([delta(""), delta(big(2 * MB)), "data: [DONE]"]);
      if (s.model === "big-prefix") {
        return sse([...Array.from({ length: 40 }, () => `: ${big(64 * 1024)}`), delta("hi"), "data: [DONE]"]);
      }
      if (s.model === "ok") return sse([delta("fine"), "data: [DONE]"]);
    };
    for (const model of ["big-event", "big-prefix"]) {
      const res = await ask(p, model, true);
      assert.equal(res.status, 502, `${model}: ${res.text.slice(0, 200)}`);
      const err = JSON.parse(res.text).error;
      assert.equal(err.code, "upstream_error");
      assert.match(err.message, /openrouter sent an answer too large.*1 MiB.*--max-upstream-body-mb/, model);
    }
    const ok = await ask(p, "ok", true);
    assert.equal(ok.status, 200);
    assert.match(ok.text, /fine/);
  }, ["--max-upstream-body-mb", "1"]);
});

Deno.test("--max-upstream-body-mb: an oversized Gemini answer or stream event is a 502", async () => {
  const mock = MockGemini.start();
  mock.onGenerate = (req) => {
    if (req.body && JSON.stringify(req.body).includes("small")) return undefined;
    const huge = geminiAnswer([{ text: big(2 * MB) }]);
    return req.rpc === "streamGenerateContent" ? geminiSse([huge]) : Response.json(huge);
  };
  const p = await startTestProxy(
    ["--disable-auth", "--gemini-api-base-url", mock.url, "--max-upstream-body-mb", "1"],
    { GEMINI_API_KEY: "AIzaSy" + "A".repeat(33) },
  );
  const post = async (stream: boolean, content = "x") => {
    const res = await p.fetch("/v1/chat/completions", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        model: "gemini:gemini-2.5-flash",
        stream,
        messages: [{ role: "user", content }],
      }),
    });
    return { status: res.status, text: await res.text() };
  };
  try {
    for (const stream of [false, true]) {
      const res = await post(stream);
      assert.equal(res.status, 502, `stream ${stream}: ${res.text.slice(0, 200)}`);
      assert.match(
        JSON.parse(res.text).error.message,
        /gemini sent an answer too large.*--max-upstream-body-mb/,
      );
    }
    assert.equal((await post(true, "small")).status, 200, "the proxy still serves");
  } finally {
    await p.close();
    await mock.close();
  }
});

Deno.test("gemini: an unknown SSE field or a bad retry line is ignored, not taken for an oversized event", async () => {
  const mock = MockGemini.start();
  mock.onGenerate = () =>
    new Response(
      `foo: bar\r\nretry: soon\r\ndata: ${JSON.stringify(geminiAnswer([{ text: "fine" }]))}\r\n\r\n`,
      {
        headers: { "content-type": "text/event-stream" },
      },
    );
  const p = await startTestProxy(
    ["--disable-auth", "--gemini-api-base-url", mock.url],
    { GEMINI_API_KEY: "AIzaSy" + "A".repeat(33) },
  );
  try {
    const res = await p.fetch("/v1/chat/completions", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        model: "gemini:gemini-2.5-flash",
        stream: true,
        messages: [{ role: "user", content: "x" }],
      }),
    });
    const text = await res.text();
    assert.equal(res.status, 200, text);
    assert.match(text, /fine/);
  } finally {
    await p.close();
    await mock.close();
  }
});

Deno.test("gemini: null parts are skipped; a null or malformed candidate is a 502 bad answer, not a connection failure", async () => {
  const mock = MockGemini.start();
  const answers: Record<string, unknown> = {
    "null-part": {
      candidates: [{ content: { role: "model", parts: [null, { text: "hi" }] }, finishReason: "STOP" }],
    },
    "null-candidate": { candidates: [null] },
    "parts-not-list": { candidates: [{ content: { parts: 5 }, finishReason: "STOP" }] },
    "candidates-not-list": { candidates: "x" },
  };
  mock.onGenerate = (req) => {
    const text = JSON.stringify(req.body);
    const name = Object.keys(answers).find((n) => text.includes(n))!;
    return req.rpc === "streamGenerateContent"
      ? geminiSse([answers[name] as never])
      : Response.json(answers[name]);
  };
  const p = await startTestProxy(
    ["--disable-auth", "--gemini-api-base-url", mock.url],
    { GEMINI_API_KEY: "AIzaSy" + "A".repeat(33) },
  );
  const post = async (stream: boolean, content: string) => {
    const res = await p.fetch("/v1/chat/completions", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        model: "gemini:gemini-2.5-flash",
        stream,
        messages: [{ role: "user", content }],
      }),
    });
    return { status: res.status, text: await res.text() };
  };
  try {
    for (const stream of [false, true]) {
      const ok = await post(stream, "null-part");
      assert.equal(ok.status, 200, `stream ${stream}: ${ok.text}`);
      assert.match(ok.text, /"(content|delta)":\{?[^}]*"hi"/);
      for (const name of ["null-candidate", "parts-not-list", "candidates-not-list"]) {
        const res = await post(stream, name);
        assert.equal(res.status, 502, `${name} stream ${stream}: ${res.text}`);
        const err = JSON.parse(res.text).error;
        assert.equal(err.code, "upstream_error");
        assert.match(
          err.message,
          /gemini.*(malformed|not an object|not a list)/i,
          `${name} stream ${stream}`,
        );
        assert.doesNotMatch(err.message, /TypeError|could not be reached|connection/, name);
      }
    }
  } finally {
    await p.close();
    await mock.close();
  }
});

Deno.test("--max-upstream-body-mb: an oversized model listing is a listing failure in /health, not a crash", async () => {
  const listing = JSON.stringify({ data: [{ id: "m", pad: big(2 * MB) }] });
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    () => new Response(listing, { headers: { "content-type": "application/json" } }),
  );
  const p = await startTestProxy(
    ["--disable-auth", "--max-upstream-body-mb", "1"],
    { OPENROUTER_API_BASE_URL: `http://127.0.0.1:${server.addr.port}/api/v1`, OPENROUTER_API_KEY: K1 },
  );
  try {
    const models = await p.fetch("/v1/models");
    await models.body?.cancel();
    const health = await (await p.fetch("/health")).json();
    assert.match(JSON.stringify(health.backends), /larger than 1 MiB \(--max-upstream-body-mb\)/);
  } finally {
    await p.close();
    await server.shutdown();
  }
});
