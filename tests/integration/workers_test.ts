/**
 * `--workers 2` through the real surface: a proxy process whose two isolates serve one port. Each request
 * here opens its own connection (the kernel picks the isolate per connection), and the `x-llmproxy-isolate`
 * header says which isolate answered.
 */
import assert from "node:assert/strict";
import { chunkEvent, MockOpenAI } from "../mocks/openai_upstream.ts";
import { type ProxyProcess, spawnProxy } from "../helpers.ts";

const KEYS = [1, 2].map((i) => `sk-or-v1-${String(i).repeat(64)}`);
/** Tries to land a request on a given isolate; each lands on either with probability ~1/2. */
const TRIES = 60;

async function withProxy(
  extra: string[],
  env: (mock: MockOpenAI) => Record<string, string>,
  fn: (p: ProxyProcess, mock: MockOpenAI, url: string) => Promise<void>,
): Promise<void> {
  const mock = MockOpenAI.start();
  const dir = await Deno.makeTempDir();
  let p: ProxyProcess | undefined;
  try {
    p = await spawnProxy(
      ["--disable-auth", "--workers", "2", "--kv", `${dir}/s.kv`, "--data-dir", dir, ...extra],
      { env: { HOME: dir, OPENROUTER_API_BASE_URL: mock.url, ...env(mock) } },
    );
    await fn(p, mock, `http://127.0.0.1:${p.port}`);
  } finally {
    await p?.kill();
    await mock.close();
    await Deno.remove(dir, { recursive: true });
  }
}

/** One request on a connection of its own. */
async function onNewConnection(url: string, init: RequestInit = {}): Promise<Response> {
  const client = Deno.createHttpClient({});
  try {
    const res = await fetch(url, { ...init, client });
    return new Response(await res.arrayBuffer(), res);
  } finally {
    client.close();
  }
}

function chat(url: string, model = "m", content = "q"): Promise<Response> {
  return onNewConnection(`${url}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ model, messages: [{ role: "user", content }] }),
  });
}

/** Send `send` on new connections until one is answered by `isolate` (bounded). */
async function landOn(isolate: string, send: () => Promise<Response>): Promise<Response> {
  for (let i = 0; i < TRIES; i++) {
    const res = await send();
    if (res.headers.get("x-llmproxy-isolate") === isolate) return res;
  }
  throw new Error(`no request landed on isolate ${isolate} in ${TRIES} tries`);
}

const twoKeys = () => ({ OPENROUTER_API_KEY_1: KEYS[0], OPENROUTER_API_KEY_2: KEYS[1] });

/** A Chat stream that sends its first chunk, then waits for `release` before its last chunk and `[DONE]`. */
function heldStream(release: Promise<void>): Response {
  const enc = new TextEncoder();
  return new Response(
    new ReadableStream<Uint8Array>({
      async start(c) {
        c.enqueue(enc.encode(`${chunkEvent("a")}\n\n`));
        await release;
        c.enqueue(enc.encode(`${chunkEvent("b", "stop")}\n\ndata: [DONE]\n\n`));
        c.close();
      },
    }),
    { headers: { "content-type": "text/event-stream" } },
  );
}

Deno.test("--workers 2: requests spread over both isolates, and /metrics counts them all", async () => {
  await withProxy(["--allow-origin", "http://localhost:3000"], twoKeys, async (_p, _mock, url) => {
    const seen = new Map<string, number>();
    let sent = 0;
    while (sent < TRIES && seen.size < 2) {
      const res = await chat(url);
      assert.equal(res.status, 200);
      sent++;
      const i = res.headers.get("x-llmproxy-isolate")!;
      seen.set(i, (seen.get(i) ?? 0) + 1);
    }
    assert.deepEqual([...seen.keys()].sort(), ["0", "1"], `isolates seen in ${sent} requests`);
    // A browser client may read which isolate answered.
    const cors = await onNewConnection(`${url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json", origin: "http://localhost:3000" },
      body: JSON.stringify({ model: "m", messages: [{ role: "user", content: "q" }] }),
    });
    sent++;
    assert.ok(cors.headers.has("x-llmproxy-isolate"));
    assert.ok(
      (cors.headers.get("access-control-expose-headers") ?? "").split(/,\s*/).includes("x-llmproxy-isolate"),
      "x-llmproxy-isolate is exposed to an allowed origin",
    );
    // A scrape lands on one isolate but counts the requests both served.
    for (let i = 0; i < 2; i++) {
      const text = await (await onNewConnection(`${url}/metrics`)).text();
      const m = /llmproxy_requests_total\{frontend="chat",backend="openrouter",status="200"\} (\d+)/.exec(
        text,
      );
      assert.equal(Number(m?.[1]), sent, text);
    }
  });
});

