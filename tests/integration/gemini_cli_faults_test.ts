/**
 * gemini-cli-direct faults, with small fake `gemini` executables (shell scripts) standing in for the CLI:
 * hangs, exit codes, garbage, slow and huge output, client disconnects, the concurrency limit. The happy
 * paths run against the real CLI in gemini_cli_test.ts. Every fake appends "<pid> <cwd>" to $HOME/runs.
 */
import assert from "node:assert/strict";
import { startTestProxy, type TestProxy } from "../helpers.ts";
import { MockOpenAI } from "../mocks/openai_upstream.ts";
import { eventually } from "../support/gemini_cli.ts";
import type { GeminiCliBackend } from "../../src/providers/gemini_cli/backend.ts";

const DELTA = (text: string) =>
  JSON.stringify({ type: "message", role: "assistant", content: text, delta: true });
const RESULT_OK = JSON.stringify({
  type: "result",
  status: "success",
  stats: { total_tokens: 12, input_tokens: 10, output_tokens: 2 },
});

/** A fake CLI: answers `--version`, records its pid and cwd, then runs `body`. */
async function fakeCli(body: string): Promise<{ dir: string; bin: string }> {
  const dir = await Deno.makeTempDir({ prefix: "llmproxy-fake-cli-" });
  const bin = `${dir}/gemini`;
  await Deno.writeTextFile(
    bin,
    `#!/bin/sh\nif [ "$1" = "--version" ]; then echo 0.61.0; exit 0; fi\necho "$$ $PWD" >> "$HOME/runs"\n${body}\n`,
  );
  await Deno.chmod(bin, 0o755);
  return { dir, bin };
}

async function start(body: string, args: string[] = [], env: Record<string, string> = {}) {
  const fake = await fakeCli(body);
  const proxy = await startTestProxy(
    ["--disable-auth", "--gemini-cli-path", fake.bin, "--default-backend", "gemini-cli-direct", ...args],
    { PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin", HOME: fake.dir, ...env },
  );
  return {
    proxy,
    home: fake.dir,
    async runs(): Promise<{ pid: number; cwd: string }[]> {
      const text = await Deno.readTextFile(`${fake.dir}/runs`).catch(() => "");
      return text.split("\n").filter(Boolean).map((l) => {
        const [pid, cwd] = l.split(" ");
        return { pid: Number(pid), cwd };
      });
    },
    async close() {
      // Only matters when a test failed: a fake left running would keep the proxy from closing.
      killRuns(await this.runs());
      await proxy.close();
      await Deno.remove(fake.dir, { recursive: true }).catch(() => {});
    },
  };
}

function chat(proxy: TestProxy, body: Record<string, unknown>, signal?: AbortSignal): Promise<Response> {
  return proxy.fetch("/v1/chat/completions", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ model: "gemini-2.5-flash", messages: [{ role: "user", content: "hi" }], ...body }),
    signal,
  });
}

/** True when the process no longer runs (gone, or a zombie nobody reaps in this container). */
async function processGone(pid: number): Promise<boolean> {
  const out = await new Deno.Command("ps", { args: ["-o", "stat=", "-p", String(pid)], stdout: "piped" })
    .output();
  const stat = new TextDecoder().decode(out.stdout).trim();
  return stat === "" || stat.startsWith("Z");
}

/** Test cleanup after a failure: take down whatever a fake CLI left running so the proxy can close. */
function killRuns(runs: { pid: number }[]): void {
  for (const r of runs) {
    try {
      Deno.kill(-r.pid, "SIGKILL");
    } catch { /* gone, as it should be */ }
  }
}

async function exists(path: string): Promise<boolean> {
  return await Deno.stat(path).then(() => true, () => false);
}

