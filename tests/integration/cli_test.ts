import assert from "node:assert/strict";
import { runCli, runMain } from "../helpers.ts";
import { VERSION } from "../../src/core/version.ts";

Deno.test("--version and --help", async () => {
  // In-process: what they print is main's; the exit code reaching the shell is covered by the test below.
  const v = await runMain(["--version"]);
  assert.equal(v.code, 0);
  assert.equal(v.stdout.trim(), `llmproxy ${VERSION}`);
  const h = await runMain(["--help"]);
  assert.equal(h.code, 0);
  assert.match(h.stdout, /--disable-auth/);
  assert.match(h.stdout, /LLMPROXY_MAX_WAIT/);
  for (
    const endpoint of [
      "/v1/messages",
      "/v1/responses",
      ":generateContent",
      "/ui",
      "/metrics",
      "LLMPROXY_WATCH",
    ]
  ) {
    assert.ok(h.stdout.includes(endpoint), `--help names ${endpoint}`);
  }
});

Deno.test("a bad flag on the real command line exits 2 with one clear line and no stack trace", async () => {
  const r = await runCli(["--nope"]);
  assert.equal(r.code, 2, r.stderr);
  assert.equal(r.stderr, "llmproxy: Unknown option '--nope' (see --help)\n");
});

/** One configuration error: exit 2, one line on stderr naming the problem, no stack, no key value. */
function assertConfigError(r: { code: number; stderr: string }, what: string, re: RegExp) {
  assert.equal(r.code, 2, `${what}: ${r.stderr}`);
  assert.match(r.stderr, re);
  assert.equal(r.stderr.trim().split("\n").length, 1, `one line: ${r.stderr}`);
  assert.doesNotMatch(r.stderr, /\n\s+at /);
  assert.ok(!r.stderr.includes("bbbbbbbbbbbb"), "no key value in the message");
}

