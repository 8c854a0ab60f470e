/**
 * In-process CPU cost of the commit rule on the pass-through path: `commitStream` over a 20-chunk Chat stream
 * in the issue-19 shape (usage asked), against a bare JS hop over the same chunks; what the difference shows is
 * our own per-chunk work after the commit. 4000 streams at 50 concurrency per round, 5 interleaved rounds.
 *   deno run -A scripts/bench/commit_cost.ts
 */
import { commitStream } from "../../src/runner/commit.ts";
import { IdleTimer } from "../../src/runner/idle.ts";
import { streamWrites } from "./stream_shape.ts";
import { jsHop } from "./js_hop.ts";
const all = streamWrites(20, true);
const src = () => {
  let i = 0;
  return new ReadableStream<Uint8Array>({
    pull(c) {
      if (i < all.length) c.enqueue(all[i++].slice());
      else c.close();
    },
  }, { highWaterMark: 0 });
};
const cpu = () => {
  const f = Deno.readTextFileSync(`/proc/self/stat`).split(") ")[1].split(" ");
  return (Number(f[11]) + Number(f[12])) * 10;
};
async function drain(s: ReadableStream<Uint8Array>) {
  const r = s.getReader();
  while (!(await r.read()).done) { /* */ }
}
async function viaCommit() {
  const timer = new IdleTimer(300000, () => {});
  const r = await commitStream(src(), {
    timer,
    signal: new AbortController().signal,
    cancelUpstream: () => {},
    classifyInBand: () =>
      ({ action: "next-key", status: 502, type: "x", code: "x", message: "x", outcome: "x" }) as never,
    dropUsageChunks: false,
    scrub: (t) => t,
  });
  if (!r.ok || r.value.kind !== "stream") throw new Error("no stream");
  await drain(r.value.stream);
  timer.stop();
}
async function viaHop() {
  await drain(jsHop(src().getReader()));
}
async function run(f: () => Promise<void>, n: number) {
  await Promise.all(Array.from({ length: 50 }, async (_, k) => {
    for (let s = k; s < n; s += 50) await f();
  }));
}
const res: Record<string, number[]> = { hop: [], commit: [] };
await run(viaHop, 1000);
await run(viaCommit, 1000);
for (let round = 0; round < 5; round++) {
  for (const [name, f] of [["hop", viaHop], ["commit", viaCommit]] as const) {
    const c0 = cpu();
    await run(f, 4000);
    res[name].push((cpu() - c0) * 1000 / 4000);
  }
}
const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[2];
// deno-lint-ignore no-console
console.log(
  `CPU µs per 20-chunk stream: bare hop ${med(res.hop).toFixed(0)} ${
    JSON.stringify(res.hop.map(Math.round))
  } · commitStream ${med(res.commit).toFixed(0)} ${JSON.stringify(res.commit.map(Math.round))}`,
);
