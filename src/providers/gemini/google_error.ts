/**
 * Google's error shape `{"error":{code, message, status, details}}` (SPEC §17.3), written by the proxy: the
 * Gemini front end's error answers and the error event that ends a committed Gemini stream (a passed-through
 * one here in the backend, a translated one in the front end) are built by these functions. Pure.
 */

/** A Google RPC error body. */
export interface GoogleErrorBody {
  error: { code: number; message: string; status: string; details?: Record<string, unknown>[] };
}

const STATUS: Record<number, string> = {
  400: "INVALID_ARGUMENT",
  401: "UNAUTHENTICATED",
  403: "PERMISSION_DENIED",
  404: "NOT_FOUND",
  405: "UNIMPLEMENTED",
  409: "ABORTED",
  413: "INVALID_ARGUMENT",
  415: "INVALID_ARGUMENT",
  429: "RESOURCE_EXHAUSTED",
  499: "CANCELLED",
  500: "INTERNAL",
  501: "UNIMPLEMENTED",
  502: "UNAVAILABLE",
  503: "UNAVAILABLE",
  504: "DEADLINE_EXCEEDED",
};

/** Google's RPC status name for an HTTP status (other 4xx: FAILED_PRECONDITION, other 5xx: INTERNAL). */
export function googleStatus(http: number): string {
  return STATUS[http] ?? (http >= 500 ? "INTERNAL" : "FAILED_PRECONDITION");
}

/**
 * The HTTP status a failure reported in a stream would have had as an answer (stream error events carry the
 * proxy's error type and code, not a status).
 */
export function statusOfFailure(type: string, code: string): number {
  if (code === "upstream_timeout") return 504;
  switch (type) {
    case "invalid_request_error":
      return 400;
    case "authentication_error":
      return 401;
    case "permission_error":
      return 403;
    case "rate_limit_error":
      return 429;
    case "server_error":
      return 500;
    default:
      return 502;
  }
}

/** `ErrorInfo` naming the proxy's own error code (`reason`), so a client can tell the proxy's failures apart. */
export function errorInfo(code: string): Record<string, unknown> {
  return { "@type": "type.googleapis.com/google.rpc.ErrorInfo", reason: code, domain: "llmproxy" };
}

/** `RetryInfo` with a wait in whole seconds (`"30s"`). */
export function retryInfo(seconds: number): Record<string, unknown> {
  return {
    "@type": "type.googleapis.com/google.rpc.RetryInfo",
    retryDelay: `${Math.max(0, Math.ceil(seconds))}s`,
  };
}

/** A Google error body for an HTTP status. */
export function googleErrorBody(
  http: number,
  message: string,
  details: Record<string, unknown>[] = [],
): GoogleErrorBody {
  return {
    error: { code: http, message, status: googleStatus(http), ...(details.length ? { details } : {}) },
  };
}

/** The SSE event that ends a committed Gemini stream with a failure (type and code as the proxy names them). */
export function googleErrorEvent(error: { message: string; type: string; code: string }): string {
  const body = googleErrorBody(statusOfFailure(error.type, error.code), error.message, [
    errorInfo(error.code),
  ]);
  return `data: ${JSON.stringify(body)}\n\n`;
}
