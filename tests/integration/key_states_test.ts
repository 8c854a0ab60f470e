/** Honest key states (SPEC §19): rejected keys are disabled, not "rate-limited"; 402 cools one model only. */
import assert from "node:assert/strict";
import { MockOpenAI, orError } from "../mocks/openai_upstream.ts";
import { startTestProxy, type TestProxy } from "../helpers.ts";
import { PROVIDERS } from "../../src/providers/list.ts";

/** The built-in backends as error messages list them. */
const KNOWN = PROVIDERS.map((p) => p.name).join(", ");

const KEYS = [1, 2].map((i) => `sk-or-v1-${String(i).repeat(64)}`);

async function withProxy(
  fn: (p: TestProxy, m: MockOpenAI) => Promise<void>,
  args: string[] = [],
): Promise<void> {
  const mock = MockOpenAI.start();
  const proxy = await startTestProxy(["--disable-auth", "--key-strategy", "fill-first", ...args], {
    OPENROUTER_API_BASE_URL: mock.url,
    OPENROUTER_API_KEY_1: KEYS[0],
    OPENROUTER_API_KEY_2: KEYS[1],
  });
  try {
    await fn(proxy, mock);
  } finally {
    await proxy.close();
    await mock.close();
  }
}

/** One chat request; the body as JSON, whatever the status. */
async function chat(p: TestProxy, model = "m") {
  const res = await p.fetch("/v1/chat/completions", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ model, messages: [{ role: "user", content: "q" }] }),
  });
  return { res, body: await res.json() };
}

/** The key-state counts `/health` shows for openrouter. */
async function health(p: TestProxy): Promise<{ keys: number; cooling: number; disabled: number }> {
  const h = (await (await p.fetch("/health")).json()).backends.openrouter;
  return { keys: h.keys, cooling: h.cooling, disabled: h.disabled };
}

Deno.test("a 401 disables that key (not a cool-down): requests go to the next key, /health and status say so", async () => {
  await withProxy(async (p, mock) => {
    mock.onChat = (req) => (req.key === KEYS[0] ? orError(401, "User not found.") : undefined);
    const first = await chat(p);
    assert.equal(first.res.status, 200);
    assert.equal(first.res.headers.get("x-llmproxy-key"), "OPENROUTER_API_KEY_2");
    for (let i = 0; i < 3; i++) assert.equal((await chat(p, `m${i}`)).res.status, 200);
    assert.equal(
      mock.chats.filter((c) => c.key === KEYS[0]).length,
      1,
      "the rejected key is not tried again",
    );
    assert.deepEqual(await health(p), { keys: 2, cooling: 0, disabled: 1 });
    const status = await p.fetch("/v1/chat/completions", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: "m", messages: [{ role: "user", content: "!/status" }] }),
    }).then((r) => r.json());
    const text: string = status.choices[0].message.content;
    assert.match(text, /OPENROUTER_API_KEY_1 disabled \(401 invalid key\)/);
    assert.ok(!text.includes(KEYS[0]), "never a key value");
  });
});

Deno.test("every key rejected: 502 upstream_auth_failed naming both labels, also when no attempt is left to make", async () => {
  await withProxy(async (p, mock) => {
    mock.onChat = () => orError(401, "User not found.");
    for (const round of ["first", "second"]) {
      const { res, body } = await chat(p);
      assert.equal(res.status, 502, round);
      assert.equal(body.error.code, "upstream_auth_failed", round);
      assert.equal(body.error.type, "api_error", round);
      assert.match(body.error.message, /OPENROUTER_API_KEY_1 \(401 invalid key\)/, round);
      assert.match(body.error.message, /OPENROUTER_API_KEY_2 \(401 invalid key\)/, round);
      assert.match(body.error.message, /reset-cooldowns/, round);
      assert.equal(res.headers.get("retry-after"), null, `${round}: not a rate limit`);
      assert.equal(res.headers.get("x-should-retry"), "false", round);
      for (const k of KEYS) assert.ok(!JSON.stringify(body).includes(k), "never a key value");
    }
    assert.equal(mock.chats.length, 2, "the second request makes no upstream attempt");
    assert.equal((await health(p)).disabled, 2);
  });
});

