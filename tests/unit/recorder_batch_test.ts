/** SPEC §19 "No lost records": odd upstream numbers are clamped, and one bad write never costs its batch. */
import assert from "node:assert/strict";
import { type AuditEvent, type UsageRecord, UsageRecorder } from "../../src/usage/recorder.ts";
import { auditLogs, recentUsage, usageStats } from "../../src/usage/query.ts";
import { MAX_TOKENS } from "../../src/core/clamp.ts";

const NOW = Date.now();
const base: UsageRecord = {
  time: NOW,
  requestId: "req_ok",
  clientKey: "anonymous",
  attempt: 1,
  outcome: "ok",
  stream: false,
  latencyMs: 12,
  backend: "openrouter",
  model: "a/b",
  promptTokens: 5,
  completionTokens: 6,
  totalTokens: 11,
};

async function withRecorder(
  fn: (r: UsageRecorder, kv: Deno.Kv, errors: string[]) => Promise<void>,
): Promise<void> {
  const kv = await Deno.openKv(":memory:");
  const errors: string[] = [];
  const r = new UsageRecorder(kv, { retentionDays: 1, flushMs: 3_600_000 }, (m) => errors.push(m));
  try {
    await fn(r, kv, errors);
  } finally {
    await r.close();
    kv.close();
  }
}

Deno.test("fractional, huge and negative usage numbers are clamped; the other records of the batch survive", async () => {
  await withRecorder(async (r, kv, errors) => {
    r.add({
      ...base,
      requestId: "req_odd",
      promptTokens: 1.5,
      completionTokens: 1e30,
      totalTokens: -3,
      cost: 1e30,
    });
    r.add(base);
    r.audit({ time: NOW, kind: "command", detail: { commands: ["hello"] } });
    await r.flush();
    assert.deepEqual(errors, []);
    const recent = await recentUsage(kv, { limit: 10 });
    const odd = recent.find((x) => x.requestId === "req_odd")!;
    assert.equal(odd.promptTokens, 2);
    assert.equal(odd.completionTokens, MAX_TOKENS);
    assert.equal(odd.totalTokens, 0);
    assert.equal(odd.cost, 1_000_000);
    assert.ok(recent.some((x) => x.requestId === "req_ok"), "the normal record is stored");
    const [stats] = await usageStats(kv, NOW - 1000, NOW + 1000, "model");
    assert.equal(stats.requests, 2);
    assert.equal(stats.prompt_tokens, 7);
    assert.equal(stats.completion_tokens, MAX_TOKENS + 6);
    assert.equal((await auditLogs(kv, { limit: 10, since: 0, until: NOW + 1000 })).length, 1);
  });
});

Deno.test("a write the store refuses is dropped alone, with a log line; its batch is kept", async () => {
  await withRecorder(async (r, kv, errors) => {
    r.add(base);
    r.audit({ time: NOW, kind: "command", detail: { commands: ["hello"] } });
    // A value the store cannot hold (KV cannot clone a function): only this event may be lost.
    r.audit({ time: NOW, kind: "command", detail: { bad: () => 1 } } as unknown as AuditEvent);
    r.audit({ time: NOW, kind: "setting_change", detail: { command_prefix: { from: "!/", to: "#/" } } });
    await r.flush();
    assert.equal((await recentUsage(kv, { limit: 10 })).length, 1, "the usage record is stored");
    const audits = await auditLogs(kv, { limit: 10, since: 0, until: NOW + 1000 });
    assert.deepEqual(audits.map((a) => a.kind).sort(), ["command", "setting_change"]);
    assert.equal((await usageStats(kv, NOW - 1000, NOW + 1000, "model"))[0]?.requests, 1, "roll-ups kept");
    assert.equal(errors.length, 1, errors.join("\n"));
    assert.match(
      errors[0],
      /^dropped 1 of \d+ store writes: the command audit event of .* \(.*could not be cloned/,
    );
  });
});
