/**
 * The upstream HTTP client: one POST, its status, headers and body. It runs on `node:http`/`node:https` with
 * keep-alive agents, which inside Deno costs far less CPU per request than `fetch` (scripts/bench/RESULTS.md:
 * a bare pass-through proxy serves ~35 % more requests per second with it). When an HTTP(S) proxy is
 * configured in the environment (`HTTPS_PROXY`, `HTTP_PROXY`, `ALL_PROXY`) the client is `fetch`, which
 * honours those variables and `NO_PROXY`. Neither follows redirects.
 */
import type { Agent, IncomingMessage } from "node:http";
import type { Buffer } from "node:buffer";
import { NAME, VERSION } from "../version.ts";

/** What the proxy reads of an upstream answer's headers: one value by name (a `Headers` is one). */
export interface HeaderReader {
  get(name: string): string | null;
}

/** An upstream answer: status and headers, and a body read once, as text or as a stream. */
export interface UpstreamResponse {
  readonly status: number;
  readonly ok: boolean;
  readonly headers: HeaderReader;
  /** The body as a Web stream (chunks as they arrive). */
  readonly body: ReadableStream<Uint8Array>;
  /** The whole body as UTF-8 text. */
  text(): Promise<string>;
  /** Drop the body unread (frees the connection or closes it). */
  discard(): void;
}

/** What {@link UpstreamClient.post} sends. */
export interface UpstreamRequest {
  headers: Record<string, string>;
  body: string;
  signal: AbortSignal;
}

/** The proxy's one upstream HTTP client (its kept-alive connections live until `close`). */
export interface UpstreamClient {
  readonly kind: "node" | "fetch";
  /** POST `body` to `url`; resolves with the answer's head, rejects on a transport failure or an abort. */
  post(url: string, req: UpstreamRequest): Promise<UpstreamResponse>;
  /** Close the kept-alive connections (in-flight requests fail). */
  close(): void;
}

/** Sent upstream unless a backend sets its own (node:http sends none by default; some front ends refuse that). */
const USER_AGENT = `${NAME}/${VERSION}`;

const PROXY_VARS = ["HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"];

/** Which client carries upstream requests: `fetch` when the environment names an HTTP proxy. */
export function upstreamClientKind(env: (name: string) => string | undefined): "node" | "fetch" {
  return PROXY_VARS.some((v) => env(v)) ? "fetch" : "node";
}

function processEnv(name: string): string | undefined {
  try {
    return Deno.env.get(name);
  } catch {
    return undefined; // no env permission: no proxy can have been configured
  }
}

/** Create the client; `kind` defaults to what {@link upstreamClientKind} picks for the process environment. */
export function createUpstreamClient(kind = upstreamClientKind(processEnv)): UpstreamClient {
  if (kind === "fetch") return { kind, post: viaFetch, close: () => {} };
  let agents: Agents | undefined;
  const ready = async () => {
    const m = await loadNode();
    return agents ??= {
      m,
      http: new m.http.Agent({ keepAlive: true }),
      https: new m.https.Agent({ keepAlive: true }),
    };
  };
  return {
    kind,
    post: (url, req) =>
      agents ? viaNode(new URL(url), req, agents) : ready().then((a) => viaNode(new URL(url), req, a)),
    close: () => {
      agents?.http.destroy();
      agents?.https.destroy();
    },
  };
}

// --- fetch -----------------------------------------------------------------------------------------------

async function viaFetch(url: string, req: UpstreamRequest): Promise<UpstreamResponse> {
  const res = await fetch(url, {
    method: "POST",
    headers: { "user-agent": USER_AGENT, ...req.headers },
    body: req.body,
    signal: req.signal,
    redirect: "manual",
  });
  return {
    status: res.status,
    ok: res.ok,
    headers: res.headers,
    get body() {
      return res.body ?? new ReadableStream({ start: (c) => c.close() });
    },
    text: () => res.text(),
    discard: () => void res.body?.cancel().catch(() => {}),
  };
}

// --- node:http ---------------------------------------------------------------------------------------------

interface NodeModules {
  http: typeof import("node:http");
  https: typeof import("node:https");
  Buffer: typeof Buffer;
}

