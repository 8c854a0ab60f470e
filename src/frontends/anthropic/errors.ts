/**
 * The Anthropic error shape (SPEC §17.1): a {@link ProxyError} as `{"type":"error","error":{type,message}}`
 * with its SPEC §13 status and headers (`retry-after` on a 429 or 503 stays).
 */
import type { ProxyError } from "../../core/errors.ts";
import { anthropicErrorType } from "../../core/anthropic_error.ts";

/** The Messages error response for a ProxyError. */
export function errorResponse(err: ProxyError): Response {
  const h = new Headers({ "content-type": "application/json" });
  for (const [k, v] of Object.entries(err.headers)) h.set(k, v);
  const body = {
    type: "error",
    error: { type: anthropicErrorType({ status: err.status }), message: err.message },
  };
  return new Response(JSON.stringify(body), { status: err.status, headers: h });
}