Deno.test("a hanging CLI is killed after --timeout: 504 for JSON and stream, process and workspace gone", async () => {
  const t = await start("cat > /dev/null\nsleep 1000", ["--timeout", "1"]);
  try {
    const [json, sse] = await Promise.all([chat(t.proxy, {}), chat(t.proxy, { stream: true })]);
    for (const res of [json, sse]) {
      assert.equal(res.status, 504);
      const body = await res.json();
      assert.equal(body.error.code, "upstream_timeout");
    }
    const runs = await t.runs();
    assert.equal(runs.length, 2);
    await eventually(async () => {
      for (const r of runs) {
        assert.ok(await processGone(r.pid), `process ${r.pid} is gone`);
        assert.equal(await exists(r.cwd), false, `workspace ${r.cwd} is removed`);
      }
    });
  } finally {
    await t.close();
  }
});

Deno.test("exit codes map to clear errors: 173→429, 41→502 auth with a login hint, 244→502, 1 and 55→502 with the CLI's message", async () => {
  const cases: { exit: number; status: number; code: string; message: RegExp }[] = [
    {
      exit: 173,
      status: 429,
      code: "rate_limit_exceeded",
      message: /rate-limited.*\[API Error: quota gone\]/,
    },
    {
      exit: 41,
      status: 502,
      code: "upstream_auth_failed",
      message: /log in.*running `gemini`.*GEMINI_API_KEY/i,
    },
    { exit: 244, status: 502, code: "upstream_error", message: /HTTP 500.*\[API Error: quota gone\]/ },
    { exit: 1, status: 502, code: "upstream_error", message: /exit 1.*\[API Error: quota gone\]/ },
    { exit: 55, status: 502, code: "upstream_error", message: /exit 55\): not a trusted directory/ },
  ];
  for (const c of cases) {
    const result = c.exit === 55
      ? ""
      : `echo '${
        JSON.stringify({ type: "result", status: "error", error: { message: "[API Error: quota gone]" } })
      }'`;
    const t = await start(
      `cat > /dev/null\necho '{"type":"init","model":"gemini-2.5-flash"}'\n${result}\necho "not a trusted directory" >&2\nexit ${c.exit}`,
    );
    try {
      for (const stream of [false, true]) {
        const res = await chat(t.proxy, { stream });
        assert.equal(res.status, c.status, `exit ${c.exit} stream ${stream}`);
        const body = await res.json();
        assert.equal(body.error.code, c.code);
        assert.match(body.error.message, c.message);
      }
    } finally {
      await t.close();
    }
  }
});

Deno.test("a CLI 429 inside a route fails over to the next element", async () => {
  const mock = MockOpenAI.start();
  const config = await Deno.makeTempFile({ suffix: ".json" });
  await Deno.writeTextFile(
    config,
    JSON.stringify({
      failover_routes: {
        r: {
          policy: "km",
          elements: ["gemini-cli-direct:gemini-2.5-flash", "openrouter:openai/gpt-4o-mini"],
        },
      },
    }),
  );
  const t = await start("cat > /dev/null\nexit 173", [
    "--config",
    config,
    "--openrouter-api-base-url",
    mock.url,
  ], { OPENROUTER_API_KEY: "sk-or-v1-" + "2".repeat(64) });
  try {
    const res = await t.proxy.client().chat.completions.create({
      model: "r",
      messages: [{ role: "user", content: "x" }],
    }).withResponse();
    assert.equal(res.data.choices[0].message.content, "Echo from openai/gpt-4o-mini: x");
    assert.equal(res.response.headers.get("x-llmproxy-attempts"), "2");
    assert.equal((await t.runs()).length, 1);
  } finally {
    await t.close();
    await mock.close();
    await Deno.remove(config);
  }
});

Deno.test("garbage output and an overlong line are 502s, never a hang or a stack trace", async () => {
  const garbage = await start("cat > /dev/null\necho 'Hello, this is not JSON'\necho '{broken'\nexit 0");
  const overlong = await start("cat > /dev/null\nhead -c 9000000 /dev/zero | tr '\\0' 'a'\nsleep 1000");
  try {
    for (const t of [garbage, overlong]) {
      for (const stream of [false, true]) {
        const res = await chat(t.proxy, { stream });
        assert.equal(res.status, 502);
        const body = await res.json();
        assert.equal(body.error.code, "upstream_error");
        assert.match(body.error.message, /no stream-json output|longer than/);
      }
    }
    const runs = await overlong.runs();
    await eventually(async () => {
      for (const r of runs) assert.ok(await processGone(r.pid));
    });
  } finally {
    await garbage.close();
    await overlong.close();
  }
});

