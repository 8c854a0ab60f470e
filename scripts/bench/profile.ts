/**
 * Where llmproxy's time and its garbage collector's work go under load (issue 19): llmproxy (this checkout, its
 * shipped V8 flags) against the bench mock, loaded by `wrk` — JSON requests at 32 connections, or with `stream`
 * the 200-stream load of the bench's table (20 chunks 10 ms apart) — for SECONDS (default 8) after 3 s of
 * warm-up.
 *   deno run -A scripts/bench/profile.ts cpu [stream]        # CPU by layer and function, beside the gateway floor
 *   deno run -A scripts/bench/profile.ts survivors [stream]  # allocation sites of what outlives the scavenges
 * `cpu`: V8's CPU profile (`--cpu-prof`, one sample per 200 µs) of llmproxy, then of the gateway floor
 * (`floor.ts gw`, with the same V8 flags) under the same load: µs of main-thread CPU per request (warm-up
 * included) of each, and what llmproxy adds — by layer (our code `src/`, the runtime's JavaScript `ext:`, its
 * native parts: GC, ops), by function (self time), and our functions' inclusive time (with their callees).
 * `survivors`: V8's sampling heap profiler through the inspector, keeping the objects collected by full
 * collections and those still alive, not those the young generation's collections (scavenges) freed: bytes per
 * request by allocation site (the site and two callers), which are what a request leaves to full collections.
 * The inspector slows the process, so lifetimes stretch; compare sites, not totals. TOP (env): rows printed
 * (default 40); SI: the sampling interval in bytes (8192).
 */
import { firstLine, freePort, listening, proxyArgs, proxyEnv, spawn, wrk } from "./side_by_side.ts";
import { shippedV8Flags } from "../v8_flags.ts";
import { connectInspector, frameName as frame, type ProfileFrame } from "./inspector.ts";

const [mode, load] = Deno.args;
if ((mode !== "cpu" && mode !== "survivors") || (load !== undefined && load !== "stream")) {
  // deno-lint-ignore no-console
  console.error("usage: profile.ts cpu|survivors [stream]");
  Deno.exit(2);
}
const SECONDS = Number(Deno.env.get("SECONDS") ?? 8);
const TOP = Number(Deno.env.get("TOP") ?? 40);
const STREAM = load === "stream";
const connections = STREAM ? 200 : 32;
const body = {
  model: "openrouter:bench",
  messages: [{ role: "user", content: "hi" }],
  ...(STREAM
    ? { stream: true, stream_options: { include_usage: true }, bench_chunks: 20, bench_spacing_ms: 10 }
    : {}),
};

/** A CPU profile's or a heap profile's call-tree node (the fields read here). */
interface ProfileNode {
  id?: number;
  callFrame: ProfileFrame;
  selfSize?: number;
  children?: ProfileNode[] | number[];
}

