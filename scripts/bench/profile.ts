/**
 * Where llmproxy's time and its garbage collector's work go under load (issue 19): one llmproxy process (this
 * checkout, its shipped V8 flags) against the bench mock, loaded by `wrk` — JSON requests at 32 connections, or
 * with `stream` the 200-stream load of the bench's table (20 chunks 10 ms apart) — for SECONDS (default 8) after
 * 3 s of warm-up.
 *   deno run -A scripts/bench/profile.ts cpu [stream]        # self time by function, and by layer
 *   deno run -A scripts/bench/profile.ts survivors [stream]  # allocation sites of what outlives the scavenges
 * `cpu`: V8's CPU profile (`--cpu-prof`, one sample per 200 µs) of the measured seconds and the warm-up: the
 * share of the busy time (not idle) of each function's own code, and of our code (`src/`), the runtime's
 * JavaScript (`ext:`) and its native parts (GC, ops). `survivors`: V8's sampling heap profiler through the
 * inspector, keeping the objects collected by full collections and those still alive, not those the young
 * generation's collections (scavenges) freed: bytes per request by allocation site (the site and two callers),
 * which are what a request leaves to full collections. The inspector slows the process, so lifetimes stretch;
 * compare sites, not totals. TOP (env): rows printed (default 40); SI: the sampling interval in bytes (8192).
 */
import { firstLine, freePort, listening, proxyArgs, proxyEnv, spawn, wrk } from "./side_by_side.ts";
import { shippedV8Flags } from "../v8_flags.ts";

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
  callFrame: { functionName: string; url: string; lineNumber: number };
  selfSize?: number;
  children?: ProfileNode[] | number[];
}

/** `name file:line` of a frame, the file relative to the checkout, the runtime's or node_modules. */
function frame(cf: ProfileNode["callFrame"]): string {
  const url = cf.url.replace(/^.*\/(src|scripts|node_modules)\//, "$1/");
  return `${cf.functionName || "(anonymous)"} ${url || "(native)"}:${cf.lineNumber + 1}`;
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
const upstream = `http://127.0.0.1:${Number(await firstLine(mock))}/v1`;
const port = freePort(), inspectPort = freePort();
const child = spawn([
  ...(mode === "cpu"
    ? ["--cpu-prof", `--cpu-prof-dir=${dir}/cpu`, "--cpu-prof-interval=200"]
    : [`--inspect=127.0.0.1:${inspectPort}`]),
  ...await shippedV8Flags(new URL("../../", import.meta.url).pathname),
  ...proxyArgs(upstream, dir, port),
], proxyEnv(dir));
const base = `http://127.0.0.1:${port}/v1`;
try {
  await listening(port, child);
  await wrk(base, body, connections, 3, dir);
  if (mode === "cpu") {
    const rps = await wrk(base, body, connections, SECONDS, dir);
    child.kill("SIGTERM");
    await child.status;
    const [file] = [...Deno.readDirSync(`${dir}/cpu`)];
    const prof = JSON.parse(await Deno.readTextFile(`${dir}/cpu/${file.name}`)) as {
      nodes: ProfileNode[];
      samples: number[];
      timeDeltas: number[];
    };
    const byId = new Map(prof.nodes.map((n) => [n.id!, n]));
    const self = new Map<string, number>(), layers = new Map<string, number>();
    let busy = 0, idle = 0;
    prof.samples.forEach((id, i) => {
      const cf = byId.get(id)!.callFrame;
      const us = prof.timeDeltas[i] ?? 0;
      if (cf.functionName === "(idle)") return void (idle += us);
      busy += us;
      self.set(frame(cf), (self.get(frame(cf)) ?? 0) + us);
      layers.set(layer(cf), (layers.get(layer(cf)) ?? 0) + us);
    });
    const pct = (v: number) => `${(100 * v / busy).toFixed(1)} %`;
    // deno-lint-ignore no-console
    console.log(
      `${rps.toFixed(0)} ${STREAM ? "streams" : "requests"}/s; profiled ${(busy / 1e6).toFixed(1)} s busy, ${
        (idle / 1e6).toFixed(1)
      } s idle (warm-up included); shares of the busy time — by layer:`,
    );
    print(layers, pct, 12);
    // deno-lint-ignore no-console
    console.log("by function (self time):");
    print(self, pct, TOP);
  } else {
    const list = await (await fetch(`http://127.0.0.1:${inspectPort}/json/list`)).json() as {
      webSocketDebuggerUrl: string;
    }[];
    const ws = new WebSocket(list[0].webSocketDebuggerUrl);
    await new Promise((resolve, reject) => {
      ws.onopen = resolve;
      ws.onerror = reject;
    });
    let id = 0;
    const waiting = new Map<number, (result: unknown) => void>();
    ws.onmessage = (e) => {
      const m = JSON.parse(e.data) as { id?: number; result?: unknown };
      if (m.id !== undefined) waiting.get(m.id)?.(m.result);
    };
    const call = (method: string, params: unknown = {}) =>
      new Promise<unknown>((resolve) => {
        waiting.set(++id, resolve);
        ws.send(JSON.stringify({ id, method, params }));
      });
    await call("HeapProfiler.enable");
    await call("HeapProfiler.startSampling", {
      samplingInterval: Number(Deno.env.get("SI") ?? 8192),
      includeObjectsCollectedByMajorGC: true,
      includeObjectsCollectedByMinorGC: false,
    });
    const rps = await wrk(base, body, connections, SECONDS, dir);
    const { profile } = await call("HeapProfiler.stopSampling") as { profile: { head: ProfileNode } };
    ws.close();
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
      `${rps.toFixed(0)} ${
        STREAM ? "streams" : "requests"
      }/s under the inspector; sampled objects that outlived ` +
        `the scavenges: ${(total / requests).toFixed(0)} B per ${STREAM ? "stream" : "request"}, by site:`,
    );
    print(sites, (v) => `${(v / requests).toFixed(0)} B`, TOP);
  }
} finally {
  try {
    child.kill("SIGTERM");
  } catch { /* ended */ }
  mock.kill("SIGTERM");
  await Promise.all([child.status, mock.status]);
  await Deno.remove(dir, { recursive: true });
}