Deno.test("slow but steady output is not cut by --timeout (a gap limit, not a cap)", async () => {
  const lines = ["a ", "b ", "c ", "d"].map((w) => `echo '${DELTA(w)}'\nsleep 0.4`).join("\n");
  const t = await start(`cat > /dev/null\n${lines}\necho '${RESULT_OK}'`, ["--timeout", "1"]);
  try {
    const stream = await t.proxy.client().chat.completions.create({
      model: "gemini-2.5-flash",
      messages: [{ role: "user", content: "slow" }],
      stream: true,
    });
    const deltas: string[] = [];
    let finish: string | null = null;
    for await (const chunk of stream) {
      if (chunk.choices[0]?.delta?.content) deltas.push(chunk.choices[0].delta.content);
      finish = chunk.choices[0]?.finish_reason ?? finish;
    }
    assert.deepEqual(deltas, ["a ", "b ", "c ", "d"]);
    assert.equal(finish, "stop");
  } finally {
    await t.close();
  }
});

Deno.test("huge output streams through and assembles (20k deltas of 1 KiB)", async () => {
  const piece = "x".repeat(1023) + "\\n";
  const t = await start(
    `cat > /dev/null\nyes '${DELTA(piece).replace("\\\\n", "\\n")}' | head -n 20000\necho '${RESULT_OK}'`,
  );
  try {
    const client = t.proxy.client();
    const stream = await client.chat.completions.create({
      model: "gemini-2.5-flash",
      messages: [{ role: "user", content: "big" }],
      stream: true,
    });
    let size = 0;
    let chunks = 0;
    for await (const chunk of stream) {
      size += chunk.choices[0]?.delta?.content?.length ?? 0;
      chunks++;
    }
    assert.equal(size, 20000 * 1024);
    assert.ok(chunks > 1);
    const json = await client.chat.completions.create({
      model: "gemini-2.5-flash",
      messages: [{ role: "user", content: "big" }],
    });
    assert.equal(json.choices[0].message.content?.length, 20000 * 1024);
    assert.equal(json.usage?.prompt_tokens, 10);
  } finally {
    await t.close();
  }
});

Deno.test("a client that disconnects mid-stream kills the whole process group at once", async () => {
  const t = await start(
    `cat > /dev/null\nsleep 1000 &\necho $! > "$HOME/child.pid"\necho '${DELTA("first ")}'\nsleep 1000`,
  );
  const ctl = new AbortController();
  try {
    const res = await chat(t.proxy, { stream: true }, ctl.signal);
    assert.equal(res.status, 200);
    const reader = res.body!.getReader();
    const first = new TextDecoder().decode((await reader.read()).value);
    assert.match(first, /"content":"first "/);
    const [run] = await t.runs();
    const child = Number((await Deno.readTextFile(`${t.home}/child.pid`)).trim());
    assert.equal(await processGone(run.pid), false, "the CLI runs while the client reads");
    ctl.abort();
    await reader.cancel().catch(() => {});
    await eventually(async () => {
      assert.ok(await processGone(run.pid), "the CLI is gone");
      assert.ok(await processGone(child), "its child process is gone too");
      assert.equal(await exists(run.cwd), false, "its workspace is removed");
    }, 5_000);
  } finally {
    ctl.abort();
    await t.close();
  }
});

