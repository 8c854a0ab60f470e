/**
 * What a JSON request costs each thread of a target, and what it leaves to the garbage collector, under
 * `wrk -c32` (issue 19): requests/s, process CPU per request split into the main thread (`deno`) and V8's helper
 * threads (parallel scavenges, concurrent marking), and from `--trace-gc-nvp` the bytes promoted to the old
 * generation per request and the full collections. Targets: `floor:VARIANT` (scripts/bench/floor.ts, e.g.
 * `floor:gw`) or `proxy:CHECKOUT` (llmproxy from a checkout; `.` for this one). V8 runs with the checkout's
 * shipped flags for llmproxy and with its defaults for a floor, unless a third field says: `:v8=none` (V8's
 * defaults), `:v8=shipped` (this checkout's `deno task start` flags, e.g. for a floor), `:v8=--flag,--flag`.
 * ROUNDS (3), SECONDS (5 per round, after 1 s of warm-up) and CONNECTIONS (32, wrk's) in the environment.
 *   ROUNDS=3 deno run -A scripts/bench/gc_cost.ts floor:gw proxy:. proxy:../other-checkout
 *   deno run -A scripts/bench/gc_cost.ts floor:gw floor:gw:v8=shipped proxy:. proxy:.:v8=none
 */
import { firstLine, freePort, listening, median, proxyArgs, proxyEnv, spawn, wrk } from "./side_by_side.ts";
import { shippedV8Flags } from "../v8_flags.ts";

const ROUNDS = Number(Deno.env.get("ROUNDS") ?? 3);
const SECONDS = Number(Deno.env.get("SECONDS") ?? 5);
const CONNECTIONS = Number(Deno.env.get("CONNECTIONS") ?? 32);

interface Run {
  name: string;
  base: string;
  model: string;
  child: Deno.ChildProcess;
  /** The `--trace-gc-nvp` lines written while `collect` is true. */
  gc: string[];
  collect: boolean;
  /** Ends when the child's stdout does. */
  drained: Promise<void>;
}

/** CPU ms of a process's threads, by thread name (numbered helper threads summed under one name). */
function threadCpu(pid: number): Map<string, number> {
  const m = new Map<string, number>();
  for (const e of Deno.readDirSync(`/proc/${pid}/task`)) {
    try {
      const st = Deno.readTextFileSync(`/proc/${pid}/task/${e.name}/stat`);
      const name = st.slice(st.indexOf("(") + 1, st.lastIndexOf(")")).replace(/[0-9]+$/, "");
      const f = st.slice(st.lastIndexOf(")") + 2).split(" ");
      m.set(name, (m.get(name) ?? 0) + (Number(f[11]) + Number(f[12])) * 10);
    } catch { /* the thread ended */ }
  }
  return m;
}

/** Follow a target: read its stdout for good (so it never blocks on a full pipe), keeping GC lines while `collect`. */
async function follow(name: string, model: string, child: Deno.ChildProcess, port: number): Promise<Run> {
  const run: Run = {
    name,
    base: `http://127.0.0.1:${port}/v1`,
    model,
    child,
    gc: [],
    collect: false,
    drained: Promise.resolve(),
  };
  run.drained = (async () => {
    let buf = "";
    for await (const text of child.stdout.pipeThrough(new TextDecoderStream())) {
      buf += text;
      let i;
      while ((i = buf.indexOf("\n")) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        if (run.collect && line.includes('"gc":')) run.gc.push(line);
      }
    }
  })();
  await listening(port, child);
  return run;
}

