/**
 * What llmproxy's own handling of one JSON request allocates, without the network: the real handler
 * in-process with `fetch` (the upstream client) stubbed to answer at once, C requests in flight (default 32,
 * as the throughput row's wrk), V8's sampling heap profiler over N requests (default 5000). Prints KB allocated
 * per request and the sites, each charged to the nearest frame of `src/` (DEPTH of them, default 1) — a
 * deterministic figure, unlike CPU time on a shared machine, for checking a cut of the hot path.
 *   deno run -A scripts/bench/handler_alloc.ts [llmproxy flags…]     (C, N, DEPTH, TOP: env)
 */
import { Session } from "node:inspector";
import { startStubbedHandler } from "./stubbed_handler.ts";

const C = Number(Deno.env.get("C") ?? 32);
const N = Number(Deno.env.get("N") ?? 5000);
const DEPTH = Number(Deno.env.get("DEPTH") ?? 1);
const TOP = Number(Deno.env.get("TOP") ?? 40);
const session = new Session();
session.connect();
// deno-lint-ignore no-explicit-any
const post = (method: string, params: Record<string, unknown> = {}): Promise<any> =>
  new Promise((resolve, reject) => session.post(method, params, (e, r) => (e ? reject(e) : resolve(r))));

const stubbed = await startStubbedHandler(Deno.args);
const { running, handler, request } = stubbed;
async function run(n: number): Promise<void> {
  let left = n;
  const worker = async () => {
    while (left-- > 0) await (await handler(request())).text();
  };
  await Promise.all(Array.from({ length: C }, worker));
}

await run(5000); // warm-up
// The usage records are written by a 1 s timer: flush the warm-up's before sampling and the sampled ones
// before it stops, so each run counts the write of exactly its N requests' records.
await running.proxy.ctx.usage.flush();
await post("HeapProfiler.startSampling", {
  samplingInterval: 512,
  includeObjectsCollectedByMajorGC: true,
  includeObjectsCollectedByMinorGC: true,
});
await run(N);
await running.proxy.ctx.usage.flush();
const { profile } = await post("HeapProfiler.stopSampling");

interface SampleNode {
  callFrame: { functionName: string; url: string; lineNumber: number };
  selfSize: number;
  children: SampleNode[];
}
const bySite = new Map<string, number>();
let total = 0;
const ours = /\/src\/[^/].*\.ts$/;
function walk(n: SampleNode, stack: string[]): void {
  const cf = n.callFrame;
  const name = `${cf.functionName || "(anonymous)"} ${cf.url.replace(/^.*\/(src|node_modules)\//, "$1/")}:${
    cf.lineNumber + 1
  }`;
  const mine = ours.test(cf.url) && !cf.url.includes("/scripts/");
  const here = mine ? [...stack, name] : stack;
  const site = (here.slice(-DEPTH).join(" < ") || "(outside src/)") + (mine ? "" : `  ← ${name}`);
  total += n.selfSize;
  bySite.set(site, (bySite.get(site) ?? 0) + n.selfSize);
  for (const c of n.children) walk(c, here);
}
walk(profile.head, []);
// deno-lint-ignore no-console
console.log(`${(total / N / 1024).toFixed(1)} KB allocated per request (${N} requests, ${C} in flight)`);
for (const [site, bytes] of [...bySite].sort((a, b) => b[1] - a[1]).slice(0, TOP)) {
  // deno-lint-ignore no-console
  console.log(`${(bytes / N).toFixed(0).padStart(7)} B  ${site}`);
}
session.disconnect();
await stubbed.close();
