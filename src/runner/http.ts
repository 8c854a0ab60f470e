/**
 * The thin HTTP edge every fetch-based backend shares: the request's abort signal linked to a --timeout
 * watchdog, one POST that never follows redirects, native body reads, and transport failures as values.
 */
import type { UpstreamFailure } from "./backend.ts";
import { IdleTimer } from "./idle.ts";
import { AbortFollower } from "../core/abort_follower.ts";
import type { HeaderReader } from "../core/headers.ts";
import { AnswerTooLarge, type UpstreamClient, type UpstreamResponse } from "./upstream_client.ts";

/** A URL as a message may show it: no user name, password, query or fragment (where a key could hide). */
export function urlForMessage(url: string): string {
  if (!URL.canParse(url)) return "(a URL that does not parse)";
  const u = new URL(url);
  return `${u.protocol}//${u.host}${u.pathname}`;
}

/**
 * A failure for a fetch that threw (timeout, refused connection, reset); `url`, when given, is shown without
 * its credentials or query, so a wrong base URL is plain to see.
 */
export function transportFailure(
  backend: string,
  timedOut: boolean,
  e: unknown,
  url?: string,
): UpstreamFailure {
  if (timedOut) {
    return {
      action: "next-key",
      status: 504,
      type: "api_error",
      code: "upstream_timeout",
      message: `${backend} did not answer within --timeout.`,
      outcome: "timeout",
    };
  }
  const err = e as { code?: unknown; cause?: { code?: string }; name?: string };
  const cause = err?.cause?.code ?? (typeof err?.code === "string" ? err.code : undefined) ?? err?.name ??
    "error";
  return {
    action: "next-key",
    status: 502,
    type: "api_error",
    code: "upstream_error",
    message: `${backend} could not be reached${url ? ` at ${urlForMessage(url)}` : ""} (${cause}).`,
    outcome: "connection",
  };
}

/** `bytes` as the MiB figure `--max-upstream-body-mb` was given in. */
function mib(bytes: number): string {
  return String(Math.round((bytes / (1024 * 1024)) * 1000) / 1000);
}

/**
 * A failure for an answer (a body, an error body, a stream event or held stream prefix) over
 * `--max-upstream-body-mb`. The same prompt would likely be as large again with another key of the same
 * backend, so it moves on to the next route element.
 */
export function answerTooLarge(backend: string, limitBytes: number): UpstreamFailure {
  const mb = mib(limitBytes);
  return {
    action: "next-element",
    status: 502,
    type: "api_error",
    code: "upstream_error",
    message: `${backend} sent an answer too large: over ${mb} MiB (--max-upstream-body-mb ${mb}); ask for ` +
      "less or raise the limit.",
    outcome: "too_large",
  };
}

/**
 * Upstream requests never follow redirects (`redirect: "manual"`): fetch would resend the prompt and custom
 * key headers such as `x-goog-api-key` to another origin, or turn the POST into a GET. A 3xx is a failure.
 */
export function redirectFailure(
  backend: string,
  res: { status: number; headers: HeaderReader },
): UpstreamFailure | undefined {
  if (res.status < 300 || res.status > 399) return undefined;
  const to = res.headers.get("location");
  return {
    action: "next-key",
    status: 502,
    type: "api_error",
    code: "upstream_error",
    // A long target is left out rather than cut: a key in it cut in two would escape the scrubber.
    message: `${backend} answered a redirect (${res.status}${
      to ? (to.length <= 200 ? ` to ${to}` : " to a long URL") : ""
    }); redirects are not followed: set the backend's base URL to the final address.`,
    outcome: String(res.status),
  };
}

/**
 * A request posted upstream: its abort signal (`signal`: the request's aborts it, as do the --timeout watchdog
 * and a stream cut, `abort()`) and (once it answered) the answer's head. A class, so an attempt builds no
 * closures for it.
 */
export class PostedRequest extends AbortFollower {
  /** Discriminates a {@link Posted} that answered. */
  readonly ok = true;
  /** The --timeout watchdog: touched when the head arrives and as the body comes. */
  readonly timer: IdleTimer;
  /** The answer's head (set once the upstream answered). */
  res!: UpstreamResponse;

  /** Follow the request's `signal` and start the watchdog (`backend`: for messages). */
  constructor(readonly backend: string, signal: AbortSignal, timeoutMs: number) {
    super(signal);
    this.timer = new IdleTimer(
      timeoutMs,
      () => this.abort(new DOMException("upstream timeout", "TimeoutError")),
    );
  }

