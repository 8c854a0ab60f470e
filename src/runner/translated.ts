/**
 * What every translating backend (Gemini REST, Anthropic) does the same way around its own translation: a
 * failure with its message scrubbed, a "bad answer" failure for a 200 it cannot read, and running its
 * translated stream of the model's events (or a passed-through byte stream) through the commit rule (SPEC §7)
 * with the attempt's watchdog and limits.
 */
import type { AttemptInput, AttemptResult, UpstreamFailure } from "./backend.ts";
import { commitPosted, type StreamDialect } from "./commit.ts";
import { commitPostedEvents } from "./commit_events.ts";
import type { ModelEvent, StreamMeta } from "../model/events.ts";
import { answerTooLarge, type Posted } from "./http.ts";
import type { Usage } from "../openai/types.ts";

/**
 * Translate each request body once: the check (`unsupported`) and every attempt of the request (keys, route
 * elements) share the result. A translation error of class `Refusal` is kept as the result; others throw.
 */
export function translatedOncePerBody<B extends object, T, E extends Error>(
  translate: (body: B) => T,
  Refusal: new (...args: never[]) => E,
): (body: B) => T | E {
  const results = new WeakMap<B, T | E>();
  return (body) => {
    if (results.has(body)) return results.get(body)!;
    let t: T | E;
    try {
      t = translate(body);
    } catch (e) {
      if (!(e instanceof Refusal)) throw e;
      t = e;
    }
    results.set(body, t);
    return t;
  };
}

/** A failed attempt whose message has key values scrubbed. */
export function scrubbedFailure(f: UpstreamFailure, scrub: (text: string) => string): AttemptResult {
  return { ok: false, failure: { ...f, message: scrub(f.message) } };
}

/** A 200 the backend cannot read (`what` completes "NAME answered 200 …"): the next key may do better. */
export function badAnswer(backend: string, what: string, scrub: (text: string) => string): AttemptResult {
  return scrubbedFailure({
    action: "next-key",
    status: 502,
    type: "api_error",
    code: "upstream_error",
    message: `${backend} answered 200 ${what}.`,
    outcome: "bad_answer",
  }, scrub);
}

/** A whole answer the backend translated into a `chat.completion` (the usage record reads its usage). */
export function completionAnswer(completion: { usage?: Usage; model?: string }): AttemptResult {
  return {
    ok: true,
    value: {
      kind: "json",
      status: 200,
      text: JSON.stringify(completion),
      usage: completion.usage,
      model: completion.model,
    },
  };
}

/** What {@link commitTranslated} needs of the backend. */
export interface TranslatedStreamOptions {
  name: string;
  scrub: (text: string) => string;
  maxBodyBytes: number;
  /** Classify an in-band error the translator reported (its `too_large` code is handled here). */
  classifyInBand: (error: unknown) => UpstreamFailure;
  /** The stream's protocol, when it is not Chat Completions chunks (a passed-through stream). */
  dialect?: StreamDialect;
}

/** The in-band error classifier of a translated stream: a `too_large` code is the --max-upstream-body-mb failure. */
function inBand(o: TranslatedStreamOptions): (e: unknown) => UpstreamFailure {
  return (e) => {
    if ((e as { code?: unknown })?.code === "too_large") return answerTooLarge(o.name, o.maxBodyBytes);
    const f = o.classifyInBand(e);
    return { ...f, message: o.scrub(f.message) };
  };
}

/** Run a translated stream of events through the commit rule; before the commit every failure is the attempt's. */
export async function commitTranslatedEvents(
  posted: Extract<Posted, { ok: true }>,
  events: ReadableStream<ModelEvent>,
  meta: StreamMeta,
  input: AttemptInput,
  o: Omit<TranslatedStreamOptions, "dialect">,
): Promise<AttemptResult> {
  const result = await commitPostedEvents(posted, events, input, {
    classifyInBand: inBand(o),
    scrub: o.scrub,
    meta,
  });
  return result.ok ? result : scrubbedFailure(result.failure, o.scrub);
}

/** Run a byte stream (a passed-through one) through the commit rule; before the commit every failure is the attempt's. */
export async function commitTranslated(
  posted: Extract<Posted, { ok: true }>,
  sse: ReadableStream<Uint8Array>,
  input: AttemptInput,
  o: TranslatedStreamOptions,
): Promise<AttemptResult> {
  const result = await commitPosted(posted, sse, input, {
    classifyInBand: inBand(o),
    // Usage is always produced (for the usage record); the client sees it only when it asked.
    dropUsageChunks: input.body.stream_options?.include_usage !== true,
    scrub: o.scrub,
    bodyLimit: { bytes: o.maxBodyBytes, backend: o.name },
    dialect: o.dialect,
  });
  return result.ok ? result : scrubbedFailure(result.failure, o.scrub);
}
