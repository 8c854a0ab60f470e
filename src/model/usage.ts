/**
 * {@link ModelUsage} ⇄ the Chat Completions `usage` object (cached tokens in `prompt_tokens_details`,
 * reasoning tokens in `completion_tokens_details`): usage records and Chat clients read the Chat shape; a
 * detail is written only when the upstream reported it. Pure.
 */
import type { Usage } from "./request.ts";
import { costUsd, tokenCount } from "../core/clamp.ts";
import type { ModelUsage } from "./events.ts";

type Obj = Record<string, unknown>;

/** A Chat `usage` object as {@link ModelUsage} (counts clamped, SPEC §19). */
export function modelUsage(u: Usage | Obj): ModelUsage {
  const n = (v: unknown) => tokenCount(v) ?? 0;
  const pd = (u.prompt_tokens_details ?? undefined) as Obj | undefined;
  const cd = (u.completion_tokens_details ?? undefined) as Obj | undefined;
  const out: ModelUsage = {
    promptTokens: n(u.prompt_tokens),
    completionTokens: n(u.completion_tokens),
    totalTokens: n(u.total_tokens),
  };
  if (pd && typeof pd === "object") {
    if (pd.cached_tokens !== undefined) out.cachedTokens = n(pd.cached_tokens);
    if (pd.cache_creation_tokens !== undefined) out.cacheWriteTokens = n(pd.cache_creation_tokens);
  }
  if (cd && typeof cd === "object" && cd.reasoning_tokens !== undefined) {
    out.reasoningTokens = n(cd.reasoning_tokens);
  }
  const cost = costUsd(u.cost);
  if (cost !== undefined) out.cost = cost;
  return out;
}

/** Zero usage (local replies, runs that reported none). */
export function zeroModelUsage(): ModelUsage {
  return { promptTokens: 0, completionTokens: 0, totalTokens: 0 };
}

/** {@link ModelUsage} as a Chat `usage` object. */
export function chatUsage(m: ModelUsage): Usage {
  const u: Usage = {
    prompt_tokens: m.promptTokens,
    completion_tokens: m.completionTokens,
    total_tokens: m.totalTokens,
  };
  if (m.cachedTokens !== undefined || m.cacheWriteTokens !== undefined) {
    u.prompt_tokens_details = {
      cached_tokens: m.cachedTokens ?? 0,
      ...(m.cacheWriteTokens !== undefined ? { cache_creation_tokens: m.cacheWriteTokens } : {}),
    };
  }
  if (m.reasoningTokens !== undefined) u.completion_tokens_details = { reasoning_tokens: m.reasoningTokens };
  if (m.cost !== undefined) u.cost = m.cost;
  return u;
}
