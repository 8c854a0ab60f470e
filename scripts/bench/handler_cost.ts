/**
 * CPU cost of llmproxy's own request handling, without the network: the real handler in-process, with
 * `fetch` (the upstream client) stubbed to answer at once. Prints wall µs and process CPU µs (user + system:
 * load-robust on a shared machine) per request, and the bare Request + stub cost. N (env) sets the requests.
 *   deno run -A scripts/bench/handler_cost.ts [llmproxy flags…]
 */
import process from "node:process";
import { startStubbedHandler } from "./stubbed_handler.ts";

const stubbed = await startStubbedHandler(Deno.args);
const { handler, request } = stubbed;
const N = Number(Deno.env.get("N") ?? 20_000);
const BATCHES = 5;
for (let i = 0; i < 3000; i++) await (await handler(request())).text(); // warm-up
// The median of BATCHES batches of N / BATCHES requests: one slow batch (another process's burst) does not count.
const walls: number[] = [], cpus: number[] = [];
for (let b = 0; b < BATCHES; b++) {
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  for (let i = 0; i < N / BATCHES; i++) await (await handler(request())).text();
  const cpu = process.cpuUsage(cpu0);
  walls.push((performance.now() - t0) / (N / BATCHES) * 1000);
  cpus.push((cpu.user + cpu.system) / (N / BATCHES));
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const perRequest = median(walls);
const cpuPerRequest = median(cpus);
const t = performance.now();
for (let i = 0; i < N; i++) {
  await request().text();
  await (await globalThis.fetch("http://upstream.test/v1/x")).text();
}
const bare = (performance.now() - t) / N * 1000;
// deno-lint-ignore no-console
console.log(
  `handler ${perRequest.toFixed(1)} µs/request, CPU ${
    cpuPerRequest.toFixed(1)
  } µs/request; bare Request + stubbed fetch ${bare.toFixed(1)} µs`,
);
await stubbed.close();
