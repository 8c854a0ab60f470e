/**
 * Front ends side by side (issues 14–16, 19): one llmproxy in front of the bench mock (OpenAI-compatible), the
 * same request through every client protocol, measured interleaved in one run. What each front end adds over
 * the Chat front end is its own parsing and rendering: sequential latency of a non-streamed request and time to
 * the first byte of a streamed one. Target: within 0.2 ms of Chat.
 */
import { firstLine, median, spawn, startProxy } from "./side_by_side.ts";

/** One client protocol: where it posts, and its request for `stream`. */
interface FrontEndCase {
  name: string;
  path: (stream: boolean) => string;
  body: (stream: boolean) => unknown;
}

const MODEL = "openrouter:bench";
const TEXT = "hi";

/** The front ends measured, Chat first (the others are compared with it). */
export const CASES: FrontEndCase[] = [
  {
    name: "chat",
    path: () => "/v1/chat/completions",
    body: (stream) => ({ model: MODEL, messages: [{ role: "user", content: TEXT }], stream }),
  },
  {
    name: "anthropic",
    path: () => "/v1/messages",
    body: (stream) => ({
      model: MODEL,
      max_tokens: 256,
      messages: [{ role: "user", content: TEXT }],
      stream,
    }),
  },
  {
    name: "responses",
    path: () => "/v1/responses",
    body: (stream) => ({ model: MODEL, input: TEXT, store: false, stream }),
  },
  {
    name: "gemini",
    path: (stream) =>
      `/v1beta/models/${MODEL}:${stream ? "streamGenerateContent?alt=sse" : "generateContent"}`,
    body: () => ({ contents: [{ role: "user", parts: [{ text: TEXT }] }] }),
  },
];

/** Time one request: to its whole body (`stream` false) or to its first body byte. */
async function timeOne(origin: string, c: FrontEndCase, stream: boolean): Promise<number> {
  const t0 = performance.now();
  const res = await fetch(origin + c.path(stream), {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(c.body(stream)),
  });
  if (res.status !== 200) throw new Error(`${c.name}: ${res.status} ${await res.text()}`);
  if (!stream) {
    await res.arrayBuffer();
    return performance.now() - t0;
  }
  const reader = res.body!.getReader();
  await reader.read();
  const t = performance.now() - t0;
  for (;;) if ((await reader.read()).done) break;
  return t;
}

/** Per front end: median over rounds of the round's median latency and time to first byte (ms). */
export interface FrontEndFigures {
  name: string;
  latency: number;
  ttfb: number;
}

/** Run the front-end benchmark: `rounds` interleaved rounds of `n` requests per front end and mode. */
export async function runFrontEnds(opts: { rounds: number; n: number }): Promise<FrontEndFigures[]> {
  const dir = await Deno.makeTempDir({ prefix: "llmproxy-bench-fe-" });
  const mock = spawn(["scripts/bench/mock.ts"]);
  let proxy: Awaited<ReturnType<typeof startProxy>> | undefined;
  try {
    const upstream = `http://127.0.0.1:${Number(await firstLine(mock))}/v1`;
    proxy = await startProxy(upstream, dir);
    const origin = proxy.base.replace(/\/v1$/, "");
    for (const c of CASES) for (let i = 0; i < 30; i++) await timeOne(origin, c, i % 2 === 0); // warm-up
    const lat = new Map<string, number[]>(CASES.map((c) => [c.name, []]));
    const ttfb = new Map<string, number[]>(CASES.map((c) => [c.name, []]));
    for (let r = 0; r < opts.rounds; r++) {
      for (const c of CASES) {
        const l: number[] = [];
        const t: number[] = [];
        for (let i = 0; i < opts.n; i++) {
          l.push(await timeOne(origin, c, false));
          t.push(await timeOne(origin, c, true));
        }
        lat.get(c.name)!.push(median(l));
        ttfb.get(c.name)!.push(median(t));
      }
    }
    return CASES.map((c) => ({
      name: c.name,
      latency: median(lat.get(c.name)!),
      ttfb: median(ttfb.get(c.name)!),
    }));
  } finally {
    proxy?.child?.kill("SIGTERM");
    await proxy?.child?.status;
    mock.kill("SIGTERM");
    await mock.status;
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

/** Print the table; true when every front end is within 0.2 ms of Chat on both figures. */
export function printFrontEnds(rows: FrontEndFigures[]): boolean {
  const chat = rows[0];
  let ok = true;
  const lines = [
    "| front end | sequential latency (ms) | added over Chat | time to first byte (ms) | added over Chat | ≤ +0.2 ms |",
    "| --- | --- | --- | --- | --- | --- |",
  ];
  for (const r of rows) {
    const dl = r.latency - chat.latency;
    const dt = r.ttfb - chat.ttfb;
    const met = r === chat || (dl <= 0.2 && dt <= 0.2);
    ok &&= met;
    lines.push(
      `| ${r.name} | ${r.latency.toFixed(3)} | ${
        r === chat ? "" : `${dl >= 0 ? "+" : ""}${dl.toFixed(3)}`
      } | ${r.ttfb.toFixed(3)} | ${r === chat ? "" : `${dt >= 0 ? "+" : ""}${dt.toFixed(3)}`} | ${
        r === chat ? "" : met ? "met" : "**missed**"
      } |`,
    );
  }
  // deno-lint-ignore no-console
  console.log(`\nFront ends (same proxy, same mock, interleaved rounds)\n\n${lines.join("\n")}\n`);
  return ok;
}