const targets = Deno.args.map((arg) => {
  const [kind, what = "", v8 = ""] = arg.split(":");
  if ((kind !== "floor" && kind !== "proxy") || (v8 && !v8.startsWith("v8="))) {
    // deno-lint-ignore no-console
    console.error(`unknown target ${arg}: floor:VARIANT[:v8=…] or proxy:CHECKOUT[:v8=…]`);
    Deno.exit(2);
  }
  return { arg, kind, what, v8: v8.slice(3) };
});
const thisCheckout = new URL("../../", import.meta.url).pathname;
const dir = await Deno.makeTempDir({ prefix: "llmproxy-gc-" });
const mock = spawn(["scripts/bench/mock.ts"]);
/** Every process started, stopped at the end whatever happens (one that never listened too). */
const children: Deno.ChildProcess[] = [mock];
const runs: Run[] = [];
const figures = new Map<string, { rps: number[]; rows: Record<string, number>[] }>();
try {
  const upstream = `http://127.0.0.1:${Number(await firstLine(mock))}/v1`;
  for (const { arg, kind, what, v8 } of targets) {
    const port = freePort();
    const checkout = kind === "proxy" ? new URL(what || ".", `file://${Deno.cwd()}/`).pathname : thisCheckout;
    // V8's flags besides the GC trace: a checkout's shipped ones for llmproxy, V8's defaults for a floor.
    const choice = v8 || (kind === "proxy" ? "shipped" : "none");
    const flags = choice === "none"
      ? ""
      : choice === "shipped"
      ? (await shippedV8Flags(checkout))[0]?.replace(/^--v8-flags=/, "") ?? ""
      : choice;
    const v8Arg = `--v8-flags=--trace-gc-nvp${flags ? `,${flags}` : ""}`;
    const child = kind === "floor"
      ? spawn(["--unstable-no-legacy-abort", v8Arg, "scripts/bench/floor.ts", upstream, what], {
        PORT: String(port),
      })
      : spawn([v8Arg, ...proxyArgs(upstream, dir, port)], proxyEnv(dir), checkout);
    children.push(child);
    runs.push(await follow(arg, kind === "floor" ? "bench" : "openrouter:bench", child, port));
    figures.set(arg, { rps: [], rows: [] });
  }
  for (let round = 0; round < ROUNDS; round++) {
    for (const r of runs) {
      const body = { model: r.model, messages: [{ role: "user", content: "hi" }] };
      await wrk(r.base, body, CONNECTIONS, 1, dir); // warm-up
      const before = threadCpu(r.child.pid);
      r.gc = [];
      r.collect = true;
      const rps = await wrk(r.base, body, CONNECTIONS, SECONDS, dir);
      r.collect = false;
      const after = threadCpu(r.child.pid);
      const n = rps * SECONDS;
      const us = (name: string) => ((after.get(name) ?? 0) - (before.get(name) ?? 0)) * 1000 / n;
      let all = 0;
      for (const name of after.keys()) all += us(name);
      const field = (line: string, k: string) => Number(new RegExp(`"${k}":([0-9.]+)`).exec(line)?.[1] ?? 0);
      const scavenges = r.gc.filter((l) => l.includes('"gc":"s"'));
      figures.get(r.name)!.rps.push(rps);
      figures.get(r.name)!.rows.push({
        cpu: all,
        main: us("deno"),
        helpers: us("V8 DefaultWorke"),
        promoted: scavenges.reduce((s, l) => s + field(l, "promoted"), 0) / n,
        full: (r.gc.length - scavenges.length) / SECONDS,
        scavenges: scavenges.length / SECONDS,
        pause: r.gc.reduce((s, l) => s + field(l, "pause"), 0) * 1000 / n,
      });
    }
  }
} finally {
  for (const c of children) {
    try {
      c.kill("SIGTERM");
    } catch { /* already ended */ }
  }
  await Promise.all([...children.map((c) => c.status), ...runs.map((r) => r.drained)]);
  await Deno.remove(dir, { recursive: true });
}
// deno-lint-ignore no-console
console.log(
  `wrk -c${CONNECTIONS}, ${ROUNDS} rounds of ${SECONDS} s per target, medians of the rounds (CPU in µs per request)`,
);
for (const r of runs) {
  const f = figures.get(r.name)!;
  const m = (k: string) => median(f.rows.map((row) => row[k]));
  // deno-lint-ignore no-console
  console.log(
    `${r.name.padEnd(28)} ${median(f.rps).toFixed(0).padStart(6)} req/s · CPU ${
      m("cpu").toFixed(0).padStart(3)
    }: main ${m("main").toFixed(0).padStart(3)}, V8 helpers ${
      m("helpers").toFixed(1).padStart(4)
    } · promoted ${m("promoted").toFixed(0).padStart(5)} B/req · scavenges ${
      m("scavenges").toFixed(0)
    }/s · full GCs ${m("full").toFixed(1)}/s · GC pauses ${m("pause").toFixed(1)} µs/req`,
  );
}
