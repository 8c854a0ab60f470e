/**
 * `--workers N`: the process's main isolate starts N − 1 Web Workers (they inherit its permissions), each
 * reading the same command line again and serving the same port with SO_REUSEPORT; the kernel spreads new
 * connections over all of them. On shutdown every worker drains (the same grace) before the process ends.
 */
import type { Seat } from "./seat.ts";
import { log } from "../log/log.ts";

/** What a worker isolate needs to start: the command line again, and its seat. */
export interface WorkerStart {
  argv: readonly string[];
  env: Record<string, string>;
  cwd: string;
  /** The port the main isolate bound (the command line may say 0). */
  port: number;
  seat: Seat;
}

/** Messages between the main isolate and a worker. */
export type WorkerMessage =
  | { t: "start"; start: WorkerStart }
  | { t: "ready" }
  | { t: "failed"; message: string }
  | { t: "stop"; graceMs: number }
  | { t: "stopped" };

/** The worker isolates of this process. */
export interface Workers {
  /** Let each drain for up to `graceMs` (as the main isolate does), then end them. */
  close(graceMs: number): Promise<void>;
}

/**
 * Throw (as `Deno.listen` does, "Address already in use") when something already listens on `hostname:port`.
 * The isolates bind with SO_REUSEPORT, which the kernel grants to any process of the same user that asks for
 * it too: without this check a second `llmproxy --workers N` on the same port started quietly and took half
 * the first one's connections. Port 0 (a fresh port) needs no check.
 */
export function assertPortFree(hostname: string, port: number): void {
  if (port === 0) return;
  Deno.listen({ hostname, port }).close();
}

/** The next message of `w`, or a rejection when the worker failed. */
function next(w: Worker): Promise<WorkerMessage> {
  return new Promise((resolve, reject) => {
    w.onmessage = (e: MessageEvent<WorkerMessage>) => resolve(e.data);
    w.onerror = (e) => {
      e.preventDefault();
      reject(new Error(e.message));
    };
  });
}

/**
 * Start isolates 1 … count − 1 and wait until each serves the port; throws (after ending those started)
 * when one cannot start.
 */
export async function startWorkers(base: Omit<WorkerStart, "seat">, seat0: Seat): Promise<Workers> {
  const workers: Worker[] = [];
  const endAll = () => workers.forEach((w) => w.terminate());
  try {
    await Promise.all(Array.from({ length: seat0.count - 1 }, async (_, i) => {
      const w = new Worker(new URL("../worker.ts", import.meta.url), {
        type: "module",
        name: `isolate ${i + 1}`,
      });
      workers.push(w);
      const ready = next(w);
      const start: WorkerStart = { ...base, seat: { ...seat0, index: i + 1 } };
      w.postMessage({ t: "start", start } satisfies WorkerMessage);
      const m = await ready;
      if (m.t !== "ready") throw new Error(m.t === "failed" ? m.message : `unexpected ${m.t}`);
      // An isolate that fails later stops serving (the kernel sends new connections to the others); the
      // process goes on, and says so.
      w.onerror = (e) => {
        e.preventDefault();
        log.error("isolate {n} failed and stopped serving: {error}", { n: i + 1, error: e.message });
      };
    }));
  } catch (e) {
    endAll();
    throw e;
  }
  return {
    async close(graceMs) {
      await Promise.all(workers.map(async (w) => {
        const stopped = next(w).catch(() => undefined);
        w.postMessage({ t: "stop", graceMs } satisfies WorkerMessage);
        await stopped;
        w.terminate();
      }));
    },
  };
}
