/**
 * Side-by-side benchmark (issue 8): the mock upstream directly, the floor (bare Deno pass-through), the gateway
 * floor (`floor.ts gw`: the runtime calls any gateway that routes by the request's model, enforces timeouts and
 * records usage must make — the request parsed, an abort, a timer and the client's signal on the upstream call,
 * a JSON answer read and parsed, a stream read chunk by chunk into one JS stream as llmproxy reads it; issue
 * 19), llmproxy (usage recording and redaction on, auth off) and llmproxy `--workers 2` (or, with
 * `BENCH_BASELINE=DIR`, llmproxy of the checkout DIR: an A/B in one run), measured interleaved in one run, plus
 * llmproxy with recording off for the recording-cost figure, and for the idle-RSS row the runtime with llmproxy's
 * start-up dependencies, without and with its code loaded (deps_floor.ts). Each target row says met, missed, or
 * missed where the gateway floor misses it too. The 200-stream row also shows each stream's time as the mock
 * itself saw it (`GET /bench/streams`) and the share net of how much longer that was than under direct's load:
 * the mock shares the machine's cores with the proxy under test, so a proxy's CPU slows the upstream too. That
 * figure explains, it does not judge: it credits a proxy more the more CPU it takes.
 * Needs `wrk` (Debian package `wrk`) for the throughput rows.
 */
import { NAME } from "../../src/core/version.ts";
import { shippedV8Flags } from "../v8_flags.ts";

const DENO = Deno.execPath();
const ROOT = new URL("../../", import.meta.url).pathname;

/** A benchmark target: a base URL (…/v1) and, for spawned ones, the process. */
export interface Target {
  name: string;
  base: string;
  child?: Deno.ChildProcess;
  model: string;
}

/** The first line a child prints on stdout (the mock's port, llmproxy's summary line). */
export async function firstLine(child: Deno.ChildProcess): Promise<string> {
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let out = "";
  while (!out.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) break;
    out += value;
  }
  reader.releaseLock();
  return out.split("\n")[0];
}

/** `deno run -A` a script of this repository (or of the checkout `cwd`). */
export function spawn(args: string[], env: Record<string, string> = {}, cwd = ROOT): Deno.ChildProcess {
  return new Deno.Command(DENO, {
    args: ["run", "-A", "--quiet", ...args],
    env: { NO_COLOR: "1", ...env },
    stdout: "piped",
    stderr: "null",
    cwd,
  }).spawn();
}

/** A port free right now. */
export function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = l.addr.port;
  l.close();
  return port;
}

/**
 * Wait until `port` accepts a connection (up to 20 s, or until `child` ends), for a target whose own
 * "listening" line cannot be read reliably: V8's GC trace or the inspector write to the same output in pieces,
 * and a line of the target's lands inside one.
 */
export async function listening(port: number, child: Deno.ChildProcess): Promise<void> {
  let ended = false;
  child.status.then(() => (ended = true));
  for (let i = 0; i < 1000 && !ended; i++) {
    try {
      (await Deno.connect({ hostname: "127.0.0.1", port })).close();
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 20));
    }
  }
  throw new Error(`nothing listens on port ${port}`);
}

/**
 * llmproxy's script and arguments as the bench runs it (after `deno run`'s own): auth off, its store, log and
 * data in `dir`, the openrouter backend pointed at the mock `upstream`; `port` 0: any free one.
 */
export function proxyArgs(upstream: string, dir: string, port = 0): string[] {
  return [
    "src/main.ts",
    "--disable-auth",
    "--port",
    String(port),
    "--data-dir",
    dir,
    "--log",
    `${dir}/proxy-${crypto.randomUUID()}.log`,
    "--kv",
    `${dir}/bench-${crypto.randomUUID()}.kv`,
    "--openrouter-api-base-url",
    upstream,
  ];
}

