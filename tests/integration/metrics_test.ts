/**
 * GET /metrics (SPEC §18) through the real surface: the official SDK makes requests, the scrape is parsed
 * strictly (tests/support/prometheus.ts) and its counters must rise by exactly what was done; admin-only;
 * bounded labels with no model name, session id or key value. And `x-llmproxy-overhead-ms` (SPEC §18):
 * on every proxied answer, and without the time spent waiting on the upstream.
 */
import assert from "node:assert/strict";
import { echoCompletion, echoEvents, MockOpenAI, orError, sseResponse } from "../mocks/openai_upstream.ts";
import { startTestProxy, type TestProxy } from "../helpers.ts";
import { type Family, parsePrometheus, total } from "../support/prometheus.ts";
import { VERSION } from "../../src/core/version.ts";

const OR1 = "sk-or-v1-" + "a".repeat(64);
const OR2 = "sk-or-v1-" + "b".repeat(64);
const ADMIN = "metrics-admin-key-000001";
const USER = "metrics-user-key-0000002";

const ADMIN_FLAG = ["--admin-keys", "LLM_INTERACTIVE_PROXY_API_KEY_1"];

function env(mock: MockOpenAI): Record<string, string> {
  return {
    OPENROUTER_API_BASE_URL: mock.url,
    OPENROUTER_API_KEY_1: OR1,
    OPENROUTER_API_KEY_2: OR2,
    LLM_INTERACTIVE_PROXY_API_KEY_1: ADMIN,
    LLM_INTERACTIVE_PROXY_API_KEY_2: USER,
  };
}

async function scrape(p: TestProxy, key = ADMIN): Promise<{ text: string; families: Map<string, Family> }> {
  const res = await p.fetch("/metrics", { headers: { authorization: `Bearer ${key}` } });
  assert.equal(res.status, 200);
  assert.match(res.headers.get("content-type") ?? "", /^text\/plain; version=0\.0\.4/);
  const text = await res.text();
  return { text, families: parsePrometheus(text) };
}

/** Scrape until `ok` holds (the end of a stream is observed just after its last byte), at most 5 s. */
async function scrapeUntil(
  p: TestProxy,
  ok: (f: Map<string, Family>) => boolean,
): Promise<{ text: string; families: Map<string, Family> }> {
  const until = Date.now() + 5_000;
  for (;;) {
    const s = await scrape(p);
    if (ok(s.families) || Date.now() > until) return s;
    await new Promise((r) => setTimeout(r, 20));
  }
}

Deno.test("/metrics: strictly valid, and every counter rises by exactly the requests made", async () => {
  const mock = MockOpenAI.start();
  let limited = false;
  mock.onChat = (req) => {
    if (req.key === OR1 && !limited) {
      limited = true;
      const res = orError(429, "Rate limit exceeded");
      res.headers.set("retry-after", "60");
      return res;
    }
    return undefined;
  };
  const p = await startTestProxy(["--key-strategy", "fill-first", ...ADMIN_FLAG], env(mock));
  try {
    const before = await scrape(p);
    const client = p.client(ADMIN, { headers: { "X-Session-ID": "sess-metrics-label-check" } });
    let prompt = 0, completion = 0;
    for (let i = 0; i < 2; i++) {
      const r = await client.chat.completions.create({
        model: "openrouter:vendor/very-private-model-name",
        messages: [{ role: "user", content: `hello number ${i}` }],
      });
      prompt += r.usage!.prompt_tokens;
      completion += r.usage!.completion_tokens;
    }
    for (let i = 0; i < 2; i++) {
      const s = await client.chat.completions.create({
        model: "openrouter:vendor/very-private-model-name",
        messages: [{ role: "user", content: "stream me" }],
        stream: true,
        stream_options: { include_usage: true },
      });
      for await (const chunk of s) {
        if (chunk.usage) {
          prompt += chunk.usage.prompt_tokens;
          completion += chunk.usage.completion_tokens;
        }
      }
    }
    const bad = await p.fetch("/v1/chat/completions", {
      method: "POST",
      headers: { authorization: `Bearer ${ADMIN}`, "content-type": "application/json" },
      body: JSON.stringify({ model: "openrouter:x" }),
    });
    assert.equal(bad.status, 400);
    await bad.body?.cancel();

    const chat = { frontend: "chat", backend: "openrouter" };
    const { text, families: after } = await scrapeUntil(
      p,
      (f) => total(f, "llmproxy_request_duration_seconds_count", chat) === 4,
    );
    const rise = (name: string, labels: Record<string, string> = {}) =>
      total(after, name, labels) - total(before.families, name, labels);

    assert.equal(rise("llmproxy_requests_total", { ...chat, status: "200" }), 4);
    assert.equal(rise("llmproxy_requests_total", { frontend: "chat", backend: "none", status: "400" }), 1);
    assert.equal(
      rise("llmproxy_requests_total"),
      5,
      "nothing else was counted (the scrapes are not requests)",
    );
    assert.equal(rise("llmproxy_request_duration_seconds_count", chat), 4);
    assert.equal(rise("llmproxy_request_duration_seconds_count"), 5);
    assert.equal(rise("llmproxy_time_to_first_byte_seconds_count", { backend: "openrouter" }), 4);
    const attempts = { backend: "openrouter" };
    assert.equal(rise("llmproxy_upstream_attempts_total", { ...attempts, key: "OPENROUTER_API_KEY_1" }), 1);
    assert.equal(
      rise("llmproxy_upstream_attempts_total", { ...attempts, key: "OPENROUTER_API_KEY_1", outcome: "429" }),
      1,
    );
    assert.equal(
      rise("llmproxy_upstream_attempts_total", { ...attempts, key: "OPENROUTER_API_KEY_2", outcome: "ok" }),
      4,
    );
    assert.equal(rise("llmproxy_upstream_attempts_total"), 5);
    assert.ok(prompt > 0 && completion > 0);
    assert.equal(rise("llmproxy_tokens_total", { backend: "openrouter", kind: "prompt" }), prompt);
    assert.equal(rise("llmproxy_tokens_total", { backend: "openrouter", kind: "completion" }), completion);

    const cooling = total(after, "llmproxy_key_cooldown_seconds", { key: "OPENROUTER_API_KEY_1" });
    assert.ok(cooling > 50 && cooling <= 60, `the 429's Retry-After: 60 shows (${cooling} s)`);
    assert.equal(total(after, "llmproxy_key_cooldown_seconds", { key: "OPENROUTER_API_KEY_2" }), 0);
    assert.equal(total(after, "llmproxy_active_requests"), 0);
    assert.equal(total(after, "llmproxy_build_info", { version: VERSION }), 1);
    assert.ok(total(after, "process_resident_memory_bytes") > 1e6);
    for (
      const f of ["llmproxy_requests_total", "llmproxy_upstream_attempts_total", "llmproxy_tokens_total"]
    ) {
      assert.equal(after.get(f)?.type, "counter", f);
    }
    for (const f of ["llmproxy_request_duration_seconds", "llmproxy_time_to_first_byte_seconds"]) {
      assert.equal(after.get(f)?.type, "histogram", f);
    }

    for (const secret of [OR1, OR2, ADMIN, USER, "very-private-model-name", "sess-metrics-label-check"]) {
      assert.ok(!text.includes(secret), `${secret} is not in the scrape`);
    }
  } finally {
    await p.close();
    await mock.close();
  }
});

