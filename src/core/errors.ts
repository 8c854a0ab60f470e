/**
 * Errors are values with a status: one {@link ProxyError} carries what SPEC §13 needs, whichever layer
 * raises it; the HTTP edge (`frontends/chat/errors.ts`, and each front end in its own shape) turns it into a `Response` in one place.
 */

/** OpenAI error `type` values used by the proxy. */
export type ErrorType =
  | "invalid_request_error"
  | "authentication_error"
  | "permission_error"
  | "rate_limit_error"
  | "api_error"
  | "server_error";

/** A failure to report to the client as `{"error":{message,type,param,code}}`. */
export class ProxyError extends Error {
  override name = "ProxyError";
  constructor(
    readonly status: number,
    readonly type: ErrorType,
    readonly code: string,
    message: string,
    readonly param: string | null = null,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }

  /** The OpenAI error body. */
  toJSON(): { error: { message: string; type: string; param: string | null; code: string } } {
    return { error: { message: this.message, type: this.type, param: this.param, code: this.code } };
  }
}

/** 400 invalid_request. */
export function badRequest(
  message: string,
  param: string | null = null,
  code = "invalid_request",
): ProxyError {
  return new ProxyError(400, "invalid_request_error", code, message, param);
}

/**
 * `err` with `scrub` applied to every text the client sees (message, code, param, header values): the last
 * gate before an error body leaves, whatever backend or front end built it (SPEC §19).
 */
export function scrubError(err: ProxyError, scrub: (text: string) => string): ProxyError {
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(err.headers)) headers[k] = scrub(v);
  const param = err.param === null ? null : scrub(err.param);
  return new ProxyError(err.status, err.type, scrub(err.code), scrub(err.message), param, headers);
}

/** An unexpected exception as a 500 internal_error (no stack trace, no detail leaked to the client). */
export function internalError(requestId: string): ProxyError {
  return new ProxyError(
    500,
    "server_error",
    "internal_error",
    `Internal error in llmproxy (request ${requestId}); the log has the details. Please report it.`,
  );
}
