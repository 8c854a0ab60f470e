/**
 * The upstream HTTP client: one POST, its status, headers and body. It is Deno's `fetch`, which keeps
 * connections alive by itself and honours `HTTPS_PROXY`/`HTTP_PROXY`/`ALL_PROXY` and `NO_PROXY`. It never
 * follows redirects, and an abort (client disconnect, --timeout) ends the request without sending it again.
 * (Deno's `node:http` client, used before, re-sends a request aborted on a kept-alive connection: SPEC §19.)
 */
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

/** The proxy's one upstream HTTP client. */
export interface UpstreamClient {
  /** POST `body` to `url`; resolves with the answer's head, rejects on a transport failure or an abort. */
  post(url: string, req: UpstreamRequest): Promise<UpstreamResponse>;
  /** Release what the client holds (fetch's connection pool is the runtime's: nothing to do). */
  close(): void;
}

/** Sent upstream unless a backend sets its own (fetch would send `Deno/<version>`). */
const USER_AGENT = `${NAME}/${VERSION}`;

/** Create the client. */
export function createUpstreamClient(): UpstreamClient {
  return { post, close: () => {} };
}

async function post(url: string, req: UpstreamRequest): Promise<UpstreamResponse> {
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
