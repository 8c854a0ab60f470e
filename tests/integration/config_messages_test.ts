/**
 * Messages that name what to fix (issue 18): a bad value names the flag, variable or config field it came
 * from; a backend without keys names its key variable; an unreachable upstream shows its URL; a pool set in
 * both forms says how to number it; numbered client keys without an admin are warned about; -h and -v.
 */
import assert from "node:assert/strict";
import { runMain } from "../helpers.ts";
import { inProcessProxy } from "../support/in_process.ts";
import { PROVIDERS } from "../../src/providers/list.ts";
import { VERSION } from "../../src/core/version.ts";

/** Run main in-process in a fresh directory holding `files`; `$DIR` in args is that directory. */
async function run(args: string[], env: Record<string, string> = {}, files: Record<string, string> = {}) {
  const dir = await Deno.makeTempDir({ prefix: "llmproxy-msg-" });
  try {
    for (const [name, text] of Object.entries(files)) await Deno.writeTextFile(`${dir}/${name}`, text);
    const base = ["--data-dir", dir, "--kv", ":memory:"];
    return await runMain([...base, ...args.map((a) => a.replaceAll("$DIR", dir))], {
      env: { HOME: dir, ...env },
      cwd: dir,
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** The one stderr line of a configuration error (exit 2). */
async function configError(
  args: string[],
  env: Record<string, string> = {},
  files: Record<string, string> = {},
) {
  const r = await run(args, env, files);
  assert.equal(r.code, 2, `${args.join(" ")} ${JSON.stringify(env)}: ${r.stderr}${r.stdout}`);
  assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
  return r.stderr.trim();
}

Deno.test("a bad value names the flag, the environment variable or the config field it came from", async () => {
  const file = (field: string, value: unknown) => ({ "c.json": JSON.stringify({ [field]: value }) });
  const backends = PROVIDERS.map((p) => p.name).join(", ");
  const cases: [string[], Record<string, string>, Record<string, string>, string][] = [
    [
      ["--default-backend", "nosuch"],
      {},
      {},
      `--default-backend: backend "nosuch" is not one of: ${backends}`,
    ],
    [[], { LLM_BACKEND: "nosuch" }, {}, 'environment variable LLM_BACKEND: backend "nosuch"'],
    [
      ["--config", "$DIR/c.json"],
      {},
      file("default_backend", "nosuch"),
      'c.json: field default_backend: backend "nosuch"',
    ],
    [
      ["--command-prefix", "!!"],
      {},
      {},
      '--command-prefix: command prefix "!!": a 2-character prefix may not',
    ],
    [[], { COMMAND_PREFIX: "!!" }, {}, 'environment variable COMMAND_PREFIX: command prefix "!!"'],
    [
      ["--config", "$DIR/c.json"],
      {},
      file("command_prefix", "!!"),
      'c.json: field command_prefix: command prefix "!!"',
    ],
    [
      [],
      { OPENROUTER_API_BASE_URL: "ftp://x" },
      {},
      "environment variable OPENROUTER_API_BASE_URL: expected an http(s) URL",
    ],
    [
      ["--config", "$DIR/c.json"],
      {},
      file("gemini_api_base_url", "ftp://x"),
      "c.json: field gemini_api_base_url: expected an http(s) URL",
    ],
    [
      [],
      { DISABLE_AUTH: "1", PROXY_HOST: "0.0.0.0" },
      {},
      "environment variable DISABLE_AUTH: auth may only be",
    ],
    [["--disable-auth"], { PROXY_HOST: "0.0.0.0" }, {}, "not 0.0.0.0 (from environment variable PROXY_HOST)"],
    [[], { LLMPROXY_FORCE_MODEL: "nosuch:x" }, {}, 'environment variable LLMPROXY_FORCE_MODEL: "nosuch:x"'],
    [
      ["--config", "$DIR/c.json"],
      {},
      file("force_model", "nosuch:x"),
      'c.json: field force_model: "nosuch:x"',
    ],
    [
      [],
      { LLMPROXY_ADMIN_KEYS: "NOPE", LLM_INTERACTIVE_PROXY_API_KEY_1: "client-key-1-xxxxxxxx" },
      {},
      "environment variable LLMPROXY_ADMIN_KEYS: NOPE is not a client key label",
    ],
    [[], { LLMPROXY_LOG: "/nonexistent-dir/x.log" }, {}, "environment variable LLMPROXY_LOG: cannot open"],
    [
      [],
      { LLMPROXY_AUDIT_LOG: "/nonexistent-dir/a.jsonl" },
      {},
      "environment variable LLMPROXY_AUDIT_LOG: cannot open",
    ],
  ];
  for (const [args, env, files, expected] of cases) {
    const line = await configError(args, env, files);
    assert.ok(line.includes(expected), `${args.join(" ")} ${JSON.stringify(env)}: ${line}`);
  }
});

Deno.test("a key pool set as single and numbered keys says how to number the single one", async () => {
  const line = await configError([], {
    OPENROUTER_API_KEY: "single-key-aaaaaaaa",
    OPENROUTER_API_KEY_1: "numbered-key-bbbbbbbb",
  });
  assert.match(line, /both OPENROUTER_API_KEY and OPENROUTER_API_KEY_1 are set/);
  assert.match(line, /rename OPENROUTER_API_KEY to OPENROUTER_API_KEY_2/);
  assert.ok(!line.includes("aaaaaaaa") && !line.includes("bbbbbbbb"), "no key value in the message");
  // The first free number, for any pool (here the client keys, with a gap).
  const gap = await configError([], {
    LLM_INTERACTIVE_PROXY_API_KEY: "client-single-xxxxxxxx",
    LLM_INTERACTIVE_PROXY_API_KEY_1: "client-one-xxxxxxxx",
    LLM_INTERACTIVE_PROXY_API_KEY_3: "client-three-xxxxxxxx",
  });
  assert.match(gap, /rename LLM_INTERACTIVE_PROXY_API_KEY to LLM_INTERACTIVE_PROXY_API_KEY_2/);
});

Deno.test("-h and -v are --help and --version", async () => {
  const h = await runMain(["-h"]);
  assert.equal(h.code, 0);
  assert.equal(h.stdout, (await runMain(["--help"])).stdout);
  assert.match(h.stdout, /-h, --help/);
  assert.match(h.stdout, /-v, --version/);
  const v = await runMain(["-v"]);
  assert.equal(v.code, 0);
  assert.equal(v.stdout.trim(), `llmproxy ${VERSION}`);
});

Deno.test("a backend without keys names its key variable: in /health, the start-up line and the error", async () => {
  const proxy = await inProcessProxy(["--disable-auth"]);
  try {
    const health = await (await proxy.fetch("/health")).json();
    for (const p of PROVIDERS) {
      if (!p.keyEnv) continue;
      assert.equal(
        health.backends[p.name].problem,
        `no API key configured (set ${p.keyEnv} or ${p.keyEnv}_1..N)`,
      );
      assert.ok(
        proxy.backendsText.includes(`${p.name} (0 keys, off: no API key configured (set ${p.keyEnv} `),
      );
    }
    const err = await proxy.client().chat.completions.create({
      model: "openrouter:x",
      messages: [{ role: "user", content: "hi" }],
    }).catch((e) => e);
    assert.equal(err.status, 503);
    assert.match(err.message, /openrouter is not available: no API key configured \(set OPENROUTER_API_KEY /);
  } finally {
    await proxy.close();
  }
});

Deno.test("an upstream that cannot be reached is named with its URL, without credentials or query", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close(); // nothing listens there now: the connection is refused
  const proxy = await inProcessProxy(
    ["--disable-auth", "--openrouter-api-base-url", `http://user:hunter2-secret@127.0.0.1:${port}/api/v1`],
    { OPENROUTER_API_KEY: "sk-or-v1-" + "f".repeat(64) },
  );
  try {
    const err = await proxy.client().chat.completions.create({
      model: "openrouter:x",
      messages: [{ role: "user", content: "hi" }],
    }).catch((e) => e);
    assert.equal(err.status, 502);
    assert.ok(
      err.message.includes(
        `openrouter could not be reached at http://127.0.0.1:${port}/api/v1/chat/completions (`,
      ),
      err.message,
    );
    assert.ok(!err.message.includes("hunter2") && !err.message.includes("user:"), err.message);
    assert.ok(!(await proxy.logText()).includes("hunter2"), "not in the log either");
  } finally {
    await proxy.close();
  }
});

/** The proxy's whole log, read after it closed (the log is written in batches; closing flushes it). */
async function startUpLog(args: string[], env: Record<string, string>): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "llmproxy-log-" });
  try {
    const proxy = await inProcessProxy([...args, "--log", `${dir}/proxy.log`], env);
    await proxy.close();
    return await Deno.readTextFile(`${dir}/proxy.log`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("numbered client keys without --admin-keys: one start-up warning that says how to name an admin", async () => {
  const warning = "no client key is an admin key";
  const keys = {
    LLM_INTERACTIVE_PROXY_API_KEY_1: "client-key-one-xxxxxxxx",
    LLM_INTERACTIVE_PROXY_API_KEY_2: "client-key-two-xxxxxxxx",
  };
  const log = await startUpLog([], keys);
  const lines = log.split("\n").filter((l) => l.includes(warning));
  assert.equal(lines.length, 1, log);
  assert.match(lines[0], /WRN/);
  assert.match(
    lines[0],
    /nobody can read \/usage\/\*, \/audit\/logs, \/metrics or \/ui, or run global commands/,
  );
  assert.match(lines[0], /--admin-keys LLM_INTERACTIVE_PROXY_API_KEY_1/);
  // What it says is so: a numbered key cannot read usage.
  const proxy = await inProcessProxy([], keys);
  try {
    const usage = await proxy.fetch("/usage/stats", {
      headers: { authorization: `Bearer ${keys.LLM_INTERACTIVE_PROXY_API_KEY_1}` },
    });
    assert.equal(usage.status, 403);
    await usage.body?.cancel();
  } finally {
    await proxy.close();
  }
  for (
    const [args, env] of [
      [["--admin-keys", "LLM_INTERACTIVE_PROXY_API_KEY_2"], keys],
      [[], { LLM_INTERACTIVE_PROXY_API_KEY: "client-single-xxxxxxxx" }],
      [[], {}], // the generated key is an admin key
      [["--disable-auth"], keys],
    ] as [string[], Record<string, string>][]
  ) {
    const quiet = await startUpLog(args, env);
    assert.ok(!quiet.includes(warning), `${args} ${Object.keys(env)}: ${quiet}`);
  }
});