/** The environment {@link proxyArgs} goes with: the openrouter key, and `dir` as HOME (the same Deno cache). */
export function proxyEnv(dir: string): Record<string, string> {
  return {
    OPENROUTER_API_KEY: "sk-or-v1-" + "0".repeat(64),
    HOME: dir,
    DENO_DIR: Deno.env.get("DENO_DIR") ?? `${Deno.env.get("HOME")}/.cache/deno`,
  };
}

/**
 * Start llmproxy as `deno task start` runs it (its V8 flags, unless `v8Flags` is given) plus bench-only flags;
 * resolves on its summary line.
 */
export async function startProxy(
  upstream: string,
  dir: string,
  extra: string[] = [],
  checkout = ROOT,
  v8Flags?: string[],
): Promise<Target & { startMs: number }> {
  v8Flags ??= await shippedV8Flags(checkout);
  const t0 = performance.now();
  const child = spawn([...v8Flags, ...proxyArgs(upstream, dir), ...extra], proxyEnv(dir), checkout);
  const line = await firstLine(child);
  const startMs = performance.now() - t0;
  const m = /(http:\/\/\S+)\/v1/.exec(line);
  if (!m) throw new Error(`${NAME} did not start: ${line}`);
  return { name: "llmproxy", base: `${m[1]}/v1`, child, model: "openrouter:bench", startMs };
}

/** One module of `deno info --json`: its specifier and its dependencies (the fields read here). */
interface InfoModule {
  specifier: string;
  dependencies?: { code?: { specifier: string }; isDynamic?: boolean; assertionType?: string }[];
}

/**
 * The npm and `node:` specifiers llmproxy's start-up loads: those its static import graph from src/main.ts
 * reaches (`deno info --json`), not those imported dynamically (zod for a --config file, dotenv for a .env
 * file), nor files imported as data (the console's) — what scripts/bench/deps_floor.ts loads without our code.
 */
export async function startupImports(checkout = ROOT): Promise<string[]> {
  const out = await new Deno.Command(DENO, {
    args: ["info", "--json", "src/main.ts"],
    cwd: checkout,
    stdout: "piped",
    stderr: "null",
  }).output();
  const info = JSON.parse(new TextDecoder().decode(out.stdout)) as { roots: string[]; modules: InfoModule[] };
  const modules = new Map(info.modules.map((m) => [m.specifier, m]));
  const seen = new Set<string>(), external = new Set<string>();
  const walk = (specifier: string) => {
    if (seen.has(specifier)) return;
    seen.add(specifier);
    for (const d of modules.get(specifier)?.dependencies ?? []) {
      const to = d.code?.specifier;
      if (!to || d.isDynamic || d.assertionType) continue; // with a type (text): the console's files, data
      if (to.startsWith("file:")) walk(to);
      else if (to.startsWith("npm:") || to.startsWith("node:")) external.add(to);
    }
  };
  for (const r of info.roots) walk(r);
  return [...external].sort();
}

/** Resident memory of a process, MB (Linux /proc). */
export function rssMb(pid: number): number {
  const status = Deno.readTextFileSync(`/proc/${pid}/status`);
  return Number(/VmRSS:\s+(\d+)/.exec(status)![1]) / 1024;
}

/** CPU time (user + system) a process has used, in ms (Linux /proc; clock ticks of 10 ms). */
export function cpuMs(pid: number): number {
  const fields = Deno.readTextFileSync(`/proc/${pid}/stat`).split(") ")[1].split(" ");
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
}

/** The median of `xs`. */
export const median = (xs: number[]) => percentile([...xs].sort((a, b) => a - b), 0.5);

