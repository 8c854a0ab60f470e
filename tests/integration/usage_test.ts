import assert from "node:assert/strict";
import { MockOpenAI } from "../mocks/openai_upstream.ts";
import { runCli, runMain, startTestProxy, type TestProxy } from "../helpers.ts";
import { unpackRecords, type UsagePack } from "../../src/usage/recorder.ts";

const OR1 = "sk-or-v1-" + "1".repeat(64);
const OR2 = "sk-or-v1-" + "2".repeat(64);
const ADMIN = "admin-client-key-000001";
const USER = "user-client-key-0000002";

function env(mock: MockOpenAI): Record<string, string> {
  return {
    OPENROUTER_API_BASE_URL: mock.url,
    OPENROUTER_API_KEY_1: OR1,
    OPENROUTER_API_KEY_2: OR2,
    LLM_INTERACTIVE_PROXY_API_KEY_1: ADMIN,
    LLM_INTERACTIVE_PROXY_API_KEY_2: USER,
  };
}

async function mixedRun(p: TestProxy, mock: MockOpenAI) {
  let first = true;
  mock.onChat = (req) => {
    if (req.key === OR1 && first) {
      first = false;
      return new Response(JSON.stringify({ error: { code: 429, message: "Rate limit exceeded" } }), {
        status: 429,
        headers: { "content-type": "application/json", "retry-after": "1" },
      });
    }
    return undefined;
  };
  const alice = p.client(USER, {
    headers: { "X-Session-ID": "s-alice", "X-Project": "apollo", "X-User-ID": "alice" },
  });
  const bob = p.client(ADMIN, {
    headers: { "X-Session-ID": "s-bob", "X-Project": "zeus", "X-User-ID": "bob" },
  });
  await alice.chat.completions.create({
    model: "openrouter:a/one",
    messages: [{ role: "user", content: "x y" }],
  });
  await alice.chat.completions.create({
    model: "openrouter:a/one",
    messages: [{ role: "user", content: "x" }],
  });
  const s = await bob.chat.completions.create({
    model: "openrouter:b/two",
    messages: [{ role: "user", content: "z" }],
    stream: true,
    stream_options: { include_usage: true },
  });
  for await (const _ of s) { /* drain */ }
  const s2 = await bob.chat.completions.create({
    model: "openrouter:b/two",
    messages: [{ role: "user", content: "q" }],
    stream: true,
  });
  for await (const _ of s2) { /* drain: usage was requested by the proxy and dropped for the client */ }
  await p.client("wrong-key-xxxxxxxxxx").models.list().catch(() => {});
  await p.client("wrong-key-xxxxxxxxxx").models.list().catch(() => {});
}

