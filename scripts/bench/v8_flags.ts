/**
 * What V8's heap flags do to llmproxy under the issue-19 streaming load: for each flag set given (one argument
 * each, comma-separated V8 flags as `--v8-flags=` takes them; `default` for none; no argument: V8's defaults and
 * the flags `deno task start` ships), llmproxy started with it, then per round and flag set, interleaved: 200
 * concurrent streams (20 chunks 10 ms apart, usage asked) under wrk, one extra stream's time to first byte while
 * they run, the process's CPU (% of one core) and its RSS and V8 heap right after the load.
 *   deno run -A scripts/bench/v8_flags.ts [default] [--max-semi-space-size=8,--heap-growing-percent=50 …]
 * ROUNDS and SECONDS (env) set the rounds (default 3) and the load's length (default 5 s).
 */
import {
  cpuMs,
  extraStreamTtfb,
  firstLine,
  median,
  rssMb,
  spawn,
  startProxy,
  streamBody,
  type Target,
  wrk,
} from "./side_by_side.ts";
import { shippedV8Flags } from "../v8_flags.ts";

const ROUNDS = Number(Deno.env.get("ROUNDS") ?? 3);
const SECONDS = Number(Deno.env.get("SECONDS") ?? 5);
const shipped = (await shippedV8Flags(new URL("../../", import.meta.url)))[0]?.replace(/^--v8-flags=/, "");
const sets = Deno.args.length ? Deno.args : ["default", ...(shipped ? [shipped] : [])];

const dir = await Deno.makeTempDir();
const mock = spawn(["scripts/bench/mock.ts"]);
const upstream = `http://127.0.0.1:${Number(await firstLine(mock))}/v1`;
const proxies: (Target & { pid: number })[] = [];
for (const set of sets) {
  const p = await startProxy(upstream, dir, [], undefined, set === "default" ? [] : [`--v8-flags=${set}`]);
  proxies.push({ ...p, name: set, pid: p.child!.pid });
}

/** V8's heap (used, total) in MB from the proxy's own /metrics. */
async function heapMb(base: string): Promise<[number, number]> {
  const text = await (await fetch(base.replace(/\/v1$/, "/metrics"))).text();
  const kind = (k: string) =>
    Number(new RegExp(`^process_heap_bytes\\{kind="${k}"\\} (\\S+)`, "m").exec(text)?.[1]);
  return [kind("used") / 1e6, kind("total") / 1e6];
}

type Figures = { streams: number[]; ttfb: number[]; cpu: number[]; rss: number[]; heap: [number, number][] };
const figures = new Map<string, Figures>(
  sets.map((s) => [s, { streams: [], ttfb: [], cpu: [], rss: [], heap: [] }]),
);
for (let r = 0; r < ROUNDS; r++) {
  for (const p of proxies) {
    const body = streamBody(p);
    const f = figures.get(p.name)!;
    const cpu0 = cpuMs(p.pid);
    const t0 = performance.now();
    const load = wrk(p.base, body, 200, SECONDS, dir);
    f.ttfb.push(...await extraStreamTtfb(p, body, load));
    f.streams.push(await load);
    f.cpu.push((cpuMs(p.pid) - cpu0) / (performance.now() - t0) * 100);
    f.rss.push(rssMb(p.pid));
    f.heap.push(await heapMb(p.base));
  }
}
for (const p of proxies) p.child!.kill("SIGTERM");
mock.kill("SIGTERM");
await Promise.all([...proxies.map((p) => p.child!.status), mock.status]);
await Deno.remove(dir, { recursive: true });

const max = (xs: number[]) => Math.max(...xs);
// deno-lint-ignore no-console
console.log(
  `V8 flags under 200 streams (${ROUNDS} rounds of ${SECONDS} s, interleaved; medians, RSS and heap: the round with the largest RSS)`,
);
for (const [set, f] of figures) {
  const worst = f.rss.indexOf(max(f.rss));
  // deno-lint-ignore no-console
  console.log(
    `${set.padEnd(52)} streams/s ${median(f.streams).toFixed(0).padStart(4)} · extra TTFB p50 ${
      median(f.ttfb).toFixed(2).padStart(5)
    } ms · CPU ${median(f.cpu).toFixed(0).padStart(3)} % · RSS ${
      f.rss[worst].toFixed(1).padStart(5)
    } MB · heap ${f.heap[worst][0].toFixed(0)} used / ${f.heap[worst][1].toFixed(0)} MB`,
  );
}
Deno.exit(0);
