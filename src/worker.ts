/**
 * The entry of a `--workers` isolate (a Web Worker the first isolate starts, src/isolates/workers.ts): read
 * the same command line, serve the same port, drain and end when told.
 */
/// <reference lib="deno.worker" />
import { loadConfig } from "./config/load.ts";
import { PROVIDERS } from "./providers/list.ts";
import { type RunningProxy, startProxy } from "./main.ts";
import type { WorkerMessage } from "./isolates/workers.ts";

let proxy: RunningProxy | undefined;
const post = (m: WorkerMessage) => self.postMessage(m);

self.onmessage = async (e: MessageEvent<WorkerMessage>) => {
  const m = e.data;
  if (m.t === "start") {
    const { argv, env, cwd, port, seat } = m.start;
    try {
      const cfg = await loadConfig(PROVIDERS, [...argv], env, cwd);
      proxy = await startProxy(cfg, undefined, { ...seat, port });
      post({ t: "ready" });
    } catch (e) {
      post({ t: "failed", message: (e as Error)?.message ?? String(e) });
    }
  } else if (m.t === "stop") {
    await proxy?.close(m.graceMs);
    post({ t: "stopped" });
  }
};
