/**
 * The metrics exposition we write ourselves (Prometheus text format 0.0.4): every line of a real proxy's
 * registry holds to a strict line grammar, label values with backslashes, quotes and newlines come back
 * exactly, histogram buckets are cumulative (a bound includes the value equal to it) and end in `+Inf` equal to
 * `_count`, numbers are written as Prometheus writes them (`+Inf`, `-Inf`, `NaN`), and an npm parser written
 * to Prometheus's rules (`parse-prometheus-text-format`, prom2json's output) reads the same families and values.
 * Then the isolates' combination (`--workers`): counters, histograms and in-flight summed, shared and process
 * gauges taken once.
 */
import assert from "node:assert/strict";
import parsePrometheusTextFormat from "parse-prometheus-text-format";
import { Metrics } from "../../src/telemetry/metrics.ts";
import { MetricRegistry } from "../../src/telemetry/families.ts";
import { formatNumber, renderExposition } from "../../src/telemetry/exposition.ts";
import { KeyPool, type KeyPools } from "../../src/state/keys.ts";
import { parsePrometheus, total } from "../support/prometheus.ts";

/** What prom2json-style parsing gives for one family (values are strings). */
interface Prom2Json {
  name: string;
  help: string;
  type: string;
  metrics: {
    labels?: Record<string, string>;
    value?: string;
    buckets?: Record<string, string>;
    count?: string;
    sum?: string;
  }[];
}
const parseWithNpm = parsePrometheusTextFormat as (text: string) => Prom2Json[];

const NAME = String.raw`[a-zA-Z_:][a-zA-Z0-9_:]*`;
const LABEL_VALUE = String.raw`"(?:[^"\\\n]|\\[\\"n])*"`;
const LABELS = String
  .raw`\{[a-zA-Z_][a-zA-Z0-9_]*=${LABEL_VALUE}(?:,[a-zA-Z_][a-zA-Z0-9_]*=${LABEL_VALUE})*\}`;
const VALUE = String.raw`(?:[+-]Inf|NaN|-?(?:\d+(?:\.\d+)?|\.\d+)(?:e[+-]\d+)?)`;
/** One line of the exposition as we write it: HELP, TYPE, or `name{labels} value` (no blank lines, no timestamps). */
const LINE = new RegExp(
  String
    .raw`^(?:# HELP ${NAME} [^\n]*|# TYPE ${NAME} (?:counter|gauge|histogram)|${NAME}(?:${LABELS})? ${VALUE})$`,
);

const HOSTILE = ['K"quoted"', "K\\back\\slash", "K\nnew\nline", "K plain"];

function pools(now: () => number, labels = HOSTILE): { pools: KeyPools; pool: KeyPool } {
  const pool = new KeyPool(
    "openrouter",
    labels.map((label, i) => ({ label, value: `v${i}` })),
    "round-robin",
    now,
  );
  return { pool, pools: { names: () => ["openrouter"], pool: () => pool, pools: () => [pool] } };
}

function assertGrammar(text: string): void {
  assert.ok(text.endsWith("\n"), "ends with a newline");
  for (const [i, line] of text.slice(0, -1).split("\n").entries()) {
    assert.match(line, LINE, `line ${i + 1} breaks the grammar`);
  }
}

