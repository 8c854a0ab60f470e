/**
 * CPU cost per request and RSS of several targets against one bench mock, measured interleaved in one run (load-
 * robust on a shared machine: process CPU time from /proc, not wall time). Per round and target: 2000 JSON
 * requests at 8 connections, then 1000 streams (20 chunks 10 ms apart, usage asked) at 200 concurrency.
 * A target is `floor:VARIANTS` (scripts/bench/floor.ts with those variants) or `proxy:DIR` (llmproxy from the
 * checkout DIR, recording on, auth off). ROUNDS (env, default 4) sets the rounds.
 *   deno run -A scripts/bench/stream_cost.ts floor: floor:js,byob proxy:/work/main proxy:.
 */
import { cpuMs as cpu, firstLine, rssMb as rss, spawn, startProxy } from "./side_by_side.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
const mock = spawn(["scripts/bench/mock.ts"]);
const upstream = `http://127.0.0.1:${Number(await firstLine(mock))}/v1`;
const tmp = await Deno.makeTempDir();
const targets: { name: string; c: Deno.ChildProcess; base: string; model: string }[] = [];
for (const spec of Deno.args) {
  const [kind, arg = ""] = spec.split(/:(.*)/s);
  if (kind === "floor") {
    const c = spawn(["scripts/bench/floor.ts", upstream, arg], {}, ROOT);
    targets.push({ name: spec, c, base: `http://127.0.0.1:${Number(await firstLine(c))}`, model: "bench" });
  } else {
    const p = await startProxy(upstream, tmp, [], arg);
    targets.push({ name: spec, c: p.child!, base: p.base.replace(/\/v1$/, ""), model: p.model });
  }
}
async function run(base: string, model: string, stream: boolean, n: number, conc: number, spacing = 0) {
  const body = JSON.stringify({
    model,
    messages: [{ role: "user", content: "hi" }],
    stream,
    bench_chunks: 20,
    bench_spacing_ms: spacing,
    ...(stream ? { stream_options: { include_usage: true } } : {}),
  });
  let i = 0;
  await Promise.all(Array.from({ length: conc }, async () => {
    while (i++ < n) {
      const r = await fetch(base + "/v1/chat/completions", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body,
      });
      await r.arrayBuffer();
    }
  }));
}
for (const t of targets) {
  await run(t.base, t.model, false, 300, 4);
  await run(t.base, t.model, true, 200, 20);
}
const ns: Record<string, number[]> = {}, st: Record<string, number[]> = {};
const rounds = Number(Deno.env.get("ROUNDS") ?? 4);
for (let round = 0; round < rounds; round++) {
  for (const t of targets) {
    let c0 = cpu(t.c.pid);
    await run(t.base, t.model, false, 2000, 8);
    (ns[t.name] ??= []).push((cpu(t.c.pid) - c0) * 1000 / 2000);
    c0 = cpu(t.c.pid);
    await run(t.base, t.model, true, 1000, 200, 10);
    (st[t.name] ??= []).push((cpu(t.c.pid) - c0) * 1000 / 1000);
  }
}
const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
for (const t of targets) {
  // deno-lint-ignore no-console
  console.log(
    `${t.name.padEnd(28)} json ${med(ns[t.name]).toFixed(0)} µs ${
      JSON.stringify(ns[t.name].map(Math.round))
    } · stream ${med(st[t.name]).toFixed(0)} µs ${JSON.stringify(st[t.name].map(Math.round))} · RSS ${
      rss(t.c.pid).toFixed(0)
    } MB`,
  );
}
for (const t of [...targets, { c: mock }]) {
  t.c.kill("SIGTERM");
  await t.c.status;
}
await Deno.remove(tmp, { recursive: true });
