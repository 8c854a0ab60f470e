/**
 * The backend registry: the running backends in the order they were built (providers/list.ts: the
 * provider list's order, then config-file backends), their key pools, and their cached model lists
 * (~10 min; a failed listing is retried after 30 s and never crashes anything).
 */
import type { Backend, ModelInfo } from "./backend.ts";
import { KeyPool, type KeyStrategy } from "../state/keys.ts";

const MODELS_TTL_MS = 10 * 60_000;
const MODELS_RETRY_MS = 30_000;

interface Entry {
  backend: Backend;
  pool: KeyPool;
  models?: ModelInfo[];
  fetchedAt?: number;
  error?: string;
  refreshing?: Promise<void>;
}

/** Model-list status of one backend, for /health. */
export interface BackendHealth {
  functional: boolean;
  keys: number;
  models: number | null;
  /** Keys cooling down now (any model), not counting disabled ones. */
  cooling: number;
  /** Keys disabled because the upstream rejected them (SPEC §19). */
  disabled: number;
  problem?: string;
}

/** Holds every configured backend. */
export class Registry {
  #entries = new Map<string, Entry>();
  /** The names, once (the backends are fixed at start-up; every request reads them). */
  #names: readonly string[];
  #onError: (backend: string, message: string) => void;

  constructor(
    backends: Backend[],
    strategy: KeyStrategy,
    onError: (backend: string, message: string) => void,
  ) {
    for (const b of backends) {
      this.#entries.set(b.name, { backend: b, pool: new KeyPool(b.name, b.keys, strategy) });
    }
    this.#onError = onError;
    this.#names = Object.freeze([...this.#entries.keys()]);
  }

  /** All backend names in registry order. */
  names(): readonly string[] {
    return this.#names;
  }

  /** A backend by name. */
  get(name: string): Backend | undefined {
    return this.#entries.get(name)?.backend;
  }

  /** A backend's key pool. */
  pool(name: string): KeyPool {
    return this.#entries.get(name)!.pool;
  }

  /** Every pool (for cool-down persistence). */
  pools(): KeyPool[] {
    return [...this.#entries.values()].map((e) => e.pool);
  }

  /** The first functional backend in SPEC §4.2 order, decided without network calls. */
  firstFunctional(): string | undefined {
    return this.names().find((n) => this.get(n)!.functional());
  }

  /** Known model ids of a backend, or undefined while its list is unknown. */
  knownModels(name: string): readonly string[] | undefined {
    return this.#entries.get(name)?.models?.map((m) => m.id);
  }

  /** Refresh a backend's model list if stale; resolves when done (never rejects). */
  refresh(name: string, force = false): Promise<void> {
    const e = this.#entries.get(name);
    if (!e || !e.backend.functional()) return Promise.resolve();
    const age = Date.now() - (e.fetchedAt ?? 0);
    const fresh = e.error ? age < MODELS_RETRY_MS : age < MODELS_TTL_MS;
    if (!force && e.fetchedAt !== undefined && fresh) return Promise.resolve();
    if (e.refreshing) return e.refreshing;
    const ctl = AbortSignal.timeout(15_000);
    e.refreshing = e.backend.listModels(ctl)
      .then((models) => {
        e.models = models;
        e.error = undefined;
      })
      .catch((err) => {
        e.error = (err as Error)?.message ?? String(err);
        this.#onError(name, e.error);
      })
      .finally(() => {
        e.fetchedAt = Date.now();
        e.refreshing = undefined;
      });
    return e.refreshing;
  }

  /** Refresh every stale list (bounded wait) and return all models as `backend:model`. */
  async allModels(waitMs: number): Promise<{ backend: string; model: ModelInfo }[]> {
    const pending = this.names().map((n) => this.refresh(n));
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      Promise.all(pending),
      new Promise((r) => (timer = setTimeout(r, waitMs))),
    ]);
    clearTimeout(timer);
    const out: { backend: string; model: ModelInfo }[] = [];
    for (const [name, e] of this.#entries) {
      for (const m of e.models ?? []) out.push({ backend: name, model: m });
    }
    return out;
  }

  /** Wait for in-flight listings and backends' background work (for clean shutdown). */
  async settle(): Promise<void> {
    await Promise.all([...this.#entries.values()].map((e) => e.refreshing));
    await Promise.all([...this.#entries.values()].map((e) => e.backend.drain?.()));
  }

  /** Counts for /health: never key values. */
  health(): Record<string, BackendHealth> {
    const out: Record<string, BackendHealth> = {};
    for (const [name, e] of this.#entries) {
      const problem = e.backend.problem() ?? (e.error ? `model listing failed: ${e.error}` : undefined);
      const disabled = new Set(e.pool.disabledKeys().map((r) => r.label));
      const cooling = new Set(e.pool.active().map((r) => r.label).filter((l) => !disabled.has(l)));
      out[name] = {
        functional: e.backend.functional(),
        keys: e.backend.keys.length,
        models: e.models ? e.models.length : null,
        cooling: cooling.size,
        disabled: disabled.size,
        ...(problem ? { problem } : {}),
      };
    }
    return out;
  }
}
