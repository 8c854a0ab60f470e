/**
 * The upstream HTTP client: one POST (or a GET, for a model listing), its status, headers and body. It is Deno's `fetch`, which keeps
 * connections alive by itself and honours `HTTPS_PROXY`/`HTTP_PROXY`/`ALL_PROXY` and `NO_PROXY`. It never
 * follows redirects, and an abort (client disconnect, --timeout) ends the request without sending it again.
 * (Deno's `node:http` client, used before, re-sends a request aborted on a kept-alive connection: SPEC §19.)
 * Whole bodies are read under a size limit (--max-upstream-body-mb).
 */
import { NAME, VERSION } from "../core/version.ts";
import { readCappedText } from "../core/capped_text.ts";
import type { HeaderReader } from "../core/headers.ts";

/** An upstream answer: status and headers, and a body read once, as text or as a stream. */
export interface UpstreamResponse {
  readonly status: number;
  readonly ok: boolean;
  readonly headers: HeaderReader;
  /** The body as a Web stream (chunks as they arrive). */
  readonly body: ReadableStream<Uint8Array>;
  /** The whole body as UTF-8 text; rejects with {@link AnswerTooLarge} past the client's limit. */
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
  /** Largest whole body `text()` reads, and largest stream event or held stream prefix, in bytes. */
  readonly maxBodyBytes: number;
  /** POST `body` to `url`; resolves with the answer's head, rejects on a transport failure or an abort. */
  post(url: string, req: UpstreamRequest): Promise<UpstreamResponse>;
  /** GET `url` (a model listing); resolves with the answer's head, rejects on a transport failure or an abort. */
  get(url: string, req: Omit<UpstreamRequest, "body">): Promise<UpstreamResponse>;
  /** Release what the client holds (fetch's connection pool is the runtime's: nothing to do). */
  close(): void;
}

/** Options of {@link createUpstreamClient}. */
export interface UpstreamClientOptions {
  /** `--max-upstream-body-mb` in bytes (default 64 MiB). */
  maxBodyBytes?: number;
}

/** The default of `--max-upstream-body-mb`, in bytes. */
export const DEFAULT_MAX_UPSTREAM_BODY_BYTES = 64 * 1024 * 1024;

/** An upstream body is over the limit; the read was abandoned (the connection is freed). */
export class AnswerTooLarge extends Error {
  override name = "AnswerTooLarge";
  /** `limit`: the limit in bytes. */
  constructor(readonly limit: number) {
    super(
      `the answer is larger than ${Math.round((limit / 1048576) * 1000) / 1000} MiB (--max-upstream-body-mb)`,
    );
  }
}

/** Sent upstream unless a backend sets its own (fetch would send `Deno/<version>`). */
const USER_AGENT = `${NAME}/${VERSION}`;

/** Create the client. */
export function createUpstreamClient(opts: UpstreamClientOptions = {}): UpstreamClient {
  const maxBodyBytes = opts.maxBodyBytes ?? DEFAULT_MAX_UPSTREAM_BODY_BYTES;
  return {
    maxBodyBytes,
    post: (url, req) => send("POST", url, req, maxBodyBytes),
    get: (url, req) => send("GET", url, req, maxBodyBytes),
    close: () => {},
  };
}

/**
 * `headers` with llmproxy's `user-agent` unless they name their own: what is sent. A backend that sends the
 * same headers again (per key) keeps this copy, and the client sends it as it is.
 */
export function withUserAgent(headers: Record<string, string>): Record<string, string> {
  return { "user-agent": USER_AGENT, ...headers };
}

async function send(
  method: "GET" | "POST",
  url: string,
  req: Omit<UpstreamRequest, "body"> & { body?: string },
  maxBodyBytes: number,
): Promise<UpstreamResponse> {
  const res = await fetch(url, {
    method,
    headers: "user-agent" in req.headers ? req.headers : withUserAgent(req.headers),
    body: req.body,
    signal: req.signal,
    redirect: "manual",
  });
  return new FetchedAnswer(res, maxBodyBytes);
}

/** A fetch answer as an {@link UpstreamResponse} (a class: no closures per answer). */
class FetchedAnswer implements UpstreamResponse {
  readonly status: number;
  readonly ok: boolean;
  readonly headers: Headers;
  readonly #res: Response;
  readonly #max: number;

  constructor(res: Response, maxBodyBytes: number) {
    this.#res = res;
    this.#max = maxBodyBytes;
    this.status = res.status;
    this.ok = res.ok;
    this.headers = res.headers;
  }

  get body(): ReadableStream<Uint8Array> {
    return this.#res.body ?? new ReadableStream({ start: (c) => c.close() });
  }

  text(): Promise<string> {
    return readText(this.#res, this.#max);
  }

  discard(): void {
    this.#res.body?.cancel().catch(() => {});
  }
}

/**
 * A whole body as text, at most `max` bytes. A `content-length` over the limit fails before reading; a
 * plain (not compressed, not chunked) body within its `content-length` is read natively (fetch never
 * delivers more than that); otherwise bytes are counted as they arrive and the read is cancelled as soon as
 * they pass the limit. An answer with both `transfer-encoding` and `content-length` is framed by the former
 * (the length is ignored yet still in the headers), so its length says nothing about its size.
 */
export async function readText(res: Response, max: number): Promise<string> {
  const length = res.headers.get("content-length");
  const declared = length === null ? NaN : Number(length);
  if (declared > max) {
    res.body?.cancel().catch(() => {});
    throw new AnswerTooLarge(max);
  }
  const framedByLength = Number.isFinite(declared) &&
    (res.headers.get("content-encoding") ?? "identity").toLowerCase() === "identity" &&
    !res.headers.has("transfer-encoding");
  if (framedByLength || !res.body) return await res.text(); // `res.body` first would wrap a whole body in a stream
  const text = await readCappedText(res.body, max);
  if (text === undefined) throw new AnswerTooLarge(max);
  return text;
}