interface Agents {
  m: NodeModules;
  http: Agent;
  https: Agent;
}

let nodeModules: Promise<NodeModules> | undefined;

/** node:http and node:https load on the first upstream request (an idle proxy does not pay their memory). */
function loadNode(): Promise<NodeModules> {
  return nodeModules ??= Promise.all([import("node:http"), import("node:https"), import("node:buffer")])
    .then(([http, https, buffer]) => ({ http, https, Buffer: buffer.Buffer }));
}

function viaNode(u: URL, req: UpstreamRequest, agents: Agents): Promise<UpstreamResponse> {
  return new Promise((resolve, reject) => {
    if (req.signal.aborted) return reject(req.signal.reason);
    const secure = u.protocol === "https:";
    const payload = agents.m.Buffer.from(req.body);
    const out = (secure ? agents.m.https : agents.m.http).request({
      hostname: u.hostname.replace(/^\[(.*)\]$/, "$1"),
      port: u.port || (secure ? 443 : 80),
      path: u.pathname + u.search,
      method: "POST",
      headers: { "user-agent": USER_AGENT, ...req.headers, "content-length": String(payload.length) },
      agent: secure ? agents.https : agents.http,
    });
    const onAbort = () => out.destroy(asError(req.signal.reason));
    req.signal.addEventListener("abort", onAbort, { once: true });
    const unlink = () => req.signal.removeEventListener("abort", onAbort);
    out.on("response", (im: IncomingMessage) => {
      im.on("close", unlink);
      resolve(new NodeResponse(im, agents.m.Buffer));
    });
    out.on("error", (e: Error) => {
      unlink();
      reject(req.signal.aborted ? req.signal.reason : e);
    });
    out.end(payload);
  });
}

function asError(reason: unknown): Error {
  return reason instanceof Error ? reason : new DOMException("aborted", "AbortError");
}

class NodeResponse implements UpstreamResponse {
  readonly status: number;
  readonly ok: boolean;
  #im: IncomingMessage;
  #used = false;
  #buffer: typeof Buffer;

  constructor(im: IncomingMessage, buffer: typeof Buffer) {
    this.#im = im;
    this.#buffer = buffer;
    this.status = im.statusCode ?? 502;
    this.ok = this.status >= 200 && this.status < 300;
  }

  /** Read straight from node's parsed headers (names in lower case; repeated ones joined as fetch does). */
  readonly headers: HeaderReader = {
    get: (name: string) => {
      const v = this.#im.headers[name.toLowerCase()];
      return v === undefined ? null : Array.isArray(v) ? v.join(", ") : String(v);
    },
  };

  #take(): IncomingMessage {
    if (this.#used) throw new TypeError("upstream body already read");
    this.#used = true;
    return this.#im;
  }

  text(): Promise<string> {
    const im = this.#take();
    return new Promise((resolve, reject) => {
      const parts: Buffer[] = [];
      im.on("data", (c: Buffer) => parts.push(c));
      im.on(
        "end",
        () =>
          resolve(
            parts.length === 1 ? parts[0].toString("utf8") : this.#buffer.concat(parts).toString("utf8"),
          ),
      );
      im.on("error", reject);
      im.on("aborted", () => reject(new Error("upstream connection closed before the body ended")));
    });
  }

  get body(): ReadableStream<Uint8Array> {
    const im = this.#take();
    let finished = false; // closed, errored or cancelled: later events are ignored
    return new ReadableStream<Uint8Array>({
      start(c) {
        const fail = (e: Error) => {
          if (finished) return;
          finished = true;
          c.error(e);
        };
        im.on("data", (chunk: Buffer) => {
          if (finished) return;
          c.enqueue(chunk);
          if ((c.desiredSize ?? 1) <= 0) im.pause();
        });
        im.on("end", () => {
          if (finished) return;
          finished = true;
          c.close();
        });
        im.on("error", fail);
        im.on("aborted", () => fail(new Error("upstream connection closed before the body ended")));
      },
      pull() {
        im.resume();
      },
      cancel() {
        finished = true;
        im.destroy();
      },
    }, { highWaterMark: 1 });
  }

  discard(): void {
    if (this.#used) return;
    this.#used = true;
    this.#im.destroy();
  }
}
