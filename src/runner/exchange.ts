/**
 * The one runner of an HTTP provider's attempt (SPEC §3, §5.2, §7). A provider declares its upstream exchange
 * ({@link HttpExchange}): how the call is built for a translated request and for the client's own body, how an
 * error status and an in-band error are classified, how a 2xx JSON answer is read and how the stream is read.
 * {@link runExchange} makes the attempt from it: the request translated once per body (or refused with a 400),
 * the POST under the watchdog, the error status classified with its text scrubbed, the JSON answer checked and
 * translated or passed through, the stream translated or passed through the commit rule, usage and rate-limit
 * headers read, and every failure's message scrubbed.
 */
import type { AttemptInput, AttemptResult, AttemptSuccess, UpstreamFailure } from "./backend.ts";
import { commitPosted, type StreamDialect } from "./commit.ts";
import { type Posted, postUpstream, readAnswer } from "./http.ts";
import { badAnswer, refusal, resultAnswer, scrubbedFailure } from "./results.ts";
import type { BackendDeps } from "./spec.ts";
import { commitTranslatedEvents } from "./translated.ts";
import type { ModelEvent, StreamMeta } from "../model/events.ts";
import { newStreamMeta } from "../model/ids.ts";
import type { ModelResult } from "../model/result.ts";
import { rateLimitInfo } from "../core/cooldown.ts";
import type { HeaderReader } from "../core/headers.ts";
import type { NativeRequest, WireProtocol } from "../core/protocol.ts";
import type { ChatRequest, Usage } from "../model/request.ts";

/** One upstream call: where, with which headers (the key in them), and the JSON body. */
export interface UpstreamCall {
  url: string;
  headers: Record<string, string>;
  /** Sent as JSON. */
  body: unknown;
  /**
   * Drop usage-only Chat chunks of a passed-through stream (the proxy asked for usage the client did not);
   * default: unless the client asked for usage (`stream_options.include_usage`).
   */
  dropUsageChunks?: boolean;
}

/** A call that cannot be made: a 400 the client gets (`outcome` names it in the usage record). */
export interface CallRefused {
  refused: string;
  outcome: string;
}

/** What a provider read in a 2xx JSON answer. */
export type AnswerReading =
  /** Translated into the conversation model (its usage goes to the usage record). */
  | { kind: "result"; result: ModelResult }
  /** Good as it came: the upstream's text goes to the client, in the way's protocol. */
  | { kind: "passed"; usage?: Usage; model?: string }
  /** Not an answer the provider can read: `what` completes "NAME answered 200 …" (the next key may do better). */
  | { kind: "bad"; what: string }
  /** An in-band error (`{"error":…}` in a 200), classified by the exchange's `classifyInBand`. */
  | { kind: "error"; error: unknown };

/**
 * The upstream's SSE bytes as the conversation model's events (`meta`: the stream's, whose model the translator
 * updates; `touch` on every upstream chunk: the watchdog; an event over `maxEventBytes` ends the events with an
 * error of code `too_large`).
 */
export type StreamTranslator = (
  body: ReadableStream<Uint8Array>,
  meta: StreamMeta,
  touch: () => void,
  maxEventBytes: number,
) => ReadableStream<ModelEvent>;

/** How a way's stream is read: translated into the model's events, or passed through as bytes judged by a dialect. */
export type StreamReading = { translate: StreamTranslator } | { dialect: StreamDialect };

/** One way of calling the upstream: its call, how its JSON answer reads, how its stream reads. */
export interface ExchangeWay<R> {
  /** The call for `request` (the translation, or the client's own body), or why it cannot be sent. */
  call(input: AttemptInput, request: R): UpstreamCall | CallRefused;
  /** Read a 2xx JSON answer (already parsed). */
  answer(json: unknown, input: AttemptInput): AnswerReading;
  /** Read a committed-stream candidate (a 2xx `text/event-stream` to a streamed request). */
  stream: StreamReading;
}

