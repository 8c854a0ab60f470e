/**
 * Key states shared through the store (SPEC §5.4, §19): cool-downs (with a TTL), disabled keys, and reset
 * markers so `reset-cooldowns` clears every instance. A disabled key is stored with a fingerprint of the
 * value it was disabled for — HMAC-SHA-256 under a random salt kept in the store, never the value and
 * nothing reversible — so a new value for the same label starts fresh, here and after a restart.
 */
import type { CooldownRecord, DisabledRecord, KeyPools } from "../state/keys.ts";
import { withLockRetry } from "./kv.ts";
import { log } from "../log/log.ts";

const COOLDOWN = "cooldown";
const DISABLED = "key-disabled";
const RESET = "cooldown-reset";
const SALT_KEY = ["key-fingerprint-salt"];
/** Deletions per atomic batch (KV allows 1000 mutations). */
const BATCH = 500;

interface StoredCooldown {
  until: number;
  reason: string;
  auth?: boolean;
}

interface StoredDisabled {
  fingerprint: string;
  reason: string;
  since: number;
}

/** What one backend's reset cleared on this instance. */
export interface ResetResult {
  backend: string;
  /** Cool-downs that were in force. */
  cooling: number;
  /** Labels of the keys that were disabled. */
  disabled: string[];
}

/** Keeps the key pools' cool-downs and disabled keys in step with the store. */
export class KeyStates {
  #fingerprints = new Map<string, string>();
  #resetStamps = new Map<string, string>();
  #staleNoted = new Set<string>();
  /** Refreshes and resets run one at a time, so a reset is never undone by a refresh that read before it. */
  #lock: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly kv: Deno.Kv,
    private readonly registry: KeyPools,
    track: (write: Promise<unknown>) => void,
  ) {
    for (const pool of registry.pools()) {
      pool.keyCooled.subscribe((r) => track(this.#writeCooldown(r)));
      pool.keyDisabled.subscribe((r) => track(this.#writeDisabled(r)));
    }
  }

  /** Fingerprint every configured key value (the salt is created on first use of the store). */
  async start(): Promise<void> {
    let salt = (await this.kv.get<Uint8Array<ArrayBuffer>>(SALT_KEY)).value;
    if (!(salt instanceof Uint8Array)) {
      const fresh = crypto.getRandomValues(new Uint8Array(new ArrayBuffer(32)));
      const r = await withLockRetry(() =>
        this.kv.atomic().check({ key: SALT_KEY, versionstamp: null }).set(SALT_KEY, fresh).commit()
      );
      salt = r.ok ? fresh : (await this.kv.get<Uint8Array<ArrayBuffer>>(SALT_KEY)).value!;
    }
    const hmac = await crypto.subtle.importKey("raw", salt, { name: "HMAC", hash: "SHA-256" }, false, [
      "sign",
    ]);
    const enc = new TextEncoder();
    for (const pool of this.registry.pools()) {
      for (const k of pool.keys) {
        const mac = new Uint8Array(await crypto.subtle.sign("HMAC", hmac, enc.encode(k.value)));
        const hex = [...mac].map((b) => b.toString(16).padStart(2, "0")).join("");
        this.#fingerprints.set(`${pool.backend}\n${k.label}`, hex);
      }
    }
  }

  /** Read reset markers, cool-downs and disabled keys from the store into the pools. */
  refresh(): Promise<void> {
    return this.#exclusive(() => this.#refresh());
  }

  async #refresh(): Promise<void> {
    const names = this.registry.names();
    // A reset made by another instance: forget this backend's states, then adopt what the store holds now.
    for await (const e of this.kv.list<number>({ prefix: [RESET] })) {
      const backend = e.key[1] as string;
      if (!names.includes(backend) || this.#resetStamps.get(backend) === e.versionstamp) continue;
      this.#resetStamps.set(backend, e.versionstamp);
      this.registry.pool(backend).reset();
    }
    const now = Date.now();
    for await (const e of this.kv.list<StoredCooldown>({ prefix: [COOLDOWN] })) {
      const [, backend, label, scope] = e.key as string[];
      if (e.value.until <= now || !names.includes(backend)) continue;
      this.registry.pool(backend).adopt({
        backend,
        label,
        scope,
        until: e.value.until,
        reason: e.value.reason,
        ...(e.value.auth ? { auth: true } : {}),
      });
    }
    for await (const e of this.kv.list<StoredDisabled>({ prefix: [DISABLED] })) {
      const [, backend, label] = e.key as string[];
      const id = `${backend}\n${label}`;
      const mine = this.#fingerprints.get(id);
      if (!mine) continue; // not a key of this instance
      if (e.value.fingerprint !== mine) {
        // Disabled for another value: the current one starts fresh (the record stays for that value).
        if (!this.#staleNoted.has(id)) {
          this.#staleNoted.add(id);
          log.info("{backend} key {key} was disabled for an earlier value; its current value is used", {
            backend,
            key: label,
          });
        }
        continue;
      }
      this.registry.pool(backend).adoptDisabled({
        backend,
        label,
        reason: e.value.reason,
        since: e.value.since,
      });
    }
  }

  /** Clear cool-downs and disabled keys of these backends in the store (for every instance) and here. */
  reset(backends: string[]): Promise<ResetResult[]> {
    return this.#exclusive(async () => {
      const out: ResetResult[] = [];
      for (const backend of backends) {
        const keys: Deno.KvKey[] = [];
        for (const prefix of [COOLDOWN, DISABLED]) {
          for await (const e of this.kv.list({ prefix: [prefix, backend] })) keys.push(e.key);
        }
        for (let i = 0; i < keys.length; i += BATCH) {
          const op = this.kv.atomic();
          for (const k of keys.slice(i, i + BATCH)) op.delete(k);
          await withLockRetry(() => op.commit());
        }
        const marked = await withLockRetry(() => this.kv.atomic().set([RESET, backend], Date.now()).commit());
        if (marked.ok) this.#resetStamps.set(backend, marked.versionstamp);
        const was = this.registry.pool(backend).reset();
        out.push({ backend, cooling: was.cooling.length, disabled: was.disabled.map((r) => r.label) });
      }
      return out;
    });
  }

  #exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#lock.then(fn);
    this.#lock = run.catch(() => {});
    return run;
  }

  async #writeCooldown(r: CooldownRecord): Promise<void> {
    const ttl = Math.max(1000, r.until - Date.now());
    const value: StoredCooldown = { until: r.until, reason: r.reason, ...(r.auth ? { auth: true } : {}) };
    await withLockRetry(() => this.kv.set([COOLDOWN, r.backend, r.label, r.scope], value, { expireIn: ttl }));
  }

  async #writeDisabled(r: DisabledRecord): Promise<void> {
    const fingerprint = this.#fingerprints.get(`${r.backend}\n${r.label}`);
    if (!fingerprint) return;
    const value: StoredDisabled = { fingerprint, reason: r.reason, since: r.since };
    await withLockRetry(() => this.kv.set([DISABLED, r.backend, r.label], value));
  }
}
