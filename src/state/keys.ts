/**
 * Key pools (SPEC §5.1, §19): keys in env order labelled by env var name, a rotation order per request
 * (round-robin or fill-first), cool-down bookkeeping per (key, model), per key, and per key for all
 * `:free` models, and keys disabled because the upstream rejected them. In memory; persistence hooks in
 * through {@link KeyPool.keyCooled} and {@link KeyPool.keyDisabled}.
 */
import { Listeners } from "../core/listeners.ts";
import type { KeyEntry } from "../config/load.ts";
import { backoffMs } from "../core/cooldown.ts";
import { KeyGate } from "./gate.ts";

/** Which keys a cool-down applies to. */
export type CooldownScope =
  /** this key for this model */
  | "key-model"
  /** this key for every model */
  | "key"
  /** this key for every `:free` model (OpenRouter's account-wide free limits) */
  | "key-free";

/** A cool-down learned from a failure. `untilMs` absent: the pool's doubling back-off (30 s → 1 h). */
export interface Cooldown {
  scope: CooldownScope;
  untilMs?: number;
  /** Why, for `status` and logs (e.g. "429 free-models-per-min"). */
  reason: string;
  /** An auth-class failure (402 no credits): the key is out "for auth reasons", not rate-limited. */
  auth?: boolean;
  /**
   * The key itself was rejected (401, invalid key): disable it until its value changes or an admin runs
   * `reset-cooldowns` (SPEC §19); `scope` and `untilMs` do not apply.
   */
  disable?: boolean;
}

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
  /** An auth-class cool-down (402 no credits), not a rate limit. */
  auth?: boolean;
}

/** A key the upstream rejected (401, invalid key): out until its value changes or an admin resets it. */
export interface DisabledRecord {
  backend: string;
  label: string;
  reason: string;
  /** When it was disabled (ms epoch). */
  since: number;
}

/**
 * A change to a budget the upstream announced: one unit spent (`announced` absent) or an announced budget
 * learned from an answer (what other isolates of the process adopt, `--workers`).
 */
export interface BudgetUse {
  backend: string;
  label: string;
  model: string;
  announced?: { remaining: number; until: number };
}

/** Why a key cannot be used for a model now: until when (`Infinity` when disabled), and whether for auth. */
export interface KeyBlock {
  until: number;
  reason: string;
  /** Out for an auth reason (disabled, or no credits), not rate-limited. */
  auth: boolean;
  disabled: boolean;
}

/** The key pools of the running backends by backend name (the backend registry provides them). */
export interface KeyPools {
  /** Every backend name, in registry order. */
  names(): readonly string[];
  /** A backend's key pool. */
  pool(name: string): KeyPool;
  /** Every pool. */
  pools(): KeyPool[];
}

/** The end of a turn that was never taken (a free key needs none). */
const noTurn = (_ok: boolean): void => {};

/** Key rotation strategy. */
export type KeyStrategy = "round-robin" | "fill-first";

/** The key pool of one backend. */
export class KeyPool {
  #cursor = 0;
  #cool = new Map<string, CooldownRecord>();
  #disabled = new Map<string, DisabledRecord>();
  #failures = new Map<string, number>();
  /** Budgets announced by the upstream (X-RateLimit-Remaining), minus requests sent since. */
  #budget = new Map<string, { remaining: number; until: number }>();
  #gate = new KeyGate();
  /** Every new cool-down (the store writes it through). */
  readonly keyCooled = new Listeners<CooldownRecord>();
  /** Every key disabled here (the store writes it through). */
  readonly keyDisabled = new Listeners<DisabledRecord>();
  /** Every unit spent of a known budget and every budget announced here. */
  readonly budgetUsed = new Listeners<BudgetUse>();

  constructor(
    readonly backend: string,
    readonly keys: readonly KeyEntry[],
    public strategy: KeyStrategy,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * This request's key order (read-only: it may be the pool's own list). Round-robin advances the start
   * once per call.
   */
  rotation(): readonly KeyEntry[] {
    const n = this.keys.length;
    const start = n > 1 && this.strategy === "round-robin" ? this.#cursor++ % n : 0;
    if (start === 0) return this.keys;
    const order = new Array<KeyEntry>(n);
    for (let i = 0; i < n; i++) order[i] = this.keys[(start + i) % n];
    return order;
  }

