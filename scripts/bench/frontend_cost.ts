/**
 * CPU cost per streamed request of each front end (issue 19): one llmproxy per checkout given (recording on,
 * auth off) in front of the bench mock; per round and front end, 600 streams (20 chunks 10 ms apart) at 100
 * concurrency, interleaved; the figure is the proxy process's CPU time (/proc, user + system) per stream.
 *   deno run -A scripts/bench/frontend_cost.ts [CHECKOUT_DIR …]   (default: this checkout)
 */
import { CASES } from "./frontends.ts";
import { type ComparedProxy, firstLine, spawn, startProxy, streamCpuRounds } from "./side_by_side.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
const dirs = Deno.args.length ? Deno.args : [ROOT];
const mock = spawn(["scripts/bench/mock.ts"]);
const upstream = `http://127.0.0.1:${Number(await firstLine(mock))}/v1`;
const tmp = await Deno.makeTempDir();
const proxies: ComparedProxy[] = [];
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
await streamCpuRounds(proxies, CASES, load);
mock.kill("SIGTERM");
await mock.status;
await Deno.remove(tmp, { recursive: true });