Deno.test("/metrics: admin key when auth is on (Bearer is the scrape credential); open with auth disabled", async () => {
  const mock = MockOpenAI.start();
  const p = await startTestProxy(ADMIN_FLAG, env(mock));
  const q = await startTestProxy(["--disable-auth"], {
    OPENROUTER_API_BASE_URL: mock.url,
    OPENROUTER_API_KEY: OR1,
  });
  try {
    const none = await p.fetch("/metrics");
    assert.equal(none.status, 401);
    assert.equal((await none.json()).error.code, "invalid_api_key");
    const user = await p.fetch("/metrics", { headers: { authorization: `Bearer ${USER}` } });
    assert.equal(user.status, 403);
    assert.equal((await user.json()).error.code, "admin_required");
    const post = await p.fetch("/metrics", { method: "POST", headers: { authorization: `Bearer ${ADMIN}` } });
    assert.equal(post.status, 405);
    await post.body?.cancel();
    await scrape(p);

    const open = await q.fetch("/metrics");
    assert.equal(open.status, 200);
    parsePrometheus(await open.text());
    const own = await q.fetch("/metrics", { headers: { origin: q.url } });
    assert.equal(own.status, 200, "the console's own origin is allowed");
    await own.body?.cancel();
    const foreign = await q.fetch("/metrics", { headers: { origin: "http://evil.example" } });
    assert.equal(foreign.status, 403, "a foreign page may not read it");
    await foreign.body?.cancel();
  } finally {
    await p.close();
    await q.close();
    await mock.close();
  }
});

Deno.test("x-llmproxy-overhead-ms: on every proxied answer, without the upstream's time", async () => {
  const mock = MockOpenAI.start();
  const UPSTREAM_MS = 400;
  mock.onChat = async (req) => {
    await new Promise((r) => setTimeout(r, UPSTREAM_MS)); // a slow upstream
    const model = String(req.body?.model);
    return req.body?.stream
      ? sseResponse(echoEvents(model, "slow answer"))
      : Response.json(echoCompletion(model, "slow answer"));
  };
  const p = await startTestProxy(ADMIN_FLAG, env(mock));
  try {
    const post = (body: unknown) =>
      p.fetch("/v1/chat/completions", {
        method: "POST",
        headers: { authorization: `Bearer ${ADMIN}`, "content-type": "application/json" },
        body: JSON.stringify(body),
      });
    const overhead = (res: Response) => {
      const v = res.headers.get("x-llmproxy-overhead-ms");
      assert.match(v ?? "", /^\d+$/, `an integer number of ms on a ${res.status}`);
      return Number(v);
    };
    for (const stream of [false, true]) {
      const t0 = performance.now();
      const res = await post({ model: "openrouter:m", stream, messages: [{ role: "user", content: "hi" }] });
      const elapsed = performance.now() - t0;
      assert.equal(res.status, 200);
      await res.text();
      assert.ok(elapsed >= UPSTREAM_MS, `the upstream took ${UPSTREAM_MS} ms (${elapsed})`);
      const o = overhead(res);
      assert.ok(o < UPSTREAM_MS / 2, `overhead ${o} ms leaves out the ${UPSTREAM_MS} ms upstream wait`);
    }
    const local = await post({ model: "openrouter:m", messages: [{ role: "user", content: "!/help" }] });
    assert.equal(local.status, 200);
    overhead(local);
    await local.body?.cancel();
    const bad = await post({ model: "openrouter:m" });
    assert.equal(bad.status, 400);
    overhead(bad);
    await bad.body?.cancel();
    const health = await p.fetch("/health");
    assert.equal(health.headers.get("x-llmproxy-overhead-ms"), null, "only proxied answers carry it");
    await health.body?.cancel();
  } finally {
    await p.close();
    await mock.close();
  }
});
