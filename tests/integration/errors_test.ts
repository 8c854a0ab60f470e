import assert from "node:assert/strict";
import OpenAI from "openai";
import { MockOpenAI, orError } from "../mocks/openai_upstream.ts";
import { startTestProxy, type TestProxy } from "../helpers.ts";

const KEY = "sk-or-v1-" + "a".repeat(64);

async function withProxy(fn: (p: TestProxy, m: MockOpenAI) => Promise<void>, args: string[] = []) {
  const mock = MockOpenAI.start();
  const proxy = await startTestProxy(["--disable-auth", "--openrouter-api-base-url", mock.url, ...args], {
    OPENROUTER_API_KEY: KEY,
  });
  try {
    await fn(proxy, mock);
  } finally {
    await proxy.close();
    await mock.close();
  }
}

async function post(p: TestProxy, body: string, headers: Record<string, string> = {}) {
  const res = await p.fetch("/v1/chat/completions", {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body,
  });
  const json = await res.json();
  return { status: res.status, json, headers: res.headers };
}

function assertError(json: { error?: Record<string, unknown> }, code: string) {
  assert.ok(json.error, "OpenAI error body");
  assert.equal(json.error.code, code);
  for (const f of ["message", "type", "param", "code"]) assert.ok(f in json.error, `error.${f} present`);
  assert.doesNotMatch(String(json.error.message), /\n\s+at /, "no stack trace");
}

Deno.test("bad bodies get clear 400s that name the field", async () => {
  await withProxy(async (p, mock) => {
    let r = await post(p, "{not json");
    assert.equal(r.status, 400);
    assertError(r.json, "invalid_request");
    assert.match(r.json.error.message, /not valid JSON/);
    r = await post(p, "[1,2]");
    assert.equal(r.status, 400);
    assert.match(r.json.error.message, /JSON object/);
    r = await post(p, '{"model":"x"}');
    assert.equal(r.status, 400);
    assert.equal(r.json.error.param, "messages");
    r = await post(p, '{"model":"x","messages":"hello"}');
    assert.equal(r.status, 400);
    assert.equal(r.json.error.param, "messages");
    r = await post(p, '{"model":"x","messages":[]}');
    assert.equal(r.status, 400);
    r = await post(p, '{"model":42,"messages":[{"role":"user","content":"hi"}]}');
    assert.equal(r.status, 400);
    assert.equal(r.json.error.param, "model");
    r = await post(p, '{"model":"x","messages":[{"role":"wizard","content":"hi"}]}');
    assert.equal(r.status, 400);
    assert.equal(r.json.error.param, "messages.0.role");
    r = await post(p, '{"model":"x","messages":[{"role":"user","content":"hi"}],"stream":"yes"}');
    assert.equal(r.status, 400);
    assert.equal(r.json.error.param, "stream");
    r = await post(p, '{"messages":[{"role":"user","content":"hi"}]}');
    assert.equal(r.status, 400);
    assert.match(r.json.error.message, /no 'model'/);
    assert.equal(mock.chats.length, 0, "nothing bad went upstream");
    assert.ok(r.headers.get("x-request-id"));
  });
});

Deno.test("a body over --max-body-mb is 413, with or without Content-Length", async () => {
  await withProxy(async (p) => {
    const big = JSON.stringify({ model: "x", messages: [{ role: "user", content: "a".repeat(1_200_000) }] });
    const r = await post(p, big);
    assert.equal(r.status, 413);
    assertError(r.json, "request_too_large");
    // Chunked upload: no Content-Length to trust.
    const enc = new TextEncoder().encode(big);
    const body = new ReadableStream({
      start(c) {
        for (let i = 0; i < enc.length; i += 65536) c.enqueue(enc.subarray(i, i + 65536));
        c.close();
      },
    });
    const res = await p.fetch("/v1/chat/completions", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body,
    });
    assert.equal(res.status, 413);
    await res.body?.cancel();
  }, ["--max-body-mb", "1"]);
});

