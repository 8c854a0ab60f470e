/**
 * OpenRouter's own rows of SPEC §5.2, ahead of the generic OpenAI-compatible rules: a 429 for its free
 * models (`free-models-per-min` / `free-models-per-day`: the key cools for every `:free` model) and a 429
 * from the model's provider ("temporarily rate-limited upstream": next route element, no key cools).
 * Other OpenAI-compatible backends never see these rules.
 */
import type { UpstreamFailure } from "../../runner/backend.ts";
import type { HeaderReader } from "../../core/headers.ts";
import { nextMidnightUtc, retryHintUntil } from "../../core/cooldown.ts";
import { classifyOpenAIFailure, parseErrorBody, upstreamMessage } from "../openai_compatible/errors.ts";

/** Classify one failed OpenRouter response (an `OpenAIFailureClassifier`). */
export function classifyOpenRouterFailure(
  status: number,
  headers: HeaderReader | undefined,
  text: string,
  keyLabel: string | undefined,
  backend: string,
  now = Date.now(),
): UpstreamFailure {
  if (status !== 429) return classifyOpenAIFailure(status, headers, text, keyLabel, backend, now);
  const body = parseErrorBody(text);
  const message = upstreamMessage(body, text, status);
  const raw = typeof body.error?.metadata?.raw === "string" ? body.error.metadata.raw : "";
  const key = keyLabel ?? "(no key)";
  const hint = retryHintUntil(headers, body.error?.metadata?.headers, now);
  const base = {
    status: 429,
    type: "rate_limit_error" as const,
    code: "rate_limit_exceeded",
    outcome: "429",
  };
  if (/temporarily rate-limited upstream/i.test(message) || /temporarily rate-limited upstream/i.test(raw)) {
    return {
      ...base,
      action: "next-element",
      message: `${backend}: the model's provider is rate-limited: ${message}`,
    };
  }
  if (/free-models-per-day/i.test(message)) {
    return {
      ...base,
      action: "next-key",
      message: `${backend}: key ${key} reached its free-model daily limit: ${message}`,
      cooldown: {
        scope: "key-free",
        untilMs: Math.max(hint ?? 0, nextMidnightUtc(now)),
        reason: "free-models-per-day",
      },
    };
  }
  if (/free-models-per-min/i.test(message)) {
    return {
      ...base,
      action: "next-key",
      message: `${backend}: key ${key} reached its free-model per-minute limit: ${message}`,
      cooldown: { scope: "key-free", untilMs: hint, reason: "free-models-per-min" },
    };
  }
  return classifyOpenAIFailure(status, headers, text, keyLabel, backend, now);
}
