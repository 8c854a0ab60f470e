/**
 * Running a translated stream — the conversation model's events, from a provider's translator over its
 * upstream's SSE — through the commit rule (SPEC §7, `commit_events.ts`) with the attempt's watchdog and limits;
 * the runner (`exchange.ts`) calls it for every translating provider.
 */
import type { AttemptInput, AttemptResult, UpstreamFailure } from "./backend.ts";
import { commitPostedEvents } from "./commit_events.ts";
import { answerTooLarge, type Posted } from "./http.ts";
import { scrubbedFailure } from "./results.ts";
import type { ModelEvent, StreamMeta } from "../model/events.ts";

/** What {@link commitTranslatedEvents} needs of the backend. */
export interface TranslatedStreamOptions {
  name: string;
  scrub: (text: string) => string;
  maxBodyBytes: number;
  /** Classify an in-band error the translator reported (its `too_large` code is handled here). */
  classifyInBand: (error: unknown) => UpstreamFailure;
}

/** Run a translated stream of events through the commit rule; before the commit every failure is the attempt's. */
export async function commitTranslatedEvents(
  posted: Extract<Posted, { ok: true }>,
  events: ReadableStream<ModelEvent>,
  meta: StreamMeta,
  input: AttemptInput,
  o: TranslatedStreamOptions,
): Promise<AttemptResult> {
  const result = await commitPostedEvents(posted, events, input, {
    classifyInBand: (e) => {
      if ((e as { code?: unknown })?.code === "too_large") return answerTooLarge(o.name, o.maxBodyBytes);
      const f = o.classifyInBand(e);
      return { ...f, message: o.scrub(f.message) };
    },
    scrub: o.scrub,
    meta,
  });
  return result.ok ? result : scrubbedFailure(result.failure, o.scrub);
}
