/** Start llmproxy in the benchmark's own process (auth off, a throw-away store and data dir, quiet output). */
import { loadConfig } from "../../src/config/load.ts";
import { PROVIDERS } from "../../src/providers/list.ts";
import { type RunningProxy, startProxy } from "../../src/main.ts";

/** A proxy started by {@link startInProcess}; `close()` also removes its data dir. */
export interface InProcessProxy {
  proxy: RunningProxy;
  close(): Promise<void>;
}

/**
 * Start a proxy with these extra flags and environment (HOME points at a fresh temp dir). With `--workers`, its
 * other isolates are Web Workers of this process.
 */
export async function startInProcess(args: string[], env: Record<string, string>): Promise<InProcessProxy> {
  const dir = await Deno.makeTempDir({ prefix: "llmproxy-bench-" });
  const base = [
    "--disable-auth",
    "--port",
    "0",
    "--kv",
    // `--workers` isolates share a file store (a :memory: store is one per isolate)
    args.includes("--workers") ? `${dir}/store.kv` : ":memory:",
    "--data-dir",
    dir,
    "--log",
    `${dir}/proxy.log`,
  ];
  const cfg = await loadConfig(PROVIDERS, [...base, ...args], { HOME: dir, ...env }, dir);
  const proxy = await startProxy(cfg, { out: () => {}, err: () => {} });
  return {
    proxy,
    async close() {
      await proxy.close();
      await Deno.remove(dir, { recursive: true });
    },
  };
}
