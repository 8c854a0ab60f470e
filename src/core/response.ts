/**
 * A whole text answer (a JSON body) as a `Response` the edge can still add its headers to cheaply.
 *
 * Deno 2.9 prepares the native side of a Response whose body is text or bytes when it is constructed: with at
 * most a JSON or plain-text content type and status 200, a light "static" form; with any other header or
 * status, a native header map (an op and a FinalizationRegistry entry). The first touch of
 * `response.headers` drops either. The edge always adds `x-request-id` and `x-llmproxy-overhead-ms` after a
 * front end has rendered, so a Response built with the `x-llmproxy-*` headers in its init built a native map
 * only to drop it (~3 µs of CPU per answer, measured with a bare server; scripts/bench/RESULTS.md). Built here
 * with no init (status 200) and the headers set afterwards, it pays for the light form only.
 */
export function textResponse(body: string, status: number, headers: Record<string, string>): Response {
  const res = status === 200 ? new Response(body) : new Response(body, { status });
  const h = res.headers;
  h.delete("content-type"); // the default text/plain; the answer's own comes with `headers`
  for (const k in headers) h.set(k, headers[k]);
  return res;
}
