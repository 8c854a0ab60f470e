/**
 * The rows of SPEC §5.2 that every backend shares, as failure values: a rejected key (never a 401 to the
 * client), a model the upstream does not serve, an upstream outage or timeout, and any other client error.
 */
import type { UpstreamFailure } from "./backend.ts";

/**
 * The key was rejected (invalid, revoked, no credits): try the next key. A rejected key (`disable`) is
 * disabled until its value changes or an admin resets it; a key without credits (`coolMs`) cools for this
 * model only (SPEC §19).
 */
export function keyRejected(
  backend: string,
  keyLabel: string,
  why: string,
  message: string,
  effect: { disable: true; reason: string } | { coolMs: number; reason: string },
  outcome: string,
  now = Date.now(),
): UpstreamFailure {
  return {
    action: "next-key",
    status: 502,
    type: "api_error",
    code: "upstream_auth_failed",
    message: `${backend}: key ${keyLabel} ${why}: ${message}. Check or replace ${keyLabel}.`,
    cooldown: "disable" in effect
      ? { scope: "key", reason: effect.reason, disable: true }
      : { scope: "key-model", untilMs: now + effect.coolMs, reason: effect.reason, auth: true },
    outcome,
  };
}

/**
 * 404 → next route element (model_not_found); 408/5xx → next key (upstream_timeout / upstream_error);
 * any other status → returned to the client with `code`. `label` is how the upstream named the status.
 */
export function statusFailure(
  backend: string,
  status: number,
  label: string,
  message: string,
  code: string,
): UpstreamFailure {
  const outcome = String(status);
  if (status === 404) {
    return {
      action: "next-element",
      status: 404,
      type: "invalid_request_error",
      code: "model_not_found",
      message: `${backend}: ${message}`,
      outcome,
    };
  }
  if (status === 408 || status >= 500) {
    const timeout = status === 408 || status === 504;
    return {
      action: "next-key",
      status: timeout ? 504 : 502,
      type: "api_error",
      code: timeout ? "upstream_timeout" : "upstream_error",
      message: `${backend} answered ${label}: ${message}`,
      outcome,
    };
  }
  return {
    action: "return",
    status: status >= 400 && status < 500 ? status : 502,
    type: "invalid_request_error",
    code,
    message: `${backend} answered ${label}: ${message}`,
    outcome,
  };
}
