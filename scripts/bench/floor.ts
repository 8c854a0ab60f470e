/**
 * The floor: a bare Deno.serve + fetch pass-through proxy — what the runtime costs by itself; llmproxy minus
 * the floor is what our code adds. Optional variants switch on, one by one, the primitives a translating proxy
 * cannot avoid, to measure what the runtime charges for each (scripts/bench/RESULTS.md). Comma-separated: json (parse and re-serialize
 * the request body), abort (an AbortController on the upstream fetch), timer (a watchdog setTimeout),
 * reqsignal (listen to the request's abort signal), text (read the answer with text() and send a new
 * Response), parse (JSON.parse the answer), node (send upstream with node:http and a kept-alive agent instead
 * of fetch, as llmproxy did before issue 12; combine with text), js (pass a stream through a JS
 * ReadableStream of our own instead of the fetch body itself; with byob, read as llmproxy reads it: since issue 19's
 * last round that is the fetch body's runtime resource directly, src/runner/chunk_reader.ts, the name kept),
 * gw (the gateway floor: what any gateway that routes by the request's model, enforces timeouts and records
 * usage must call — json, abort, timer and reqsignal, then a JSON answer read as text and parsed, a streamed
 * one read chunk by chunk into JS as llmproxy reads it; none of llmproxy's own logic), heads (a JSON answer
 * carries the headers llmproxy adds: x-request-id and x-llmproxy-*; with them the bench's 272-byte answer no
 * longer fits the 512 bytes Deno 2.9's HTTP/1.1 server writes in one piece, so head and body go in two writes).
 * It prints the port it listens on (`PORT` in the environment chooses it; by default any free one).
 *   deno run -A --unstable-no-legacy-abort scripts/bench/floor.ts UPSTREAM_BASE_URL [json,abort,text,…]
 */
import http from "node:http";
import { Buffer } from "node:buffer";
import { readChunks } from "../../src/runner/chunk_reader.ts";
import { jsHop } from "./js_hop.ts";

const upstream = Deno.args[0];
const variant = new Set((Deno.args[1] ?? "").split(",").filter(Boolean));
const gateway = variant.has("gw");
if (gateway) { for (const v of ["json", "abort", "timer", "reqsignal"]) variant.add(v); }
const agent = new http.Agent({ keepAlive: true });
const JSON_HEADERS = { "content-type": "application/json" };
/** The headers llmproxy adds to a JSON answer (SPEC §1.1, §18), with values as long as the bench's. */
const ANSWER_HEADERS = {
  "x-llmproxy-attempts": "1",
  "x-llmproxy-backend": "openrouter",
  "x-llmproxy-model": "openrouter:bench",
  "x-llmproxy-key": "OPENROUTER_API_KEY",
  "x-request-id": `req_${"0".repeat(32)}`,
  "x-llmproxy-overhead-ms": "0",
};

/** POST through node:http; the answer as a status and its whole text. */
function nodePost(url: string, body: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const out = http.request(url, {
      method: "POST",
      agent,
      headers: {
        "content-type": "application/json",
        authorization: "Bearer floor",
        "content-length": Buffer.byteLength(body),
      },
    }, (res) => {
      const parts: Buffer[] = [];
      res.on("data", (c: Buffer) => parts.push(c));
      res.on("end", () => resolve({ status: res.statusCode ?? 502, text: Buffer.concat(parts).toString() }));
      res.on("error", reject);
    });
    out.on("error", reject);
    out.end(body);
  });
}
// An orderly exit on SIGTERM, so that a `--cpu-prof` run writes its profile (scripts/bench/profile.ts).
Deno.addSignalListener("SIGTERM", () => Deno.exit(0));
Deno.serve({
  hostname: "127.0.0.1",
  port: Number(Deno.env.get("PORT") ?? 0),
  // deno-lint-ignore no-console
  onListen: ({ port }) => console.log(port),
}, async (req) => {
  const url = new URL(req.url);
  if (variant.has("node")) {
    const answer = await nodePost(upstream + url.pathname.replace(/^\/v1/, ""), await req.text());
    if (variant.has("parse")) JSON.parse(answer.text);
    return new Response(answer.text, {
      status: answer.status,
      headers: { "content-type": "application/json" },
    });
  }
  let body: BodyInit | null = req.body;
  if (variant.has("json")) body = JSON.stringify({ ...JSON.parse(await req.text()), model: "x" });
  const init: RequestInit = {
    method: req.method,
    headers: { "content-type": "application/json", authorization: "Bearer floor" },
    body,
  };
  const ctl = variant.has("abort") ? new AbortController() : undefined;
  if (ctl) init.signal = ctl.signal;
  const onAbort = () => ctl?.abort();
  if (variant.has("reqsignal")) req.signal.addEventListener("abort", onAbort, { once: true });
  const timer = variant.has("timer") ? setTimeout(() => ctl?.abort(), 300_000) : undefined;
  try {
    const res = await fetch(upstream + url.pathname.replace(/^\/v1/, ""), init);
    const streamed = (res.headers.get("content-type") ?? "").startsWith("text/event-stream");
    if ((variant.has("js") || (gateway && streamed)) && res.body) {
      // The JS stream hop: the answer read in JS and enqueued into a stream of our own, as a proxy that looks
      // at a stream after its commit must; `byob` reads it as llmproxy does (src/runner/chunk_reader.ts).
      const reader = variant.has("byob") || gateway ? readChunks(res.body) : res.body.getReader();
      return new Response(jsHop(reader), { status: res.status, headers: res.headers });
    }
    if (!variant.has("text") && !gateway) {
      return new Response(res.body, { status: res.status, headers: res.headers });
    }
    const text = await res.text();
    if (variant.has("parse") || gateway) JSON.parse(text);
    return new Response(text, {
      status: res.status,
      headers: variant.has("heads") ? { ...JSON_HEADERS, ...ANSWER_HEADERS } : JSON_HEADERS,
    });
  } finally {
    clearTimeout(timer);
    if (variant.has("reqsignal")) req.signal.removeEventListener("abort", onAbort);
  }
});
