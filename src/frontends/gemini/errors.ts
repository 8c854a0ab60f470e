/**
 * Google's error shape for the Gemini front end (SPEC §17.3): a {@link ProxyError} as
 * `{"error":{code, message, status, details}}` with its HTTP status and headers — `RESOURCE_EXHAUSTED` with a
 * `RetryInfo` detail on a 429 whose wait is known (`retry-after`), `INVALID_ARGUMENT`, `UNAUTHENTICATED`,
 * `PERMISSION_DENIED`, `NOT_FOUND`, `UNAVAILABLE`/`INTERNAL`/`DEADLINE_EXCEEDED` — and an `ErrorInfo` detail
 * naming the proxy's own error code.
 */
import type { ProxyError } from "../../core/errors.ts";
import { retryHintUntil } from "../../core/cooldown.ts";
import { errorInfo, googleErrorBody, retryInfo } from "../../providers/gemini/google_error.ts";

/** The response for a ProxyError in Google's shape. */
export function errorResponse(err: ProxyError): Response {
  const headers = new Headers({ "content-type": "application/json; charset=UTF-8" });
  for (const [k, v] of Object.entries(err.headers)) headers.set(k, v);
  const details = [errorInfo(err.code)];
  if (err.status === 429) {
    const now = Date.now();
    const until = retryHintUntil(undefined, err.headers, now);
    if (until !== undefined) details.push(retryInfo((until - now) / 1000));
  }
  return new Response(JSON.stringify(googleErrorBody(err.status, err.message, details)), {
    status: err.status,
    headers,
  });
}
