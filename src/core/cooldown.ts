/**
 * Rate-limit signals → "cooling until" times (SPEC §5.2): `Retry-After` (seconds or HTTP date),
 * `retry-after-ms`, `X-RateLimit-Reset` (ms epoch), and the calendar resets (UTC and Pacific midnight).
 * Pure functions of their inputs and `now`.
 */
import type { HeaderReader } from "./headers.ts";

/** Read a reset value that may be an epoch in ms, an epoch in s, or a delay in s. */
function resetToMs(raw: string, now: number): number | undefined {
  const n = Number(raw.trim());
  if (!Number.isFinite(n) || n <= 0) return undefined;
  if (n > 1e12) return n; // ms epoch (OpenRouter)
  if (n > 1e9) return n * 1000; // s epoch
  return now + n * 1000; // delay in seconds
}

/** Look a header up in a header reader or a plain record (OpenRouter copies them into error.metadata.headers). */
function header(h: HeaderReader | Record<string, unknown> | undefined, name: string): string | undefined {
  if (!h) return undefined;
  if (typeof h.get === "function") return (h as HeaderReader).get(name) ?? undefined;
  for (const [k, v] of Object.entries(h)) if (k.toLowerCase() === name && v != null) return String(v);
  return undefined;
}

/** The absolute time (ms epoch) an upstream asked us to wait until, from its headers or error metadata. */
export function retryHintUntil(
  headers: HeaderReader | undefined,
  metadataHeaders: Record<string, unknown> | undefined,
  now: number,
): number | undefined {
  for (const h of [headers, metadataHeaders]) {
    const ms = header(h, "retry-after-ms");
    if (ms !== undefined && Number.isFinite(Number(ms)) && Number(ms) >= 0) return now + Number(ms);
    const ra = header(h, "retry-after");
    if (ra !== undefined) {
      const secs = Number(ra.trim());
      if (Number.isFinite(secs) && secs >= 0) return now + secs * 1000;
      const date = Date.parse(ra);
      if (Number.isFinite(date)) return Math.max(now, date);
    }
    const reset = header(h, "x-ratelimit-reset");
    if (reset !== undefined) {
      const t = resetToMs(reset, now);
      if (t !== undefined) return Math.max(now, t);
    }
  }
  return undefined;
}

/** The remaining budget a successful answer announced (`X-RateLimit-Remaining` with a reset time), if any. */
export function rateLimitInfo(
  headers: HeaderReader,
  now: number,
): { remaining: number; resetMs: number } | undefined {
  const rem = headers.get("x-ratelimit-remaining");
  const reset = headers.get("x-ratelimit-reset");
  if (rem === null || reset === null) return undefined;
  const remaining = Number(rem);
  const resetMs = resetToMs(reset, now);
  if (!Number.isFinite(remaining) || remaining < 0 || resetMs === undefined || resetMs <= now) {
    return undefined;
  }
  return { remaining, resetMs };
}

/** Parse a Gemini/protobuf duration like "37s" or "1.5s" into ms. */
export function parseDurationMs(d: unknown): number | undefined {
  if (typeof d !== "string") return undefined;
  const m = /^(\d+(?:\.\d+)?)s$/.exec(d.trim());
  return m ? Math.round(Number(m[1]) * 1000) : undefined;
}

/** The next 00:00 UTC after `now`. */
export function nextMidnightUtc(now: number): number {
  const d = new Date(now);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate() + 1);
}

/** Offset of a time zone from UTC at `when`, in ms (positive east of Greenwich). */
function zoneOffsetMs(when: number, timeZone: string): number {
  const parts = new Intl.DateTimeFormat("en-US", {
    timeZone,
    hourCycle: "h23",
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
  }).formatToParts(new Date(when));
  const get = (t: string) => Number(parts.find((p) => p.type === t)!.value);
  const asUtc = Date.UTC(
    get("year"),
    get("month") - 1,
    get("day"),
    get("hour"),
    get("minute"),
    get("second"),
  );
  return asUtc - Math.floor(when / 1000) * 1000;
}

/** The next midnight in America/Los_Angeles after `now` (Gemini's per-day quotas reset then). */
export function nextMidnightPacific(now: number): number {
  const offset = zoneOffsetMs(now, "America/Los_Angeles");
  const local = new Date(now + offset);
  const localMidnight = Date.UTC(local.getUTCFullYear(), local.getUTCMonth(), local.getUTCDate() + 1);
  // Convert back with the offset in force at that midnight (DST changes happen at 02:00, so this is exact).
  return localMidnight - zoneOffsetMs(localMidnight - offset, "America/Los_Angeles");
}

/** Back-off for a failure without a hint: 30 s, doubling per consecutive failure, capped at 1 h. */
export function backoffMs(consecutiveFailures: number): number {
  return Math.min(30_000 * 2 ** Math.max(0, consecutiveFailures - 1), 3_600_000);
}