Deno.test("--workers 2: a 429 learned in one isolate makes the other use another key at once", async () => {
  await withProxy(["--key-strategy", "fill-first"], twoKeys, async (_p, mock, url) => {
    mock.onChat = (req) =>
      req.key === KEYS[0]
        ? new Response(JSON.stringify({ error: { code: 429, message: "Rate limit exceeded" } }), {
          status: 429,
          headers: { "content-type": "application/json", "retry-after": "600" },
        })
        : undefined;
    const first = await chat(url);
    assert.equal(first.status, 200);
    assert.equal(first.headers.get("x-llmproxy-key"), "OPENROUTER_API_KEY_2");
    assert.equal(mock.chats.filter((r) => r.key === KEYS[0]).length, 1, "one upstream 429");
    const other = first.headers.get("x-llmproxy-isolate") === "0" ? "1" : "0";
    const res = await landOn(other, () => chat(url));
    assert.equal(res.headers.get("x-llmproxy-key"), "OPENROUTER_API_KEY_2");
    assert.equal(
      mock.chats.filter((r) => r.key === KEYS[0]).length,
      1,
      "the other isolate never tried the cooling key",
    );
  });
});

Deno.test("--workers 2: a budget used up in one isolate (X-RateLimit-Remaining: 0) keeps the other off that key", async () => {
  await withProxy(["--key-strategy", "fill-first"], twoKeys, async (_p, mock, url) => {
    const reset = String(Date.now() + 600_000);
    mock.successHeaders = (req): Record<string, string> =>
      req.key === KEYS[0]
        ? { "x-ratelimit-limit": "5", "x-ratelimit-remaining": "0", "x-ratelimit-reset": reset }
        : {};
    const first = await chat(url, "x/y:free");
    assert.equal(first.headers.get("x-llmproxy-key"), "OPENROUTER_API_KEY_1");
    const other = first.headers.get("x-llmproxy-isolate") === "0" ? "1" : "0";
    const res = await landOn(other, () => chat(url, "x/y:free"));
    assert.equal(res.headers.get("x-llmproxy-key"), "OPENROUTER_API_KEY_2");
    assert.equal(mock.chats.filter((r) => r.key === KEYS[0]).length, 1, "key 1 was not sent to again");
  });
});

for (const where of ["the store", "a --config file"]) {
  Deno.test(`--workers 2: set(default-backend=…) made through one isolate is in effect in the other (${where})`, async () => {
    const env = (mock: MockOpenAI) => ({
      OPENROUTER_API_KEY: KEYS[0],
      OPENAI_API_KEY: "sk-" + "a".repeat(48),
      OPENAI_API_BASE_URL: mock.url,
    });
    // With --config, routes and settings live in the file and the store's refresh does not carry them: only
    // the isolates' channel does.
    const config = await Deno.makeTempFile({ suffix: ".json" });
    await Deno.writeTextFile(config, "{}");
    try {
      await withProxy(where === "the store" ? [] : ["--config", config], env, async (_p, _mock, url) => {
        const before = await chat(url);
        assert.equal(before.headers.get("x-llmproxy-backend"), "openrouter");
        const set = await chat(url, "m", "!/set(default-backend=openai)");
        assert.equal(set.status, 200);
        assert.match(await set.text(), /default backend set to openai/);
        const other = set.headers.get("x-llmproxy-isolate") === "0" ? "1" : "0";
        const res = await landOn(other, () => chat(url));
        assert.equal(res.headers.get("x-llmproxy-backend"), "openai");
      });
    } finally {
      await Deno.remove(config);
    }
  });
}

