/**
 * Sequential non-streamed requests, one target at a time in interleaved rounds: each target's process CPU per
 * request (user + system from /proc, so GC helper threads count) and its median latency. An A/B tool for the
 * per-request cost: a flag (`proxy:.:--disable-usage-log`), a V8 flag besides the shipped ones
 * (`proxy:.:v8=--single-threaded-gc`; `v8=none`: without the shipped ones), another checkout (`proxy:../old`) or a floor variant (`floor:gw`) side by
 * side; `direct` is the bench mock itself (its CPU is the mock's).
 *   deno run -A scripts/bench/seq_cpu.ts floor:gw proxy:. proxy:.:--log-level,warn
 * ROUNDS and N (env) set the rounds (default 5) and the requests per round and target (default 3000).
 * WRK=C (env) loads each target with `wrk` at C connections for 4 s per round instead (CPU per request under
 * concurrency, and requests/s in place of the latency), as the bench's throughput row does.
 * STREAM=1 (env) sends streamed requests instead (10 chunks 10 ms apart, N of them per round, default 30), one
 * at a time after the JSON warm-up, and reports the median time to the first chunk, as the bench's stream-TTFB
 * row does (stream code that has run a few hundred times, with the proxy idle between chunks).
 * GAP=MS (env) waits MS ms after each request (not timed): the latency of a request that finds the proxy idle,
 * as a coding agent's requests do (default N 60 then).
 */
import { cpuMs, firstLine, median, spawn, startProxy, TTFB_STREAM, wrk } from "./side_by_side.ts";
import { shippedV8Flags } from "../v8_flags.ts";

const ROUNDS = Number(Deno.env.get("ROUNDS") ?? 5);
const WRK = Number(Deno.env.get("WRK") ?? 0);
const WRK_SECONDS = 4;
const STREAM = Deno.env.get("STREAM") === "1";
const GAP = Number(Deno.env.get("GAP") ?? 0);
const N = Number(Deno.env.get("N") ?? (STREAM ? 30 : GAP ? 60 : 3000));
const dir = await Deno.makeTempDir();
const mock = spawn(["scripts/bench/mock.ts"]);
const upstream = `http://127.0.0.1:${Number(await firstLine(mock))}/v1`;
const targets: { name: string; base: string; model: string; child: Deno.ChildProcess }[] = [];
for (const arg of Deno.args) {
  const [kind, what = "", flags] = arg.split(":");
  if (kind === "direct") {
    targets.push({ name: arg, base: upstream, model: "bench", child: mock });
  } else if (kind === "floor") {
    const child = spawn(["scripts/bench/floor.ts", upstream, what]);
    targets.push({
      name: arg,
      base: `http://127.0.0.1:${Number(await firstLine(child))}/v1`,
      model: "bench",
      child,
    });
  } else if (kind === "proxy") {
    const checkout = new URL(what || ".", `file://${Deno.cwd()}/`).pathname;
    const all = flags ? flags.split(",") : [];
    // `v8=--flag` adds a V8 flag to the checkout's own (`deno task start`'s).
    const v8 = all.filter((f) => f.startsWith("v8=")).map((f) => f.slice(3));
    const p = await startProxy(
      upstream,
      dir,
      all.filter((f) => !f.startsWith("v8=")),
      checkout,
      v8.length
        ? withV8Flags(
          v8.includes("none") ? [] : await shippedV8Flags(checkout),
          v8.filter((f) => f !== "none"),
        )
        : undefined,
    );
    targets.push({ name: arg, base: p.base, model: p.model, child: p.child! });
  } else {
    // deno-lint-ignore no-console
    console.error(`unknown target ${arg}: direct, floor:VARIANT or proxy:DIR[:flag,flag…]`);
    Deno.exit(2);
  }
}

/** One `--v8-flags=` argument with the shipped flags and `extra` (none when both are empty). */
function withV8Flags(shipped: string[], extra: string[]): string[] {
  const flags = shipped.flatMap((a) => a.slice("--v8-flags=".length).split(",")).filter(Boolean);
  return flags.length + extra.length ? [`--v8-flags=${[...flags, ...extra].join(",")}`] : [];
}

/** One streamed request; the time to its first chunk (ms). */
async function firstChunk(base: string, model: string): Promise<number> {
  const t0 = performance.now();
  const res = await fetch(`${base}/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({
      model,
      messages: [{ role: "user", content: "hi" }],
      stream: true,
      bench_chunks: TTFB_STREAM.chunks,
      bench_spacing_ms: TTFB_STREAM.spacingMs,
    }),
  });
  const reader = res.body!.getReader();
  await reader.read();
  const t = performance.now() - t0;
  while (!(await reader.read()).done) { /* drain */ }
  return t;
}

async function once(base: string, body: string): Promise<void> {
  const res = await fetch(`${base}/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body,
  });
  await res.arrayBuffer();
}

const cpu = new Map<string, number[]>(targets.map((t) => [t.name, []]));
const wall = new Map<string, number[]>(targets.map((t) => [t.name, []]));
for (let r = 0; r < ROUNDS; r++) {
  for (const t of targets) {
    const body = JSON.stringify({ model: t.model, messages: [{ role: "user", content: "hi" }] });
    for (let i = 0; i < 200; i++) await once(t.base, body); // warm-up
    if (WRK) {
      const cpu0 = cpuMs(t.child.pid);
      const rps = await wrk(t.base, JSON.parse(body), WRK, WRK_SECONDS, dir);
      cpu.get(t.name)!.push((cpuMs(t.child.pid) - cpu0) * 1000 / (rps * WRK_SECONDS));
      wall.get(t.name)!.push(rps);
      continue;
    }
    const times: number[] = [];
    const cpu0 = cpuMs(t.child.pid);
    for (let i = 0; i < N; i++) {
      if (STREAM) {
        times.push(await firstChunk(t.base, t.model));
        continue;
      }
      const t0 = performance.now();
      await once(t.base, body);
      times.push(performance.now() - t0);
      if (GAP) await new Promise((resolve) => setTimeout(resolve, GAP));
    }
    cpu.get(t.name)!.push((cpuMs(t.child.pid) - cpu0) * 1000 / N);
    wall.get(t.name)!.push(median(times) * 1000);
  }
}
for (const t of targets) if (t.child !== mock) t.child.kill("SIGTERM");
mock.kill("SIGTERM");
await Promise.all([...targets.map((t) => t.child.status), mock.status]);
await Deno.remove(dir, { recursive: true });
// deno-lint-ignore no-console
console.log(
  WRK
    ? `wrk at ${WRK} connections: ${ROUNDS} rounds of ${WRK_SECONDS} s per target, medians of the rounds`
    : `sequential ${STREAM ? "streamed " : ""}requests${
      GAP ? `, ${GAP} ms apart` : ""
    }: ${ROUNDS} rounds of ${N} per target, medians of the rounds${
      STREAM ? " (latency: to the first chunk)" : ""
    }`,
);
for (const t of targets) {
  // deno-lint-ignore no-console
  console.log(
    `${t.name.padEnd(40)} CPU ${median(cpu.get(t.name)!).toFixed(0).padStart(4)} µs/request · ${
      WRK ? "requests/s" : "latency"
    } ${median(wall.get(t.name)!).toFixed(0).padStart(WRK ? 6 : 4)}${WRK ? "" : " µs"} · CPU by round ${
      cpu.get(t.name)!.map((x) => x.toFixed(0)).join(" ")
    }`,
  );
}
Deno.exit(0);