/** A provider's HTTP exchange: everything about its upstream the runner cannot know. */
export interface HttpExchange<T> {
  /** The backend's name, in every message. */
  readonly name: string;
  /**
   * The conversation in the upstream's request shape. Runs once per body (the check and every attempt of the
   * request share it); a thrown {@link refusal} means the upstream cannot take this request. Absent: the
   * conversation goes as it is (T is `ChatRequest`; nothing is made or kept per body).
   */
  translate?(body: ChatRequest): T;
  /** The error class of `translate` meaning "cannot send this request" (any other error is a bug and throws). */
  readonly refusal?: new (...args: never[]) => Error;
  /** The translated way (answers read into the conversation model). */
  readonly chat: ExchangeWay<T>;
  /** The pass-through way: a client of `protocol` has its own body sent, and gets the answer as it came. */
  readonly native?: ExchangeWay<NativeRequest> & { readonly protocol: WireProtocol };
  /** An error status, its headers and its (scrubbed) text → the failure, for the key `keyLabel`. */
  classifyStatus(
    status: number,
    headers: HeaderReader,
    text: string,
    keyLabel: string | undefined,
  ): UpstreamFailure;
  /** An in-band error (of a 200 body, or an error event of a stream before the commit) → the failure. */
  classifyInBand(error: unknown, keyLabel: string | undefined): UpstreamFailure;
  /** Read the key's remaining budget (`X-RateLimit-Remaining` / `-Reset`) on a success. */
  readonly rateLimitHeaders?: boolean;
}

/** What {@link runExchange} gives a backend. */
export interface ExchangeRunner<T> {
  /** `Backend.attempt`: one upstream attempt; never throws for upstream problems. */
  attempt(input: AttemptInput): Promise<AttemptResult>;
  /** `Backend.unsupported`: why the upstream cannot take this body ("The NAME backend cannot send…"). */
  unsupported(body: ChatRequest): string | undefined;
  /** The body's translation (shared with the attempts), or undefined when it is refused (for a token count). */
  translation(body: ChatRequest): T | undefined;
}