Deno.test("unknown backend prefix is 400 unknown_backend once the default backend's models are known", async () => {
  await withProxy(async (p) => {
    await (await p.fetch("/v1/models")).body?.cancel(); // loads the model list
    const r = await post(
      p,
      JSON.stringify({ model: "nosuch:model-x", messages: [{ role: "user", content: "hi" }] }),
    );
    assert.equal(r.status, 400);
    assertError(r.json, "unknown_backend");
    assert.match(r.json.error.message, /openrouter/);
  });
});

Deno.test("unknown request fields are forwarded untouched; model names with ':' go to the default backend", async () => {
  await withProxy(async (p, mock) => {
    const body = {
      model: "meta-llama/llama-3.3-70b-instruct:free",
      messages: [{ role: "user", content: "hi", custom_msg_field: 1 }, { role: "assistant", content: null }, {
        role: "user",
        content: [{ type: "text", text: "again" }],
      }],
      temperature: 0.3,
      tools: [{ type: "function", function: { name: "f", parameters: { type: "object" } } }],
      response_format: { type: "json_object" },
      provider: { order: ["x"] },
      my_extension: { deep: [1, 2, 3] },
    };
    const r = await post(p, JSON.stringify(body));
    assert.equal(r.status, 200);
    const sent = mock.chats[0].body!;
    assert.equal(sent.model, "meta-llama/llama-3.3-70b-instruct:free");
    for (const k of ["temperature", "tools", "response_format", "provider", "my_extension", "messages"]) {
      assert.deepEqual(sent[k], (body as Record<string, unknown>)[k], k);
    }
  });
});

Deno.test("upstream garbage, 5xx and dead upstreams become 502 with an OpenAI error", async () => {
  await withProxy(async (p, mock) => {
    mock.onChat = () =>
      new Response("<html>oops</html>", { status: 200, headers: { "content-type": "text/html" } });
    let r = await post(
      p,
      JSON.stringify({ model: "openai/gpt-4o-mini", messages: [{ role: "user", content: "x" }] }),
    );
    assert.equal(r.status, 502);
    assertError(r.json, "upstream_error");
    mock.onChat = () => orError(503, "no provider available");
    r = await post(
      p,
      JSON.stringify({ model: "openai/gpt-4o-mini", messages: [{ role: "user", content: "x" }] }),
    );
    assert.equal(r.status, 502);
    assert.match(r.json.error.message, /no provider available/);
    mock.onChat = () => orError(400, `bad thing with key ${KEY}`);
    r = await post(
      p,
      JSON.stringify({ model: "openai/gpt-4o-mini", messages: [{ role: "user", content: "x" }] }),
    );
    assert.equal(r.status, 400, "other 4xx go back to the client");
    assert.ok(!JSON.stringify(r.json).includes(KEY), "key value scrubbed from the upstream error");
    assert.match(r.json.error.message, /API_KEY_HAS_BEEN_REDACTED/);
  });
  const proxy = await startTestProxy([
    "--disable-auth",
    "--openrouter-api-base-url",
    "http://127.0.0.1:9/api/v1",
  ], {
    OPENROUTER_API_KEY: KEY,
  });
  try {
    const r = await post(proxy, JSON.stringify({ model: "m", messages: [{ role: "user", content: "x" }] }));
    assert.equal(r.status, 502);
    assertError(r.json, "upstream_error");
    const health = await (await proxy.fetch("/health")).json();
    assert.equal(health.backends.openrouter.functional, true);
  } finally {
    await proxy.close();
  }
});

Deno.test("an upstream 401 is never passed on as 401: 502 upstream_auth_failed with the key label", async () => {
  await withProxy(async (p, mock) => {
    mock.onChat = () => orError(401, "User not found.");
    const err = await p.client().chat.completions.create({
      model: "openai/gpt-4o-mini",
      messages: [{ role: "user", content: "x" }],
    }).catch((e) => e);
    assert.ok(err instanceof OpenAI.InternalServerError);
    assert.equal(err.status, 502);
    assert.equal(err.code, "upstream_auth_failed");
    assert.match(err.message, /OPENROUTER_API_KEY/);
    assert.ok(!err.message.includes(KEY));
  });
});