Deno.test("exposition: every line holds to the grammar, hostile label values round-trip, buckets are cumulative", async () => {
  const t = 1_000_000;
  const { pool, pools: p } = pools(() => t);
  const m = new Metrics('1.0.0-"x"\\y', p, () => t);
  pool.cool(HOSTILE[0], "m", { scope: "key-model", untilMs: t + 12_500, reason: "429" });
  pool.disable(HOSTILE[1], "401");
  for (const label of HOSTILE) {
    m.attempt({ backend: "openrouter", keyLabel: label, outcome: "ok", promptTokens: 2 });
  }
  const frontend = 'chat"\\\n';
  // durations (ms): on the first bound (5 ms: le="0.005" holds it), between bounds, past the last bound (300 s)
  for (const ms of [5, 5, 30, 400_000]) {
    const tr = m.begin({ requestId: "r", started: t, frontend, log: {} });
    tr.answered({ frontend, backend: "openrouter", status: 200 });
    tr.ended({ frontend, backend: "openrouter", status: 200 }, ms);
  }
  m.attempt({ backend: "openrouter", keyLabel: "K plain", outcome: "ok", ttfbMs: 50 });
  const text = await m.text();
  assertGrammar(text);

  const f = parsePrometheus(text); // also: buckets never fall, +Inf bucket equals _count, a _sum, no duplicate
  const keys = f.get("llmproxy_upstream_attempts_total")!.samples.map((s) => s.labels.key);
  assert.deepEqual(keys, HOSTILE, "label values come back exactly");
  assert.equal(total(f, "llmproxy_key_cooldown_seconds", { key: HOSTILE[0] }), 12.5);
  assert.equal(total(f, "llmproxy_key_cooldown_seconds", { key: HOSTILE[1] }), Infinity);
  assert.equal(total(f, "llmproxy_build_info", { version: '1.0.0-"x"\\y' }), 1);
  const bucket = (le: string) =>
    total(f, "llmproxy_request_duration_seconds_bucket", { frontend, backend: "openrouter", le });
  assert.deepEqual(
    ["0.005", "0.025", "0.1", "300", "+Inf"].map(bucket),
    [2, 2, 3, 3, 4],
    "cumulative; a bound holds the value equal to it; past the last bound only in +Inf",
  );
  assert.equal(total(f, "llmproxy_request_duration_seconds_count"), 4);
  assert.equal(total(f, "llmproxy_request_duration_seconds_sum"), (5 + 5 + 30 + 400_000) / 1000);
  const les = f.get("llmproxy_time_to_first_byte_seconds")!.samples.filter((s) => s.labels.le).map((s) =>
    s.labels.le
  );
  assert.deepEqual(les, ["0.05", "0.1", "0.25", "0.5", "1", "2", "5", "10", "30", "60", "+Inf"]);
  assert.deepEqual(
    [...f.keys()],
    [
      "llmproxy_requests_total",
      "llmproxy_request_duration_seconds",
      "llmproxy_time_to_first_byte_seconds",
      "llmproxy_upstream_attempts_total",
      "llmproxy_tokens_total",
      "llmproxy_active_requests",
      "llmproxy_key_cooldown_seconds",
      "llmproxy_build_info",
      "process_resident_memory_bytes",
      "process_heap_bytes",
    ],
    "the families, in a stable order",
  );
  assert.equal(
    await m.text().then((again) => again.replace(/^process_.*$/gm, "")),
    text.replace(/^process_.*$/gm, ""),
    "the same state renders the same text",
  );

  // An independent parser written to Prometheus's rules reads the same.
  const npm = parseWithNpm(text);
  assert.deepEqual(npm.map((x) => x.name), [...f.keys()]);
  for (const fam of npm) assert.equal(fam.type, f.get(fam.name)!.type.toUpperCase(), fam.name);
  const attempts = npm.find((x) => x.name === "llmproxy_upstream_attempts_total")!;
  assert.deepEqual(attempts.metrics.map((x) => x.labels!.key), HOSTILE);
  // (This parser folds a histogram's series into one bucket map and keeps no labels on them: there is one here.)
  const duration = npm.find((x) => x.name === "llmproxy_request_duration_seconds")!.metrics[0];
  assert.equal(duration.buckets!["0.005"], "2");
  assert.equal(duration.buckets!["+Inf"], "4");
  const requests = npm.find((x) => x.name === "llmproxy_requests_total")!.metrics[0];
  assert.deepEqual(requests.labels, { frontend, backend: "openrouter", status: "200" });
  assert.equal(requests.value, "4");
  const cooling = npm.find((x) => x.name === "llmproxy_key_cooldown_seconds")!.metrics;
  assert.equal(cooling.find((x) => x.labels!.key === HOSTILE[1])!.value, "+Inf");
});

