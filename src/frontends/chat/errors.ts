/**
 * The Chat Completions (OpenAI) error shape: a {@link ProxyError} (`core/errors.ts`) as
 * `{"error":{message,type,param,code}}` with its status and headers. Also the shape of every endpoint that
 * belongs to no front end (`/health`, `/usage/*`, `/v1/models`).
 */
import type { ProxyError } from "../../core/errors.ts";

/** The response for a ProxyError (plus extra headers). */
export function errorResponse(err: ProxyError, headers: HeadersInit = {}): Response {
  const h = new Headers(headers);
  h.set("content-type", "application/json");
  for (const [k, v] of Object.entries(err.headers)) h.set(k, v);
  return new Response(JSON.stringify(err.toJSON()), { status: err.status, headers: h });
}
