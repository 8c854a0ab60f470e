/**
 * Pooling benchmark (issue 6): a mock upstream allows L requests per window per key for N keys; clients
 * send more than one key can take. Reports (a) the share of the pooled capacity served, (b) client-visible
 * 429s while some key still had capacity, (c) the most upstream 429s hit by one key in one window.
 * Targets: ≥ 95 %, 0, ≤ 1.
 *
 *   deno run -A scripts/bench/pooling.ts [--keys 3] [--limit 5] [--window-ms 2000] [--windows 4]
 *     [--concurrency 6] [--no-remaining-headers] [--workers 1]
 *
 * With `--workers N` the proxy's isolates each keep their own view of announced budgets; cool-downs reach
 * the others at once. (d) counts every upstream 429: what splitting the pool over isolates costs.
 */
import { parseArgs } from "node:util";
import { startInProcess } from "./in_process.ts";
import { MockOpenAI, perKeyLimiter } from "../../tests/mocks/openai_upstream.ts";

/** How one pooling run is set up. */
export interface PoolingOptions {
  keys: number;
  limit: number;
  windowMs: number;
  windows: number;
  concurrency: number;
  /** Whether the mock announces X-RateLimit-Remaining on successes (OpenRouter does). */
  remainingHeaders: boolean;
  /** The proxy's `--workers` (isolates sharing the port; 1 = one isolate). */
  workers: number;
}

/** Result figures of one pooling run (with its setup). */
export interface PoolingResult extends PoolingOptions {
  capacity: number;
  served: number;
  servedShare: number;
  client429WithCapacity: number;
  client429: number;
  maxUpstream429PerKeyWindow: number;
  /** Every 429 the upstream sent. */
  upstream429: number;
  ok: boolean;
}

/** Run the pooling benchmark. */
export async function runPooling(opts: PoolingOptions): Promise<PoolingResult> {
  const mock = MockOpenAI.start();
  const limiter = perKeyLimiter(opts.limit, opts.windowMs);
  mock.onChat = limiter.script;
  if (opts.remainingHeaders) mock.successHeaders = limiter.headers;
  const env: Record<string, string> = { OPENROUTER_API_BASE_URL: mock.url };
  for (let i = 1; i <= opts.keys; i++) {
    env[`OPENROUTER_API_KEY_${i}`] = `sk-or-v1-${String(i).padStart(64, "0")}`;
  }
  const running = await startInProcess([
    "--max-wait",
    String(opts.windowMs / 1000 + 1),
    ...(opts.workers > 1 ? ["--workers", String(opts.workers)] : []),
  ], env);
  const proxy = running.proxy;

  // Start at a window boundary so exactly `windows` windows are offered.
  const start = Math.ceil(Date.now() / opts.windowMs) * opts.windowMs;
  await new Promise((r) => setTimeout(r, start - Date.now()));
  const end = start + opts.windows * opts.windowMs;
  let served = 0;
  let client429 = 0;
  let client429WithCapacity = 0;
  const body = JSON.stringify({ model: "x/y:free", messages: [{ role: "user", content: "hi" }] });

  async function worker() {
    while (Date.now() < end - 50) {
      const res = await fetch(`${proxy.url}/v1/chat/completions`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body,
      });
      await res.body?.cancel();
      // Answers that waited into the window after the run do not count.
      if (res.status === 200 && Date.now() <= end) served++;
      else if (res.status === 429) {
        client429++;
        if (limiter.hasCapacity()) client429WithCapacity++;
      }
    }
  }
  await Promise.all(Array.from({ length: opts.concurrency }, worker));
  await running.close();
  await mock.close();

  const capacity = opts.keys * opts.limit * opts.windows;
  const maxUpstream429 = Math.max(0, ...limiter.stats.rejectedByKeyWindow.values());
  const servedShare = served / capacity;
  return {
    ...opts,
    capacity,
    served,
    servedShare,
    client429,
    client429WithCapacity,
    maxUpstream429PerKeyWindow: maxUpstream429,
    upstream429: limiter.stats.rejected,
    ok: servedShare >= 0.95 && client429WithCapacity === 0 && maxUpstream429 <= 1,
  };
}

/** Print one pooling result as a table. */
export function printPooling(r: PoolingResult): void {
  const rows = [
    [
      "setup",
      `${r.keys} keys × ${r.limit} req / ${r.windowMs} ms, ${r.windows} windows, ${r.concurrency} clients`,
      `${r.remainingHeaders ? "remaining announced" : "429s only"}; --workers ${r.workers}`,
    ],
    [
      "(a) pooled capacity served",
      `${r.served} / ${r.capacity} = ${(r.servedShare * 100).toFixed(1)} %`,
      "≥ 95 %",
    ],
    ["(b) client 429s while a key had capacity", `${r.client429WithCapacity} (of ${r.client429} 429s)`, "0"],
    ["(c) upstream 429s per key per window (max)", String(r.maxUpstream429PerKeyWindow), "≤ 1"],
    ["(d) upstream 429s in all", String(r.upstream429), ""],
  ];
  // deno-lint-ignore no-console
  console.log(rows.map(([a, b, c]) => `${a.padEnd(44)} ${b.padEnd(40)} ${c}`).join("\n"));
  // deno-lint-ignore no-console
  console.log(r.ok ? "pooling: all targets met" : "pooling: TARGET MISSED");
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      keys: { type: "string", default: "3" },
      limit: { type: "string", default: "5" },
      "window-ms": { type: "string", default: "2000" },
      windows: { type: "string", default: "4" },
      concurrency: { type: "string", default: "6" },
      "no-remaining-headers": { type: "boolean", default: false },
      workers: { type: "string", default: "1" },
    },
  });
  const r = await runPooling({
    keys: Number(values.keys),
    limit: Number(values.limit),
    windowMs: Number(values["window-ms"]),
    windows: Number(values.windows),
    concurrency: Number(values.concurrency),
    remainingHeaders: !values["no-remaining-headers"],
    workers: Number(values.workers),
  });
  printPooling(r);
  Deno.exit(r.ok ? 0 : 1);
}