function layer(cf: ProfileNode["callFrame"]): string {
  if (cf.url === "") return `native: ${cf.functionName}`;
  if (/\/src\//.test(cf.url)) return "llmproxy (src/)";
  if (cf.url.startsWith("ext:")) return "the runtime's JavaScript (ext:)";
  return "other JavaScript";
}

function print(rows: Map<string, number>, unit: (v: number) => string, top: number): void {
  for (const [k, v] of [...rows].sort((a, b) => b[1] - a[1]).slice(0, top)) {
    // deno-lint-ignore no-console
    console.log(`${unit(v).padStart(7)}  ${k}`);
  }
}

const dir = await Deno.makeTempDir({ prefix: "llmproxy-profile-" });
const mock = spawn(["scripts/bench/mock.ts"]);
const children: Deno.ChildProcess[] = [mock];
const v8Flags = await shippedV8Flags(new URL("../../", import.meta.url).pathname);

/** What one CPU profile says, in µs per request (or per stream). */
interface CpuFigures {
  rps: number;
  busy: number;
  idle: number;
  self: Map<string, number>;
  layers: Map<string, number>;
  inclusive: Map<string, number>;
}

/**
 * Start `target` with V8's CPU profiler, load it (3 s of warm-up, then SECONDS), stop it and read its profile:
 * the warm-up's requests are counted with the measured ones, as its samples are.
 */
async function cpuProfile(target: "llmproxy" | "floor", upstream: string): Promise<CpuFigures> {
  const port = freePort();
  const out = `${dir}/cpu-${target}`;
  const profiling = ["--cpu-prof", `--cpu-prof-dir=${out}`, "--cpu-prof-interval=200", ...v8Flags];
  const child = target === "llmproxy"
    ? spawn([...profiling, ...proxyArgs(upstream, dir, port)], proxyEnv(dir))
    : spawn([...profiling, "--unstable-no-legacy-abort", "scripts/bench/floor.ts", upstream, "gw"], {
      PORT: String(port),
    });
  children.push(child);
  await listening(port, child);
  const base = `http://127.0.0.1:${port}/v1`;
  const load = { ...body, model: target === "llmproxy" ? "openrouter:bench" : "bench" };
  const warm = await wrk(base, load, connections, 3, dir);
  const rps = await wrk(base, load, connections, SECONDS, dir);
  child.kill("SIGTERM");
  await child.status;
  const [file] = [...Deno.readDirSync(out)];
  const prof = JSON.parse(await Deno.readTextFile(`${out}/${file.name}`)) as {
    nodes: ProfileNode[];
    samples: number[];
    timeDeltas: number[];
  };
  const requests = warm * 3 + rps * SECONDS;
  const byId = new Map(prof.nodes.map((n) => [n.id!, n]));
  const parent = new Map<number, number>();
  for (const n of prof.nodes) for (const c of (n.children ?? []) as number[]) parent.set(c, n.id!);
  const f: CpuFigures = { rps, busy: 0, idle: 0, self: new Map(), layers: new Map(), inclusive: new Map() };
  const add = (m: Map<string, number>, k: string, us: number) => m.set(k, (m.get(k) ?? 0) + us / requests);
  prof.samples.forEach((id, i) => {
    const cf = byId.get(id)!.callFrame;
    const us = prof.timeDeltas[i] ?? 0;
    if (cf.functionName === "(idle)") return void (f.idle += us / requests);
    f.busy += us / requests;
    add(f.self, frame(cf), us);
    add(f.layers, layer(cf), us);
    const onStack = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const c = byId.get(at)!.callFrame;
      if (/\/(src|scripts)\//.test(c.url)) onStack.add(frame(c));
    }
    for (const k of onStack) add(f.inclusive, k, us);
  });
  return f;
}

/** Rows of `a` and `b` side by side (µs per request), the largest difference first. */
function compare(a: Map<string, number>, b: Map<string, number>, top: number): void {
  const keys = new Set([...a.keys(), ...b.keys()]);
  const rows = [...keys].map((k) => [k, a.get(k) ?? 0, b.get(k) ?? 0] as const)
    .sort((x, y) => (y[1] - y[2]) - (x[1] - x[2])).slice(0, top);
  for (const [k, x, y] of rows) {
    // deno-lint-ignore no-console
    console.log(
      `${x.toFixed(1).padStart(7)} ${y.toFixed(1).padStart(7)} ${(x - y).toFixed(1).padStart(7)}  ${k}`,
    );
  }
}

try {
  const upstream = `http://127.0.0.1:${Number(await firstLine(mock))}/v1`;
  const unit = STREAM ? "stream" : "request";
  if (mode === "cpu") {
    const ours = await cpuProfile("llmproxy", upstream);
    const floor = await cpuProfile("floor", upstream);
    const log = (line: string) => {
      // deno-lint-ignore no-console
      console.log(line);
    };
    log(
      `llmproxy ${ours.rps.toFixed(0)} ${unit}s/s, the gateway floor (floor.ts gw) ${
        floor.rps.toFixed(0)
      }; ` +
        `both with llmproxy's V8 flags. µs of CPU per ${unit} on the main thread (warm-up included):`,
    );
    log(`llmproxy  floor   added`);
    log(
      `${ours.busy.toFixed(1).padStart(7)} ${floor.busy.toFixed(1).padStart(7)} ${
        (ours.busy - floor.busy).toFixed(1).padStart(7)
      }  busy (idle: ${ours.idle.toFixed(1)} and ${floor.idle.toFixed(1)})`,
    );
    log("by layer:");
    compare(ours.layers, floor.layers, 12);
    log("by function (self time), the largest additions first:");
    compare(ours.self, floor.self, TOP);
    log(
      "our functions, inclusive (the time they are on the stack, their callees' included; an async function's",
    );
    log("time after an await counts under the microtask that resumes it):");
    compare(ours.inclusive, new Map(), TOP);
  } else {
    const port = freePort(), inspectPort = freePort();
    const child = spawn(
      [`--inspect=127.0.0.1:${inspectPort}`, ...v8Flags, ...proxyArgs(upstream, dir, port)],
      proxyEnv(dir),
    );
    children.push(child);
    const base = `http://127.0.0.1:${port}/v1`;
    await listening(port, child);
    await wrk(base, body, connections, 3, dir);
    const inspector = await connectInspector(inspectPort);
    const call = inspector.call;
    await call("HeapProfiler.enable");
    await call("HeapProfiler.startSampling", {
      samplingInterval: Number(Deno.env.get("SI") ?? 8192),
      includeObjectsCollectedByMajorGC: true,
      includeObjectsCollectedByMinorGC: false,
    });
    const rps = await wrk(base, body, connections, SECONDS, dir);
    const { profile } = await call("HeapProfiler.stopSampling") as { profile: { head: ProfileNode } };
    inspector.close();
    const sites = new Map<string, number>();
    let total = 0;
    const walk = (n: ProfileNode, stack: string[]) => {
      const path = [frame(n.callFrame), ...stack].slice(0, 3);
      if (n.selfSize) {
        const k = path.join(" < ");
        sites.set(k, (sites.get(k) ?? 0) + n.selfSize);
        total += n.selfSize;
      }
      for (const c of (n.children ?? []) as ProfileNode[]) walk(c, path);
    };
    walk(profile.head, []);
    const requests = rps * SECONDS;
    // deno-lint-ignore no-console
    console.log(
      `${rps.toFixed(0)} ${unit + "s"}/s under the inspector; sampled objects that outlived ` +
        `the scavenges: ${(total / requests).toFixed(0)} B per ${unit}, by site:`,
    );
    print(sites, (v) => `${(v / requests).toFixed(0)} B`, TOP);
  }
} finally {
  for (const c of children) {
    try {
      c.kill("SIGTERM");
    } catch { /* ended */ }
  }
  await Promise.all(children.map((c) => c.status));
  await Deno.remove(dir, { recursive: true });
}
