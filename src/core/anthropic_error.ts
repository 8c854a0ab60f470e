/**
 * Anthropic's error `type` for a failure (SPEC §17.1): one mapping for the Messages front end's error bodies
 * and stream error events and for a passed-through Anthropic stream that fails after its commit. Pure.
 */

/** What is known of a failure: its HTTP status, and/or the proxy's error type and code. */
export interface FailureKind {
  status?: number;
  type?: string;
  code?: string;
}

/**
 * `invalid_request_error` (400, and other 4xx), `request_too_large` (413), `authentication_error` (401),
 * `permission_error` (403), `not_found_error` (404), `rate_limit_error` (429), `overloaded_error` (503, 529),
 * `api_error` (other 5xx). Without a status the proxy's type and code decide.
 */
export function anthropicErrorType(f: FailureKind): string {
  const s = f.status;
  if (s !== undefined) {
    if (s === 413) return "request_too_large";
    if (s === 401) return "authentication_error";
    if (s === 403) return "permission_error";
    if (s === 404) return "not_found_error";
    if (s === 429) return "rate_limit_error";
    if (s === 503 || s === 529) return "overloaded_error";
    if (s >= 500) return "api_error";
    return "invalid_request_error";
  }
  if (f.type === "rate_limit_error" || f.code === "rate_limit_exceeded") return "rate_limit_error";
  if (f.code === "overloaded" || f.code === "overloaded_error" || f.code === "shutting_down") {
    return "overloaded_error";
  }
  if (f.type === "invalid_request_error" || f.type === "permission_error") return f.type;
  if (f.type === "authentication_error") return f.type;
  return "api_error";
}
