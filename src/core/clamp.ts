/**
 * Usage numbers from upstream answers, made safe to sum and store (SPEC §19 "No lost records"): a fractional,
 * negative or huge count becomes a non-negative integer, so a KV `sum` (an unsigned 64-bit integer) never
 * throws and one odd answer never costs the other records of its batch.
 */

/** Largest token count kept for one attempt (no model takes a billion tokens; sums stay far below 2^64). */
export const MAX_TOKENS = 1_000_000_000;
/** Largest cost in USD kept for one attempt. */
export const MAX_COST_USD = 1_000_000;

/** A token count: rounded, at least 0, at most {@link MAX_TOKENS}; undefined when not a number. */
export function tokenCount(v: unknown): number | undefined {
  if (typeof v !== "number" || Number.isNaN(v)) return undefined;
  return Math.min(MAX_TOKENS, Math.max(0, Math.round(v)));
}

/** A cost in USD: at least 0, at most {@link MAX_COST_USD}; undefined when not a number. */
export function costUsd(v: unknown): number | undefined {
  if (typeof v !== "number" || Number.isNaN(v)) return undefined;
  return Math.min(MAX_COST_USD, Math.max(0, v));
}
