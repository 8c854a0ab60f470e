import assert from "node:assert/strict";
import fc from "fast-check";
import { METRICS, ROLLUP_DIMENSIONS, rollupSums, type UsageRecord } from "../../src/usage/recorder.ts";

const HOUR = 3_600_000;

/** The roll-up of SPEC §10.2 spelled out: every record adds its metrics to its cell of each dimension. */
function expectedSums(records: UsageRecord[]): Map<string, bigint> {
  const sums = new Map<string, number>();
  for (const r of records) {
    const ok = r.outcome === "ok" || r.outcome === "local";
    const metrics: Record<string, number> = {
      requests: 1,
      client_requests: r.attempt <= 1 ? 1 : 0,
      ok: ok ? 1 : 0,
      errors: ok ? 0 : 1,
      prompt_tokens: r.promptTokens ?? 0,
      completion_tokens: r.completionTokens ?? 0,
      total_tokens: r.totalTokens ?? 0,
      cost_micro_usd: Math.round((r.cost ?? 0) * 1e6),
      latency_ms: Math.round(r.latencyMs),
      rate_limited: r.outcome === "429" ? 1 : 0,
    };
    const values: Record<string, string> = {
      model: r.backend && r.model ? `${r.backend}:${r.model}` : r.requestedModel ?? "-",
      backend: r.backend ?? "-",
      key: r.keyLabel ?? "-",
      project: r.project ?? "-",
      session: r.session ?? "-",
      user: r.user ?? "-",
      all: "*",
    };
    const hour = Math.floor(r.time / HOUR) * HOUR;
    for (const d of ROLLUP_DIMENSIONS) {
      for (const m of METRICS) {
        const id = JSON.stringify(["rollup", d, hour, values[d], m]);
        sums.set(id, (sums.get(id) ?? 0) + metrics[m]);
      }
    }
  }
  return new Map([...sums].filter(([, n]) => n > 0).map(([id, n]) => [id, BigInt(n)]));
}

function actualSums(records: UsageRecord[]): Map<string, bigint> {
  const out = new Map<string, bigint>();
  for (const { key, n } of rollupSums(records)) {
    const id = JSON.stringify(key);
    assert.ok(!out.has(id), `one sum per cell: ${id} twice`);
    out.set(id, n);
  }
  return out;
}

Deno.test("usage roll-ups: a failed attempt's requested model and a backend:model that read the same share a cell", () => {
  const base = { requestId: "r", clientKey: "anonymous", stream: false, latencyMs: 10 };
  const records: UsageRecord[] = [
    { ...base, time: 5 * HOUR + 1, attempt: 1, outcome: "429", requestedModel: "openrouter:m" },
    {
      ...base,
      time: 5 * HOUR + 2,
      attempt: 2,
      outcome: "ok",
      backend: "openrouter",
      model: "m",
      promptTokens: 3,
    },
    { ...base, time: 6 * HOUR, attempt: 1, outcome: "local", session: "s", cost: 0.5 },
  ];
  const sums = actualSums(records);
  assert.deepEqual(sums, expectedSums(records));
  assert.equal(sums.get(JSON.stringify(["rollup", "model", 5 * HOUR, "openrouter:m", "requests"])), 2n);
  assert.equal(
    sums.get(JSON.stringify(["rollup", "model", 5 * HOUR, "openrouter:m", "client_requests"])),
    1n,
  );
  assert.equal(sums.get(JSON.stringify(["rollup", "all", 6 * HOUR, "*", "cost_micro_usd"])), 500_000n);
});

Deno.test("usage roll-ups: property — each cell's sums are its records' metrics added up, over hours and dimensions", () => {
  const name = fc.constantFrom("a", "b", "a:b", "b:a", "-", "*");
  const record = fc.record({
    time: fc.integer({ min: 0, max: 4 * HOUR }),
    requestId: fc.constant("r"),
    clientKey: fc.constant("anonymous"),
    attempt: fc.integer({ min: 1, max: 3 }),
    outcome: fc.constantFrom("ok", "local", "429", "timeout"),
    stream: fc.boolean(),
    latencyMs: fc.double({ min: 0, max: 1e5, noNaN: true }),
    backend: fc.option(name, { nil: undefined }),
    model: fc.option(name, { nil: undefined }),
    requestedModel: fc.option(name, { nil: undefined }),
    keyLabel: fc.option(name, { nil: undefined }),
    project: fc.option(name, { nil: undefined }),
    session: fc.option(name, { nil: undefined }),
    user: fc.option(name, { nil: undefined }),
    promptTokens: fc.option(fc.nat(1000), { nil: undefined }),
    completionTokens: fc.option(fc.nat(1000), { nil: undefined }),
    totalTokens: fc.option(fc.nat(2000), { nil: undefined }),
    cost: fc.option(fc.double({ min: 0, max: 10, noNaN: true }), { nil: undefined }),
  }, { requiredKeys: ["time", "requestId", "clientKey", "attempt", "outcome", "stream", "latencyMs"] });
  fc.assert(
    fc.property(fc.array(record, { maxLength: 60 }), (records) => {
      assert.deepEqual(actualSums(records as UsageRecord[]), expectedSums(records as UsageRecord[]));
    }),
  );
});
