/**
 * Anthropic failures → the rows of SPEC §5.2 (§3.4): 429 cools the key for the model until `retry-after` or
 * the `anthropic-ratelimit-*-reset` time of the exhausted limit; 529 / `overloaded_error` tries the next key,
 * then the next element, with no cool-down; 401/403 disable the key. Pure.
 */
import type { UpstreamFailure } from "../../runner/backend.ts";
import type { HeaderReader } from "../../core/headers.ts";
import { retryHintUntil } from "../../core/cooldown.ts";
import { keyRejected, statusFailure } from "../../runner/failures.ts";

/** Anthropic's rate-limit families (`anthropic-ratelimit-<family>-remaining` / `-reset`). */
const LIMITS = ["requests", "tokens", "input-tokens", "output-tokens"];

/** Status of each error `type` Anthropic may send in a stream's `error` event. */
const STATUS_OF_TYPE: Record<string, number> = {
  invalid_request_error: 400,
  authentication_error: 401,
  permission_error: 403,
  not_found_error: 404,
  request_too_large: 413,
  rate_limit_error: 429,
  api_error: 500,
  overloaded_error: 529,
};

/**
 * When the exhausted limit resets (ms epoch): the reset (RFC 3339) of a family whose remaining count is 0,
 * else the earliest reset given; undefined without any.
 */
export function ratelimitResetUntil(headers: HeaderReader | undefined, now: number): number | undefined {
  const resets: { at: number; exhausted: boolean }[] = [];
  for (const f of LIMITS) {
    const at = Date.parse(headers?.get(`anthropic-ratelimit-${f}-reset`) ?? "");
    if (!Number.isFinite(at)) continue;
    resets.push({
      at: Math.max(now, at),
      exhausted: headers?.get(`anthropic-ratelimit-${f}-remaining`) === "0",
    });
  }
  const pick = resets.some((r) => r.exhausted) ? resets.filter((r) => r.exhausted) : resets;
  return pick.length ? Math.max(...pick.map((r) => r.at)) : undefined;
}

/** The error body's `error.type` and `error.message`, leniently. */
function readError(text: string): { type?: string; message?: string } {
  try {
    const e = JSON.parse(text)?.error;
    return {
      type: typeof e?.type === "string" ? e.type : undefined,
      message: typeof e?.message === "string" ? e.message : undefined,
    };
  } catch {
    return {};
  }
}

/** Classify one failed Anthropic response (`text` already scrubbed). */
export function classifyAnthropicFailure(
  status: number,
  headers: HeaderReader | undefined,
  text: string,
  keyLabel: string | undefined,
  backend: string,
  now = Date.now(),
): UpstreamFailure {
  const { type, message: own } = readError(text);
  const message = own ?? (text.trim().slice(0, 300) || `HTTP ${status}`);
  const key = keyLabel ?? "(no key)";
  if (status === 429 || type === "rate_limit_error") {
    return {
      action: "next-key",
      status: 429,
      type: "rate_limit_error",
      code: "rate_limit_exceeded",
      message: `${backend}: key ${key} is rate-limited: ${message}`,
      cooldown: {
        scope: "key-model",
        untilMs: retryHintUntil(headers, undefined, now) ?? ratelimitResetUntil(headers, now),
        reason: "429",
      },
      outcome: "429",
    };
  }
  if (status === 529 || type === "overloaded_error") {
    return {
      ...statusFailure(backend, 529, `529 ${type ?? "overloaded"}`, message, "upstream_error"),
      status: 503,
    };
  }
  if (status === 401 || status === 403) {
    const why = status === 401 ? "was rejected (invalid or revoked)" : "is not allowed to do this (403)";
    return keyRejected(
      backend,
      key,
      why,
      message,
      { disable: true, reason: `${status} ${type ?? "auth"}` },
      String(status),
      now,
    );
  }
  return statusFailure(backend, status, String(status), message, type ?? "upstream_error");
}

/** Classify an `error` event of a stream (its `code` is Anthropic's error type). */
export function classifyAnthropicInBand(
  error: unknown,
  keyLabel: string | undefined,
  backend: string,
): UpstreamFailure {
  const e = (error && typeof error === "object" ? error : {}) as { code?: unknown; message?: unknown };
  const type = typeof e.code === "string" ? e.code : "api_error";
  const status = STATUS_OF_TYPE[type] ?? 502;
  return classifyAnthropicFailure(
    status,
    undefined,
    JSON.stringify({ error: { type, message: e.message } }),
    keyLabel,
    backend,
  );
}
