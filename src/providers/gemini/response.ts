/**
 * Gemini `GenerateContentResponse` → the conversation model's {@link ModelResult} (SPEC §3.2,
 * reference/backends.md §3): candidates become choices, function calls become tool calls (their thought
 * signature carried in the id), finish reasons and usage are mapped. Thought parts are dropped, as the stream
 * translator drops them. Pure; shared with the stream translator.
 */
import type { StreamMeta } from "../../model/events.ts";
import { type ModelResult, resultChoice, type ResultToolCall } from "../../model/result.ts";
import { modelUsage } from "../../model/usage.ts";
import { makeToolCallId } from "./ids.ts";
import { isObj } from "./parts.ts";
import type { GeminiCandidate, GeminiResponse } from "./types.ts";
import { mapFinishReason, mapUsage } from "./mappings.ts";

export { mapFinishReason, mapUsage };

/**
 * What makes a response unreadable (candidates or parts of the wrong shape), or undefined. A `null` part is
 * not a problem: {@link candidateOutput} skips it.
 */
export function malformedResponse(r: GeminiResponse): string | undefined {
  if (r.candidates == null) return undefined;
  if (!Array.isArray(r.candidates)) return "candidates that are not a list";
  for (const c of r.candidates as unknown[]) {
    if (!isObj(c)) return "a candidate that is not an object";
    if (c.content == null) continue;
    if (!isObj(c.content)) return "a candidate content that is not an object";
    if (c.content.parts != null && !Array.isArray(c.content.parts)) {
      return "candidate parts that are not a list";
    }
  }
  return undefined;
}

/** A candidate's index, or its position when it has none (or not a number). */
export function candidateIndex(c: GeminiCandidate, position: number): number {
  return typeof c.index === "number" ? c.index : position;
}

/** The visible text and the tool calls of one candidate's parts (thought parts and non-objects are dropped). */
export function candidateOutput(c: GeminiCandidate): { text: string; toolCalls: ResultToolCall[] } {
  let text = "";
  const toolCalls: ResultToolCall[] = [];
  for (const p of c.content?.parts ?? []) {
    if (p === null || typeof p !== "object" || p.thought) continue;
    if (typeof p.text === "string") text += p.text;
    if (p.functionCall && typeof p.functionCall.name === "string") {
      toolCalls.push({
        id: makeToolCallId(p.thoughtSignature),
        name: p.functionCall.name,
        arguments: JSON.stringify(p.functionCall.args ?? {}),
      });
    }
  }
  return { text, toolCalls };
}

/** What a blocked prompt tells the client (as the message's `refusal`). */
export function blockRefusal(feedback: GeminiResponse["promptFeedback"]): string {
  const why = feedback?.blockReasonMessage ? `: ${feedback.blockReasonMessage}` : "";
  return `Gemini blocked the prompt (${feedback?.blockReason ?? "unknown reason"})${why}.`;
}

/**
 * Translate a whole response (checked with {@link malformedResponse} first). A blocked prompt (no candidates,
 * `promptFeedback.blockReason`) becomes one empty choice refused with `content_filter`; a response with
 * neither yields no choices (the caller rejects it).
 */
export function toModelResult(r: GeminiResponse, meta: StreamMeta): ModelResult {
  const candidates = [...(r.candidates ?? [])].map((c, i) => ({ c, index: candidateIndex(c, i) }))
    .sort((a, b) => a.index - b.index);
  const choices = candidates.map(({ c, index }) => {
    const { text, toolCalls } = candidateOutput(c);
    return resultChoice(index, mapFinishReason(c.finishReason ?? "STOP", toolCalls.length > 0)!, {
      text,
      toolCalls,
    });
  });
  if (!choices.length && r.promptFeedback?.blockReason) {
    choices.push(resultChoice(0, "content_filter", { refusal: blockRefusal(r.promptFeedback) }));
  }
  return {
    meta: { ...meta, model: r.modelVersion ?? meta.model },
    choices,
    ...(r.usageMetadata ? { usage: modelUsage(mapUsage(r.usageMetadata)) } : {}),
  };
}
