/**
 * Each key's state as an operator sees it (SPEC §18): ready, cooling until a time, or out for an auth reason
 * (rejected, or no credits) — the key's *longest* cool-down in force, over every model. Read by
 * `llmproxy_key_cooldown_seconds` and the console, so both say the same. Labels only, never a key value.
 */
import type { KeyPools } from "../state/keys.ts";

/** One key of one backend, by label. */
export interface KeyStatus {
  backend: string;
  /** The key's label (its env variable name), never its value. */
  key: string;
  /** `ready`: usable now; `cooling`: rate-limited until `until`; `failed_auth`: rejected or out of credits. */
  state: "ready" | "cooling" | "failed_auth";
  /** When the key is usable again (ms epoch); `Infinity` while disabled; absent when ready. */
  until?: number;
  /** Why it is out (e.g. "429 rate limited"). */
  reason?: string;
}

/** The status of every key of every backend, in registry and pool order. */
export function keyStatuses(pools: KeyPools, now = Date.now()): KeyStatus[] {
  const out: KeyStatus[] = [];
  for (const backend of pools.names()) {
    const pool = pools.pool(backend);
    const disabled = new Map(pool.disabledKeys().map((d) => [d.label, d]));
    const longest = new Map<string, { until: number; reason: string; auth: boolean }>();
    for (const r of pool.active()) {
      const held = longest.get(r.label);
      if (r.until > now && (!held || r.until > held.until)) {
        longest.set(r.label, { until: r.until, reason: r.reason, auth: !!r.auth });
      }
    }
    for (const { label } of pool.keys) {
      const off = disabled.get(label);
      const cool = longest.get(label);
      if (off) out.push({ backend, key: label, state: "failed_auth", until: Infinity, reason: off.reason });
      else if (cool) {
        out.push({
          backend,
          key: label,
          state: cool.auth ? "failed_auth" : "cooling",
          until: cool.until,
          reason: cool.reason,
        });
      } else out.push({ backend, key: label, state: "ready" });
    }
  }
  return out;
}