Deno.test("usage and audit answer: which models, by whom, when, at what cost, with which key", async () => {
  const mock = MockOpenAI.start();
  const p = await startTestProxy(["--admin-keys", "LLM_INTERACTIVE_PROXY_API_KEY_1"], env(mock));
  try {
    await mixedRun(p, mock);
    const get = async (path: string, key = ADMIN) => {
      const res = await p.fetch(path, { headers: { authorization: `Bearer ${key}` } });
      return { status: res.status, body: await res.json() };
    };
    const byModel = (await get("/usage/stats?group_by=model")).body;
    const rows = Object.fromEntries(byModel.data.map((r: { key: string }) => [r.key, r]));
    assert.equal(rows["openrouter:a/one"].requests, 2, "two client requests…");
    assert.equal(rows["openrouter:a/one"].attempts, 3, "…one of them with a 429 first: three attempts");
    assert.equal(rows["openrouter:a/one"].errors, 1);
    assert.equal(rows["openrouter:b/two"].requests, 2);
    assert.equal(rows["openrouter:b/two"].prompt_tokens, 14, "stream usage counted, asked for or not");
    assert.ok(Math.abs(rows["openrouter:b/two"].cost_usd - 0.00084) < 1e-9);
    const byKey = (await get("/usage/stats?group_by=key")).body.data.map((
      r: { key: string; requests: number },
    ) => [r.key, r.requests]);
    assert.deepEqual(
      new Set(byKey.map((r: string[]) => r[0])),
      new Set(["OPENROUTER_API_KEY_1", "OPENROUTER_API_KEY_2"]),
    );
    const byUser = (await get("/usage/stats?group_by=user")).body.data;
    assert.deepEqual(byUser.map((r: { key: string }) => r.key).sort(), ["alice", "bob"]);
    const byProject = (await get("/usage/stats?group_by=project")).body.data;
    const apollo = byProject.find((r: { key: string }) => r.key === "apollo");
    assert.deepEqual([apollo.requests, apollo.attempts], [2, 3]);
    const byDay = (await get("/usage/stats?group_by=day&since=2d")).body.data;
    assert.equal(byDay.length, 1);
    assert.equal(byDay[0].key, new Date().toISOString().slice(0, 10));
    assert.deepEqual([byDay[0].requests, byDay[0].attempts], [4, 5]);

    const recent = (await get("/usage/recent?session=s-alice&limit=10")).body.data;
    assert.equal(recent.length, 3);
    assert.ok(recent.every((r: { clientKey: string }) => r.clientKey === "LLM_INTERACTIVE_PROXY_API_KEY_2"));
    assert.deepEqual(recent.map((r: { outcome: string }) => r.outcome).sort(), ["429", "ok", "ok"]);
    assert.ok(recent.every((r: { latencyMs: number }) => r.latencyMs >= 0));
    // Only the attempt that answered has a time to first byte and usage; the failed one has neither.
    const fields = (r: Record<string, unknown>) =>
      ["ttfbMs", "promptTokens", "totalTokens"].filter((k) => k in r);
    assert.deepEqual(
      recent.map((r: Record<string, unknown>) => `${r.outcome} ${r.attempt} ${fields(r)}`).sort(),
      ["429 1 ", "ok 1 ttfbMs,promptTokens,totalTokens", "ok 2 ttfbMs,promptTokens,totalTokens"],
    );
    const streamed = (await get("/usage/recent?session=s-bob&limit=10")).body.data;
    assert.deepEqual(
      streamed.map((r: Record<string, unknown>) => `${r.outcome} ${r.stream} ${fields(r)}`),
      ["ok true ttfbMs,promptTokens,totalTokens", "ok true ttfbMs,promptTokens,totalTokens"],
    );
    assert.ok(streamed.every((r: { latencyMs: number; ttfbMs: number }) => r.latencyMs >= r.ttfbMs));

    const audit = (await get("/audit/logs?limit=50")).body.data;
    const kinds = audit.map((e: { kind: string }) => e.kind);
    assert.ok(kinds.includes("startup"));
    // The record names the --disable-… flags, so it stores whether each is given: both features are on here.
    const startup = audit.find((e: { kind: string }) => e.kind === "startup").detail.settings;
    assert.equal(startup["disable-redact-api-keys-in-prompts"], false);
    assert.equal(startup["disable-interactive-mode"], false);
    assert.equal(startup["disable-redact-secret-patterns"], false);
    assert.equal((await get("/usage/stats", USER)).status, 403, "non-admin keys may not read usage");
    assert.equal((await get("/usage/stats?group_by=colour")).status, 400);
    assert.equal((await get("/usage/stats?since=yesterdayish")).status, 400);
    assert.equal((await get("/usage/recent?limit=0")).status, 400);
  } finally {
    await p.close();
    await mock.close();
  }
});

