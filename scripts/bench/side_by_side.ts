/**
 * Side-by-side benchmark (issue 8): the mock upstream directly, the floor (bare Deno pass-through) and
 * llmproxy (usage recording and redaction on, auth off), measured interleaved in one run, plus llmproxy with
 * recording off for the recording-cost figure. Needs `wrk` (Debian package `wrk`) for the throughput rows.
 */
import { NAME } from "../../src/core/version.ts";

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

/** Start llmproxy as a user runs it (plus bench-only flags); resolves when it prints its summary line. */
export async function startProxy(
  upstream: string,
  dir: string,
  extra: string[] = [],
  checkout = ROOT,
): Promise<Target & { startMs: number }> {
  const t0 = performance.now();
  const child = spawn([
    "src/main.ts",
    "--disable-auth",
    "--port",
    "0",
    "--data-dir",
    dir,
    "--log",
    `${dir}/proxy-${crypto.randomUUID()}.log`,
    "--kv",
    `${dir}/bench-${crypto.randomUUID()}.kv`,
    "--openrouter-api-base-url",
    upstream,
    ...extra,
  ], {
    OPENROUTER_API_KEY: "sk-or-v1-" + "0".repeat(64),
    HOME: dir,
    DENO_DIR: Deno.env.get("DENO_DIR") ?? `${Deno.env.get("HOME")}/.cache/deno`,
  }, checkout);
  const line = await firstLine(child);
  const startMs = performance.now() - t0;
  const m = /(http:\/\/\S+)\/v1/.exec(line);
  if (!m) throw new Error(`${NAME} did not start: ${line}`);
  return { name: "llmproxy", base: `${m[1]}/v1`, child, model: "openrouter:bench", startMs };
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

/** Sequential non-streaming latency: per round, the median of N requests. */
async function sequentialLatency(targets: Target[], rounds: number, n: number) {
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
async function wrk(
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

/**
 * While `load` runs (200 streams), one extra stream at a time every 100 ms from 1 s in: its time to first
 * byte (ms). What a new request waits behind running streams (issue 19).
 */
async function extraStreamTtfb(t: Target, body: unknown, load: Promise<unknown>): Promise<number[]> {
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

/** All figures of one side-by-side run. */
export interface SideBySide {
  rows: [string, string, string, boolean | undefined][];
  ok: boolean;
}

/** Run the side-by-side benchmark. */
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
    const noRecord = await startProxy(upstream, dir, ["--disable-usage-log"]);
    children.push(noRecord.child!);
    noRecord.name = "llmproxy (recording off)";
    await new Promise((r) => setTimeout(r, 500));
    const rssIdle = rssMb(proxy.child!.pid);

    const direct: Target = { name: "direct", base: upstream, model: "bench" };
    const floor: Target = { name: "floor", base: `http://127.0.0.1:${floorPort}/v1`, model: "bench" };
    const trio = [direct, floor, proxy];

    // warm-up
    for (const t of [...trio, noRecord]) await sequentialLatency([t], 1, 50);

    const seq = await sequentialLatency(trio, opts.rounds, 200);
    const nonStreamBody = (t: Target) => ({ model: t.model, messages: [{ role: "user", content: "hi" }] });
    const rps: Record<string, number[]> = {
      direct: [],
      floor: [],
      llmproxy: [],
      "llmproxy (recording off)": [],
    };
    // CPU µs per request of the floor and llmproxy processes during the throughput runs (less noisy than req/s).
    const cpu: Record<string, number[]> = { floor: [], llmproxy: [] };
    const pids: Record<string, number> = { floor: floorChild.pid, llmproxy: proxy.child!.pid };
    for (let r = 0; r < opts.rounds; r++) {
      for (const t of [...trio, noRecord]) {
        const pid = pids[t.name];
        const before = pid ? cpuMs(pid) : 0;
        const n = await wrk(t.base, nonStreamBody(t), 32, opts.seconds, dir);
        rps[t.name].push(n);
        if (pid) cpu[t.name].push((cpuMs(pid) - before) * 1000 / (n * opts.seconds));
      }
    }
    const st = await streamTimings(trio, opts.rounds, 30, 10, 10);
    const streamBody = (t: Target) => ({
      model: t.model,
      messages: [{ role: "user", content: "hi" }],
      stream: true,
      stream_options: { include_usage: true },
      bench_chunks: 20,
      bench_spacing_ms: 10,
    });
    const srps: Record<string, number[]> = { direct: [], floor: [], llmproxy: [] };
    const underLoad: Record<string, number[]> = { direct: [], floor: [], llmproxy: [] };
    for (let r = 0; r < opts.rounds; r++) {
      for (const t of trio) {
        const load = wrk(t.base, streamBody(t), 200, opts.seconds, dir);
        const probes = await extraStreamTtfb(t, streamBody(t), load);
        srps[t.name].push(await load);
        underLoad[t.name].push(...probes);
      }
    }
    const rssLoaded = rssMb(proxy.child!.pid);
    const floorRss = rssMb(floorChild.pid);

    const m = (xs: number[]) => median(xs);
    const addedSeq = seq.llmproxy.median - seq.direct.median;
    const floorSeq = seq.floor.median - seq.direct.median;
    const nsShare = m(rps.llmproxy) / m(rps.floor);
    const recCost = 1 - m(rps.llmproxy) / m(rps["llmproxy (recording off)"]);
    const ttfbAdded = st.llmproxy.ttfb - st.direct.ttfb;
    const ttfbFloor = st.floor.ttfb - st.direct.ttfb;
    const gapAdded = st.llmproxy.gapP99 - st.direct.gapP99;
    const sShare = m(srps.llmproxy) / m(srps.direct);
    const busy = (name: string) => m(underLoad[name]);
    const f = (x: number, d = 2) => x.toFixed(d);
    const rows: SideBySide["rows"] = [
      [
        "sequential latency, median of round medians (ms)",
        `direct ${f(seq.direct.median, 3)} · floor ${f(seq.floor.median, 3)} · llmproxy ${
          f(seq.llmproxy.median, 3)
        }`,
        "",
        undefined,
      ],
      [
        "  added latency (ms)",
        `floor +${f(floorSeq, 3)} · llmproxy +${f(addedSeq, 3)}`,
        `≤ floor + 0.15 = ${f(floorSeq + 0.15, 3)}`,
        addedSeq <= floorSeq + 0.15,
      ],
      [
        "  p99 (ms)",
        `direct ${f(seq.direct.p99)} · floor ${f(seq.floor.p99)} · llmproxy ${f(seq.llmproxy.p99)}`,
        "",
        undefined,
      ],
      [
        "non-stream throughput @32 conns (req/s)",
        `direct ${f(m(rps.direct), 0)} · floor ${f(m(rps.floor), 0)} · llmproxy ${f(m(rps.llmproxy), 0)}`,
        `≥ 80 % of floor: ${f(nsShare * 100, 1)} %`,
        nsShare >= 0.8,
      ],
      [
        "  CPU per request (µs, process user + system)",
        `floor ${f(m(cpu.floor), 0)} · llmproxy ${f(m(cpu.llmproxy), 0)}`,
        "",
        undefined,
      ],
      [
        "usage recording cost (throughput, on vs off)",
        `on ${f(m(rps.llmproxy), 0)} · off ${f(m(rps["llmproxy (recording off)"]), 0)} req/s`,
        `≤ 5 %: ${f(recCost * 100, 1)} %`,
        recCost <= 0.05,
      ],
      [
        "stream TTFB added (ms, median)",
        `floor +${f(ttfbFloor, 3)} · llmproxy +${f(ttfbAdded, 3)}`,
        `≤ floor + 0.5 = ${f(ttfbFloor + 0.5, 3)}`,
        ttfbAdded <= ttfbFloor + 0.5,
      ],
      [
        "stream inter-chunk gap p99 (ms, 10 ms spacing)",
        `direct ${f(st.direct.gapP99)} · floor ${f(st.floor.gapP99)} · llmproxy ${f(st.llmproxy.gapP99)}`,
        `added ${f(gapAdded)}`,
        undefined,
      ],
      [
        "stream throughput @200 streams (req/s)",
        `direct ${f(m(srps.direct), 0)} · floor ${f(m(srps.floor), 0)} · llmproxy ${f(m(srps.llmproxy), 0)}`,
        `≥ 95 % of direct: ${f(sShare * 100, 1)} %`,
        sShare >= 0.95,
      ],
      [
        "  extra stream's TTFB under that load (ms, p50)",
        `direct ${f(busy("direct"))} · floor ${f(busy("floor"))} · llmproxy ${
          f(busy("llmproxy"))
        } (n=${underLoad.llmproxy.length})`,
        `≤ floor + 5 = ${f(busy("floor") + 5)}`,
        busy("llmproxy") <= busy("floor") + 5,
      ],
      ["RSS idle (MB)", f(rssIdle, 1), "≤ 60", rssIdle <= 60],
      [
        "RSS after the streaming load (MB)",
        `${f(rssLoaded, 1)} (floor ${f(floorRss, 1)})`,
        "≤ 160",
        rssLoaded <= 160,
      ],
      [
        "start → listening (ms, median of 3)",
        starts.map((x) => f(x, 0)).join(" / "),
        "≤ 500",
        median(starts) <= 500,
      ],
    ];
    return { rows, ok: rows.every((r) => r[3] !== false) };
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

/** Print the side-by-side table. */
export function printSideBySide(r: SideBySide): void {
  const lines = r.rows.map(([a, b, c, ok]) =>
    `${a.padEnd(50)} ${b.padEnd(62)} ${c}${ok === undefined ? "" : ok ? "  ✓" : "  ✗ MISSED"}`
  );
  // deno-lint-ignore no-console
  console.log(lines.join("\n"));
}