/** The attempt of a provider's exchange. */
export function runExchange<T>(x: HttpExchange<T>, deps: BackendDeps): ExchangeRunner<T> {
  const { scrub, client } = deps;
  const name = x.name;
  const fail = (f: UpstreamFailure): AttemptResult => scrubbedFailure(f, scrub);
  const cannotSend = (why: string) => `The ${name} backend cannot send this request: ${why}`;
  const translated = x.translate ? oncePerBody(x.translate, x.refusal) : (body: ChatRequest) => body as T;

  /** A success marked with the way's protocol and the key's budget; a failure scrubbed. */
  const finish = (r: AttemptResult, headers: HeaderReader, protocol: WireProtocol | undefined) => {
    if (!r.ok) return fail(r.failure);
    if (protocol) r.value.protocol = protocol;
    if (x.rateLimitHeaders) r.value.rateLimit = rateLimitInfo(headers, Date.now());
    return r;
  };

  /** A 2xx JSON answer as the provider read it. */
  const jsonResult = (reading: AnswerReading, text: string, label: string | undefined): AttemptResult => {
    switch (reading.kind) {
      case "result":
        return resultAnswer(reading.result);
      case "passed": {
        const value: AttemptSuccess = { kind: "json", status: 200, text };
        if (reading.usage) value.usage = reading.usage;
        if (reading.model !== undefined) value.model = reading.model;
        return { ok: true, value };
      }
      case "bad":
        return badAnswer(name, reading.what, scrub);
      case "error":
        return fail(x.classifyInBand(reading.error, label));
    }
  };

  /** Commit a stream: translated into the model's events, or passed through under its dialect. */
  const commit = (
    posted: Extract<Posted, { ok: true }>,
    reading: StreamReading,
    call: UpstreamCall,
    input: AttemptInput,
  ): Promise<AttemptResult> => {
    const label = input.key?.label;
    const classifyInBand = (e: unknown) => x.classifyInBand(e, label);
    if ("translate" in reading) {
      const meta = newStreamMeta(input.model);
      const events = reading.translate(
        posted.res.body,
        meta,
        () => posted.timer.touch(),
        client.maxBodyBytes,
      );
      return commitTranslatedEvents(posted, events, meta, input, {
        name,
        scrub,
        maxBodyBytes: client.maxBodyBytes,
        classifyInBand,
      });
    }
    return commitPosted(posted, posted.res.body, input, {
      classifyInBand: (e) => {
        const f = classifyInBand(e);
        return { ...f, message: scrub(f.message) };
      },
      dropUsageChunks: call.dropUsageChunks ?? input.body.stream_options?.include_usage !== true,
      scrub,
      bodyLimit: { bytes: client.maxBodyBytes, backend: name },
      dialect: reading.dialect,
    });
  };

  async function run<R>(
    way: ExchangeWay<R>,
    request: R,
    input: AttemptInput,
    protocol: WireProtocol | undefined,
  ): Promise<AttemptResult> {
    const call = way.call(input, request);
    if ("refused" in call) return fail(refusal(call.refused, call.outcome));
    const label = input.key?.label;
    const posted = await postUpstream(
      client,
      name,
      call.url,
      call.headers,
      JSON.stringify(call.body),
      input.signal,
      input.timeoutMs,
    );
    if (!posted.ok) return fail(posted.failure);
    const answer = await readAnswer(
      posted,
      input.stream,
      (status, headers, text) => x.classifyStatus(status, headers, text, label),
      scrub,
    );
    if (answer.kind === "failed") return fail(answer.failure);
    if (answer.kind === "not-json") return badAnswer(name, "with a body that is not JSON", scrub);
    const result = answer.kind === "json"
      ? jsonResult(way.answer(answer.json, input), answer.text, label)
      : await commit(posted, way.stream, call, input);
    return finish(result, posted.res.headers, protocol);
  }

  return {
    attempt(input) {
      const native = x.native;
      if (native && input.native?.protocol === native.protocol) {
        return run(native, input.native, input, native.protocol);
      }
      const t = translated(input.body);
      if (t instanceof Refused) return Promise.resolve(fail(refusal(cannotSend(t.message), "unsupported")));
      return run(x.chat, t, input, undefined);
    },
    unsupported(body) {
      const t = translated(body);
      return t instanceof Refused ? cannotSend(t.message) : undefined;
    },
    translation(body) {
      const t = translated(body);
      return t instanceof Refused ? undefined : t;
    },
  };
}

/** A translation the upstream cannot take (its refusal's message). */
class Refused {
  constructor(readonly message: string) {}
}

/** Where a body keeps its translations (one per exchange that translated it): on the body, so they die with it. */
const TRANSLATIONS = Symbol("llmproxy.translations");

/** A request body with the translations made of it. */
type Translated = ChatRequest & { [TRANSLATIONS]?: Map<object, unknown> };

/**
 * `translate` run once per body: the check and every attempt of the request (keys, route elements) share the
 * result. A thrown `Refusal` is kept as a {@link Refused}; any other error throws.
 *
 * The result is kept on the body itself (a property no copy or `JSON.stringify` of it sees), not in a
 * `WeakMap` keyed by the body: V8's young-generation collections treat the values of a long-lived `WeakMap` as
 * strong, so a translation that holds its body (as the OpenAI-compatible providers' did: the body itself) kept
 * every request's body alive until the next full collection, and had it promoted to the old generation
 * (scripts/bench/RESULTS.md, "A cache that kept every body").
 */
function oncePerBody<T>(
  translate: (body: ChatRequest) => T,
  Refusal: (new (...args: never[]) => Error) | undefined,
): (body: ChatRequest) => T | Refused {
  const once = (body: Translated): T | Refused => {
    let cache = body[TRANSLATIONS];
    if (cache?.has(once)) return cache.get(once) as T | Refused;
    let t: T | Refused;
    try {
      t = translate(body);
    } catch (e) {
      if (!Refusal || !(e instanceof Refusal)) throw e;
      t = new Refused(e.message);
    }
    if (!cache) {
      if (!Object.isExtensible(body)) return t; // a frozen body is translated each time
      cache = new Map();
      Object.defineProperty(body, TRANSLATIONS, { value: cache });
    }
    cache.set(once, t);
    return t;
  };
  return once;
}
