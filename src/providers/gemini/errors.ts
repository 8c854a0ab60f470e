/**
 * Classification of Gemini REST failures for the key pool and the attempt engine (SPEC §5.2, §13). Gemini
 * errors use the Google RPC shape `{"error":{code,message,status,details:[…]}}` (sometimes wrapped in an
 * array); `details` carry RetryInfo, QuotaFailure and ErrorInfo. Pure: status, headers and text in.
 */
import type { UpstreamFailure } from "../../runner/backend.ts";
import type { HeaderReader } from "../../core/headers.ts";
import { nextMidnightPacific, parseDurationMs, retryHintUntil } from "../../core/cooldown.ts";
import { keyRejected, statusFailure } from "../../runner/failures.ts";

/** The fields of a Google RPC error the proxy reads. */
export interface GoogleError {
  code?: number;
  message?: string;
  status?: string;
  /** `RetryInfo.retryDelay` in ms. */
  retryDelayMs?: number;
  /** `QuotaFailure.violations[].quotaId`. */
  quotaIds: string[];
  /** `ErrorInfo.reason` (e.g. API_KEY_INVALID). */
  reasons: string[];
}

type Obj = Record<string, unknown>;

/** Read a Google RPC error object (already unwrapped from `{"error":…}`). */
export function readGoogleError(e: unknown): GoogleError {
  const err = (e && typeof e === "object" ? e : {}) as Obj;
  const out: GoogleError = {
    code: typeof err.code === "number" ? err.code : undefined,
    message: typeof err.message === "string" ? err.message : undefined,
    status: typeof err.status === "string" ? err.status : undefined,
    quotaIds: [],
    reasons: [],
  };
  for (const d of Array.isArray(err.details) ? err.details as Obj[] : []) {
    const type = typeof d?.["@type"] === "string" ? d["@type"] as string : "";
    if (type.endsWith("google.rpc.RetryInfo")) out.retryDelayMs = parseDurationMs(d.retryDelay);
    if (type.endsWith("google.rpc.QuotaFailure") && Array.isArray(d.violations)) {
      for (const v of d.violations as Obj[]) if (typeof v?.quotaId === "string") out.quotaIds.push(v.quotaId);
    }
    if (type.endsWith("google.rpc.ErrorInfo") && typeof d.reason === "string") out.reasons.push(d.reason);
  }
  return out;
}

/** Parse an error body leniently: `{"error":…}`, `[{"error":…}]`, or anything else (HTML, empty). */
export function parseGoogleErrorBody(text: string): GoogleError {
  try {
    let v = JSON.parse(text);
    if (Array.isArray(v)) v = v[0];
    if (v && typeof v === "object" && "error" in v) return readGoogleError(v.error);
  } catch { /* not JSON */ }
  return { quotaIds: [], reasons: [] };
}

/** "Please retry in 53.01s." in a message → ms. */
function retryFromMessage(message: string): number | undefined {
  const m = /retry in (\d+(?:\.\d+)?)\s*s/i.exec(message);
  return m ? Math.round(Number(m[1]) * 1000) : undefined;
}

const KEY_FAILURE_REASONS = new Set(["API_KEY_INVALID", "API_KEY_EXPIRED", "API_KEY_SERVICE_BLOCKED"]);

/** Classify one failed Gemini response. `keyLabel` names the key in auth messages (never its value). */
export function classifyGeminiFailure(
  status: number,
  headers: HeaderReader | undefined,
  text: string,
  keyLabel: string | undefined,
  backend: string,
  now = Date.now(),
): UpstreamFailure {
  const g = parseGoogleErrorBody(text);
  const message = g.message || text.trim().slice(0, 300) || `HTTP ${status}`;
  const outcome = String(status);
  const key = keyLabel ?? "(no key)";

  if (status === 429) {
    const perDay = g.quotaIds.find((q) => /PerDay|Daily/i.test(q));
    const delay = g.retryDelayMs ?? retryFromMessage(message);
    const hint = delay !== undefined ? now + delay : retryHintUntil(headers, undefined, now);
    const base = { action: "next-key" as const, status: 429, type: "rate_limit_error" as const, outcome };
    if (perDay) {
      return {
        ...base,
        code: "rate_limit_exceeded",
        message:
          `${backend}: key ${key} used up its daily quota (${perDay}); it resets at midnight Pacific: ${message}`,
        cooldown: {
          scope: "key-model",
          untilMs: Math.max(hint ?? 0, nextMidnightPacific(now)),
          reason: `429 ${perDay}`,
        },
      };
    }
    return {
      ...base,
      code: "rate_limit_exceeded",
      message: `${backend}: key ${key} is rate-limited: ${message}`,
      cooldown: { scope: "key-model", untilMs: hint, reason: g.quotaIds[0] ? `429 ${g.quotaIds[0]}` : "429" },
    };
  }
  const keyReason = g.reasons.find((r) => KEY_FAILURE_REASONS.has(r));
  if (
    status === 401 || status === 403 || (status === 400 && (keyReason || /API key not valid/i.test(message)))
  ) {
    const why = keyReason ?? g.status ?? String(status);
    return keyRejected(
      backend,
      key,
      `was rejected (${why})`,
      message,
      { disable: true, reason: `${status} ${why}` },
      outcome,
      now,
    );
  }
  const label = `${status}${g.status ? ` ${g.status}` : ""}`;
  return statusFailure(backend, status, label, message, g.status ? g.status.toLowerCase() : "upstream_error");
}

/**
 * Classify an in-band stream error (`{"error":…}` produced by the stream translator). `scrub` runs over the
 * error's text before any of it is cut (a key straddling a cut would escape a later scrub).
 */
export function classifyGeminiInBand(
  error: unknown,
  keyLabel: string | undefined,
  backend: string,
  scrub: (text: string) => string = (t) => t,
): UpstreamFailure {
  const e = (error && typeof error === "object" ? error : {}) as Obj;
  const google = (e.google && typeof e.google === "object" ? e.google : e) as Obj;
  const status = typeof google.code === "number" ? google.code : undefined;
  const message = typeof e.message === "string" ? e.message : "Gemini reported an error in the stream.";
  if (status !== undefined && status >= 400 && status < 600) {
    return classifyGeminiFailure(
      status,
      undefined,
      scrub(JSON.stringify({ error: google })),
      keyLabel,
      backend,
    );
  }
  return {
    action: "next-key",
    status: 502,
    type: "api_error",
    code: "upstream_error",
    message: `${backend}: ${message}`,
    outcome: typeof e.code === "string" ? e.code : "bad_stream",
  };
}
