import assert from "node:assert/strict";
import OpenAI from "openai";
import { MockOpenAI, orError, perKeyLimiter } from "../mocks/openai_upstream.ts";
import { startTestProxy, type TestProxy } from "../helpers.ts";

const KEYS = [1, 2, 3].map((i) => `sk-or-v1-${String(i).repeat(64)}`);
const label = (key: string | undefined) => `K${KEYS.indexOf(key!) + 1}`;

async function withProxy(
  fn: (p: TestProxy, m: MockOpenAI) => Promise<void>,
  args: string[] = [],
  opts: { keys?: string[]; config?: unknown } = {},
) {
  const mock = MockOpenAI.start();
  const env: Record<string, string> = { OPENROUTER_API_BASE_URL: mock.url };
  (opts.keys ?? KEYS).forEach((k, i) => (env[`OPENROUTER_API_KEY_${i + 1}`] = k));
  const dir = await Deno.makeTempDir();
  const extra = opts.config ? ["--config", `${dir}/c.json`] : [];
  if (opts.config) await Deno.writeTextFile(`${dir}/c.json`, JSON.stringify(opts.config));
  const proxy = await startTestProxy(["--disable-auth", ...extra, ...args], env);
  try {
    await fn(proxy, mock);
  } finally {
    await proxy.close();
    await mock.close();
    await Deno.remove(dir, { recursive: true });
  }
}

const ask = (p: TestProxy, model = "m", stream = false) =>
  p.client().chat.completions.create({
    model,
    messages: [{ role: "user", content: "q" }],
    stream: stream as false,
  })
    .withResponse();

Deno.test("each 429 signal format rotates to the next key and cools the limited one", async () => {
  const signals: [string, () => Response][] = [
    [
      "Retry-After seconds",
      () =>
        orError(429, "slow", undefined).headers.has("x") ? new Response() : withHeader("retry-after", "30"),
    ],
    ["Retry-After date", () => withHeader("retry-after", new Date(Date.now() + 30_000).toUTCString())],
    ["retry-after-ms", () => withHeader("retry-after-ms", "30000")],
    ["X-RateLimit-Reset", () => withHeader("x-ratelimit-reset", String(Date.now() + 30_000))],
    ["no hint (back-off)", () => orError(429, "Too many requests")],
  ];
  for (const [name, make] of signals) {
    await withProxy(async (p, mock) => {
      mock.onChat = (req) => (req.key === KEYS[0] ? make() : undefined);
      const first = await ask(p);
      assert.equal(first.response.headers.get("x-llmproxy-key"), "OPENROUTER_API_KEY_2", name);
      assert.equal(first.response.headers.get("x-llmproxy-attempts"), "2", name);
      // Three more requests: round-robin would start at key 1 again on the fourth, but key 1 is cooling.
      for (let i = 0; i < 3; i++) await ask(p);
      const used = mock.chats.map((r) => label(r.key));
      assert.equal(used.filter((k) => k === "K1").length, 1, `${name}: K1 tried once, then skipped: ${used}`);
    }, ["--key-strategy", "round-robin"]);
  }
});

function withHeader(name: string, value: string): Response {
  return new Response(JSON.stringify({ error: { code: 429, message: "Rate limit exceeded" } }), {
    status: 429,
    headers: { "content-type": "application/json", [name]: value },
  });
}