Deno.test("--gemini-cli-concurrency runs N at once, 32 wait, and a full queue answers 503 with Retry-After", async () => {
  const t = await start(
    `cat > /dev/null\nwhile [ ! -f "$HOME/go" ]; do sleep 0.05; done\necho '${
      DELTA("done")
    }'\necho '${RESULT_OK}'`,
    ["--gemini-cli-concurrency", "2"],
  );
  try {
    const accepted = Array.from({ length: 34 }, () => chat(t.proxy, {}));
    const backend = t.proxy.ctx.registry.get("gemini-cli-direct") as GeminiCliBackend;
    await eventually(async () => {
      assert.equal((await t.runs()).length, 2);
      assert.deepEqual(backend.load(), { running: 2, waiting: 32 });
    });
    const full = await chat(t.proxy, {});
    assert.equal(full.status, 503);
    assert.ok(Number(full.headers.get("retry-after")) >= 1);
    const body = await full.json();
    assert.equal(body.error.code, "overloaded");
    assert.equal((await t.runs()).length, 2, "no more than --gemini-cli-concurrency run at once");
    await Deno.writeTextFile(`${t.home}/go`, "");
    const results = await Promise.all(accepted);
    for (const r of results) {
      assert.equal(r.status, 200);
      assert.equal((await r.json()).choices[0].message.content, "done");
    }
    assert.equal((await t.runs()).length, 34);
  } finally {
    await t.close();
  }
});

Deno.test("requests the CLI cannot serve get a 400 that says why; a missing binary names --gemini-cli-path", async () => {
  const t = await start("cat > /dev/null\nexit 0");
  const missing = await startTestProxy(["--disable-auth", "--gemini-cli-path", "/nonexistent/gemini"], {
    PATH: "/usr/bin:/bin",
  });
  try {
    const tools = await chat(t.proxy, {
      tools: [{ type: "function", function: { name: "f", parameters: { type: "object" } } }],
    });
    assert.equal(tools.status, 400);
    assert.match((await tools.json()).error.message, /client tools/);
    const image = await chat(t.proxy, {
      messages: [{
        role: "user",
        content: [{ type: "text", text: "see" }, {
          type: "image_url",
          image_url: { url: "data:image/png;base64,AA" },
        }],
      }],
    });
    assert.equal(image.status, 400);
    assert.match((await image.json()).error.message, /"image_url" part/);
    const emptyTools = await chat(t.proxy, { tools: [] });
    assert.notEqual(emptyTools.status, 400, "empty tools means none");
    await emptyTools.body?.cancel();
    const model = await chat(t.proxy, { model: "gemini-cli-direct:gpt-4o" });
    assert.equal(model.status, 400);
    assert.match(
      (await model.json()).error.message,
      /gemini-2\.5-pro, gemini-2\.5-flash, gemini-2\.5-flash-lite/,
    );
    assert.equal((await t.runs()).length, 1, "only the empty-tools request ran the CLI");

    const health = await (await missing.fetch("/health")).json();
    assert.equal(health.backends["gemini-cli-direct"].functional, false);
    assert.match(health.backends["gemini-cli-direct"].problem, /--gemini-cli-path/);
    const res = await chat(missing, { model: "gemini-cli-direct:gemini-2.5-flash" });
    assert.equal(res.status, 503);
    assert.match((await res.json()).error.message, /--gemini-cli-path/);
  } finally {
    await t.close();
    await missing.close();
  }
});

Deno.test("a sampling value of the wrong type is a 400 naming the field; inside a route the CLI is skipped", async () => {
  const mock = MockOpenAI.start();
  const config = await Deno.makeTempFile({ suffix: ".json" });
  await Deno.writeTextFile(
    config,
    JSON.stringify({
      failover_routes: {
        r: { policy: "m", elements: ["gemini-cli-direct:gemini-2.5-flash", "openrouter:openai/gpt-4o-mini"] },
      },
    }),
  );
  const t = await start(`cat > /dev/null\necho '${DELTA("ok")}'\necho '${RESULT_OK}'`, [
    "--config",
    config,
    "--openrouter-api-base-url",
    mock.url,
  ], { OPENROUTER_API_KEY: "sk-or-v1-" + "4".repeat(64) });
  try {
    const temperature = await chat(t.proxy, {
      model: "gemini-cli-direct:gemini-2.5-flash",
      temperature: "hot",
    });
    assert.equal(temperature.status, 400);
    const err = (await temperature.json()).error;
    assert.equal(err.type, "invalid_request_error");
    assert.match(err.message, /gemini-cli-direct cannot send this request: temperature must be a number/);
    const stop = await chat(t.proxy, {
      model: "gemini-cli-direct:gemini-2.5-flash",
      stream: true,
      stop: ["a", 3],
    });
    assert.equal(stop.status, 400);
    assert.match((await stop.json()).error.message, /stop must be a string or an array of strings/);
    assert.equal((await t.runs()).length, 0, "the CLI never ran");

    const routed = await chat(t.proxy, { model: "r", temperature: "hot" });
    assert.equal(routed.status, 200);
    assert.equal((await routed.json()).choices[0].message.content, "Echo from openai/gpt-4o-mini: hi");
    assert.equal((await t.runs()).length, 0, "the route skipped the CLI element");
  } finally {
    await t.close();
    await mock.close();
    await Deno.remove(config);
  }
});

