import assert from "node:assert/strict";
import OpenAI from "openai";
import { MockOpenAI } from "../mocks/openai_upstream.ts";
import { rawHttp, startTestProxy } from "../helpers.ts";

const OR_KEY = "sk-or-v1-" + "b".repeat(64);
const C1 = "client-key-one-0123456789";
const C2 = "client-key-two-0123456789";

Deno.test("bearer client keys: numbered keys work and are labelled, anything else is 401", async () => {
  const mock = MockOpenAI.start();
  const proxy = await startTestProxy(["--openrouter-api-base-url", mock.url], {
    OPENROUTER_API_KEY: OR_KEY,
    LLM_INTERACTIVE_PROXY_API_KEY_1: C1,
    LLM_INTERACTIVE_PROXY_API_KEY_3: C2,
  });
  try {
    const ok = await proxy.client(C2).chat.completions.create({
      model: "openai/gpt-4o-mini",
      messages: [{ role: "user", content: "hi" }],
    });
    assert.match(ok.choices[0].message.content ?? "", /Echo/);
    const models = await proxy.client(C1).models.list();
    assert.ok(models.data.length > 0);

    const bad = await proxy.client("wrong-key-0123456789").chat.completions.create({
      model: "m",
      messages: [{ role: "user", content: "hi" }],
    }).catch((e) => e);
    assert.ok(bad instanceof OpenAI.AuthenticationError);
    assert.equal(bad.code, "invalid_api_key");

    for (
      const header of [undefined, "Basic abc", "Bearer", "Bearer ", `bearer  ${C1} extra`, C1, `Token ${C1}`]
    ) {
      const res = await proxy.fetch("/v1/models", {
        headers: header === undefined ? {} : { authorization: header },
      });
      assert.equal(res.status, 401, `header ${header}`);
      assert.equal(res.headers.get("www-authenticate"), 'Bearer realm="llmproxy"');
      const body = await res.json();
      assert.equal(body.error.type, "authentication_error");
    }
    // Lower-case scheme is accepted (RFC 7235: case-insensitive).
    const lower = await proxy.fetch("/v1/models", { headers: { authorization: `bearer ${C1}` } });
    assert.equal(lower.status, 200);
    await lower.body?.cancel();
    // /health and / need no key.
    const health = await proxy.fetch("/health");
    assert.equal(health.status, 200);
    const h = await health.json();
    assert.equal(h.status, "ok");
    assert.deepEqual(Object.keys(h.backends.openrouter).sort(), [
      "cooling",
      "disabled",
      "functional",
      "keys",
      "models",
    ]);
    assert.equal(h.backends.openrouter.keys, 1);
    assert.ok(!JSON.stringify(h).includes(OR_KEY));
    const root = await proxy.fetch("/");
    assert.match(await root.text(), /llmproxy \d+\.\d+\.\d+.*\/health/);
  } finally {
    await proxy.close();
    await mock.close();
  }
});

Deno.test("no client key configured: one is generated, stored 0600, printed once, and works", async () => {
  const proxy = await startTestProxy([], {});
  const dataDir = proxy.dataDir;
  try {
    const path = `${dataDir}/client-api-key`;
    const key = (await Deno.readTextFile(path)).trim();
    assert.match(key, /^llmp-[0-9a-f]{48}$/);
    assert.equal((await Deno.stat(path)).mode! & 0o777, 0o600);
    assert.ok(proxy.stdout.includes(key), "printed on the start that created it");
    const log = await proxy.logText();
    assert.ok(!log.includes(key), "never logged");
    const res = await proxy.fetch("/v1/models", { headers: { authorization: `Bearer ${key}` } });
    assert.equal(res.status, 200);
    await res.body?.cancel();
  } finally {
    await proxy.close();
  }
});

