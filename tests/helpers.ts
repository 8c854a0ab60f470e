/** Test helpers: start the real proxy on port 0 with a given command line and environment. */
import { main, type RunningProxy, startProxy } from "../src/main.ts";
import OpenAI from "openai";
import { loadTestConfig } from "./support/in_process.ts";
import { MockOpenAI } from "./mocks/openai_upstream.ts";

/** A proxy started for a test, with what it printed. */
export interface TestProxy extends RunningProxy {
  stdout: string[];
  stderr: string[];
  dataDir: string;
  /** What the proxy logged so far (it logs to a file in the data dir; after close, the final log). */
  logText(): Promise<string>;
  /** A fetch against the proxy (path relative to its root). */
  fetch(path: string, init?: RequestInit): Promise<Response>;
  /** The real OpenAI SDK pointed at the proxy. */
  client(apiKey?: string, opts?: { maxRetries?: number; headers?: Record<string, string> }): OpenAI;
}

/** Start a proxy; `env` replaces the process environment. Always `close()` it. */
export async function startTestProxy(
  args: string[] = [],
  env: Record<string, string> = {},
): Promise<TestProxy> {
  const { cfg, dataDir } = await loadTestConfig(args, env);
  const stdout: string[] = [];
  const stderr: string[] = [];
  const proxy = await startProxy(cfg, { out: (l) => stdout.push(l), err: (l) => stderr.push(l) });
  const close = proxy.close;
  let finalLog: string | undefined;
  return {
    ...proxy,
    stdout,
    stderr,
    dataDir,
    logText: () =>
      finalLog !== undefined ? Promise.resolve(finalLog) : Deno.readTextFile(`${dataDir}/proxy.log`),
    fetch: (path, init) => fetch(`${proxy.url}${path}`, init),
    client: (apiKey = "unused-key", opts = {}) =>
      new OpenAI({
        apiKey,
        baseURL: `${proxy.url}/v1`,
        maxRetries: opts.maxRetries ?? 0,
        defaultHeaders: opts.headers,
      }),
    async close() {
      await close();
      finalLog = await Deno.readTextFile(`${dataDir}/proxy.log`).catch(() => "");
      await Deno.remove(dataDir, { recursive: true }).catch(() => {});
    },
  };
}

/** Deno's cache directory, so a subprocess with a cleared environment still finds the npm packages. */
function denoDir(): string {
  const home = Deno.env.get("HOME") ?? "/root";
  return Deno.env.get("DENO_DIR") ?? `${Deno.env.get("XDG_CACHE_HOME") ?? `${home}/.cache`}/deno`;
}

/** Run the CLI as a subprocess (`deno run src/main.ts …`); resolves when it exits. */
export async function runCli(
  args: string[],
  opts: { env?: Record<string, string>; cwd?: string; timeoutMs?: number } = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  const cmd = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--quiet", new URL("../src/main.ts", import.meta.url).pathname, ...args],
    env: { NO_COLOR: "1", DENO_DIR: denoDir(), PATH: Deno.env.get("PATH") ?? "", ...opts.env },
    clearEnv: true,
    cwd: opts.cwd,
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(opts.timeoutMs ?? 30_000),
  });
  const out = await cmd.output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

/** Read an SSE response's `data:` payloads (without `[DONE]`). */
export async function sseEvents(res: Response): Promise<{ data: string[]; raw: string }> {
  const raw = await res.text();
  const data = raw.split(/\n\n/).flatMap((ev) =>
    ev.split("\n").filter((l) => l.startsWith("data: ")).map((l) => l.slice(6))
  );
  return { data, raw };
}

/** Send a raw HTTP/1.1 request (for headers fetch will not let us set, like Host); returns status and body. */
export async function rawHttp(
  port: number,
  head: string,
  body = "",
): Promise<{ status: number; text: string }> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    const bytes = new TextEncoder().encode(body);
    const req = `${head}\r\ncontent-length: ${bytes.length}\r\nconnection: close\r\n\r\n`;
    await conn.write(new TextEncoder().encode(req));
    await conn.write(bytes);
    let text = "";
    const buf = new Uint8Array(65536);
    const dec = new TextDecoder();
    for (;;) {
      const n = await conn.read(buf);
      if (n === null) break;
      text += dec.decode(buf.subarray(0, n), { stream: true });
    }
    return { status: Number(text.split(" ")[1]), text };
  } finally {
    conn.close();
  }
}

/** A proxy running as a subprocess (`deno run src/main.ts`), for signals and process limits. */
export interface ProxyProcess {
  port: number;
  child: Deno.ChildProcess;
  /** Resolves with the exit status once the process ended and its output was read. */
  exited: Promise<Deno.CommandStatus>;
  /** Everything it wrote to stderr so far. */
  stderr(): string;
  /** Resolves once stderr contains `text`. */
  waitForStderr(text: string): Promise<void>;
  /** Kill it if still running and wait for the end (for `finally`). */
  kill(): Promise<void>;
}

