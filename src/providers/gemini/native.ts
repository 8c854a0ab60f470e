/**
 * A Gemini client's own request passed through (SPEC §17.3): the gemini backend sends the client's
 * `generateContent` body as it came (under the pooled key, model from the plan) and hands the answer back in
 * Gemini's protocol, with the usage the record needs. The call lives in `client.ts` next to the translated one
 * it shares everything with; this is how the whole answer reads.
 */
import type { AnswerReading } from "../../runner/exchange.ts";
import { mapUsage } from "./mappings.ts";
import type { GeminiResponse } from "./types.ts";

/**
 * A whole Gemini answer (already checked: an object, no in-band error, well-formed) passed through as its
 * text. One with neither candidates nor a blocked prompt is a bad answer (the next key may do better).
 */
export function nativeAnswer(json: GeminiResponse): AnswerReading {
  if (!json.candidates?.length && !json.promptFeedback?.blockReason) {
    return { kind: "bad", what: "without candidates" };
  }
  return {
    kind: "passed",
    usage: json.usageMetadata && typeof json.usageMetadata === "object"
      ? mapUsage(json.usageMetadata)
      : undefined,
    model: typeof json.modelVersion === "string" ? json.modelVersion : undefined,
  };
}
