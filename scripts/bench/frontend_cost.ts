/**
 * CPU cost per streamed request of each front end (issue 19): one llmproxy per checkout given (recording on,
 * auth off) in front of the bench mock; per round and front end, 600 streams (20 chunks 10 ms apart) at 100
 * concurrency, interleaved; the figure is the proxy process's CPU time (/proc, user + system) per stream.
 *   deno run -A scripts/bench/frontend_cost.ts [CHECKOUT_DIR …]   (default: this checkout)
 */
import { CASES } from "./frontends.ts";
import { cpuMs, firstLine, median, spawn, startProxy } from "./side_by_side.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
const dirs = Deno.args.length ? Deno.args : [ROOT];
const mock = spawn(["scripts/bench/mock.ts"]);
const upstream = `http://127.0.0.1:${Number(await firstLine(mock))}/v1`;
const tmp = await Deno.makeTempDir();
const proxies: { dir: string; child: Deno.ChildProcess; origin: string }[] = [];
for (const dir of dirs) {
  const p = await startProxy(upstream, tmp, [], dir);
  proxies.push({ dir, child: p.child!, origin: p.base.replace(/\/v1$/, "") });
}
async function load(origin: string, c: (typeof CASES)[number], n: number, conc: number): Promise<void> {
  const body = JSON.stringify({ ...(c.body(true) as object), bench_chunks: 20, bench_spacing_ms: 10 });
  let i = 0;
  await Promise.all(Array.from({ length: conc }, async () => {
    while (i++ < n) {
      const res = await fetch(origin + c.path(true), {
        method: "POST",
        headers: { "content-type": "application/json" },
        body,
      });
      if (res.status !== 200) throw new Error(`${c.name}: ${res.status} ${await res.text()}`);
      await res.arrayBuffer();
    }
  }));
}
const out = new Map<string, number[]>();
for (const p of proxies) for (const c of CASES) await load(p.origin, c, 100, 20);
for (let round = 0; round < Number(Deno.env.get("ROUNDS") ?? 3); round++) {
  for (const c of CASES) {
    for (const p of proxies) {
      const key = `${p.dir} ${c.name}`;
      const before = cpuMs(p.child.pid);
      await load(p.origin, c, 600, 100);
      out.set(key, [...out.get(key) ?? [], (cpuMs(p.child.pid) - before) * 1000 / 600]);
    }
  }
}
for (const [key, xs] of out) {
  // deno-lint-ignore no-console
  console.log(`${key.padEnd(40)} ${median(xs).toFixed(0)} µs/stream ${JSON.stringify(xs.map(Math.round))}`);
}
for (const p of proxies) {
  p.child.kill("SIGTERM");
  await p.child.status;
}
mock.kill("SIGTERM");
await mock.status;
await Deno.remove(tmp, { recursive: true });
