/**
 * Deno KV, the store (SPEC §11): opened from `--kv` (file, `:memory:` or a KV Connect URL) or
 * `<data-dir>/llmproxy.kv`, with retries for "database is locked" when several processes share a file.
 */
import { ConfigError } from "../config/errors.ts";

/** Where the store lives, for the start-up line. */
export function kvLocation(kvFlag: string | undefined, dataDir: string): string {
  return kvFlag ?? `${dataDir}/llmproxy.kv`;
}

/** How a message names where `--kv` and `--data-dir` came from (the flag, a variable or a config field). */
export interface StoreOrigins {
  kv: string;
  dataDir: string;
}

/**
 * Open the store; a file store gets its directory created. Problems are ConfigErrors (exit 2) naming
 * `origins`.
 */
export async function openStore(
  kvFlag: string | undefined,
  dataDir: string,
  origins: StoreOrigins = { kv: "--kv", dataDir: "--data-dir" },
): Promise<Deno.Kv> {
  const where = kvLocation(kvFlag, dataDir);
  const remote = /^https?:\/\//.test(where);
  if (where !== ":memory:" && !remote) {
    const dir = where.includes("/") ? where.slice(0, where.lastIndexOf("/")) : ".";
    try {
      await Deno.mkdir(dir || "/", { recursive: true });
    } catch (e) {
      throw new ConfigError(
        `${kvFlag === undefined ? origins.dataDir : origins.kv}: cannot create ${dir} (${(e as Error).name})`,
      );
    }
  }
  try {
    return await withLockRetry(() => Deno.openKv(where));
  } catch (e) {
    throw new ConfigError(
      `${kvFlag === undefined ? origins.dataDir : origins.kv}: cannot open the store ${where} (${
        (e as Error).message.split("\n")[0]
      })`,
    );
  }
}

/** True for the error SQLite raises when another process holds the lock. */
export function isLockError(e: unknown): boolean {
  return e instanceof Error && /database is locked|busy/i.test(e.message);
}

/** Run a KV operation, retrying lock contention with a short randomized back-off (≈ 2 s at most). */
export async function withLockRetry<T>(op: () => Promise<T>, tries = 20): Promise<T> {
  for (let i = 0;; i++) {
    try {
      return await op();
    } catch (e) {
      if (!isLockError(e) || i >= tries) throw e;
      await new Promise((r) => setTimeout(r, 10 + Math.random() * 20 * (i + 1)));
    }
  }
}

/** Largest stored value in bytes (KV's limit is 64 KiB). */
export const MAX_VALUE_BYTES = 65_000;

/** Upper bound of a value's stored size: KV stores strings as Latin-1 or UTF-16 (one `…` doubles it). */
export function storedBytes(v: unknown): number {
  const s = JSON.stringify(v) ?? "";
  return BEYOND_LATIN1.test(s) ? 2 * s.length : s.length;
}

const BEYOND_LATIN1 = /[\u0100-\uffff]/;