Deno.test("the CLI gets its arguments, prompt, workspace settings and system prompt, and only allowlisted env", async () => {
  const t = await start(
    `cat > "$HOME/stdin"\necho "$@" > "$HOME/args"\nenv > "$HOME/env"\ncp .gemini/settings.json "$HOME/settings"\ncp "$GEMINI_SYSTEM_MD" "$HOME/system"\necho '${
      DELTA("ok")
    }'\necho '${RESULT_OK}'`,
    [],
    {
      OPENROUTER_API_KEY: "sk-or-v1-" + "3".repeat(64),
      LLM_INTERACTIVE_PROXY_API_KEY: "client-key-value-123",
      GEMINI_API_KEY_1: "pool-key-value-1234",
      GOOGLE_CLOUD_PROJECT: "my-project",
      GEMINI_CLI_HOME: "/somewhere/else",
      LC_ALL: "C.UTF-8",
      UNRELATED_VARIABLE: "x",
    },
  );
  try {
    const res = await chat(t.proxy, {
      messages: [{ role: "developer", content: "Be brief." }, {
        role: "user",
        content: "line one\nline two",
      }],
      temperature: 0.5,
      max_completion_tokens: 9,
      stop: "STOP",
    });
    assert.equal(res.status, 200);
    assert.equal((await res.json()).choices[0].message.content, "ok");
    const [run] = await t.runs();
    const read = (f: string) => Deno.readTextFile(`${t.home}/${f}`);
    assert.equal(await read("stdin"), "line one\nline two");
    assert.equal(
      (await read("args")).trim(),
      "--model=gemini-2.5-flash --output-format stream-json --extensions none",
    );
    assert.equal(await read("system"), "Be brief.");
    const settings = JSON.parse(await read("settings"));
    assert.deepEqual(settings.tools, { core: ["__none__"] });
    assert.deepEqual(settings.mcp, { allowed: ["__none__"] });
    assert.equal(settings.general.maxAttempts, 1);
    assert.deepEqual(settings.modelConfigs.overrides, [{
      match: { model: "gemini-2.5-flash" },
      modelConfig: {
        generateContentConfig: { temperature: 0.5, maxOutputTokens: 9, stopSequences: ["STOP"] },
      },
    }]);
    const env = Object.fromEntries(
      (await read("env")).split("\n").filter((l) => l.includes("=")).map((
        l,
      ) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]),
    );
    assert.equal(env.TMPDIR, run.cwd);
    assert.equal(env.GEMINI_SYSTEM_MD, `${run.cwd}/.gemini/system.md`);
    assert.equal(env.GEMINI_CLI_TRUST_WORKSPACE, "true");
    assert.equal(env.GEMINI_CLI_NO_RELAUNCH, "true");
    assert.equal(env.GOOGLE_CLOUD_PROJECT, "my-project");
    assert.equal(env.GEMINI_CLI_HOME, "/somewhere/else");
    assert.equal(env.LC_ALL, "C.UTF-8");
    assert.equal(env.HOME, t.home);
    for (
      const hidden of [
        "OPENROUTER_API_KEY",
        "LLM_INTERACTIVE_PROXY_API_KEY",
        "GEMINI_API_KEY_1",
        "UNRELATED_VARIABLE",
      ]
    ) {
      assert.equal(env[hidden], undefined, `${hidden} does not reach the CLI`);
    }
    const all = await read("env");
    for (const value of ["3".repeat(64), "client-key-value-123", "pool-key-value-1234"]) {
      assert.equal(all.includes(value), false);
    }
  } finally {
    await t.close();
  }
});
