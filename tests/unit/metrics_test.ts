/**
 * The metrics registry's promises that the HTTP tests cannot reach cheaply: label values from upstreams are
 * capped, a disabled key shows +Inf, a cooling key its longest cool-down; and the strict exposition reader
 * the tests rely on really rejects broken expositions.
 */
import assert from "node:assert/strict";
import { MAX_LABEL_VALUES, Metrics } from "../../src/telemetry/metrics.ts";
import { KeyPool, type KeyPools } from "../../src/state/keys.ts";
import { parsePrometheus, total } from "../support/prometheus.ts";
import { keyStatuses } from "../../src/telemetry/key_status.ts";
import { MetricRegistry } from "../../src/telemetry/families.ts";

function pools(now: () => number): { pools: KeyPools; pool: KeyPool } {
  const pool = new KeyPool(
    "openrouter",
    [{ label: "K1", value: "v1-secret" }, { label: "K2", value: "v2-secret" }, { label: "K3", value: "v3" }],
    "round-robin",
    now,
  );
  return { pool, pools: { names: () => ["openrouter"], pool: () => pool, pools: () => [pool] } };
}

Deno.test("metrics: upstream-made label values are capped; keys show their longest cool-down or +Inf", async () => {
  let t = 1_000_000;
  const now = () => t;
  const { pool, pools: p } = pools(now);
  const m = new Metrics("9.9.9", p, now);
  for (let i = 0; i < 3 * MAX_LABEL_VALUES; i++) {
    m.attempt({ backend: "openrouter", keyLabel: "K1", outcome: `weird_${i}` });
  }
  const tr = m.begin({ requestId: "req_1", started: t, frontend: "chat", log: {} });
  for (let i = 0; i < 3 * MAX_LABEL_VALUES; i++) tr.answered({ frontend: "chat", status: 100 + i });
  pool.cool("K1", "m", { scope: "key-model", untilMs: t + 30_000, reason: "429" });
  pool.cool("K1", "other", { scope: "key-model", untilMs: t + 90_000, reason: "429" });
  pool.disable("K2", "401 invalid key");
  t += 10_000;
  const text = await m.text();
  const f = parsePrometheus(text);
  const outcomes = new Set(f.get("llmproxy_upstream_attempts_total")!.samples.map((s) => s.labels.outcome));
  assert.equal(outcomes.size, MAX_LABEL_VALUES + 1, "capped values plus 'other'");
  assert.ok(outcomes.has("other"));
  assert.equal(total(f, "llmproxy_upstream_attempts_total"), 3 * MAX_LABEL_VALUES, "nothing lost");
  const statuses = new Set(f.get("llmproxy_requests_total")!.samples.map((s) => s.labels.status));
  assert.equal(statuses.size, MAX_LABEL_VALUES + 1);
  assert.equal(total(f, "llmproxy_active_requests"), 1, "begun, not ended");
  tr.ended({ frontend: "chat", status: 200 }, 5);
  tr.ended({ frontend: "chat", status: 200 }, 5);
  assert.equal(total(parsePrometheus(await m.text()), "llmproxy_active_requests"), 0, "ended once");
  assert.equal(total(f, "llmproxy_key_cooldown_seconds", { key: "K1" }), 80, "the longest cool-down");
  assert.equal(total(f, "llmproxy_key_cooldown_seconds", { key: "K2" }), Infinity, "disabled");
  assert.equal(total(f, "llmproxy_key_cooldown_seconds", { key: "K3" }), 0, "ready");
  assert.ok(!text.includes("secret"), "no key value");
  pool.cool("K3", "m", { scope: "key-model", untilMs: t + 5_000, reason: "402 no credits", auth: true });
  assert.deepEqual(keyStatuses(p, t).map((k) => [k.key, k.state, k.until]), [
    ["K1", "cooling", t + 80_000],
    ["K2", "failed_auth", Infinity],
    ["K3", "failed_auth", t + 5_000],
  ]);
});

Deno.test("the strict exposition reader rejects what Prometheus would reject", () => {
  const ok =
    '# TYPE a counter\na 1\n# TYPE h histogram\nh_bucket{le="1"} 1\nh_bucket{le="+Inf"} 2\nh_sum 3\nh_count 2\n';
  parsePrometheus(ok);
  const bad: Record<string, string> = {
    "no TYPE": "a 1\n",
    "bad value": "# TYPE a gauge\na one\n",
    "bad escape": '# TYPE a gauge\na{x="\\q"} 1\n',
    "unquoted label": "# TYPE a gauge\na{x=1} 1\n",
    "duplicate sample": "# TYPE a gauge\na 1\na 2\n",
    "negative counter": "# TYPE a counter\na -1\n",
    "split family": "# TYPE a gauge\na 1\n# TYPE b gauge\nb 1\n# TYPE a gauge\n",
    "falling buckets": ok.replace('h_bucket{le="+Inf"} 2', 'h_bucket{le="+Inf"} 0').replace(
      "h_count 2",
      "h_count 0",
    ),
    "+Inf is not _count": ok.replace("h_count 2", "h_count 3"),
    "no +Inf bucket": ok.replace('h_bucket{le="+Inf"} 2\n', ""),
    "no final newline": "# TYPE a gauge\na 1",
  };
  for (const [why, text] of Object.entries(bad)) assert.throws(() => parsePrometheus(text), Error, why);
});

Deno.test("metric families: each label set is its own series, in order of first appearance, whatever prefix it shares", () => {
  const r = new MetricRegistry();
  const c = r.counter({ name: "c_total", help: "c", labelNames: ["a", "b", "c"] });
  const h = r.histogram({ name: "h_seconds", help: "h", labelNames: ["a"], buckets: [1, 5] });
  const none = r.counter({ name: "n_total", help: "n" });
  for (
    const [labels, n] of [[["x", "y", "z"], 1], [["x", "y", "w"], 2], [["x", "q", "z"], 3], [
      ["x", "y", "z"],
      4,
    ]] as const
  ) {
    c.inc(labels, n);
  }
  c.inc(["x\0y", "z", "z"]); // NUL in a value is no separator
  h.observe(["p"], 0.5);
  h.observe(["o"], 7);
  h.observe(["p"], 3);
  none.inc([]);
  none.inc([], 2);
  const [counter, histogram, unlabelled] = r.snapshot();
  assert.deepEqual(counter.series, [
    { labels: ["x", "y", "z"], value: 5 },
    { labels: ["x", "y", "w"], value: 2 },
    { labels: ["x", "q", "z"], value: 3 },
    { labels: ["x\0y", "z", "z"], value: 1 },
  ]);
  assert.deepEqual(histogram.series, [
    { labels: ["p"], counts: [1, 1, 0], sum: 3.5 },
    { labels: ["o"], counts: [0, 0, 1], sum: 7 },
  ]);
  assert.deepEqual(unlabelled.series, [{ labels: [], value: 3 }]);
});