async function post(base: string, body: unknown): Promise<Response> {
  return await fetch(`${base}/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
}

/**
 * Sequential non-streaming latency: per round, the median of N requests; with `gapMs`, each request comes that
 * long after the previous answer (a request that finds the target idle, as a coding agent's do).
 */
async function sequentialLatency(targets: Target[], rounds: number, n: number, gapMs = 0) {
  const roundMedians = new Map<string, number[]>(targets.map((t) => [t.name, []]));
  const all = new Map<string, number[]>(targets.map((t) => [t.name, []]));
  for (let r = 0; r < rounds; r++) {
    for (const t of targets) {
      const xs: number[] = [];
      for (let i = 0; i < n; i++) {
        const t0 = performance.now();
        const res = await post(t.base, { model: t.model, messages: [{ role: "user", content: "hi" }] });
        await res.arrayBuffer();
        xs.push(performance.now() - t0);
        if (gapMs) await new Promise((resolve) => setTimeout(resolve, gapMs));
      }
      roundMedians.get(t.name)!.push(median(xs));
      all.get(t.name)!.push(...xs);
    }
  }
  return Object.fromEntries(targets.map((t) => {
    const sorted = all.get(t.name)!.sort((a, b) => a - b);
    return [t.name, { median: median(roundMedians.get(t.name)!), p99: percentile(sorted, 0.99) }];
  }));
}

/** The stream-TTFB row's streams: this many chunks, this far apart (`seq_cpu.ts STREAM=1` sends the same). */
export const TTFB_STREAM = { chunks: 10, spacingMs: 10 };

/** Streaming: time to first content byte and gaps between chunks (mock spaces them `spacing` ms). */
async function streamTimings(targets: Target[], rounds: number, n: number, chunks: number, spacing: number) {
  const ttfb = new Map<string, number[]>(targets.map((t) => [t.name, []]));
  const gaps = new Map<string, number[]>(targets.map((t) => [t.name, []]));
  for (let r = 0; r < rounds; r++) {
    for (const t of targets) {
      for (let i = 0; i < n; i++) {
        const t0 = performance.now();
        const res = await post(t.base, {
          model: t.model,
          messages: [{ role: "user", content: "hi" }],
          stream: true,
          bench_chunks: chunks,
          bench_spacing_ms: spacing,
        });
        const reader = res.body!.getReader();
        let last = 0;
        let first = true;
        for (;;) {
          const { done } = await reader.read();
          if (done) break;
          const now = performance.now();
          if (first) {
            ttfb.get(t.name)!.push(now - t0);
            first = false;
          } else gaps.get(t.name)!.push(now - last);
          last = now;
        }
      }
    }
  }
  return Object.fromEntries(targets.map((t) => {
    const g = gaps.get(t.name)!.filter((x) => x > spacing / 2).sort((a, b) => a - b);
    return [t.name, { ttfb: median(ttfb.get(t.name)!), gapP99: percentile(g, 0.99) }];
  }));
}

/** Throughput with wrk: requests/s at `connections` for `seconds`. */
export async function wrk(
  base: string,
  body: unknown,
  connections: number,
  seconds: number,
  dir: string,
): Promise<number> {
  const script = `${dir}/wrk-${crypto.randomUUID()}.lua`;
  await Deno.writeTextFile(
    script,
    `wrk.method = "POST"\nwrk.body = ${
      JSON.stringify(JSON.stringify(body))
    }\nwrk.headers["Content-Type"] = "application/json"\n`,
  );
  const out = await new Deno.Command("wrk", {
    args: [
      "-t2",
      `-c${connections}`,
      `-d${seconds}s`,
      "--timeout",
      "10s",
      "-s",
      script,
      `${base}/chat/completions`,
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout);
  const rps = /Requests\/sec:\s+([\d.]+)/.exec(text);
  const errors = /Non-2xx or 3xx responses: (\d+)/.exec(text);
  if (!rps) throw new Error(`wrk failed: ${text}${new TextDecoder().decode(out.stderr)}`);
  if (errors) throw new Error(`wrk saw ${errors[1]} error responses from ${base}`);
  return Number(rps[1]);
}

/** The issue-19 load's stream request for `t`: 20 chunks 10 ms apart, usage asked. */
export const streamBody = (t: Target) => ({
  model: t.model,
  messages: [{ role: "user", content: "hi" }],
  stream: true,
  stream_options: { include_usage: true },
  bench_chunks: 20,
  bench_spacing_ms: 10,
});

/**
 * While `load` runs (200 streams), one extra stream at a time every 100 ms from 1 s in: its time to first
 * byte (ms). What a new request waits behind running streams (issue 19).
 */
export async function extraStreamTtfb(t: Target, body: unknown, load: Promise<unknown>): Promise<number[]> {
  let running = true;
  const ended = load.finally(() => (running = false));
  const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));
  await Promise.race([pause(1000), ended]);
  const out: number[] = [];
  while (running) {
    const t0 = performance.now();
    const res = await post(t.base, body);
    const reader = res.body!.getReader();
    const first = await reader.read();
    if (!first.done && running) out.push(performance.now() - t0);
    while (!(await reader.read()).done) { /* drain */ }
    await Promise.race([pause(100), ended]);
  }
  await ended;
  return out;
}

/**
 * A row's verdict: met; missed; or missed where the gateway floor (the bare floor plus the runtime calls a
 * gateway cannot avoid: the request parsed, the upstream call watched, the answer read, every chunk of a stream
 * read into JS to see usage and in-band errors after the commit) misses it too — a miss the runtime's price
 * explains.
 */
export type Verdict = "met" | "missed" | "explained";

/** One row of the table: figure, measured values, target, verdict (none for context rows). */
export type Row = [string, string, string, Verdict | undefined];

/** All figures of one side-by-side run. */
export interface SideBySide {
  rows: Row[];
  /** Every row met or explained by the gateway floor. */
  ok: boolean;
  /** The load average when the run ended (1, 5, 15 min): the machine is shared. */
  load: string;
}

/** The verdict of `ours` against a target, given whether the gateway floor met the same target. */
function verdict(ours: boolean, jsFloor?: boolean): Verdict {
  return ours ? "met" : jsFloor === false ? "explained" : "missed";
}

/**
 * The mean time (ms) of the streams the bench mock ended since the last call, as the mock saw them; the call
 * starts its count anew (scripts/bench/mock.ts). Undefined when none ended.
 */
async function mockStreamMs(upstream: string): Promise<number | undefined> {
  const res = await fetch(new URL("/bench/streams", upstream));
  const { streams, meanMs } = await res.json() as { streams: number; meanMs: number | null };
  return streams > 0 && typeof meanMs === "number" ? meanMs : undefined;
}

/** The names of the targets in the table. */
const DIRECT = "direct";
const FLOOR = "floor";
const JS_FLOOR = "floor gw";
/** The gateway floor whose JSON answer carries llmproxy's headers (sequential latency only). */
const HEADS_FLOOR = "floor gw+heads";
const PROXY = "llmproxy";
const PROXY2 = "llmproxy w2";

/**
 * The second llmproxy column: `--workers 2` of this checkout, or with `BENCH_BASELINE=DIR` llmproxy from the
 * checkout DIR (an older commit in a git worktree: the A/B of a change, every figure in one interleaved run).
 */
const BASELINE = Deno.env.get("BENCH_BASELINE");
const SECOND = BASELINE
  ? {
    short: "base",
    row: "  baseline checkout",
    args: [] as string[],
    checkout: BASELINE,
    legend: `base = llmproxy of ${BASELINE}`,
  }
  : {
    short: "w2",
    row: "  with --workers 2",
    args: ["--workers", "2"],
    checkout: ROOT,
    legend: "w2 = llmproxy --workers 2",
  };
const NO_RECORD = "llmproxy (recording off)";
/**
 * The pause before each request of the idle-latency row: the stream-TTFB row's requests find the target idle
 * for about this long (10 chunks 10 ms apart), and on this machine idle makes every process's next request
 * several times slower (scripts/bench/RESULTS.md, "what idle costs").
 */
const IDLE_GAP_MS = 100;

/**
 * Run the side-by-side benchmark: direct, the floor, the gateway floor (`floor.ts gw`), llmproxy and
 * llmproxy `--workers 2`, interleaved round by round.
 */
export async function runSideBySide(opts: { rounds: number; seconds: number }): Promise<SideBySide> {
  const dir = await Deno.makeTempDir({ prefix: "llmproxy-bench-" });
  const children: Deno.ChildProcess[] = [];
  try {
    const mockChild = spawn(["scripts/bench/mock.ts"]);
    children.push(mockChild);
    const mockPort = Number(await firstLine(mockChild));
    const upstream = `http://127.0.0.1:${mockPort}/v1`;
    const floorChild = spawn(["scripts/bench/floor.ts", upstream]);
    children.push(floorChild);
    const floorPort = Number(await firstLine(floorChild));
    const jsFloorChild = spawn(["scripts/bench/floor.ts", upstream, "gw"]);
    children.push(jsFloorChild);
    const jsFloorPort = Number(await firstLine(jsFloorChild));
    const headsFloorChild = spawn(["scripts/bench/floor.ts", upstream, "gw,heads"]);
    children.push(headsFloorChild);
    const headsFloorPort = Number(await firstLine(headsFloorChild));

    const starts: number[] = [];
    let proxy!: Target & { startMs: number };
    for (let i = 0; i < 3; i++) {
      if (proxy) {
        proxy.child!.kill("SIGTERM");
        await proxy.child!.status;
      }
      proxy = await startProxy(upstream, dir);
      starts.push(proxy.startMs);
    }
    children.push(proxy.child!);
    const proxy2 = await startProxy(upstream, dir, SECOND.args, SECOND.checkout);
    children.push(proxy2.child!);
    proxy2.name = PROXY2;
    const imports = await startupImports();
    const v8 = await shippedV8Flags(ROOT);
    const probe = (...first: string[]) =>
      spawn([
        "--unstable-kv",
        ...v8,
        "scripts/bench/deps_floor.ts",
        ...first,
        `${dir}/${crypto.randomUUID()}.kv`,
        ...imports,
      ]);
    const depsChild = probe();
    const codeChild = probe("--modules");
    children.push(depsChild, codeChild);
    for (const line of await Promise.all([firstLine(depsChild), firstLine(codeChild)])) {
      if (!/^\d+$/.test(line)) throw new Error(`deps_floor.ts did not start (it printed "${line}")`);
    }
    const noRecord = await startProxy(upstream, dir, ["--disable-usage-log"]);
    children.push(noRecord.child!);
    noRecord.name = NO_RECORD;
    await new Promise((r) => setTimeout(r, 500));
    const rssIdle = rssMb(proxy.child!.pid);
    const rssDeps = rssMb(depsChild.pid);
    const rssCode = rssMb(codeChild.pid);
    for (const c of [depsChild, codeChild]) {
      c.kill("SIGTERM"); // measured: the rest of the run has the processes it had before they were added
      await c.status;
    }

    const direct: Target = { name: DIRECT, base: upstream, model: "bench" };
    const floor: Target = { name: FLOOR, base: `http://127.0.0.1:${floorPort}/v1`, model: "bench" };
    const jsFloor: Target = { name: JS_FLOOR, base: `http://127.0.0.1:${jsFloorPort}/v1`, model: "bench" };
    const all = [direct, floor, jsFloor, proxy, proxy2];
    const headsFloor: Target = {
      name: HEADS_FLOOR,
      base: `http://127.0.0.1:${headsFloorPort}/v1`,
      model: "bench",
    };
    const pids: Record<string, number> = {
      [FLOOR]: floorChild.pid,
      [JS_FLOOR]: jsFloorChild.pid,
      [PROXY]: proxy.child!.pid,
      [PROXY2]: proxy2.child!.pid,
    };

    // warm-up
    for (const t of [...all, headsFloor, noRecord]) await sequentialLatency([t], 1, 50);

    // 1000 a round (about half a second a target): with 200, one round's median moved by up to ±50 µs between
    // rounds of the same target, a third of the row's target (floor + 0.15 ms).
    const seq = await sequentialLatency([...all, headsFloor], opts.rounds, 1000);
    const idle = await sequentialLatency(all, 3, 20, IDLE_GAP_MS);
    const nonStreamBody = (t: Target) => ({ model: t.model, messages: [{ role: "user", content: "hi" }] });
    const rps: Record<string, number[]> = Object.fromEntries([...all, noRecord].map((t) => [t.name, []]));
    // CPU µs per request of each process during the throughput runs (less noisy than req/s).
    const cpu: Record<string, number[]> = Object.fromEntries(Object.keys(pids).map((n) => [n, []]));
    for (let r = 0; r < opts.rounds; r++) {
      for (const t of [...all, noRecord]) {
        const pid = pids[t.name];
        const before = pid ? cpuMs(pid) : 0;
        const n = await wrk(t.base, nonStreamBody(t), 32, opts.seconds, dir);
        rps[t.name].push(n);
        if (pid) cpu[t.name].push((cpuMs(pid) - before) * 1000 / (n * opts.seconds));
      }
    }
    const st = await streamTimings(all, opts.rounds, 30, TTFB_STREAM.chunks, TTFB_STREAM.spacingMs);
    const srps: Record<string, number[]> = Object.fromEntries(all.map((t) => [t.name, []]));
    const underLoad: Record<string, number[]> = Object.fromEntries(all.map((t) => [t.name, []]));
    /** The mock's own mean time per stream during each target's load (ms): how much the load slowed it. */
    const mockMs: Record<string, number[]> = Object.fromEntries(all.map((t) => [t.name, []]));
    const rssLoaded: Record<string, number> = {};
    // Share of one core each process used during the streaming load (above 100 %: more than one core).
    const cores: Record<string, number[]> = Object.fromEntries(Object.keys(pids).map((n) => [n, []]));
    for (let r = 0; r < opts.rounds; r++) {
      for (const t of all) {
        const pid = pids[t.name];
        const cpu0 = pid ? cpuMs(pid) : 0;
        await mockStreamMs(upstream);
        const t0 = performance.now();
        const load = wrk(t.base, streamBody(t), 200, opts.seconds, dir);
        const probes = await extraStreamTtfb(t, streamBody(t), load);
        srps[t.name].push(await load);
        underLoad[t.name].push(...probes);
        const own = await mockStreamMs(upstream);
        if (own === undefined) throw new Error(`the mock ended no stream during ${t.name}'s 200-stream load`);
        mockMs[t.name].push(own);
        if (pid) {
          cores[t.name].push((cpuMs(pid) - cpu0) / (performance.now() - t0) * 100);
          rssLoaded[t.name] = Math.max(rssLoaded[t.name] ?? 0, rssMb(pid));
        }
      }
    }

    const m = (xs: number[]) => median(xs);
    const f = (x: number | undefined, d = 2) => x === undefined || Number.isNaN(x) ? "n/a" : x.toFixed(d);
    const added = (name: string) => seq[name].median - seq.direct.median;
    const floorSeq = added(FLOOR);
    const nsShare = (name: string) => m(rps[name]) / m(rps[FLOOR]);
    const recCost = 1 - m(rps[PROXY]) / m(rps[NO_RECORD]);
    const ttfb = (name: string) => st[name].ttfb - st.direct.ttfb;
    const sShare = (name: string) => m(srps[name]) / m(srps.direct);
    /** A stream's time at 200 connections as the client saw it (ms): 200 over the rate. */
    const streamMs = (name: string) => 200_000 / m(srps[name]);
    /** How much longer the mock itself took per stream under this target's load than under direct's (ms). */
    const mockSlower = (name: string) => m(mockMs[name]) - m(mockMs.direct);
    /** The 200-stream share with the mock's own slowdown taken out of each stream's time. */
    const sNetShare = (name: string) => streamMs(DIRECT) / (streamMs(name) - mockSlower(name));
    const busy = (name: string) => m(underLoad[name]);
    /** `floor … · floor gw … · llmproxy … · w2 …` for one figure. */
    const line = (fig: (name: string) => string, names = [FLOOR, JS_FLOOR, PROXY, PROXY2]) =>
      names.map((n) => `${n === PROXY2 ? SECOND.short : n} ${fig(n)}`).join(" · ");
    /** A target row for llmproxy and its `--workers 2` sub-row, each judged against the gateway floor. */
    const targetRows = (
      label: string,
      values: string,
      target: string,
      meets: (name: string) => boolean,
      judge: (name: string) => string,
    ): Row[] => [
      [
        label,
        values,
        `${target}: ${judge(PROXY)} (floor gw ${judge(JS_FLOOR)})`,
        verdict(meets(PROXY), meets(JS_FLOOR)),
      ],
      [SECOND.row, "", `${target}: ${judge(PROXY2)}`, verdict(meets(PROXY2), meets(JS_FLOOR))],
    ];
    const rows: Row[] = [
      [
        "sequential latency, median of round medians (ms)",
        `direct ${f(seq.direct.median, 3)} · ${line((n) => f(seq[n].median, 3))}`,
        "",
        undefined,
      ],
      ...targetRows(
        "  added latency (ms)",
        line((n) => `+${f(added(n), 3)}`),
        `≤ floor + 0.15 = ${f(floorSeq + 0.15, 3)}`,
        (n) => added(n) <= floorSeq + 0.15,
        (n) => `+${f(added(n), 3)}`,
      ),
      [
        "  gateway floor sending llmproxy's answer headers",
        `+${f(added(HEADS_FLOOR), 3)} (floor.ts gw,heads: head and body no longer fit one write)`,
        "",
        undefined,
      ],
      ["  p99 (ms)", `direct ${f(seq.direct.p99)} · ${line((n) => f(seq[n].p99))}`, "", undefined],
      [
        `  after ${IDLE_GAP_MS} ms idle, added (ms)`,
        `direct ${f(idle.direct.median, 3)} · ${
          line((n) => `+${f(idle[n].median - idle.direct.median, 3)}`)
        }`,
        "",
        undefined,
      ],
      ...targetRows(
        "non-stream throughput @32 conns (req/s)",
        `direct ${f(m(rps.direct), 0)} · ${line((n) => f(m(rps[n]), 0))}`,
        "≥ 80 % of floor",
        (n) => nsShare(n) >= 0.8,
        (n) => `${f(nsShare(n) * 100, 1)} %`,
      ),
      ["  CPU per request (µs, process user + system)", line((n) => f(m(cpu[n]), 0)), "", undefined],
      [
        "usage recording cost (throughput, on vs off)",
        `on ${f(m(rps[PROXY]), 0)} · off ${f(m(rps[NO_RECORD]), 0)} req/s`,
        `≤ 5 %: ${f(recCost * 100, 1)} %`,
        recCost <= 0.05 ? "met" : "missed",
      ],
      ...targetRows(
        "stream TTFB added (ms, median)",
        line((n) => `+${f(ttfb(n), 3)}`),
        `≤ floor + 0.5 = ${f(ttfb(FLOOR) + 0.5, 3)}`,
        (n) => ttfb(n) <= ttfb(FLOOR) + 0.5,
        (n) => `+${f(ttfb(n), 3)}`,
      ),
      [
        "stream inter-chunk gap p99 (ms, 10 ms spacing)",
        `direct ${f(st.direct.gapP99)} · ${line((n) => f(st[n].gapP99))}`,
        "",
        undefined,
      ],
      ...targetRows(
        "stream throughput @200 streams (req/s)",
        `direct ${f(m(srps.direct), 0)} · ${line((n) => f(m(srps[n]), 0))}`,
        "≥ 95 % of direct",
        (n) => sShare(n) >= 0.95,
        (n) => `${f(sShare(n) * 100, 1)} %`,
      ),
      [
        "  a stream's time: the client's / the mock's own (ms)",
        `direct ${f(streamMs(DIRECT), 1)} / ${f(m(mockMs.direct), 1)} · ${
          line((n) => `${f(streamMs(n), 1)} / ${f(m(mockMs[n]), 1)}`)
        }`,
        "",
        undefined,
      ],
      [
        "  share net of the mock's slowdown (it shares the cores)",
        line((n) => `${f(sNetShare(n) * 100, 1)} %`),
        "",
        undefined,
      ],
      ...targetRows(
        "  extra stream's TTFB under that load (ms, p50)",
        `direct ${f(busy(DIRECT))} · ${line((n) => f(busy(n)))} (n=${underLoad[PROXY].length})`,
        `≤ floor + 5 = ${f(busy(FLOOR) + 5)}`,
        (n) => busy(n) <= busy(FLOOR) + 5,
        (n) => f(busy(n)),
      ),
      [
        "  CPU during that load (% of one core, median)",
        line((n) => f(m(cores[n]), 0)),
        "",
        undefined,
      ],
      [
        "RSS idle (MB)",
        `llmproxy ${f(rssIdle, 1)} · its code loaded, not run ${
          f(rssCode, 1)
        } · the runtime, a KV store and ` +
        `the start-up dependencies alone ${f(rssDeps, 1)} (deps_floor.ts)`,
        "≤ 60",
        rssIdle <= 60 ? "met" : "missed",
      ],
      ...targetRows(
        "RSS after the streaming load (MB, max of rounds)",
        line((n) => f(rssLoaded[n], 1)),
        "≤ 160",
        (n) => rssLoaded[n] <= 160,
        (n) => f(rssLoaded[n], 1),
      ),
      [
        "start → listening (ms, median of 3)",
        starts.map((x) => f(x, 0)).join(" / "),
        "≤ 500",
        median(starts) <= 500 ? "met" : "missed",
      ],
    ];
    const load = Deno.loadavg().map((x) => f(x)).join(" ");
    return { rows, ok: rows.every((r) => r[3] !== "missed"), load };
  } finally {
    for (const c of children) {
      try {
        c.kill("SIGTERM");
      } catch { /* gone */ }
      await c.status;
    }
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

const VERDICT_TEXT: Record<Verdict, string> = {
  met: "✓ met",
  missed: "✗ MISSED",
  explained: "✗ missed: the gateway floor misses it too",
};

/** Print the side-by-side table. */
export function printSideBySide(r: SideBySide): void {
  const lines = r.rows.map(([a, b, c, v]) =>
    `${a.padEnd(50)} ${b.padEnd(96)} ${c.padEnd(52)}${v === undefined ? "" : ` ${VERDICT_TEXT[v]}`}`
  );
  lines.push(
    `(floor gw = floor.ts gw: the request parsed, the upstream call watched, a JSON answer read and parsed, a stream's chunks read into one JS stream;`,
    ` ${SECOND.legend}; load average at the end: ${r.load}; ${navigator.hardwareConcurrency} cores)`,
  );
  // deno-lint-ignore no-console
  console.log(lines.join("\n"));
}

/** One llmproxy checkout under a per-stream CPU comparison. */
export interface ComparedProxy {
  dir: string;
  child: Deno.ChildProcess;
  origin: string;
}

/**
 * CPU per streamed request, interleaved: a warm-up, then ROUNDS (env, default 3) rounds of 600 streams at 100
 * concurrency per case and proxy; prints the median µs per stream of each checkout and case, then stops the
 * proxies.
 */
export async function streamCpuRounds<C extends { name: string }>(
  proxies: ComparedProxy[],
  cases: readonly C[],
  load: (origin: string, c: C, n: number, concurrency: number) => Promise<void>,
): Promise<void> {
  const out = new Map<string, number[]>();
  for (const p of proxies) for (const c of cases) await load(p.origin, c, 100, 20);
  for (let round = 0; round < Number(Deno.env.get("ROUNDS") ?? 3); round++) {
    for (const c of cases) {
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
}
