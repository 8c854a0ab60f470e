/**
 * The Gemini stream dialect of the commit rule (SPEC §7, §17.3): what `commitStream` needs to pass a
 * `streamGenerateContent?alt=sse` stream through to a Gemini client untouched. Before the commit an event is
 * held until a candidate has a part or a finish reason (or the prompt was blocked); an in-band `{"error":…}`
 * there fails the attempt like any Gemini error; after the commit only events carrying `"finishReason"` (the
 * last one, with the final usage totals) or `"error"` are read (usage for the record, an error to end the stream
 * in Google's shape); the other events pass as bytes, unparsed.
 */
import type { StreamDialect, Verdict } from "../../runner/commit.ts";
import { textToBytes } from "../../openai/sse.ts";
import { mapUsage } from "./mappings.ts";
import { malformedResponse } from "./response.ts";
import { googleErrorEvent } from "./google_error.ts";
import type { GeminiResponse } from "./types.ts";

/** An in-band Google error as the gemini backend's in-band classifier reads it. */
function inBand(error: unknown): { message: string; code: string; google: unknown } {
  const e = error && typeof error === "object"
    ? error as Record<string, unknown>
    : { message: String(error) };
  return {
    message: typeof e.message === "string" ? e.message : "Gemini reported an error in the stream.",
    code: "upstream_error",
    google: e,
  };
}

function badStream(what: string): Verdict {
  return { error: { message: `Gemini sent a stream event ${what}`, code: "bad_stream" } };
}

/** True when a candidate carries something for the client: a non-empty part or a finish reason. */
function hasOutput(r: GeminiResponse): boolean {
  for (const c of r.candidates ?? []) {
    if (c?.finishReason) return true;
    for (const p of c?.content?.parts ?? []) {
      if (p === null || typeof p !== "object") continue;
      if (typeof p.text === "string" ? p.text !== "" : Object.keys(p).some((k) => k !== "thoughtSignature")) {
        return true;
      }
    }
  }
  return !!r.promptFeedback?.blockReason;
}

/** Gemini `GenerateContentResponse` events, passed through. */
export const GEMINI_DIALECT: StreamDialect = {
  inspect(data, _event, seen) {
    if (data === undefined) return "hold";
    let r: GeminiResponse;
    try {
      r = JSON.parse(data);
    } catch {
      return badStream("that is not JSON");
    }
    if (r === null || typeof r !== "object" || Array.isArray(r)) return badStream("that is not an object");
    seen?.(r as Record<string, unknown>);
    if (r.error) return { error: inBand(r.error) };
    const malformed = malformedResponse(r);
    if (malformed) return badStream(`with ${malformed}`);
    return hasOutput(r) ? "commit" : "hold";
  },
  model: (c) => (typeof c.modelVersion === "string" ? c.modelVersion : undefined),
  read(c, usage) {
    const r = c as GeminiResponse;
    if (r.error) return { error: inBand(r.error) };
    const finished = !!r.promptFeedback?.blockReason || (r.candidates ?? []).some((x) => !!x?.finishReason);
    if (r.usageMetadata && typeof r.usageMetadata === "object") {
      return { usage: mapUsage(r.usageMetadata), finished };
    }
    return { usage, finished };
  },
  cutOff: "Gemini ended the stream without a finish reason; the answer may be cut off.",
  errorEvent: googleErrorEvent,
  // Every event carries `usageMetadata` (running totals), so that marker would parse them all; the final
  // totals come with the finish reason, so only events with one (and errors) are read after the commit.
  markers: [textToBytes('"finishReason"'), textToBytes('"error"'), textToBytes('"blockReason"')],
};
