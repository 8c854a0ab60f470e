/**
 * A Gemini client's own request passed through (SPEC §17.3): the gemini backend sends the client's
 * `generateContent` body as it came (under the pooled key, model from the plan) and hands the answer back in
 * Gemini's protocol, with the usage the record needs. The request side lives in `client.ts` next to the
 * translated call it shares everything with; these are the two answer shapes.
 */
import type { AttemptResult } from "../../runner/backend.ts";
import { mapUsage } from "./mappings.ts";
import type { GeminiResponse } from "./types.ts";

/**
 * A whole Gemini answer (already checked: an object, no in-band error, well-formed) passed through as its
 * text. One with neither candidates nor a blocked prompt is a bad answer (the next key may do better).
 */
export function nativeAnswer(
  json: GeminiResponse,
  text: string,
  badAnswer: (what: string) => AttemptResult,
): AttemptResult {
  if (!json.candidates?.length && !json.promptFeedback?.blockReason) return badAnswer("without candidates");
  return {
    ok: true,
    value: {
      kind: "json",
      status: 200,
      text,
      ...(json.usageMetadata && typeof json.usageMetadata === "object"
        ? { usage: mapUsage(json.usageMetadata) }
        : {}),
      ...(typeof json.modelVersion === "string" ? { model: json.modelVersion } : {}),
      protocol: "gemini",
    },
  };
}

/** A committed pass-through stream marked as Gemini SSE (a failure stays as it is). */
export function nativeStream(result: AttemptResult): AttemptResult {
  return result.ok ? { ok: true, value: { ...result.value, protocol: "gemini" } } : result;
}