Deno.test("SDK surfaces proxy errors with the request id", async () => {
  await withProxy(async (p) => {
    await (await p.fetch("/v1/models")).body?.cancel(); // loads the model list
    const err = await p.client().chat.completions.create({
      model: "nosuch:thing",
      messages: [{ role: "user", content: "x" }],
    }).catch((e) => e);
    assert.ok(err instanceof OpenAI.APIError);
    assert.match(err.requestID ?? "", /^req_/);
  });
});

Deno.test("unknown paths and methods get OpenAI-style 404/405", async () => {
  await withProxy(async (p) => {
    let res = await p.fetch("/v1/nothing");
    assert.equal(res.status, 404);
    assert.equal((await res.json()).error.code, "not_found");
    res = await p.fetch("/v1/chat/completions");
    assert.equal(res.status, 405);
    assert.equal((await res.json()).error.code, "method_not_allowed");
  });
});

Deno.test("a 200 JSON answer whose choices are not objects is 502, streamed or not (never a 500)", async () => {
  await withProxy(async (p, mock) => {
    mock.onChat = () => Response.json({ id: "x", object: "chat.completion", choices: [null, 5] });
    for (const stream of [false, true]) {
      const r = await post(
        p,
        JSON.stringify({ model: "openai/gpt-4o-mini", messages: [{ role: "user", content: "x" }], stream }),
      );
      assert.equal(r.status, 502, `stream: ${stream}`);
      assertError(r.json, "upstream_error");
    }
    assert.doesNotMatch(await p.logText(), /unexpected error/);
  });
});

Deno.test("a model name with a lone surrogate is answered, and its header stays decodable", async () => {
  await withProxy(async (p) => {
    const r = await post(p, '{"model":"openrouter:a\\ud800","messages":[{"role":"user","content":"x"}]}');
    assert.equal(r.status, 200);
    assert.equal(decodeURIComponent(r.headers.get("x-llmproxy-model")!), "openrouter:a\ufffd");
  });
});

Deno.test("an absurd Retry-After cools the key for at most a day", async () => {
  await withProxy(async (p, mock) => {
    mock.onChat = () =>
      new Response(JSON.stringify({ error: { code: 429, message: "slow down" } }), {
        status: 429,
        headers: { "content-type": "application/json", "retry-after": "99999999999" },
      });
    const body = JSON.stringify({ model: "openai/gpt-4o-mini", messages: [{ role: "user", content: "x" }] });
    const r = await post(p, body);
    assert.equal(r.status, 429);
    assert.ok(Number(r.headers.get("retry-after")) <= 86_400, `retry-after ${r.headers.get("retry-after")}`);
    const status = await post(
      p,
      JSON.stringify({ model: "openai/gpt-4o-mini", messages: [{ role: "user", content: "!/status" }] }),
    );
    const until = /cooling for openai\/gpt-4o-mini until (\S+)/.exec(status.json.choices[0].message.content);
    assert.ok(until, "status shows the cool-down");
    assert.ok(Date.parse(until[1]) <= Date.now() + 86_400_000 + 60_000, until[1]);
  });
});

Deno.test("client text with line breaks cannot forge log lines", async () => {
  const mock = MockOpenAI.start();
  const p = await startTestProxy(["--disable-auth", "--openrouter-api-base-url", mock.url], {
    OPENROUTER_API_KEY: KEY,
  });
  const forged = "2026-01-01 00:00:00.000 +00:00 [ERR] llmproxy: FORGED";
  try {
    await (await p.fetch("/v1/models")).body?.cancel(); // loads the model list: the next is unknown_backend
    const messages = [{ role: "user", content: "x" }];
    let r = await post(p, JSON.stringify({ model: `nosuch:x\n${forged}`, messages }));
    assert.equal(r.status, 400);
    r = await post(p, JSON.stringify({ model: `openai/x\r\n${forged}`, messages }));
    assert.equal(r.status, 200);
  } finally {
    await p.close();
    await mock.close();
  }
  const lines = (await p.logText()).split("\n");
  assert.ok(lines.some((l) => l.includes("FORGED")), "the text is logged");
  assert.ok(!lines.some((l) => l.startsWith("2026-01-01")), "but never as a line of its own");
});

