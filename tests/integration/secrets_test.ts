import assert from "node:assert/strict";
import { MockOpenAI, orError } from "../mocks/openai_upstream.ts";
import { startTestProxy } from "../helpers.ts";

const SECRETS = {
  OPENROUTER_API_KEY_1: "sk-or-v1-" + "a1".repeat(32),
  OPENROUTER_API_KEY_2: "sk-or-v1-" + "b2".repeat(32),
  GEMINI_API_KEY_1: "AIza" + "G".repeat(35),
  LLM_INTERACTIVE_PROXY_API_KEY: "proxy-admin-key-0123456789",
  LLM_INTERACTIVE_PROXY_API_KEY_X: "ignored-not-numbered-key-1", // not a key name: harmless
};
const VALUES = [
  SECRETS.OPENROUTER_API_KEY_1,
  SECRETS.OPENROUTER_API_KEY_2,
  SECRETS.GEMINI_API_KEY_1,
  SECRETS.LLM_INTERACTIVE_PROXY_API_KEY,
];

Deno.test("no key value appears in any output channel after a mixed run", async () => {
  const mock = MockOpenAI.start();
  const dir = await Deno.makeTempDir();
  const kvPath = `${dir}/s.kv`;
  const env = {
    OPENROUTER_API_BASE_URL: mock.url,
    GEMINI_API_BASE_URL: "http://127.0.0.1:9",
    OPENROUTER_API_KEY_1: SECRETS.OPENROUTER_API_KEY_1,
    OPENROUTER_API_KEY_2: SECRETS.OPENROUTER_API_KEY_2,
    GEMINI_API_KEY_1: SECRETS.GEMINI_API_KEY_1,
    LLM_INTERACTIVE_PROXY_API_KEY: SECRETS.LLM_INTERACTIVE_PROXY_API_KEY,
  };
  const p = await startTestProxy(
    ["--kv", kvPath, "--log-level", "debug", "--audit-log", `${dir}/audit.jsonl`, "--audit-content"],
    env,
  );
  const seen: string[] = [];
  const keep = async (res: Response) => {
    const headers: string[] = [];
    res.headers.forEach((v, k) => headers.push(`${k}: ${v}`));
    seen.push(headers.join("\n"), await res.text());
    return res;
  };
  const auth = {
    authorization: `Bearer ${SECRETS.LLM_INTERACTIVE_PROXY_API_KEY}`,
    "content-type": "application/json",
  };
  const chat = (body: unknown, headers: Record<string, string> = auth) =>
    p.fetch("/v1/chat/completions", { method: "POST", headers, body: JSON.stringify(body) }).then(keep);
  try {
    // 1. A prompt that pastes every key (and a GitHub token) — redacted before it leaves.
    const leaky = `keys: ${VALUES.join(" ")} and ghp_${"t".repeat(36)}`;
    const r1 = await chat({ model: "openrouter:m", messages: [{ role: "user", content: leaky }] });
    assert.equal(r1.headers.get("x-llmproxy-redactions"), "5");
    const sent = JSON.stringify(mock.chats[0].body);
    for (const v of VALUES) assert.ok(!sent.includes(v), "the upstream never sees a key in the prompt");
    // 2. Tool-call arguments and a stream.
    await chat({
      model: "openrouter:m",
      stream: true,
      messages: [
        { role: "user", content: "x" },
        {
          role: "assistant",
          content: null,
          tool_calls: [{
            id: "c1",
            type: "function",
            function: { name: "f", arguments: JSON.stringify({ k: VALUES[0] }) },
          }],
        },
        { role: "tool", tool_call_id: "c1", content: `result ${VALUES[1]}` },
        { role: "user", content: "y" },
      ],
    });
    assert.ok(!JSON.stringify(mock.chats[1].body).includes(VALUES[0]));
    // 3. Upstream errors that echo the key; an upstream 401; a dead backend.
    mock.onChat = (req) => orError(400, `invalid request for key ${req.key}`);
    await chat({ model: "openrouter:m", messages: [{ role: "user", content: "x" }] });
    mock.onChat = () => orError(401, "bad key");
    await chat({ model: "openrouter:m", messages: [{ role: "user", content: "x" }] });
    mock.onChat = undefined;
    await chat({ model: "gemini:gemini-2.5-flash", messages: [{ role: "user", content: "x" }] });
    // 4. Wrong client keys, including one that is a backend key.
    await chat({ model: "m", messages: [] }, {
      authorization: `Bearer ${VALUES[0]}`,
      "content-type": "application/json",
    });
    await chat({ model: "m", messages: [] }, {
      authorization: "Bearer nope-nope-nope",
      "content-type": "application/json",
    });
    // 5. Every read endpoint.
    for (
      const path of [
        "/health",
        "/",
        "/v1/models",
        "/usage/stats",
        "/usage/recent",
        "/audit/logs?limit=500",
        "/usage/stats?group_by=key",
      ]
    ) {
      await p.fetch(path, { headers: auth }).then(keep);
    }
  } finally {
    await p.close();
    await mock.close();
  }
  try {
    const channels: Record<string, string> = {
      "responses and headers": seen.join("\n"),
      "stdout": p.stdout.join("\n"),
      "stderr": p.stderr.join("\n"),
      "log file": await Deno.readTextFile(`${dir}/../${dir.split("/").pop()}/s.kv`).then(() => "").catch(() =>
        ""
      ),
      "audit file": await Deno.readTextFile(`${dir}/audit.jsonl`),
    };
    channels["log file"] = await p.logText().catch(() => "");
    const kv = await Deno.openKv(kvPath);
    const dump: string[] = [];
    for await (const e of kv.list({ prefix: [] })) {
      dump.push(JSON.stringify(e.key, (_k, v) => (typeof v === "bigint" ? String(v) : v)));
      dump.push(JSON.stringify(e.value, (_k, v) => (typeof v === "bigint" ? String(v) : v)));
    }
    kv.close();
    channels["KV store"] = dump.join("\n");
    assert.ok(channels["log file"].length > 0, "the log was written");
    assert.ok(
      channels["responses and headers"].includes("invalid request for key (API_KEY_HAS_BEEN_REDACTED)"),
    );
    assert.ok(channels["KV store"].includes("usage"), "the store was written");
    assert.ok(channels["audit file"].includes("startup"));
    for (const [name, text] of Object.entries(channels)) {
      for (const v of VALUES) assert.ok(!text.includes(v), `${name} contains a key value`);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("with prompt redaction off, --audit-content still stores no key value (prompt or answer)", async () => {
  const mock = MockOpenAI.start();
  const dir = await Deno.makeTempDir();
  const kvPath = `${dir}/s.kv`;
  const p = await startTestProxy(
    [
      "--disable-auth",
      "--kv",
      kvPath,
      "--audit-log",
      `${dir}/audit.jsonl`,
      "--audit-content",
      "--disable-redact-api-keys-in-prompts",
    ],
    { OPENROUTER_API_BASE_URL: mock.url, OPENROUTER_API_KEY_1: SECRETS.OPENROUTER_API_KEY_1 },
  );
  try {
    for (const stream of [false, true]) {
      const res = await p.fetch("/v1/chat/completions", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({
          model: "openrouter:m",
          stream,
          messages: [{ role: "user", content: `my key is ${SECRETS.OPENROUTER_API_KEY_1}` }],
        }),
      });
      assert.equal(res.status, 200);
      await res.text();
    }
    assert.ok(JSON.stringify(mock.chats[0].body).includes(SECRETS.OPENROUTER_API_KEY_1), "redaction is off");
  } finally {
    await p.close();
    await mock.close();
  }
  try {
    const kv = await Deno.openKv(kvPath);
    const dump: string[] = [];
    for await (const e of kv.list({ prefix: ["audit"] })) dump.push(JSON.stringify(e.value));
    kv.close();
    const audit = dump.join("\n") + (await Deno.readTextFile(`${dir}/audit.jsonl`));
    assert.ok(audit.includes("my key is"), "the content was recorded");
    assert.ok(!audit.includes(SECRETS.OPENROUTER_API_KEY_1), "but not the key value");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