  /** Budgets are per key for all `:free` models (OpenRouter's account-wide limits), else per key and model. */
  #budgetId(label: string, model: string): string {
    return `${label}\n${model.endsWith(":free") ? ":free" : model}`;
  }

  /** A request is about to use this key: spend one unit of a known budget. */
  reserve(label: string, model: string): void {
    if (!this.#budget.size) return;
    const b = this.#budget.get(this.#budgetId(label, model));
    if (!b) return;
    b.remaining--;
    this.budgetUsed.emit({ backend: this.backend, label, model });
  }

  /** Learn the budget a successful answer announced; never trust it above what we already spent. */
  note(label: string, model: string, remaining: number, until: number): void {
    this.#note(label, model, remaining, until);
    this.budgetUsed.emit({ backend: this.backend, label, model, announced: { remaining, until } });
  }

  #note(label: string, model: string, remaining: number, until: number): void {
    const id = this.#budgetId(label, model);
    const b = this.#budget.get(id);
    if (b && b.until === until) b.remaining = Math.min(b.remaining, remaining);
    else this.#budget.set(id, { remaining, until });
  }

  /** Adopt a budget change made elsewhere (another isolate of this process), without announcing it again. */
  adoptBudget(use: BudgetUse): void {
    if (use.announced) return this.#note(use.label, use.model, use.announced.remaining, use.announced.until);
    const b = this.#budget.get(this.#budgetId(use.label, use.model));
    if (b) b.remaining--;
  }

  /** When `label` may be used for `model` again (`Infinity` while disabled), or undefined when it is free now. */
  coolingUntil(label: string, model: string): number | undefined {
    return this.block(label, model)?.until;
  }

  /** What keeps `label` from serving `model` now (the longest block), or undefined when it is free. */
  block(label: string, model: string): KeyBlock | undefined {
    if (this.#disabled.size) {
      const off = this.#disabled.get(label);
      if (off) return { until: Infinity, reason: off.reason, auth: true, disabled: true };
    }
    if (!this.#budget.size && !this.#cool.size) return undefined; // the common case: nothing learned yet
    const now = this.now();
    let block: KeyBlock | undefined;
    if (this.#budget.size) {
      const b = this.#budget.get(this.#budgetId(label, model));
      if (b && b.until > now && b.remaining <= 0) {
        block = { until: b.until, reason: "announced budget used up", auth: false, disabled: false };
      }
    }
    for (const scope of [model, "*", model.endsWith(":free") ? ":free" : undefined]) {
      if (!scope) continue;
      const r = this.#cool.get(`${label}\n${scope}`);
      if (r && r.until > now && (block === undefined || r.until > block.until)) {
        block = { until: r.until, reason: r.reason, auth: !!r.auth, disabled: false };
      }
    }
    return block;
  }

  /** Cool-downs of `label` for `model` that have ended but not been confirmed by a success: the key is recovering. */
  #recovering(label: string, model: string): string[] {
    const now = this.now();
    const ids: string[] = [];
    for (const scope of [model, "*", model.endsWith(":free") ? ":free" : undefined]) {
      if (!scope) continue;
      const id = `${label}\n${scope}`;
      const r = this.#cool.get(id);
      if (r && r.until <= now) ids.push(id);
    }
    return ids;
  }

  /** True while `label` is recovering for `model` and another attempt holds its turn (SPEC §19). */
  busy(label: string, model: string): boolean {
    return this.#cool.size > 0 && this.#gate.busy(this.#recovering(label, model));
  }

  /**
   * Take the turn on `label` for `model` (free keys need none); call the returned function with the
   * attempt's success once it is known — after any new cool-down it caused is recorded.
   */
  take(label: string, model: string): (ok: boolean) => void {
    if (!this.#cool.size) return noTurn;
    const ids = this.#recovering(label, model);
    if (!ids.length) return noTurn;
    this.#gate.enter(ids);
    return (ok) => {
      for (const id of this.#gate.leave(ids, ok)) {
        const r = this.#cool.get(id);
        if (r && r.until <= this.now()) this.#cool.delete(id);
      }
    };
  }

  /** Resolves when a turn is released or the pool is reset: waiting requests look again. */
  changed(): Promise<void> {
    return this.#gate.changed();
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
    const record: CooldownRecord = { backend: this.backend, label, scope, until, reason: c.reason };
    if (c.auth) record.auth = true;
    this.#cool.set(id, record);
    this.keyCooled.emit(record);
    return record;
  }

  /** Disable a key the upstream rejected; returns the record. */
  disable(label: string, reason: string): DisabledRecord {
    const record = { backend: this.backend, label, reason, since: this.now() };
    this.#disabled.set(label, record);
    this.keyDisabled.emit(record);
    return record;
  }

  /** Adopt a disabled state learned elsewhere (another instance, the store at start-up). */
  adoptDisabled(record: DisabledRecord): void {
    if (!this.#disabled.has(record.label)) this.#disabled.set(record.label, { ...record });
  }

  /** Keys disabled now (for `status` and `/health`). */
  disabledKeys(): DisabledRecord[] {
    return [...this.#disabled.values()];
  }

  /** Forget every cool-down, back-off, budget and disabled state; returns what was in force. */
  reset(): { cooling: CooldownRecord[]; disabled: DisabledRecord[] } {
    const out = { cooling: this.active(), disabled: this.disabledKeys() };
    this.#cool.clear();
    this.#failures.clear();
    this.#budget.clear();
    this.#disabled.clear();
    this.#gate.wakeAll();
    return out;
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
