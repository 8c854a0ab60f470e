/**
 * SPEC §19 "No leak" against hostile upstreams and careless clients: upstream error text that echoes a key
 * (after the commit too), key values in fields other than message text, and a key typed as the model name.
 */
import assert from "node:assert/strict";
import OpenAI from "openai";
import { chunkEvent as chunk, MockOpenAI, sseResponse } from "../mocks/openai_upstream.ts";
import { sseEvents, startTestProxy, type TestProxy } from "../helpers.ts";
import { REDACTED } from "../../src/security/scrub.ts";

const KEY = "sk-or-v1-" + "c3".repeat(32);
const CLIENT = "proxy-client-key-0123456789";

async function withProxy(fn: (p: TestProxy, m: MockOpenAI) => Promise<void>, args: string[] = []) {
  const mock = MockOpenAI.start();
  const p = await startTestProxy(args, {
    OPENROUTER_API_BASE_URL: mock.url,
    OPENROUTER_API_KEY_1: KEY,
    LLM_INTERACTIVE_PROXY_API_KEY: CLIENT,
  });
  try {
    await fn(p, mock);
  } finally {
    await p.close();
    await mock.close();
  }
}

/** Every entry of a KV file as JSON text (to search for a leaked value). */
async function storeDump(path: string): Promise<string[]> {
  const kv = await Deno.openKv(path);
  const out: string[] = [];
  try {
    for await (const e of kv.list({ prefix: [] })) {
      out.push(JSON.stringify([e.key, e.value], (_k, v) => (typeof v === "bigint" ? String(v) : v)));
    }
  } finally {
    kv.close();
  }
  return out;
}

const auth = { authorization: `Bearer ${CLIENT}`, "content-type": "application/json" };

Deno.test("an in-band error after the commit that echoes the key reaches the client scrubbed (raw SSE and SDK)", async () => {
  await withProxy(async (p, mock) => {
    const leaky = (req: { key?: string }) =>
      `data: ${
        JSON.stringify({
          error: { code: `bad_${req.key}`, message: `Provider failed, key used: ${req.key}` },
          choices: [{ index: 0, delta: { content: "" }, finish_reason: "error" }],
        })
      }`;
    mock.onChat = (req) => sseResponse([chunk("Hello "), leaky(req)]);
    const res = await p.fetch("/v1/chat/completions", {
      method: "POST",
      headers: auth,
      body: JSON.stringify({
        model: "openrouter:m",
        stream: true,
        messages: [{ role: "user", content: "x" }],
      }),
    });
    assert.equal(res.status, 200);
    const { raw, data } = await sseEvents(res);
    assert.ok(!raw.includes(KEY), `the key value reached the client: ${raw}`);
    const err = JSON.parse(data.at(-1)!).error;
    assert.match(err.message, /key used: \(API_KEY_HAS_BEEN_REDACTED\)/);
    assert.ok(!String(err.code).includes(KEY));

    const stream = await p.client(CLIENT).chat.completions.create({
      model: "openrouter:m",
      stream: true,
      messages: [{ role: "user", content: "x" }],
    });
    const thrown = await (async () => {
      for await (const _ of stream) { /* read to the error */ }
    })().catch((e) => e);
    assert.ok(thrown instanceof OpenAI.APIError, `got ${thrown}`);
    assert.ok(!thrown.message.includes(KEY));
    assert.ok(thrown.message.includes(REDACTED));
  });
});

Deno.test("an upstream error code that echoes the key is scrubbed in the JSON error body too", async () => {
  await withProxy(async (p, mock) => {
    mock.onChat = (req) =>
      new Response(JSON.stringify({ error: { code: `key_${req.key}`, message: "no" } }), {
        status: 400,
        headers: { "content-type": "application/json" },
      });
    const res = await p.fetch("/v1/chat/completions", {
      method: "POST",
      headers: auth,
      body: JSON.stringify({ model: "openrouter:m", messages: [{ role: "user", content: "x" }] }),
    });
    const text = await res.text();
    assert.equal(res.status, 400);
    assert.ok(!text.includes(KEY), text);
    assert.equal(JSON.parse(text).error.code, `key_${REDACTED}`);
  });
});