Deno.test("a second start with the same data dir reuses the generated key and prints only its path", async () => {
  const { loadConfig } = await import("../../src/config/load.ts");
  const { startProxy } = await import("../../src/main.ts");
  const { PROVIDERS } = await import("../../src/providers/list.ts");
  const dataDir = await Deno.makeTempDir();
  try {
    const outs: string[][] = [];
    for (let i = 0; i < 2; i++) {
      const out: string[] = [];
      const cfg = await loadConfig(PROVIDERS, [
        "--port",
        "0",
        "--kv",
        ":memory:",
        "--data-dir",
        dataDir,
        "--log",
        `${dataDir}/l`,
      ], {
        HOME: dataDir,
      }, dataDir);
      const p = await startProxy(cfg, { out: (l) => out.push(l), err: () => {} });
      await p.close();
      outs.push(out);
    }
    const key = (await Deno.readTextFile(`${dataDir}/client-api-key`)).trim();
    assert.ok(outs[0].some((l) => l.includes(key)));
    assert.ok(!outs[1].some((l) => l.includes(key)), "not printed again");
    assert.ok(outs[1].some((l) => l.includes(`${dataDir}/client-api-key`)), "the path is shown");
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("auth disabled: loopback Host only, Origin must be allowed, POST must be JSON", async () => {
  const mock = MockOpenAI.start();
  const proxy = await startTestProxy(["--disable-auth", "--allow-origin", "http://localhost:3000"], {
    OPENROUTER_API_KEY: OR_KEY,
    OPENROUTER_API_BASE_URL: mock.url,
  });
  const body = JSON.stringify({ model: "m", messages: [{ role: "user", content: "hi" }] });
  try {
    const raw = await rawHttp(
      proxy.port,
      "POST /v1/chat/completions HTTP/1.1\r\nhost: evil.example:8000\r\ncontent-type: application/json",
      body,
    );
    assert.equal(raw.status, 403);
    assert.match(raw.text, /forbidden_origin/);
    const rawOk = await rawHttp(
      proxy.port,
      "POST /v1/chat/completions HTTP/1.1\r\nhost: [::1]:8000\r\ncontent-type: application/json",
      body,
    );
    assert.equal(rawOk.status, 200);
    let res = await proxy.fetch("/v1/chat/completions", {
      method: "POST",
      headers: { "content-type": "application/json", origin: "https://evil.example" },
      body,
    });
    assert.equal(res.status, 403);
    assert.match((await res.json()).error.message, /--allow-origin/);
    res = await proxy.fetch("/v1/chat/completions", {
      method: "POST",
      headers: { "content-type": "text/plain" },
      body,
    });
    assert.equal(res.status, 415);
    assert.equal((await res.json()).error.code, "unsupported_media_type");
    res = await proxy.fetch("/v1/chat/completions", {
      method: "POST",
      headers: {
        "content-type": "application/json; charset=utf-8",
        origin: "http://localhost:3000",
        host: "localhost",
      },
      body,
    });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("access-control-allow-origin"), "http://localhost:3000");
    await res.body?.cancel();
    res = await proxy.fetch("/v1/chat/completions", {
      method: "OPTIONS",
      headers: {
        origin: "http://localhost:3000",
        "access-control-request-headers": "authorization, content-type",
      },
    });
    assert.equal(res.status, 204);
    assert.match(res.headers.get("access-control-allow-methods") ?? "", /POST/);
    await res.body?.cancel();
    assert.equal(mock.chats.length, 2, "only the allowed requests went upstream");
  } finally {
    await proxy.close();
    await mock.close();
  }
});

Deno.test("CORS: every x-llmproxy-* header a response carries is exposed to the allowed origin", async () => {
  const mock = MockOpenAI.start();
  const dir = await Deno.makeTempDir();
  const config = `${dir}/config.json`;
  await Deno.writeTextFile(
    config,
    JSON.stringify({ failover_routes: { r: { policy: "k", elements: ["openrouter:openai/gpt-4o-mini"] } } }),
  );
  const proxy = await startTestProxy([
    "--disable-auth",
    "--allow-origin",
    "http://localhost:3000",
    "--config",
    config,
  ], {
    OPENROUTER_API_KEY: OR_KEY,
    OPENROUTER_API_BASE_URL: mock.url,
  });
  try {
    const res = await proxy.fetch("/v1/chat/completions", {
      method: "POST",
      headers: { "content-type": "application/json", origin: "http://localhost:3000" },
      body: JSON.stringify({
        model: "r",
        messages: [{ role: "user", content: `!/set(project=p) my key is ghp_${"a".repeat(36)}` }],
      }),
    });
    assert.equal(res.status, 200);
    await res.body?.cancel();
    const exposed = (res.headers.get("access-control-expose-headers") ?? "").split(/,\s*/);
    const ours = [...res.headers.keys()].filter((h) => h.startsWith("x-llmproxy-") || h === "x-request-id");
    assert.ok(ours.includes("x-llmproxy-route") && ours.includes("x-llmproxy-redactions"));
    for (const h of ours) assert.ok(exposed.includes(h), `${h} is exposed`);
    // A front end's own header too: the Responses front end names the built-in tools it dropped.
    const responses = await proxy.fetch("/v1/responses", {
      method: "POST",
      headers: { "content-type": "application/json", origin: "http://localhost:3000" },
      body: JSON.stringify({ model: "r", input: "hi", store: false, tools: [{ type: "web_search" }] }),
    });
    assert.equal(responses.status, 200);
    await responses.body?.cancel();
    assert.equal(responses.headers.get("x-llmproxy-dropped-tools"), "web_search");
    const exposedHere = (responses.headers.get("access-control-expose-headers") ?? "").split(/,\s*/);
    for (const h of responses.headers.keys()) {
      if (h.startsWith("x-llmproxy-")) assert.ok(exposedHere.includes(h), `${h} is exposed`);
    }
  } finally {
    await proxy.close();
    await mock.close();
    await Deno.remove(dir, { recursive: true });
  }
});