  /** Release the controls: the watchdog and the link (idempotent). */
  done(): void {
    this.timer.stop();
    this.unlink();
  }

  /** Why reading the body failed (`e`: what the read threw): too large, or a transport failure. */
  readFailure(e: unknown): UpstreamFailure {
    if (e instanceof AnswerTooLarge) return answerTooLarge(this.backend, e.limit);
    return transportFailure(this.backend, this.timer.fired, e);
  }
}

/** An upstream answer with the controls of its request, or the failure that prevented it. */
export type Posted = PostedRequest | { ok: false; failure: UpstreamFailure };

/** POST a JSON body upstream under the watchdog; a thrown fetch or a 3xx comes back as a failure. */
export async function postUpstream(
  client: UpstreamClient,
  backend: string,
  url: string,
  headers: Record<string, string>,
  body: string,
  signal: AbortSignal,
  timeoutMs: number,
): Promise<Posted> {
  const posted = new PostedRequest(backend, signal, timeoutMs);
  let res: UpstreamResponse;
  try {
    res = await client.post(url, { headers, body, signal: posted.signal });
  } catch (e) {
    posted.done();
    return { ok: false, failure: transportFailure(backend, posted.timer.fired, e, url) };
  }
  posted.timer.touch();
  const redirected = redirectFailure(backend, res);
  if (redirected) {
    posted.done();
    res.discard();
    return { ok: false, failure: redirected };
  }
  posted.res = res;
  return posted;
}

/** How a provider reads an upstream's error answer: the status, its headers, the body text (already scrubbed). */
export type StatusClassifier = (status: number, headers: HeaderReader, text: string) => UpstreamFailure;

/** The first reading of an answer, the same for every provider (the provider reads the rest its own way). */
export type Answer =
  /** A committed-stream candidate: a 2xx `text/event-stream` to a streamed request; the body is unread. */
  | { kind: "stream" }
  /** The transport failed, the body was too large, or the upstream answered an error status (classified). */
  | { kind: "failed"; failure: UpstreamFailure }
  /** A 2xx body that is not JSON. */
  | { kind: "not-json" }
  /** A 2xx JSON body: the parse, and the text as it came (for pass-through). */
  | { kind: "json"; json: unknown; text: string };

/**
 * Read what `posted` answered: a stream is left to the provider's commit rule; any other answer is read whole,
 * an error status classified with its text scrubbed first (a key straddling the classifier's cut would escape a
 * later scrub), a 2xx body parsed as JSON.
 */
export async function readAnswer(
  posted: PostedRequest,
  stream: boolean,
  classify: StatusClassifier,
  scrub: (text: string) => string,
): Promise<Answer> {
  const { res } = posted;
  if (res.ok && stream && (res.headers.get("content-type") ?? "").includes("text/event-stream")) {
    return { kind: "stream" };
  }
  // The whole body, natively; the controls are released after it. The watchdog was touched when the head
  // arrived, so the body must be complete within --timeout after it; a fired watchdog aborts the read.
  let text: string;
  try {
    posted.timer.touch();
    text = await res.text();
  } catch (e) {
    return { kind: "failed", failure: posted.readFailure(e) };
  } finally {
    posted.done();
  }
  if (!res.ok) return { kind: "failed", failure: classify(res.status, res.headers, scrub(text)) };
  try {
    return { kind: "json", json: JSON.parse(text), text };
  } catch {
    return { kind: "not-json" };
  }
}

/**
 * A best-effort side call (a token count): POST `body` and return the parsed 2xx JSON answer, or undefined on
 * any failure — transport, error status, a body that is not JSON.
 */
export async function postForJson(
  client: UpstreamClient,
  backend: string,
  url: string,
  headers: Record<string, string>,
  body: string,
  signal: AbortSignal,
  timeoutMs: number,
): Promise<unknown> {
  const posted = await postUpstream(client, backend, url, headers, body, signal, timeoutMs);
  if (!posted.ok) return undefined;
  const answer = await readAnswer(posted, false, unclassified, (text) => text);
  return answer.kind === "json" ? answer.json : undefined;
}

/** A side call's error status: not told apart (the caller only learns that there is no answer). */
function unclassified(status: number): UpstreamFailure {
  return {
    action: "return",
    status: 502,
    type: "api_error",
    code: "upstream_error",
    message: `answered ${status}`,
    outcome: String(status),
  };
}