Deno.test("key values in tool_call_id, unknown message fields, metadata and nested unknown fields never reach the upstream", async () => {
  await withProxy(async (p, mock) => {
    const res = await p.fetch("/v1/chat/completions", {
      method: "POST",
      headers: auth,
      body: JSON.stringify({
        model: "openrouter:m",
        metadata: { ticket: `t-${KEY}` },
        provider: { order: [KEY], nested: { deeper: [`x ${CLIENT} y`] } },
        messages: [
          { role: "user", content: "x" },
          {
            role: "assistant",
            content: null,
            reasoning_details: [{ type: "reasoning.text", text: `thinking about ${KEY}` }],
            tool_calls: [{ id: `call_${KEY}`, type: "function", function: { name: "f", arguments: "{}" } }],
          },
          { role: "tool", tool_call_id: `call_${KEY}`, content: "done", note: CLIENT },
          { role: "user", content: "y" },
        ],
      }),
    });
    assert.equal(res.status, 200);
    await res.body?.cancel();
    assert.equal(res.headers.get("x-llmproxy-redactions"), "7");
    const sent = mock.chats[0].body!;
    const text = JSON.stringify(sent);
    assert.ok(!text.includes(KEY) && !text.includes(CLIENT), text);
    const msgs = sent.messages as Record<string, unknown>[];
    assert.equal(msgs[2].tool_call_id, `call_${REDACTED}`);
    assert.equal(msgs[2].note, REDACTED);
    assert.deepEqual(sent.metadata, { ticket: `t-${REDACTED}` });
    assert.equal(sent.model, "m");
  });
});

