import assert from "node:assert/strict";
import { MockOpenAI } from "../mocks/openai_upstream.ts";
import { rawHttp, startTestProxy } from "../helpers.ts";

const ADMIN = "admin-client-key-000001";

Deno.test("commands are audited with what they changed, local replies are usage records, routes persist", async () => {
  const mock = MockOpenAI.start();
  const dir = await Deno.makeTempDir();
  const env = {
    OPENROUTER_API_BASE_URL: mock.url,
    OPENROUTER_API_KEY: "sk-or-v1-" + "1".repeat(64),
    LLM_INTERACTIVE_PROXY_API_KEY: ADMIN,
  };
  const args = ["--kv", `${dir}/s.kv`];
  const p = await startTestProxy(args, env);
  const say = (content: string) =>
    p.client(ADMIN, { headers: { "X-Session-ID": "audit-1" } }).chat.completions.create({
      model: "openrouter:openai/gpt-4o-mini",
      messages: [{ role: "user", content }],
    });
  try {
    await say("!/create-failover-route(name=fast, policy=m)");
    await say("!/route-append(name=fast, openrouter:openai/gpt-4o-mini)");
    await say("!/set(command-prefix=#/)");
    await say("#/set(project=demo) and now a real question");
    const get = (path: string) =>
      p.fetch(path, { headers: { authorization: `Bearer ${ADMIN}` } }).then((r) => r.json());
    const audit = (await get("/audit/logs?session=audit-1&limit=100")).data;
    const kinds = audit.map((e: { kind: string }) => e.kind);
    assert.equal(kinds.filter((k: string) => k === "command").length, 4);
    const routeChanges = audit.filter((e: { kind: string }) => e.kind === "route_change");
    assert.equal(routeChanges.length, 2);
    const setting = audit.find((e: { kind: string }) => e.kind === "setting_change");
    assert.deepEqual(setting.detail, { command_prefix: { from: "!/", to: "#/" } });
    const recent = (await get("/usage/recent?session=audit-1")).data;
    assert.equal(recent.filter((r: { local?: boolean }) => r.local).length, 3, "three pure-command replies");
    const forwarded = recent.find((r: { outcome: string; local?: boolean }) => !r.local);
    assert.equal(forwarded.project, "demo", "the project set in the same message is on the upstream record");
    const sent = mock.chats.at(-1)!.body!.messages as { content: string }[];
    assert.equal(sent.at(-1)!.content, " and now a real question");
  } finally {
    await p.close();
  }
  const q = await startTestProxy(args, env);
  try {
    assert.deepEqual(q.ctx.routes.get("fast")?.elements, ["openrouter:openai/gpt-4o-mini"]);
    assert.equal(q.ctx.settings.commandPrefix, "#/", "the global prefix persisted");
  } finally {
    await q.close();
    await mock.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a key value typed into a command is never echoed in a header, a reply or the session", async () => {
  const mock = MockOpenAI.start();
  const secret = "sk-or-v1-" + "9".repeat(64);
  const p = await startTestProxy(["--disable-auth"], {
    OPENROUTER_API_BASE_URL: mock.url,
    OPENROUTER_API_KEY: secret,
  });
  try {
    const r = await p.client(undefined, { headers: { "X-Session-ID": "leak" } }).chat.completions.create({
      model: "openrouter:m",
      messages: [{ role: "user", content: `!/set(project=${secret}) and a question` }],
    }).withResponse();
    assert.ok(!(r.response.headers.get("x-llmproxy-commands") ?? "").includes(secret));
    assert.match(
      decodeURIComponent(r.response.headers.get("x-llmproxy-commands")!),
      /API_KEY_HAS_BEEN_REDACTED/,
    );
    const status = await p.client(undefined, { headers: { "X-Session-ID": "leak" } }).chat.completions.create(
      {
        model: "openrouter:m",
        messages: [{ role: "user", content: "!/status" }],
      },
    );
    assert.ok(!status.choices[0].message.content!.includes(secret));
  } finally {
    await p.close();
    await mock.close();
  }
});

Deno.test("UTF-8 in X-Project and X-User-ID is recorded as sent", async () => {
  const mock = MockOpenAI.start();
  const p = await startTestProxy(["--disable-auth"], {
    OPENROUTER_API_BASE_URL: mock.url,
    OPENROUTER_API_KEY: "sk-or-v1-" + "5".repeat(64),
  });
  try {
    const head =
      "POST /v1/chat/completions HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\n" +
      "x-session-id: utf8\r\nx-project: Überblick 日本\r\nx-user-id: José\r\n";
    const body = JSON.stringify({ model: "openrouter:m", messages: [{ role: "user", content: "hi" }] });
    const raw = await rawHttp(p.port, head.slice(0, -2), body);
    assert.equal(raw.status, 200);
    await p.ctx.usage.flush();
    const recent = await p.fetch("/usage/recent?session=utf8").then((r) => r.json());
    assert.equal(recent.data[0].project, "Überblick 日本");
    assert.equal(recent.data[0].user, "José");
  } finally {
    await p.close();
    await mock.close();
  }
});