Deno.test("--workers 2: the console's state lists the requests in flight and the sessions of both isolates", async () => {
  await withProxy([], twoKeys, async (_p, mock, url) => {
    const release = Promise.withResolvers<void>();
    mock.onChat = () => {
      return heldStream(release.promise);
    };
    // Open held streams, each on its own connection, until each isolate holds at least one.
    const clients: Deno.HttpClient[] = [];
    const open: Response[] = [];
    const isolates = new Set<string>();
    try {
      while (open.length < TRIES && isolates.size < 2) {
        const client = Deno.createHttpClient({});
        clients.push(client);
        const n = open.length;
        const res = await fetch(`${url}/v1/chat/completions`, {
          client,
          method: "POST",
          headers: { "content-type": "application/json", "x-session-id": `console-${n}` },
          body: JSON.stringify({ model: `m-${n}`, stream: true, messages: [{ role: "user", content: "q" }] }),
        });
        assert.equal(res.status, 200);
        open.push(res);
        isolates.add(res.headers.get("x-llmproxy-isolate")!);
      }
      assert.equal(isolates.size, 2, `streams held in both isolates (${open.length} opened)`);
      const models = open.map((_, n) => `m-${n}`).sort();
      const sessions = open.map((_, n) => `console-${n}`).sort();
      // Whichever isolate the page lands on, it shows the process.
      for (const isolate of ["0", "1"]) {
        const res = await landOn(isolate, () => onNewConnection(`${url}/ui/api/state`));
        assert.equal(res.status, 200);
        const state = await res.json() as {
          active_requests: number;
          in_flight: { requested_model: string; seconds: number }[];
          sessions: { id: string; requests: number }[];
        };
        assert.deepEqual(
          state.in_flight.map((f) => f.requested_model).sort(),
          models,
          `from isolate ${isolate}`,
        );
        assert.equal(state.active_requests, open.length);
        assert.deepEqual(
          state.sessions.map((s) => s.id).filter((id) => id.startsWith("console-")).sort(),
          sessions,
          `from isolate ${isolate}`,
        );
      }
    } finally {
      release.resolve();
      for (const res of open) await res.body?.cancel().catch(() => {});
      for (const client of clients) client.close();
    }
  });
});

Deno.test("--workers 2: SIGTERM lets a stream in either isolate finish, then the process exits 0", async () => {
  await withProxy([], twoKeys, async (p, mock, url) => {
    const release = Promise.withResolvers<void>();
    const started = Promise.withResolvers<void>();
    mock.onChat = () => {
      started.resolve();
      return heldStream(release.promise);
    };
    const client = Deno.createHttpClient({});
    try {
      const res = await fetch(`${url}/v1/chat/completions`, {
        client,
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ model: "m", stream: true, messages: [{ role: "user", content: "q" }] }),
      });
      assert.equal(res.status, 200);
      await started.promise;
      p.child.kill("SIGTERM");
      await p.waitForStderr("SIGTERM: stopping");
      release.resolve();
      const body = await res.text();
      assert.match(body, /"b"/);
      assert.match(body, /\[DONE\]/);
    } finally {
      client.close();
    }
    const status = await p.exited;
    assert.equal(status.code, 0, p.stderr());
    assert.doesNotMatch(p.stderr(), /error|panic/i);
  });
});

Deno.test("--workers 2 with a :memory: store is refused (the isolates would share nothing)", async () => {
  const p = spawnProxy(["--disable-auth", "--workers", "2", "--kv", ":memory:"]);
  await assert.rejects(p, /:memory:/);
});