/**
 * Start `deno run src/main.ts --port 0 …` and wait for its listening line. `fdLimit` runs it under
 * `ulimit -n fdLimit`.
 */
export async function spawnProxy(
  args: string[],
  opts: { env?: Record<string, string>; cwd?: string; fdLimit?: number } = {},
): Promise<ProxyProcess> {
  const deno = [Deno.execPath(), "run", "-A", "--quiet", new URL("../src/main.ts", import.meta.url).pathname];
  const argv = opts.fdLimit ? ["bash", "-c", `ulimit -n ${opts.fdLimit} && exec "$0" "$@"`, ...deno] : deno;
  const child = new Deno.Command(argv[0], {
    args: [...argv.slice(1), "--port", "0", ...args],
    env: { NO_COLOR: "1", DENO_DIR: denoDir(), PATH: Deno.env.get("PATH") ?? "", ...opts.env },
    clearEnv: true,
    cwd: opts.cwd,
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let out = "";
  let err = "";
  const waiters: { text: string; resolve: () => void; reject: (e: Error) => void }[] = [];
  const { promise: listening, resolve: onLine } = Promise.withResolvers<string | undefined>();
  const drain = async (stream: ReadableStream<Uint8Array>, add: (s: string) => void) => {
    for await (const s of stream.pipeThrough(new TextDecoderStream())) add(s);
  };
  const outDone = drain(child.stdout, (s) => {
    out += s;
    if (out.includes("\n")) onLine(out.split("\n")[0]);
  }).finally(() => onLine(undefined));
  const errDone = drain(child.stderr, (s) => {
    err += s;
    for (const w of waiters.filter((w) => err.includes(w.text))) w.resolve();
  }).finally(() => {
    for (const w of waiters) w.reject(new Error(`the proxy ended without logging "${w.text}": ${err}`));
  });
  const exited = Promise.all([child.status, outDone, errDone]).then(([status]) => status);
  const kill = async () => {
    try {
      child.kill("SIGKILL");
    } catch { /* already gone */ }
    await exited;
  };
  const line = await listening;
  const m = line && /:(\d+)\/v1/.exec(line);
  if (!m) {
    await kill();
    throw new Error(`the proxy did not start: ${out}\n${err}`);
  }
  return {
    port: Number(m[1]),
    child,
    exited,
    stderr: () => err,
    waitForStderr: (text) =>
      err.includes(text)
        ? Promise.resolve()
        : new Promise((resolve, reject) => waiters.push({ text, resolve, reject })),
    kill,
  };
}

/** Stream one answer through the `openai` SDK: the text that arrived and the error that ended it, if any. */
export async function sdkStreamUntilError(
  p: TestProxy,
  model = "m",
): Promise<{ text: string; err: unknown }> {
  const stream = await p.client().chat.completions.create({
    model,
    messages: [{ role: "user", content: "x" }],
    stream: true,
  });
  let text = "";
  const err = await (async () => {
    for await (const c of stream) text += c.choices[0]?.delta?.content ?? "";
  })().catch((e) => e);
  return { text, err };
}

/**
 * Run the CLI entry point `main` in this process, as `runCli` runs it in a subprocess: `env` is its whole
 * environment and `cwd` the directory it reads `.env` from (the process's own are not touched, so tests in
 * other files may run alongside). Only for command lines that end on their own (a configuration error,
 * --help, --version, the usage command): one that starts serving is a test failure after `guardMs`.
 */
export async function runMain(
  args: string[],
  opts: { env?: Record<string, string>; cwd?: string; guardMs?: number } = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  const stdout: string[] = [];
  const stderr: string[] = [];
  let timer: ReturnType<typeof setTimeout> | undefined;
  const output = { out: (l: string) => stdout.push(l), err: (l: string) => stderr.push(l) };
  try {
    const code = await Promise.race([
      main(args, output, { NO_COLOR: "1", ...opts.env }, opts.cwd ?? "."),
      new Promise<never>((_, reject) =>
        timer = setTimeout(
          () => reject(new Error(`main(${args.join(" ")}) did not return: ${stdout.join("\n")}`)),
          opts.guardMs ?? 10_000,
        )
      ),
    ]);
    return {
      code,
      stdout: stdout.map((l) => l + "\n").join(""),
      stderr: stderr.map((l) => l + "\n").join(""),
    };
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Run `fn` against a proxy (auth off) whose openrouter backend is a fresh OpenAI-wire mock with one key; both
 * are closed afterwards.
 */
export async function withOpenRouter(fn: (p: TestProxy, m: MockOpenAI) => Promise<void>): Promise<void> {
  const mock = MockOpenAI.start();
  const p = await startTestProxy(["--disable-auth"], {
    OPENROUTER_API_BASE_URL: mock.url,
    OPENROUTER_API_KEY_1: "sk-or-v1-" + "d4".repeat(32),
  });
  try {
    await fn(p, mock);
  } finally {
    await p.close();
    await mock.close();
  }
}