// Errors found while reading the configuration run `main` in-process (the subprocess test above covers the
// exit code reaching the shell); `main` leaves nothing open for them.
Deno.test("bad configuration exits 2 with one clear line and no stack trace", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(
      `${dir}/bad.json`,
      '{"failover_routes": {"r": {"policy": "zz", "elements": []}}}',
    );
    await Deno.writeTextFile(`${dir}/typo.json`, '{"defualt_backend": "gemini"}');
    await Deno.writeTextFile(
      `${dir}/typo-backend.json`,
      '{"backends": {"local": {"type": "openai", "base_url": "http://127.0.0.1:1/v1", "api_key_envv": "X"}}}',
    );
    const cases: [string[], Record<string, string>, RegExp][] = [
      [["--nope"], {}, /^llmproxy: Unknown option '--nope' \(see --help\)$/m],
      [["--prot", "8001"], {}, /Unknown option '--prot' \(did you mean --port\?\) \(see --help\)/],
      [
        ["--config", `${dir}/typo.json`],
        {},
        /unknown field\(s\) defualt_backend \(did you mean default_backend\?\)/,
      ],
      [
        ["--config", `${dir}/typo-backend.json`],
        {},
        /field backends\.local: unknown field\(s\) api_key_envv \(did you mean api_key_env\?\)/,
      ],
      [["--port", "x"], {}, /--port/],
      [[], { PROXY_PORT: "99999" }, /PROXY_PORT/],
      [["--config", `${dir}/bad.json`], {}, /failover_routes\.r\.policy/],
      [["--config", `${dir}/none.json`], {}, /none\.json/],
      [["--disable-auth", "--host", "0.0.0.0"], {}, /loopback/],
      [
        [],
        { OPENROUTER_API_KEY: "aaaaaaaaaaaa", OPENROUTER_API_KEY_1: "bbbbbbbbbbbb" },
        /OPENROUTER_API_KEY_1/,
      ],
    ];
    for (const [args, env, re] of cases) {
      const r = await runMain(args, { env: { HOME: dir, ...env }, cwd: dir });
      assertConfigError(r, `${args.join(" ")} ${JSON.stringify(env)}`, re);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

// Errors found while starting run in-process too: `main` removes its signal listeners when the start fails (the
// sanitizers would report them otherwise) and `startProxy` closes what it had opened.
Deno.test("bad configuration found at start-up exits 2 with one clear line and no stack trace", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(
      `${dir}/backend-route.json`,
      '{"failover_routes": {"gemini": {"policy": "k", "elements": []}}}',
    );
    const cases: [string[], Record<string, string>, RegExp][] = [
      [["--log", dir, "--data-dir", dir, "--kv", ":memory:"], {}, /--log/],
      [
        ["--default-backend", "nosuch", "--data-dir", dir, "--kv", ":memory:"],
        {},
        /--default-backend: backend "nosuch" is not one of/,
      ],
      [["--force-model", "nosuch:x", "--data-dir", dir, "--kv", ":memory:"], {}, /--force-model/],
      [
        ["--admin-keys", "LLM_INTERACTIVE_PROXY_API_KEY_3", "--data-dir", dir, "--kv", ":memory:"],
        {
          LLM_INTERACTIVE_PROXY_API_KEY_1: "client-key-1-xxxxxxxx",
          LLM_INTERACTIVE_PROXY_API_KEY_2: "client-key-2-xxx",
        },
        /--admin-keys: .*LLM_INTERACTIVE_PROXY_API_KEY_3.*LLM_INTERACTIVE_PROXY_API_KEY_1, LLM_INTERACTIVE_PROXY_API_KEY_2/,
      ],
      [
        ["--config", `${dir}/backend-route.json`, "--data-dir", dir, "--kv", ":memory:"],
        {},
        /failover_routes\.gemini: .*backend name/,
      ],
    ];
    for (const [args, env, re] of cases) {
      const r = await runMain(args, { env: { HOME: dir, ...env }, cwd: dir });
      assertConfigError(r, `${args.join(" ")} ${JSON.stringify(env)}`, re);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the server starts from the command line with .env keys, prints one summary line, and stops on SIGTERM", async () => {
  const dir = await Deno.makeTempDir();
  const secret = "sk-or-v1-" + "e".repeat(64);
  await Deno.writeTextFile(
    `${dir}/.env`,
    `OPENROUTER_API_KEY_1=${secret}\nLLM_INTERACTIVE_PROXY_API_KEY=client-secret-123456\n`,
  );
  const cmd = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "--quiet",
      new URL("../../src/main.ts", import.meta.url).pathname,
      "--port",
      "0",
      "--data-dir",
      dir,
    ],
    env: {
      HOME: dir,
      NO_COLOR: "1",
      DENO_DIR: Deno.env.get("DENO_DIR") ?? `${Deno.env.get("HOME")}/.cache/deno`,
    },
    clearEnv: true,
    cwd: dir,
    stdout: "piped",
    stderr: "piped",
  });
  const child = cmd.spawn();
  try {
    const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
    let out = "";
    while (!out.includes("\n")) {
      const { value, done } = await reader.read();
      if (done) break;
      out += value;
    }
    const line = out.split("\n")[0];
    assert.match(
      line,
      /^llmproxy \S+ listening on http:\/\/127\.0\.0\.1:\d+\/v1 · auth on \(1 client key\) · backends: openrouter \(1 key, functional\)/,
    );
    assert.ok(!line.includes(secret));
    const port = Number(/:(\d+)\/v1/.exec(line)![1]);
    const health = await fetch(`http://127.0.0.1:${port}/health`).then((r) => r.json());
    assert.equal(health.backends.openrouter.keys, 1);
    reader.cancel();
    child.kill("SIGTERM");
    const status = await child.status;
    assert.equal(status.code, 0, "clean shutdown");
    const err = await new Response(child.stderr).text();
    assert.ok(!err.includes(secret) && !err.includes("client-secret-123456"), "no secret on stderr");
    assert.ok((await Deno.stat(`${dir}/llmproxy.kv`)).isFile, "the store file is in the data dir");
  } finally {
    try {
      child.kill("SIGKILL");
    } catch { /* already gone */ }
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("deno task dev: SIGTERM stops the proxy and its file watcher, and says so", async () => {
  const dir = await Deno.makeTempDir();
  const root = new URL("../../", import.meta.url).pathname;
  const child = new Deno.Command(Deno.execPath(), {
    args: ["task", "--quiet", "dev", "--port", "0", "--disable-auth", "--data-dir", dir],
    env: {
      HOME: dir,
      PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
      NO_COLOR: "1",
      DENO_DIR: Deno.env.get("DENO_DIR") ?? `${Deno.env.get("HOME")}/.cache/deno`,
    },
    clearEnv: true,
    cwd: root,
    stdout: "piped",
    stderr: "null",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  // Bounded: if the watcher outlived the task, stdout would stay open and the read below would never end.
  const bound = setTimeout(() => {
    reader.cancel().catch(() => {});
    child.kill("SIGKILL");
  }, 20_000);
  try {
    let out = "";
    while (!out.includes(" listening on ")) {
      const { value, done } = await reader.read();
      if (done) break;
      out += value;
    }
    const port = Number(/:(\d+)\/v1/.exec(out)?.[1]);
    assert.ok(port > 0, out);
    child.kill("SIGTERM");
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      out += value;
    }
    await child.status;
    assert.match(out, /^llmproxy stopped \(SIGTERM\)\.$/m);
    await assert.rejects(fetch(`http://127.0.0.1:${port}/health`), "nothing serves on the port any more");
  } finally {
    clearTimeout(bound);
    try {
      child.kill("SIGKILL");
    } catch { /* already gone */ }
    await Deno.remove(dir, { recursive: true });
  }
});
