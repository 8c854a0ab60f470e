/**
 * Running a translated OpenAI-format stream (a provider's translator over its upstream's SSE) through the commit
 * rule (SPEC §7) with the attempt's watchdog and limits; the runner (`exchange.ts`) calls it for every
 * translating provider.
 */
import type { AttemptInput, AttemptResult, UpstreamFailure } from "./backend.ts";
import { commitPosted } from "./commit.ts";
import { answerTooLarge, type Posted } from "./http.ts";
import { scrubbedFailure } from "./results.ts";

/** What {@link commitTranslated} needs of the backend. */
export interface TranslatedStreamOptions {
  name: string;
  scrub: (text: string) => string;
  maxBodyBytes: number;
  /** Classify an in-band error the translator reported (its `too_large` code is handled here). */
  classifyInBand: (error: unknown) => UpstreamFailure;
}

/** Run a translated stream through the commit rule; before the commit every failure is the attempt's. */
export async function commitTranslated(
  posted: Extract<Posted, { ok: true }>,
  sse: ReadableStream<Uint8Array>,
  input: AttemptInput,
  o: TranslatedStreamOptions,
): Promise<AttemptResult> {
  const result = await commitPosted(posted, sse, input, {
    classifyInBand: (e) => {
      if ((e as { code?: unknown })?.code === "too_large") return answerTooLarge(o.name, o.maxBodyBytes);
      const f = o.classifyInBand(e);
      return { ...f, message: o.scrub(f.message) };
    },
    // Usage is always produced (for the usage record); the client sees it only when it asked.
    dropUsageChunks: input.body.stream_options?.include_usage !== true,
    scrub: o.scrub,
    bodyLimit: { bytes: o.maxBodyBytes, backend: o.name },
  });
  return result.ok ? result : scrubbedFailure(result.failure, o.scrub);
}
