/**
 * The tables between Gemini's and the conversation model's (Chat Completions) answer fields, both ways, in
 * one place: `finishReason` ⇄ `finish_reason` and `usageMetadata` ⇄ `usage` (SPEC §3.2, §17.3). The gemini
 * backend reads Gemini answers with them; the Gemini front end writes Gemini answers with them. Pure.
 */
import type { Usage } from "../../model/request.ts";
import { tokenCount } from "../../core/clamp.ts";
import type { GeminiUsage } from "./types.ts";

/** Gemini finish reasons that mean the answer was filtered. */
const FILTERED = new Set([
  "SAFETY",
  "RECITATION",
  "BLOCKLIST",
  "PROHIBITED_CONTENT",
  "SPII",
  "IMAGE_SAFETY",
  "IMAGE_PROHIBITED_CONTENT",
]);

/** Gemini `finishReason` → OpenAI `finish_reason` (null while the candidate is unfinished). */
export function mapFinishReason(reason: string | undefined, hasToolCalls: boolean): string | null {
  if (!reason) return null;
  if (FILTERED.has(reason)) return "content_filter";
  if (hasToolCalls) return "tool_calls";
  if (reason === "MAX_TOKENS") return "length";
  return "stop";
}

/**
 * OpenAI `finish_reason` → Gemini `finishReason`: a function call ends with STOP, as Gemini's own do; an
 * unknown reason (a provider's own word) is OTHER.
 */
export function geminiFinishReason(reason: string): string {
  switch (reason) {
    case "stop":
    case "tool_calls":
    case "function_call":
      return "STOP";
    case "length":
      return "MAX_TOKENS";
    case "content_filter":
      return "SAFETY";
    default:
      return "OTHER";
  }
}

/** Gemini `usageMetadata` → OpenAI usage (reasoning tokens count as completion tokens, as OpenAI does). */
export function mapUsage(u: GeminiUsage): Usage {
  // Counts are clamped (SPEC §19): a fractional, negative, huge or non-number count never reaches a record.
  const n = (v: unknown) => tokenCount(v) ?? 0;
  const prompt = tokenCount(n(u.promptTokenCount) + n(u.toolUsePromptTokenCount))!;
  const thoughts = n(u.thoughtsTokenCount);
  const completion = tokenCount(n(u.candidatesTokenCount) + thoughts)!;
  return {
    prompt_tokens: prompt,
    completion_tokens: completion,
    total_tokens: tokenCount(u.totalTokenCount) ?? tokenCount(prompt + completion)!,
    prompt_tokens_details: { cached_tokens: n(u.cachedContentTokenCount) },
    completion_tokens_details: { reasoning_tokens: thoughts },
  };
}

/** OpenAI usage → Gemini `usageMetadata` (the inverse of {@link mapUsage}; reasoning tokens as thoughts). */
export function geminiUsage(u: Usage): GeminiUsage {
  const n = (v: unknown) => tokenCount(v) ?? 0;
  const details = (v: unknown, k: string) => n((v as Record<string, unknown> | undefined)?.[k]);
  const prompt = n(u.prompt_tokens);
  const thoughts = details(u.completion_tokens_details, "reasoning_tokens");
  const candidates = Math.max(0, n(u.completion_tokens) - thoughts);
  const cached = details(u.prompt_tokens_details, "cached_tokens");
  return {
    promptTokenCount: prompt,
    candidatesTokenCount: candidates,
    ...(thoughts ? { thoughtsTokenCount: thoughts } : {}),
    ...(cached ? { cachedContentTokenCount: cached } : {}),
    totalTokenCount: tokenCount(u.total_tokens) ?? prompt + candidates + thoughts,
  };
}
