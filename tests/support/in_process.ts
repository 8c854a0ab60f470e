/**
 * The proxy in this process without a port: a real configuration read from a command line and an
 * environment (as `main` reads it), the real context `main.ts` builds, and the HTTP edge's handler, called
 * as `handler(new Request(…))`. For tests of what the proxy answers, not of sockets or processes.
 */
import OpenAI from "openai";
import { loadConfig, type LoadedConfig } from "../../src/config/load.ts";
import { buildProxy, type BuiltProxy } from "../../src/main.ts";
import { PROVIDERS } from "../../src/providers/list.ts";
import type { ProviderSpec } from "../../src/runner/spec.ts";

/** Where in-process requests say they go: the address the proxy would listen on by default. */
const ORIGIN = "http://127.0.0.1:8000";

/** A test's configuration: a fresh data dir, an in-memory store, logs to a file in the data dir. */
export interface TestConfig {
  cfg: LoadedConfig<ProviderSpec>;
  dataDir: string;
}

/**
 * Read a test's configuration: `args` after the test defaults (port 0, `--kv :memory:`, a temporary data dir,
 * `--log` into it), `env` as the whole environment (HOME is the data dir unless given), `providers` as the
 * provider list (the built-in one by default).
 */
export async function loadTestConfig(
  args: string[] = [],
  env: Record<string, string> = {},
  providers: readonly ProviderSpec[] = PROVIDERS,
): Promise<TestConfig> {
  const dataDir = await Deno.makeTempDir({ prefix: "llmproxy-test-" });
  const base = ["--port", "0", "--kv", ":memory:", "--data-dir", dataDir, "--log", `${dataDir}/proxy.log`];
  try {
    const cfg = await loadConfig(providers, [...base, ...args], { HOME: dataDir, ...env }, dataDir);
    return { cfg, dataDir };
  } catch (e) {
    await Deno.remove(dataDir, { recursive: true });
    throw e;
  }
}

/** A proxy built in-process for a test. Always `close()` it. */
export interface InProcessProxy extends BuiltProxy {
  stdout: string[];
  stderr: string[];
  dataDir: string;
  /** One request to the proxy's handler (path relative to its root). */
  fetch(path: string, init?: RequestInit): Promise<Response>;
  /** The real OpenAI SDK, its requests going to the handler. */
  client(apiKey?: string): OpenAI;
  /** What the proxy logged so far. */
  logText(): Promise<string>;
}

/**
 * Build the proxy in this process from a command line and environment (see {@link loadTestConfig}); no port
 * is opened. A configuration error rejects with the `ConfigError` that `main` would print.
 */
export async function inProcessProxy(
  args: string[] = [],
  env: Record<string, string> = {},
  opts: { providers?: readonly ProviderSpec[] } = {},
): Promise<InProcessProxy> {
  const { cfg, dataDir } = await loadTestConfig(args, env, opts.providers);
  const stdout: string[] = [];
  const stderr: string[] = [];
  let proxy: BuiltProxy;
  try {
    proxy = await buildProxy(cfg, { out: (l) => stdout.push(l), err: (l) => stderr.push(l) });
  } catch (e) {
    await Deno.remove(dataDir, { recursive: true });
    throw e;
  }
  proxy.warmUp();
  const call = (input: string | URL | Request, init?: RequestInit) => proxy.handler(new Request(input, init));
  return {
    ...proxy,
    stdout,
    stderr,
    dataDir,
    fetch: (path, init) => call(`${ORIGIN}${path}`, init),
    client: (apiKey = "unused-key") =>
      new OpenAI({ apiKey, baseURL: `${ORIGIN}/v1`, maxRetries: 0, fetch: call }),
    logText: () => Deno.readTextFile(`${dataDir}/proxy.log`).catch(() => ""),
    async close() {
      await proxy.close();
      await Deno.remove(dataDir, { recursive: true }).catch(() => {});
    },
  };
}