Deno.test("auth failures are aggregated per source per minute, without the token; clean stop loses nothing", async () => {
  const mock = MockOpenAI.start();
  const dir = await Deno.makeTempDir();
  const kvPath = `${dir}/s.kv`;
  const p = await startTestProxy(
    ["--kv", kvPath, "--audit-log", `${dir}/audit.jsonl`, "--audit-content"],
    env(mock),
  );
  try {
    await mixedRun(p, mock);
  } finally {
    await p.close();
    await mock.close();
  }
  try {
    const kv = await Deno.openKv(kvPath);
    let usage = 0;
    for await (const e of kv.list<UsagePack>({ prefix: ["usage"] })) usage += unpackRecords(e.value).length;
    const audits: { kind: string; detail: Record<string, unknown> }[] = [];
    for await (const e of kv.list<{ kind: string; detail: Record<string, unknown> }>({ prefix: ["audit"] })) {
      audits.push(e.value);
    }
    kv.close();
    assert.equal(usage, 5, "every attempt recorded and flushed on close");
    const auth = audits.filter((a) => a.kind === "auth_failure");
    assert.equal(auth.length, 1, "two failures, one event");
    assert.equal(auth[0].detail.count, 2);
    const content = audits.filter((a) => a.kind === "content");
    assert.equal(content.length, 4);
    assert.ok(content.some((c) => c.detail.prompt === "x y" && c.detail.response === "Echo from a/one: x y"));
    assert.ok(
      content.some((c) => c.detail.response === "Echo from b/two: z"),
      "streamed answers captured too",
    );
    const file = (await Deno.readTextFile(`${dir}/audit.jsonl`)).trim().split("\n").map((l) => JSON.parse(l));
    assert.equal(file.length, audits.length, "the JSON-lines mirror has every event");
    assert.ok(
      !JSON.stringify(audits).includes("wrong-key-xxxxxxxxxx"),
      "the presented token is never stored",
    );

    // The usage command in-process (a subprocess reading a running server's store is tested below).
    const cli = await runMain(["usage", "--kv", kvPath, "--by", "key", "--since", "1h"], {
      env: { HOME: dir },
    });
    assert.equal(cli.code, 0, cli.stderr);
    assert.match(cli.stdout, /^key\s+requests\s+attempts\s+ok\s+errors/m);
    assert.match(cli.stdout, /OPENROUTER_API_KEY_2\s+\d+/);
    const bad = await runMain(["usage", "--kv", kvPath, "--by", "colour"], { env: { HOME: dir } });
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--by/);
    const none = await runMain(["usage", "--data-dir", `${dir}/nothing`], { env: { HOME: dir } });
    assert.equal(none.code, 2);
    assert.match(none.stderr, /no store/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("llmproxy usage reads the store while a server is running on it", async () => {
  const mock = MockOpenAI.start();
  const dir = await Deno.makeTempDir();
  const p = await startTestProxy(["--kv", `${dir}/s.kv`], env(mock));
  try {
    await p.client(ADMIN).chat.completions.create({
      model: "openrouter:live/model",
      messages: [{ role: "user", content: "x" }],
    });
    await p.ctx.usage.flush();
    const cli = await runCli(["usage", "--kv", `${dir}/s.kv`], { env: { HOME: dir } });
    assert.equal(cli.code, 0, cli.stderr);
    assert.match(cli.stdout, /openrouter:live\/model\s+1\s+1\s+1\s+0/);
  } finally {
    await p.close();
    await mock.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("--disable-usage-log writes no usage or audit record", async () => {
  const mock = MockOpenAI.start();
  const dir = await Deno.makeTempDir();
  const p = await startTestProxy(
    ["--kv", `${dir}/s.kv`, "--disable-usage-log", "--admin-keys", "LLM_INTERACTIVE_PROXY_API_KEY_1"],
    env(mock),
  );
  try {
    await p.client(ADMIN).chat.completions.create({
      model: "openrouter:m",
      messages: [{ role: "user", content: "x" }],
    });
    const stats = await p.fetch("/usage/stats", { headers: { authorization: `Bearer ${ADMIN}` } }).then((r) =>
      r.json()
    );
    assert.deepEqual(stats.data, []);
  } finally {
    await p.close();
    await mock.close();
  }
  const kv = await Deno.openKv(`${dir}/s.kv`);
  let n = 0;
  for await (const e of kv.list({ prefix: [] })) if (e.key[0] === "usage" || e.key[0] === "audit") n++;
  kv.close();
  await Deno.remove(dir, { recursive: true });
  assert.equal(n, 0);
});
