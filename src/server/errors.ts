/**
 * Rendering an error value as HTTP: the one place a {@link ProxyError} (`core/errors.ts`) becomes the
 * OpenAI error body with its status and headers.
 */
import type { ProxyError } from "../core/errors.ts";

/** The response for a ProxyError (plus extra headers). */
export function errorResponse(err: ProxyError, headers: HeadersInit = {}): Response {
  const h = new Headers(headers);
  h.set("content-type", "application/json");
  for (const [k, v] of Object.entries(err.headers)) h.set(k, v);
  return new Response(JSON.stringify(err.toJSON()), { status: err.status, headers: h });
}
