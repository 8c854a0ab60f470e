/**
 * Key pools (SPEC §5.1): keys in env order labelled by env var name, a rotation order per request
 * (round-robin or fill-first), and cool-down bookkeeping per (key, model), per key, and per key for all
 * `:free` models. In memory; persistence hooks in through {@link KeyPool.onCool}.
 */
import type { KeyEntry } from "../config/load.ts";
import type { Cooldown } from "../backends/backend.ts";
import { backoffMs } from "./cooldown.ts";

/**
 * Longest cool-down: every real limit resets within a day (daily quotas at midnight UTC or Pacific), so a
 * longer upstream hint (a broken `Retry-After`) must not lock a key for years — the store keeps it.
 */
export const MAX_COOLDOWN_MS = 24 * 3_600_000;

/** A cool-down record as stored: which key, which scope, until when, why. */
export interface CooldownRecord {
  backend: string;
  label: string;
  /** A model id, `*` (every model) or `:free` (every free model). */
  scope: string;
  until: number;
  reason: string;
}

/** Key rotation strategy. */
export type KeyStrategy = "round-robin" | "fill-first";

/** The key pool of one backend. */
export class KeyPool {
  #cursor = 0;
  #cool = new Map<string, CooldownRecord>();
  #failures = new Map<string, number>();
  /** Budgets announced by the upstream (X-RateLimit-Remaining), minus requests sent since. */
  #budget = new Map<string, { remaining: number; until: number }>();
  /** Called with every new cool-down (the store writes it through). */
  onCool: ((r: CooldownRecord) => void) | undefined;

  constructor(
    readonly backend: string,
    readonly keys: readonly KeyEntry[],
    public strategy: KeyStrategy,
    private readonly now: () => number = Date.now,
  ) {}

  /** This request's key order. Round-robin advances the start once per call. */
  rotation(): KeyEntry[] {
    const n = this.keys.length;
    if (n === 0) return [];
    const start = this.strategy === "round-robin" ? this.#cursor++ % n : 0;
    return [...this.keys.slice(start), ...this.keys.slice(0, start)];
  }

  /** Budgets are per key for all `:free` models (OpenRouter's account-wide limits), else per key and model. */
  #budgetId(label: string, model: string): string {
    return `${label}\n${model.endsWith(":free") ? ":free" : model}`;
  }

  /** A request is about to use this key: spend one unit of a known budget. */
  reserve(label: string, model: string): void {
    const b = this.#budget.get(this.#budgetId(label, model));
    if (b) b.remaining--;
  }

  /** Learn the budget a successful answer announced; never trust it above what we already spent. */
  note(label: string, model: string, remaining: number, until: number): void {
    const id = this.#budgetId(label, model);
    const b = this.#budget.get(id);
    if (b && b.until === until) b.remaining = Math.min(b.remaining, remaining);
    else this.#budget.set(id, { remaining, until });
  }

  /** When `label` may be used for `model` again, or undefined when it is free now. */
  coolingUntil(label: string, model: string): number | undefined {
    const now = this.now();
    let until: number | undefined;
    if (this.#budget.size) {
      const b = this.#budget.get(this.#budgetId(label, model));
      if (b && b.until > now && b.remaining <= 0) until = b.until;
    }
    for (const scope of [model, "*", model.endsWith(":free") ? ":free" : undefined]) {
      if (!scope) continue;
      const r = this.#cool.get(`${label}\n${scope}`);
      if (r && r.until > now && (until === undefined || r.until > until)) until = r.until;
    }
    return until;
  }

  /** Record a cool-down from a failure; returns the stored record. */
  cool(label: string, model: string, c: Cooldown): CooldownRecord {
    const scope = c.scope === "key" ? "*" : c.scope === "key-free" ? ":free" : model;
    const id = `${label}\n${scope}`;
    let until = c.untilMs;
    if (until === undefined) {
      const n = (this.#failures.get(id) ?? 0) + 1;
      this.#failures.set(id, n);
      until = this.now() + backoffMs(n);
    }
    until = Math.min(until, this.now() + MAX_COOLDOWN_MS);
    const record = { backend: this.backend, label, scope, until, reason: c.reason };
    this.#cool.set(id, record);
    this.onCool?.(record);
    return record;
  }

  /** Adopt a cool-down learned elsewhere (another instance, the store at start-up); later `until` wins. */
  adopt(record: CooldownRecord): void {
    const r = { ...record, until: Math.min(record.until, this.now() + MAX_COOLDOWN_MS) };
    const id = `${r.label}\n${r.scope}`;
    const mine = this.#cool.get(id);
    if (!mine || mine.until < r.until) this.#cool.set(id, r);
  }

  /** A success clears the back-off counter of this key and model. */
  succeeded(label: string, model: string): void {
    if (this.#failures.size) this.#failures.delete(`${label}\n${model}`);
  }

  /** Cool-downs still in force (for `status` and `/health`). */
  active(): CooldownRecord[] {
    const now = this.now();
    return [...this.#cool.values()].filter((r) => r.until > now);
  }
}