Deno.test("all keys cooling: a short wait is absorbed within --max-wait, a long one is a 429 with Retry-After", async () => {
  await withProxy(
    async (p, mock) => {
      // The first answer is a 429 saying "retry after 1 s"; the proxy waits out the cool-down, then is served.
      mock.onChat = (_req, n) => (n === 1 ? withHeader("retry-after", "1") : undefined);
      const started = Date.now();
      const ok = await ask(p);
      assert.ok(Date.now() - started >= 900, "the key's cool-down was waited out");
      assert.match(ok.data.choices[0].message.content!, /Echo/);
      assert.equal(ok.response.headers.get("x-llmproxy-attempts"), "2", "one 429, a wait, then success");
    },
    ["--max-wait", "3"],
    { keys: [KEYS[0]] },
  );

  await withProxy(async (p, mock) => {
    mock.onChat = () => withHeader("retry-after", "120");
    const client = p.client(undefined, { maxRetries: 2 });
    const err = await client.chat.completions.create({
      model: "m",
      messages: [{ role: "user", content: "q" }],
    })
      .catch((e) => e);
    assert.ok(err instanceof OpenAI.RateLimitError);
    assert.equal(err.code, "rate_limit_exceeded");
    const retryAfter = Number(err.headers.get("retry-after"));
    assert.ok(retryAfter >= 118 && retryAfter <= 120, `Retry-After ${retryAfter}`);
    assert.equal(err.headers.get("x-should-retry"), "false");
    assert.equal(mock.chats.length, 3, "each key tried once; the SDK did not retry");
    const again = await client.chat.completions.create({
      model: "m",
      messages: [{ role: "user", content: "q" }],
    })
      .catch((e) => e);
    assert.equal(again.status, 429);
    assert.equal(mock.chats.length, 3, "cooling keys are not hammered");
  }, ["--max-wait", "1"]);
});

Deno.test("auth and credit failures move to the next key and name the label; moderation 403 returns at once", async () => {
  await withProxy(async (p, mock) => {
    mock.onChat = (req) =>
      req.key === KEYS[0]
        ? orError(401, "User not found.")
        : req.key === KEYS[1]
        ? orError(402, "no credits")
        : undefined;
    const r = await ask(p);
    assert.equal(r.response.headers.get("x-llmproxy-key"), "OPENROUTER_API_KEY_3");
    mock.onChat = () => orError(403, "Input flagged by moderation");
    const err = await ask(p, "m2").catch((e) => e);
    assert.equal(err.status, 403);
    assert.equal(mock.chats.length, 4, "403 is not retried on other keys");
    const log = await p.logText();
    for (const k of KEYS) assert.ok(!log.includes(k), "no key value in the log");
  });
});

Deno.test("routes: a failing model moves to the next element; provider-side 429 too; x-llmproxy-route set", async () => {
  const config = {
    failover_routes: {
      smart: {
        policy: "km",
        elements: ["openrouter:broken/model", "openrouter:busy/model:free", "openrouter:good/model"],
      },
    },
  };
  await withProxy(
    async (p, mock) => {
      mock.onChat = (req) => {
        if (req.body?.model === "broken/model") return orError(404, "No endpoints found for broken/model");
        if (req.body?.model === "busy/model:free") {
          return orError(429, "Provider returned error", {
            raw: "busy/model:free is temporarily rate-limited upstream",
          });
        }
        return undefined;
      };
      const r = await p.client().chat.completions.create({
        model: "smart",
        messages: [{ role: "user", content: "q" }],
        stream: true,
      }).withResponse();
      let text = "";
      for await (const c of r.data) text += c.choices[0]?.delta?.content ?? "";
      assert.equal(text, "Echo from good/model: q");
      assert.equal(r.response.headers.get("x-llmproxy-route"), "smart");
      assert.equal(r.response.headers.get("x-llmproxy-model"), "openrouter:good/model");
      assert.deepEqual(mock.chats.map((c) => c.body?.model), [
        "broken/model",
        "busy/model:free",
        "good/model",
      ]);
    },
    [],
    { config },
  );
});

Deno.test("5xx tries every key, then the next element; --max-attempts bounds the plan", async () => {
  const config = { failover_routes: { r: { policy: "km", elements: ["openrouter:a", "openrouter:b"] } } };
  await withProxy(
    async (p, mock) => {
      mock.onChat = (req) => (req.body?.model === "a" ? orError(503, "down") : undefined);
      const r = await ask(p, "r");
      assert.equal(r.response.headers.get("x-llmproxy-attempts"), "4");
      assert.deepEqual(mock.chats.map((c) => c.body?.model), ["a", "a", "a", "b"]);
    },
    [],
    { config },
  );
  await withProxy(
    async (p, mock) => {
      mock.onChat = () => orError(500, "down");
      const err = await ask(p, "r").catch((e) => e);
      assert.equal(err.status, 502);
      assert.equal(err.headers.get("x-llmproxy-attempts"), "2");
      assert.equal(err.headers.get("x-should-retry"), "false", "an exhausted multi-attempt plan");
      assert.equal(mock.chats.length, 2);
    },
    ["--max-attempts", "2"],
    { config },
  );
});

