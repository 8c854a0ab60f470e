import assert from "node:assert/strict";
import fc from "fast-check";
import { MAX_VALUE_CHARS, packRecords, unpackRecords, type UsageRecord } from "../../src/usage/recorder.ts";

const base: UsageRecord = {
  time: 1_732_680_000_000,
  requestId: "req_1",
  clientKey: "anonymous",
  attempt: 1,
  outcome: "ok",
  stream: false,
  latencyMs: 12,
};

Deno.test("usage packs: records round-trip, whatever optional fields each one has", () => {
  const records: UsageRecord[] = [
    { ...base },
    { ...base, requestId: "req_2", session: "s", model: "m", promptTokens: 5, totalTokens: 11, cost: 0.25 },
    { ...base, requestId: "req_3", local: true, outcome: "local", project: "p€", user: undefined },
  ];
  const packs = packRecords(records);
  assert.equal(packs.length, 1);
  const { [2]: third, ...firstTwo } = unpackRecords(packs[0].pack);
  assert.deepEqual(Object.values(firstTwo), records.slice(0, 2));
  const { user: _, ...thirdWithoutUndefined } = records[2];
  assert.deepEqual(third, thirdWithoutUndefined);
  assert.ok(packs[0].pack.fields.length < 20 && packs[0].pack.rows.length === 3, "names are stored once");
});

Deno.test("usage packs: the earlier format (an array of records) is still read", () => {
  assert.deepEqual(unpackRecords([base, { ...base, requestId: "req_2" }]), [base, {
    ...base,
    requestId: "req_2",
  }]);
});

Deno.test("usage packs: every pack fits one KV value, UTF-16 text included, and nothing is lost", async () => {
  const long = (c: string, i: number) => `${c}${i}`.repeat(50);
  const records: UsageRecord[] = Array.from({ length: 900 }, (_, i) => ({
    ...base,
    requestId: `req_${i}`,
    requestedModel: long(i % 2 ? "€" : "m", i),
    user: long("u", i),
  }));
  const packs = packRecords(records);
  assert.ok(packs.length > 1, "split into several packs");
  const kv = await Deno.openKv(":memory:");
  try {
    for (const [i, p] of packs.entries()) {
      assert.ok(p.bytes <= MAX_VALUE_CHARS + 200, `pack ${i}: estimate ${p.bytes}`);
      await kv.set(["usage", i], p.pack); // throws beyond KV's 64 KiB
    }
  } finally {
    kv.close();
  }
  assert.deepEqual(packs.flatMap((p) => unpackRecords(p.pack)), records);
});

Deno.test("usage packs: property — any list of records comes back as it went in", () => {
  const record = fc.record({
    time: fc.nat(),
    requestId: fc.string(),
    clientKey: fc.string(),
    attempt: fc.nat(10),
    outcome: fc.constantFrom("ok", "429", "timeout"),
    stream: fc.boolean(),
    latencyMs: fc.nat(),
    session: fc.option(fc.string(), { nil: undefined }),
    model: fc.option(fc.string(), { nil: undefined }),
    promptTokens: fc.option(fc.nat(), { nil: undefined }),
    cost: fc.option(fc.double({ noNaN: true, noDefaultInfinity: true }), { nil: undefined }),
  }, { requiredKeys: ["time", "requestId", "clientKey", "attempt", "outcome", "stream", "latencyMs"] });
  fc.assert(
    fc.property(fc.array(record, { maxLength: 300 }), (records) => {
      const strip = (r: Record<string, unknown>) =>
        Object.fromEntries(Object.entries(r).filter(([, v]) => v !== undefined && v !== null));
      const back = packRecords(records as UsageRecord[], 2_000).flatMap((p) => unpackRecords(p.pack));
      assert.deepEqual(back.map((r) => strip(r as never)), records.map((r) => strip(r)));
    }),
  );
});