Deno.test("402 cools only (key, model): the same key still serves another model; all keys out of credits is 502, not 429", async () => {
  await withProxy(async (p, mock) => {
    mock.onChat = (req) =>
      req.key === KEYS[0] && req.body?.model === "paid" ? orError(402, "Insufficient credits") : undefined;
    const first = await chat(p, "paid");
    assert.equal(first.res.headers.get("x-llmproxy-key"), "OPENROUTER_API_KEY_2");
    const other = await chat(p, "other");
    assert.equal(
      other.res.headers.get("x-llmproxy-key"),
      "OPENROUTER_API_KEY_1",
      "key 1 serves other models",
    );
    assert.deepEqual(await health(p), { keys: 2, cooling: 1, disabled: 0 });

    mock.onChat = (req) => (req.body?.model === "paid" ? orError(402, "Insufficient credits") : undefined);
    const { res, body } = await chat(p, "paid"); // key 1 is cooling for "paid"; key 2 answers 402
    assert.equal(res.status, 502);
    assert.equal(body.error.code, "upstream_auth_failed");
    assert.match(body.error.message, /OPENROUTER_API_KEY_1 \(402 no credits\), OPENROUTER_API_KEY_2/);
    const again = await chat(p, "paid");
    assert.equal(again.res.status, 502, "no false 429 while both keys are out of credits");
    assert.equal(again.body.error.code, "upstream_auth_failed");
  });
});

Deno.test("a rejected key next to a rate-limited one: the answer is the rate limit, naming the rejected key", async () => {
  await withProxy(async (p, mock) => {
    mock.onChat = (req) =>
      req.key === KEYS[0] ? orError(401, "User not found.") : new Response(
        JSON.stringify({ error: { code: 429, message: "Rate limit exceeded" } }),
        { status: 429, headers: { "content-type": "application/json", "retry-after": "120" } },
      );
    const { res, body } = await chat(p);
    assert.equal(res.status, 429);
    assert.equal(body.error.code, "rate_limit_exceeded");
    assert.match(body.error.message, /Out for auth reasons: OPENROUTER_API_KEY_1 \(401 invalid key\)/);
    assert.deepEqual(await health(p), { keys: 2, cooling: 1, disabled: 1 });
  }, ["--max-wait", "0"]);
});

/** Start a proxy on a KV file with these two key values. */
function onStore(mock: MockOpenAI, kv: string, keys: string[], args: string[] = []): Promise<TestProxy> {
  return startTestProxy(["--disable-auth", "--key-strategy", "fill-first", "--kv", kv, ...args], {
    OPENROUTER_API_BASE_URL: mock.url,
    OPENROUTER_API_KEY_1: keys[0],
    OPENROUTER_API_KEY_2: keys[1],
  });
}

Deno.test("a disabled key stays disabled across a restart for the same value; a new value for its label is used at once", async () => {
  const mock = MockOpenAI.start();
  const dir = await Deno.makeTempDir();
  const kv = `${dir}/s.kv`;
  try {
    mock.onChat = (req) => (req.key === KEYS[0] ? orError(401, "User not found.") : undefined);
    const a = await onStore(mock, kv, KEYS);
    assert.equal((await chat(a)).res.headers.get("x-llmproxy-key"), "OPENROUTER_API_KEY_2");
    await a.close();

    mock.requests.length = 0;
    const b = await onStore(mock, kv, KEYS);
    try {
      assert.equal((await health(b)).disabled, 1, "still disabled after the restart");
      assert.equal((await chat(b)).res.headers.get("x-llmproxy-key"), "OPENROUTER_API_KEY_2");
      assert.equal(mock.chats.filter((c) => c.key === KEYS[0]).length, 0, "the rejected value is not tried");
    } finally {
      await b.close();
    }

    const replaced = `sk-or-v1-${"9".repeat(64)}`;
    const c = await onStore(mock, kv, [replaced, KEYS[1]]);
    try {
      assert.equal((await health(c)).disabled, 0, "a new value starts fresh");
      const r = await chat(c);
      assert.equal(r.res.status, 200);
      assert.equal(r.res.headers.get("x-llmproxy-key"), "OPENROUTER_API_KEY_1");
      assert.equal(mock.chats.at(-1)!.key, replaced);
    } finally {
      await c.close();
    }

    // The store holds a fingerprint, never a key value.
    for (const f of Deno.readDirSync(dir)) {
      const bytes = new TextDecoder("latin1").decode(await Deno.readFile(`${dir}/${f.name}`));
      for (const k of [...KEYS, replaced]) assert.ok(!bytes.includes(k), `no key value in ${f.name}`);
      for (const k of [...KEYS, replaced]) {
        assert.ok(!bytes.includes(k.slice(9, 40)), `no key part in ${f.name}`);
      }
    }
  } finally {
    await mock.close();
    await Deno.remove(dir, { recursive: true });
  }
});