Deno.test("exposition: numbers as Prometheus writes them; HELP escaped; a labelless gauge", () => {
  assert.deepEqual(
    [Infinity, -Infinity, NaN, 0, 1.5, -2, 1e-7, 12345678901234567890].map(formatNumber),
    ["+Inf", "-Inf", "NaN", "0", "1.5", "-2", "1e-7", "12345678901234567000"],
  );
  const r = new MetricRegistry();
  r.gauge({
    name: "odd_values",
    help: "back\\slash and\nnewline",
    labelNames: ["v"],
    read: () => [[["inf"], Infinity], [["-inf"], -Infinity], [["nan"], NaN], [["tiny"], 1e-7]],
  });
  r.gauge({ name: "plain", help: "no labels", read: () => [[[], 3]] });
  r.counter({ name: "untouched_total", help: "no series yet", labelNames: ["a"] });
  const text = renderExposition(r.snapshot());
  assertGrammar(text);
  assert.ok(text.includes("# HELP odd_values back\\\\slash and\\nnewline\n"), text);
  assert.ok(!/Nan\b/.test(text), "never Nan");
  const f = parsePrometheus(text);
  assert.deepEqual(f.get("odd_values")!.samples.map((s) => s.value), [Infinity, -Infinity, NaN, 1e-7]);
  assert.equal(total(f, "plain"), 3);
  assert.deepEqual(f.get("untouched_total")!.samples, [], "a family with no series: HELP and TYPE only");
  const npm = parseWithNpm(text);
  assert.deepEqual(npm.find((x) => x.name === "odd_values")!.metrics.map((x) => x.value), [
    "+Inf",
    "-Inf",
    "NaN",
    "1e-7",
  ]);
});

Deno.test("isolates: counters, histograms and in-flight summed; key cool-downs their maximum; build and memory once", async () => {
  const t = 1_000_000;
  const a = pools(() => t, ["K1", "K2"]);
  const b = pools(() => t, ["K1", "K2"]);
  const ma = new Metrics("1.0.0", a.pools, () => t);
  const mb = new Metrics("1.0.0", b.pools, () => t);
  for (const [m, n] of [[ma, 2], [mb, 3]] as const) {
    for (let i = 0; i < n; i++) {
      const tr = m.begin({ requestId: `r${i}`, started: t, frontend: "chat", log: {} });
      tr.answered({ frontend: "chat", backend: "openrouter", status: 200 });
      tr.ended({ frontend: "chat", backend: "openrouter", status: 200 }, 100 * (i + 1));
      m.attempt({ backend: "openrouter", keyLabel: "K1", outcome: "ok", ttfbMs: 20, completionTokens: 10 });
    }
  }
  mb.attempt({ backend: "openrouter", keyLabel: "K2", outcome: "429" }); // a series only the peer has
  ma.begin({ requestId: "open-a", started: t, frontend: "chat", log: {} }); // in flight in each
  mb.begin({ requestId: "open-b", started: t, frontend: "chat", log: {} });
  a.pool.cool("K1", "m", { scope: "key-model", untilMs: t + 10_000, reason: "429" });
  b.pool.cool("K1", "m", { scope: "key-model", untilMs: t + 20_000, reason: "429" });
  // What a peer sends crosses a BroadcastChannel: structured-cloned; junk and a family of another shape are skipped.
  const odd = structuredClone(mb.snapshot()).filter((fam) => fam.name === "llmproxy_tokens_total").map((
    fam,
  ) => ({ ...fam, labelNames: ["backend"] }));
  ma.gatherPeers = () => Promise.resolve([structuredClone(mb.snapshot()), "junk", odd]);

  const text = await ma.text();
  assertGrammar(text);
  const f = parsePrometheus(text);
  assert.equal(total(f, "llmproxy_requests_total"), 5);
  assert.equal(total(f, "llmproxy_upstream_attempts_total", { key: "K1" }), 5);
  assert.equal(
    total(f, "llmproxy_upstream_attempts_total", { key: "K2", outcome: "429" }),
    1,
    "the peer's own series",
  );
  assert.equal(total(f, "llmproxy_tokens_total"), 50, "the odd-shaped family is skipped");
  assert.equal(total(f, "llmproxy_request_duration_seconds_count"), 5);
  assert.equal(total(f, "llmproxy_request_duration_seconds_bucket", { le: "0.25" }), 2 + 2);
  assert.equal(total(f, "llmproxy_active_requests"), 2, "one in flight in each");
  assert.equal(total(f, "llmproxy_key_cooldown_seconds", { key: "K1" }), 20, "the longest");
  assert.equal(total(f, "llmproxy_build_info"), 1, "taken once");
  assert.equal(f.get("process_resident_memory_bytes")!.samples.length, 1);
  const own = total(parsePrometheus(renderExposition(ma.snapshot())), "process_resident_memory_bytes");
  assert.ok(total(f, "process_resident_memory_bytes") < 1.5 * own, "the process's, not a sum");
});