Deno.test("a key value typed as the model name is refused: not echoed, not stored, not logged", async () => {
  const dir = await Deno.makeTempDir();
  const kvPath = `${dir}/s.kv`;
  const seen: string[] = [];
  let proxy: TestProxy | undefined;
  await withProxy(async (p, mock) => {
    proxy = p;
    const shaped = "sk-proj-" + "Q".repeat(40); // not configured: a secret shape
    for (const model of [KEY, `openrouter:${KEY}`, CLIENT, shaped]) {
      for (const [stream, content] of [[false, "hi"], [true, "hi"], [false, "!/help"]] as const) {
        const res = await p.fetch("/v1/chat/completions", {
          method: "POST",
          headers: { ...auth, "x-session-id": "s1" },
          body: JSON.stringify({ model, stream, messages: [{ role: "user", content }] }),
        });
        const text = await res.text();
        const headers: string[] = [];
        res.headers.forEach((v, k) => headers.push(`${k}: ${v}`));
        seen.push(headers.join("\n"), text);
        assert.equal(res.status, 400, text);
        const err = JSON.parse(text).error;
        assert.equal(err.param, "model");
        assert.match(err.message, /contains an API key/);
      }
    }
    assert.equal(mock.chats.length, 0, "nothing went upstream");
    for (const path of ["/usage/recent?limit=100", "/audit/logs?limit=100", "/health"]) {
      seen.push(await p.fetch(path, { headers: auth }).then((r) => r.text()));
    }
    const status = await p.fetch("/v1/chat/completions", {
      method: "POST",
      headers: { ...auth, "x-session-id": "s1" },
      body: JSON.stringify({ model: "openrouter:m", messages: [{ role: "user", content: "!/status" }] }),
    });
    seen.push(await status.text());
  }, ["--kv", kvPath, "--log-level", "debug"]);
  try {
    seen.push(...await storeDump(kvPath));
    const log = await proxy!.logText();
    assert.match(log, /contains an API key/, "the refusal is logged");
    const all = seen.join("\n") + log;
    for (const v of [KEY, CLIENT, "Q".repeat(40)]) assert.ok(!all.includes(v), `a key value leaked: ${v}`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a key value sent as X-Session-ID is refused before it becomes part of a store key", async () => {
  const dir = await Deno.makeTempDir();
  const kvPath = `${dir}/s.kv`;
  const seen: string[] = [];
  await withProxy(async (p, mock) => {
    for (const id of [KEY, CLIENT]) {
      for (const content of ["hi", "!/status"]) {
        const res = await p.fetch("/v1/chat/completions", {
          method: "POST",
          headers: { ...auth, "x-session-id": id },
          body: JSON.stringify({ model: "openrouter:m", messages: [{ role: "user", content }] }),
        });
        const text = await res.text();
        seen.push(text);
        assert.equal(res.status, 400, text);
        assert.equal(JSON.parse(text).error.param, "X-Session-ID");
      }
    }
    assert.equal(mock.chats.length, 0, "nothing went upstream");
    seen.push(await p.fetch("/usage/recent?limit=100", { headers: auth }).then((r) => r.text()));
  }, ["--kv", kvPath]);
  try {
    seen.push(...await storeDump(kvPath));
    const all = seen.join("\n");
    for (const v of [KEY, CLIENT]) assert.ok(!all.includes(v), `a key value was stored: ${v}`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a key value sent as X-User-ID or X-Project is not stored", async () => {
  const dir = await Deno.makeTempDir();
  const kvPath = `${dir}/s.kv`;
  const seen: string[] = [];
  await withProxy(async (p) => {
    for (const content of ["hi", "!/status"]) {
      const res = await p.fetch("/v1/chat/completions", {
        method: "POST",
        headers: { ...auth, "x-user-id": `u-${KEY}`, "x-project": `p-${KEY}` },
        body: JSON.stringify({ model: "openrouter:m", messages: [{ role: "user", content }] }),
      });
      assert.equal(res.status, 200);
      seen.push(await res.text());
    }
    seen.push(await p.fetch("/usage/recent?limit=10", { headers: auth }).then((r) => r.text()));
  }, ["--kv", kvPath]);
  try {
    seen.push(...await storeDump(kvPath));
    const all = seen.join("\n");
    assert.ok(all.includes(`u-${REDACTED}`) && all.includes(`p-${REDACTED}`), "recorded, redacted");
    assert.ok(!all.includes(KEY), "the key value was stored or echoed");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a key value typed as a command's argument name is not echoed or stored", async () => {
  // `!/set(<key>=1)`: argument values were scrubbed, names were not, and "unknown setting" repeated the name
  // in the reply, the x-llmproxy-commands header and the audit record.
  const dir = await Deno.makeTempDir();
  const kvPath = `${dir}/s.kv`;
  const seen: string[] = [];
  let proxy: TestProxy | undefined;
  await withProxy(async (p) => {
    proxy = p;
    for (const content of [`!/set(${KEY}=1)`, `!/unset(${KEY})`, `!/create-failover-route(${CLIENT}=x)`]) {
      for (const stream of [false, true]) {
        const res = await p.fetch("/v1/chat/completions", {
          method: "POST",
          headers: { ...auth, "x-session-id": "s1" },
          body: JSON.stringify({ model: "openrouter:m", stream, messages: [{ role: "user", content }] }),
        });
        res.headers.forEach((v, k) => seen.push(`${k}: ${v}`));
        const text = await res.text();
        assert.equal(res.status, 200, text);
        assert.match(text, /Error: /, content);
        seen.push(text);
      }
    }
    for (const path of ["/usage/recent?limit=100", "/audit/logs?limit=100"]) {
      seen.push(await p.fetch(path, { headers: auth }).then((r) => r.text()));
    }
  }, ["--kv", kvPath, "--log-level", "debug"]);
  try {
    seen.push(...await storeDump(kvPath));
    const all = seen.join("\n") + await proxy!.logText();
    for (const v of [KEY, CLIENT]) assert.ok(!all.includes(v), `a key value leaked: ${v}`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
