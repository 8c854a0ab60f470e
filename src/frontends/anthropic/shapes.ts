/**
 * The pieces of Anthropic Messages the front end writes in more than one place (SPEC §17.1): `msg_…` ids, the
 * stop reason for a Chat finish reason, usage in Anthropic's fields, named SSE events, and the signature
 * given to reasoning that arrived unsigned. Pure.
 */
import type { Usage } from "../../model/request.ts";
import { tokenCount } from "../../core/clamp.ts";

/** A fresh message id: `msg_` and 24 random hex digits. */
export function messageId(): string {
  return `msg_${crypto.randomUUID().replaceAll("-", "").slice(0, 24)}`;
}

/** A fresh tool-use id, for a tool call that came without one. */
export function toolUseId(): string {
  return `toolu_${crypto.randomUUID().replaceAll("-", "").slice(0, 24)}`;
}

/**
 * The signature the proxy gives reasoning that came without one (a provider that does not sign its
 * reasoning), so a client that keeps thinking blocks has one to keep. It is never sent to a provider: the
 * pass-through to Anthropic drops blocks carrying it (SPEC §3.4: thinking is never forged).
 */
export const UNSIGNED_THINKING = "llmproxy:unsigned";

/** Chat `finish_reason` → Messages `stop_reason`. */
export function stopReason(finish: string | null | undefined): string {
  switch (finish) {
    case "length":
      return "max_tokens";
    case "tool_calls":
    case "function_call":
      return "tool_use";
    case "content_filter":
      return "refusal";
    default:
      return "end_turn";
  }
}

/** Messages usage: input tokens without cache reads and writes, which have their own fields. */
export interface MessagesUsage {
  input_tokens: number;
  output_tokens: number;
  cache_read_input_tokens: number;
  cache_creation_input_tokens: number;
}

/** Chat usage → Messages usage (zero when the upstream reported none). */
export function messagesUsage(u: Usage | undefined): MessagesUsage {
  const details = (u?.prompt_tokens_details ?? {}) as {
    cached_tokens?: unknown;
    cache_creation_tokens?: unknown;
  };
  const cacheRead = tokenCount(details.cached_tokens) ?? 0;
  const cacheWrite = tokenCount(details.cache_creation_tokens) ?? 0;
  const prompt = tokenCount(u?.prompt_tokens) ?? 0;
  return {
    input_tokens: Math.max(0, prompt - cacheRead - cacheWrite),
    output_tokens: tokenCount(u?.completion_tokens) ?? 0,
    cache_read_input_tokens: cacheRead,
    cache_creation_input_tokens: cacheWrite,
  };
}

/** One named SSE event (`event: type` and its JSON data, which carries the same `type`). */
export function namedEvent(type: string, data: Record<string, unknown>): string {
  return `event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`;
}