const ADMIN = "client-key-admin-0001";
const USER = "client-key-user-00002";

/** A proxy with an admin and a user client key, on a KV file. */
function withAuth(mock: MockOpenAI, kv: string): Promise<TestProxy> {
  return startTestProxy([
    "--key-strategy",
    "fill-first",
    "--kv",
    kv,
    "--admin-keys",
    "LLM_INTERACTIVE_PROXY_API_KEY_1",
  ], {
    OPENROUTER_API_BASE_URL: mock.url,
    OPENROUTER_API_KEY_1: KEYS[0],
    OPENROUTER_API_KEY_2: KEYS[1],
    GEMINI_API_KEY: "AIza" + "g".repeat(35),
    GEMINI_API_BASE_URL: mock.url,
    LLM_INTERACTIVE_PROXY_API_KEY_1: ADMIN,
    LLM_INTERACTIVE_PROXY_API_KEY_2: USER,
  });
}

/** Send a message as a client key; the reply text (or the error), and the response. */
async function say(p: TestProxy, key: string, content: string) {
  const res = await p.fetch("/v1/chat/completions", {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${key}` },
    body: JSON.stringify({ model: "openrouter:m", messages: [{ role: "user", content }] }),
  });
  const body = await res.json();
  return { res, text: (body.choices?.[0]?.message?.content ?? JSON.stringify(body)) as string };
}

/** The key-state counts of every backend in /health. */
async function counts(p: TestProxy): Promise<Record<string, string>> {
  const h = (await (await p.fetch("/health")).json()).backends as Record<
    string,
    { cooling: number; disabled: number }
  >;
  return Object.fromEntries(Object.entries(h).map(([n, b]) => [n, `${b.cooling}/${b.disabled}`]));
}

Deno.test("reset-cooldowns: admin only, audited, scoped by backend=, unknown backend named; clears the store too", async () => {
  const mock = MockOpenAI.start();
  const dir = await Deno.makeTempDir();
  const kv = `${dir}/s.kv`;
  try {
    const p = await withAuth(mock, kv);
    try {
      mock.onChat = (req) => (req.key === KEYS[0] ? orError(401, "User not found.") : undefined);
      assert.equal((await say(p, USER, "hi")).res.headers.get("x-llmproxy-key"), "OPENROUTER_API_KEY_2");
      p.ctx.registry.pool("gemini").cool("GEMINI_API_KEY", "gemini-2.5-flash", {
        scope: "key-model",
        untilMs: Date.now() + 600_000,
        reason: "429",
      });
      assert.deepEqual((await counts(p)).openrouter, "0/1");
      assert.deepEqual((await counts(p)).gemini, "1/0");

      const denied = await say(p, USER, "!/reset-cooldowns");
      assert.match(
        denied.text,
        /^Error: .*only admin keys may do that.*this key is LLM_INTERACTIVE_PROXY_API_KEY_2\./,
      );
      assert.deepEqual((await counts(p)).openrouter, "0/1", "nothing changed");

      const unknown = await say(p, ADMIN, "!/reset-cooldowns(backend=openrutor)");
      assert.match(
        unknown.text,
        new RegExp(
          `^Error: reset-cooldowns: unknown backend "openrutor"; known: ${KNOWN} \\(did you mean openrouter\\?\\)`,
        ),
      );
      assert.match(
        (await say(p, ADMIN, "!/reset-cooldowns(model=x)")).text,
        /^Error: reset-cooldowns: unknown argument "model"/,
      );
      assert.match((await say(p, ADMIN, "!/help")).text, /!\/reset-cooldowns\[\(backend=NAME\)\] — .* \*$/m);

      const scoped = await say(p, ADMIN, "!/reset-cooldowns(backend=gemini)");
      assert.equal(scoped.text, "gemini: cool-downs reset (1 cooling key cleared)");
      assert.deepEqual(await counts(p), {
        ...Object.fromEntries(PROVIDERS.map((b) => [b.name, "0/0"])),
        openrouter: "0/1",
      });

      mock.onChat = undefined;
      const all = await say(p, ADMIN, "!/reset-cooldowns");
      assert.match(
        all.text,
        /^openrouter: cool-downs reset \(0 cooling keys cleared; re-enabled OPENROUTER_API_KEY_1\)$/m,
      );
      assert.deepEqual((await counts(p)).openrouter, "0/0");
      assert.equal((await say(p, USER, "hi")).res.headers.get("x-llmproxy-key"), "OPENROUTER_API_KEY_1");

      const audit =
        await (await p.fetch("/audit/logs?limit=100", { headers: { authorization: `Bearer ${ADMIN}` } }))
          .json();
      const commands = audit.data.filter((e: { kind: string }) => e.kind === "command").map((
        e: { detail: unknown },
      ) => JSON.stringify(e.detail));
      assert.ok(
        commands.some((d: string) =>
          d.includes("reset-cooldowns") && d.includes("re-enabled OPENROUTER_API_KEY_1")
        ),
        "audited",
      );
      assert.ok(
        commands.some((d: string) => d.includes("reset-cooldowns") && d.includes("only admin keys")),
        "the refusal too",
      );
    } finally {
      await p.close();
    }
    // The store was cleared as well: a restart does not bring the disabled state back.
    const q = await withAuth(mock, kv);
    try {
      assert.deepEqual((await counts(q)).openrouter, "0/0");
    } finally {
      await q.close();
    }
  } finally {
    await mock.close();
    await Deno.remove(dir, { recursive: true });
  }
});

/** Poll a condition (another instance's store refresh runs about once a second); fails after `ms`. */
async function eventually(what: string, cond: () => Promise<boolean>, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

Deno.test("two instances on one store: a disabled key and its reset reach the other instance", async () => {
  const mock = MockOpenAI.start();
  const dir = await Deno.makeTempDir();
  const kv = `${dir}/s.kv`;
  const a = await withAuth(mock, kv);
  const b = await withAuth(mock, kv);
  try {
    mock.onChat = (req) => (req.key === KEYS[0] ? orError(401, "User not found.") : undefined);
    await say(a, USER, "hi");
    await eventually("b sees the disabled key", async () => (await counts(b)).openrouter === "0/1");
    mock.requests.length = 0;
    assert.equal((await say(b, USER, "hi")).res.headers.get("x-llmproxy-key"), "OPENROUTER_API_KEY_2");
    assert.equal(mock.chats.length, 1, "b does not try the rejected key");
    mock.onChat = undefined;
    assert.match((await say(b, ADMIN, "!/reset-cooldowns")).text, /re-enabled OPENROUTER_API_KEY_1/);
    await eventually("a sees the reset", async () => (await counts(a)).openrouter === "0/0");
    assert.equal((await say(a, USER, "hi")).res.headers.get("x-llmproxy-key"), "OPENROUTER_API_KEY_1");
  } finally {
    await a.close();
    await b.close();
    await mock.close();
    await Deno.remove(dir, { recursive: true });
  }
});