Deno.test("policies m and mk order their attempts as SPEC §6 says", async () => {
  const config = {
    failover_routes: {
      m: { policy: "m", elements: ["openrouter:a", "openrouter:b"] },
      mk: { policy: "mk", elements: ["openrouter:a", "openrouter:b"] },
    },
  };
  await withProxy(
    async (p, mock) => {
      mock.onChat = () => orError(500, "down");
      await ask(p, "m").catch(() => {});
      assert.deepEqual(mock.chats.map((c) => `${c.body?.model}${label(c.key)}`), ["aK1", "bK1"]);
      mock.requests.length = 0;
      await ask(p, "mk").catch(() => {});
      // round-robin: this request's rotation starts at key 2.
      assert.deepEqual(mock.chats.map((c) => `${c.body?.model}${label(c.key)}`), [
        "aK2",
        "bK2",
        "aK3",
        "bK3",
        "aK1",
        "bK1",
      ]);
    },
    ["--key-strategy", "round-robin"],
    { config },
  );
});

Deno.test("3 rate-limited keys and a failing model in a route: only successes until the pool is exhausted, then 429 with the right Retry-After", async () => {
  const config = {
    failover_routes: { pool: { policy: "m", elements: ["openrouter:gone/model", "openrouter:x/y:free"] } },
  };
  await withProxy(
    async (p, mock) => {
      const limiter = perKeyLimiter(2, 60_000);
      mock.onChat = (
        req,
        n,
      ) => (req.body?.model === "gone/model" ? orError(404, "No endpoints") : limiter.script(req, n));
      const results: string[] = [];
      let error: InstanceType<typeof OpenAI.APIError> | undefined;
      for (let i = 0; i < 8 && !error; i++) {
        try {
          const stream = await p.client().chat.completions.create({
            model: "pool",
            messages: [{ role: "user", content: `q${i}` }],
            stream: true,
          });
          let text = "";
          for await (const c of stream) text += c.choices[0]?.delta?.content ?? "";
          results.push(text);
        } catch (e) {
          error = e as InstanceType<typeof OpenAI.APIError>;
        }
      }
      assert.equal(results.length, 6, "3 keys × 2 requests each");
      results.forEach((t, i) => assert.equal(t, `Echo from x/y:free: q${i}`));
      assert.ok(error instanceof OpenAI.RateLimitError);
      const windowEnd = Math.floor(Date.now() / 60_000) * 60_000 + 60_000;
      const expected = Math.ceil((windowEnd - Date.now()) / 1000);
      const got = Number(error.headers?.get("retry-after"));
      assert.ok(Math.abs(got - expected) <= 2, `Retry-After ${got}, window ends in ${expected} s`);
      for (const n of limiter.stats.rejectedByKeyWindow.values()) {
        assert.ok(
          n <= 1,
          "at most one upstream 429 per key",
        );
      }
    },
    ["--max-wait", "0"],
    { config },
  );
});

Deno.test("a rejected key is named (by label, never value) in a warning of the log", async () => {
  await withProxy(async (p, mock) => {
    mock.onChat = (req) => (req.key === KEYS[0] ? orError(401, "User not found.") : undefined);
    await ask(p);
    await p.close();
    const log = await p.logText();
    assert.match(
      log,
      /\[WRN\] llmproxy: openrouter key OPENROUTER_API_KEY_1 is disabled until its value changes or an admin runs reset-cooldowns \(401 invalid key\)/,
    );
    for (const k of KEYS) assert.ok(!log.includes(k));
  }, ["--key-strategy", "fill-first"]);
});