Deno.test("a client that hangs up in the middle of its request body is a logged 400, not an internal error", async () => {
  const mock = MockOpenAI.start();
  const p = await startTestProxy(["--disable-auth", "--openrouter-api-base-url", mock.url], {
    OPENROUTER_API_KEY: KEY,
  });
  // The proxy arms the body's --timeout deadline when it starts reading the body: hang up after that.
  const deadlines = p.ctx.deadlines;
  const add = deadlines.add.bind(deadlines);
  let reading = Promise.withResolvers<void>();
  deadlines.add = (ms, fire) => {
    reading.resolve();
    return add(ms, fire);
  };
  try {
    for (const framing of ["content-length: 100", "transfer-encoding: chunked"]) {
      reading = Promise.withResolvers<void>();
      const conn = await Deno.connect({ hostname: "127.0.0.1", port: p.port });
      const part = framing.startsWith("content") ? '{"mod' : '5\r\n{"mod\r\n';
      await conn.write(new TextEncoder().encode(
        `POST /v1/chat/completions HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\n${framing}\r\n\r\n${part}`,
      ));
      await reading.promise;
      conn.close();
    }
  } finally {
    await p.close();
    await mock.close();
  }
  const log = await p.logText();
  assert.doesNotMatch(log, /unexpected error/);
  assert.equal(log.match(/POST \/v1\/chat\/completions 400 /g)?.length, 2, log);
});

Deno.test("HEAD works wherever GET does; a 405 says which method is allowed", async () => {
  await withProxy(async (p) => {
    for (const path of ["/", "/health", "/v1/models"]) {
      const res = await p.fetch(path, { method: "HEAD" });
      assert.equal(res.status, 200, path);
      assert.equal(await res.text(), "", "no body");
    }
    let res = await p.fetch("/v1/chat/completions");
    assert.equal(res.status, 405);
    assert.equal(res.headers.get("allow"), "POST");
    await res.body?.cancel();
    res = await p.fetch("/health", { method: "DELETE" });
    assert.equal(res.status, 405);
    assert.equal(res.headers.get("allow"), "GET, HEAD");
    await res.body?.cancel();
  });
});

Deno.test("a huge model name does not make huge log lines", async () => {
  const mock = MockOpenAI.start();
  const p = await startTestProxy(["--disable-auth", "--openrouter-api-base-url", mock.url], {
    OPENROUTER_API_KEY: KEY,
  });
  try {
    await (await p.fetch("/v1/models")).body?.cancel(); // loads the model list: the second is unknown_backend
    const messages = [{ role: "user", content: "x" }];
    assert.equal((await post(p, JSON.stringify({ model: "m".repeat(200_000), messages }))).status, 200);
    assert.equal(
      (await post(p, JSON.stringify({ model: `nosuch:${"m".repeat(200_000)}`, messages }))).status,
      400,
    );
  } finally {
    await p.close();
    await mock.close();
  }
  const lines = (await p.logText()).split("\n");
  assert.ok(lines.some((l) => l.includes("POST /v1/chat/completions 400")));
  for (const l of lines) assert.ok(l.length < 5000, `a log line of ${l.length} characters`);
});

Deno.test("a body that never arrives in full is a 408 after --timeout, not a hang", async () => {
  await withProxy(async (p) => {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: p.port });
    try {
      const head =
        "POST /v1/chat/completions HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\n" +
        "content-length: 500\r\n\r\n";
      await conn.write(new TextEncoder().encode(head + '{"model":"x",'));
      const buf = new Uint8Array(4096);
      let guard: ReturnType<typeof setTimeout> | undefined;
      const n = await Promise.race([
        conn.read(buf),
        new Promise<never>((
          _,
          reject,
        ) => (guard = setTimeout(() => reject(new Error("no answer in 5 s")), 5000))),
      ]).finally(() => clearTimeout(guard));
      const text = new TextDecoder().decode(buf.subarray(0, n ?? 0));
      assert.match(text, /^HTTP\/1\.1 408/);
      assert.match(text, /request_timeout/);
    } finally {
      conn.close();
    }
  }, ["--timeout", "0.3"]);
});
