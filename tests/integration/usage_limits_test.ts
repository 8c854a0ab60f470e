/**
 * Usage and audit records survive whatever the client sends: a huge model name or X-User-ID, or many big
 * --audit-content events in one flush, must not make the store reject a batch (and lose other records).
 */
import assert from "node:assert/strict";
import { MockOpenAI } from "../mocks/openai_upstream.ts";
import { startTestProxy } from "../helpers.ts";

const KEY = "sk-or-v1-" + "b".repeat(64);

async function post(url: string, body: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(`${url}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify(body),
  });
  await res.body?.cancel();
  return res.status;
}

Deno.test("a huge model name or X-User-ID does not lose the usage records written with it", async () => {
  const mock = MockOpenAI.start();
  const p = await startTestProxy(["--disable-auth", "--openrouter-api-base-url", mock.url], {
    OPENROUTER_API_KEY: KEY,
  });
  try {
    const msg = [{ role: "user", content: "hi" }];
    assert.equal(await post(p.url, { model: "openrouter:before/model", messages: msg }), 200);
    assert.equal(await post(p.url, { model: "openrouter:" + "m".repeat(5000), messages: msg }), 200);
    assert.equal(
      await post(p.url, { model: "openrouter:x/y", messages: msg }, { "x-user-id": "u".repeat(5000) }),
      200,
    );
    assert.equal(await post(p.url, { model: "openrouter:after/model", messages: msg }), 200);
    const recent = await (await p.fetch("/usage/recent?limit=10")).json();
    const models = recent.data.map((r: { requestedModel: string }) => r.requestedModel);
    assert.ok(models.includes("openrouter:before/model"), "the record before the huge one was kept");
    assert.ok(models.includes("openrouter:after/model"), "the record after the huge one was kept");
    assert.equal(recent.data.length, 4, "all four requests recorded");
    const stats = await (await p.fetch("/usage/stats?group_by=user")).json();
    assert.equal(
      stats.data.reduce((n: number, r: { requests: number }) => n + r.requests, 0),
      4,
      "roll-ups written",
    );
    assert.doesNotMatch(await p.logText(), /usage\/audit write failed/);
  } finally {
    await p.close();
    await mock.close();
  }
});

Deno.test("many large --audit-content events in one flush are all stored", async () => {
  const mock = MockOpenAI.start();
  const p = await startTestProxy(
    ["--disable-auth", "--audit-content", "--openrouter-api-base-url", mock.url],
    {
      OPENROUTER_API_KEY: KEY,
    },
  );
  try {
    const n = 30;
    const statuses = await Promise.all(
      Array.from({ length: n }, (_, i) =>
        post(p.url, {
          model: "openrouter:openai/gpt-4o-mini",
          messages: [{ role: "user", content: `${i} ` + "lorem ipsum ".repeat(2000) }],
        })),
    );
    assert.deepEqual(statuses, Array(n).fill(200));
    const recent = await (await p.fetch("/usage/recent?limit=100")).json();
    assert.equal(recent.data.length, n, "every usage record stored");
    const audit = await (await p.fetch("/audit/logs?limit=1000")).json();
    const content = audit.data.filter((e: { kind: string }) => e.kind === "content");
    assert.equal(content.length, n, "every content event stored");
    assert.doesNotMatch(await p.logText(), /usage\/audit write failed/);
  } finally {
    await p.close();
    await mock.close();
  }
});

Deno.test("odd periods on /usage/stats and /audit/logs: 400 for impossible times, empty for since after until", async () => {
  const p = await startTestProxy(["--disable-auth"]);
  try {
    for (const path of ["/usage/stats", "/audit/logs", "/usage/stats?group_by=day&"]) {
      const q = path.includes("?") ? path : `${path}?`;
      for (const since of ["99999999999999999999", "100000000000000000000d"]) {
        const res = await p.fetch(`${q}since=${since}`);
        const body = await res.json();
        assert.equal(res.status, 400, `${q}since=${since}`);
        assert.equal(body.error.param, "since");
      }
      const res = await p.fetch(`${q}since=1h&until=2h`);
      assert.equal(res.status, 200, `${q} since after until`);
      assert.deepEqual((await res.json()).data, []);
    }
    assert.doesNotMatch(await p.logText(), /unexpected error/);
  } finally {
    await p.close();
  }
});

Deno.test("failed logins with ever-new User-Agents cannot flood the audit trail", async () => {
  const dir = await Deno.makeTempDir();
  const kvPath = `${dir}/s.kv`;
  const p = await startTestProxy(["--kv", kvPath], { LLM_INTERACTIVE_PROXY_API_KEY: "right-key-0123456789" });
  const n = 300;
  try {
    for (let i = 0; i < n; i += 50) {
      await Promise.all(Array.from({ length: 50 }, async (_, j) => {
        const res = await p.fetch("/v1/models", {
          headers: { authorization: "Bearer wrong-key-0123456789", "user-agent": `bot-${i + j}` },
        });
        await res.body?.cancel();
      }));
    }
  } finally {
    await p.close();
  }
  try {
    const kv = await Deno.openKv(kvPath);
    const events: { kind: string; detail: { count: number } }[] = [];
    for await (const e of kv.list<{ kind: string; detail: { count: number } }>({ prefix: ["audit"] })) {
      if (e.value.kind === "auth_failure") events.push(e.value);
    }
    kv.close();
    assert.ok(events.length <= 101, `${events.length} auth_failure events`);
    assert.equal(events.reduce((s, e) => s + e.detail.count, 0), n, "every failure is counted");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
