/**
 * Classification of OpenAI-compatible upstream failures for the key pool and the attempt engine — the
 * generic rows of SPEC §5.2. Pure: status, headers and body text in; an {@link UpstreamFailure} out.
 * A provider with its own rules (OpenRouter: openrouter/errors.ts) wraps {@link classifyOpenAIFailure}.
 */
import type { UpstreamFailure } from "../../runner/backend.ts";
import type { HeaderReader } from "../../core/headers.ts";
import { retryHintUntil } from "../../core/cooldown.ts";
import { keyRejected, statusFailure } from "../../runner/failures.ts";

/** Classifies one failed response of an OpenAI-compatible upstream; `keyLabel` names the key in messages. */
export type OpenAIFailureClassifier = (
  status: number,
  headers: HeaderReader | undefined,
  text: string,
  keyLabel: string | undefined,
  backend: string,
  now?: number,
) => UpstreamFailure;

/** An OpenAI-style error body (`metadata` is OpenRouter's addition). */
export interface ErrorBody {
  error?: {
    message?: unknown;
    code?: unknown;
    type?: unknown;
    metadata?: { raw?: unknown; headers?: Record<string, unknown>; provider_name?: unknown };
  };
}

/** Parse an upstream error body leniently (it may be HTML, empty or garbage). */
export function parseErrorBody(text: string): ErrorBody {
  try {
    const v = JSON.parse(text);
    return v && typeof v === "object" ? v as ErrorBody : {};
  } catch {
    return {};
  }
}

/** The upstream's own message (plus `metadata.raw` when it adds something), or the start of the text. */
export function upstreamMessage(body: ErrorBody, text: string, status: number): string {
  const m = body.error?.message;
  const raw = body.error?.metadata?.raw;
  let msg = typeof m === "string" && m ? m : text.trim().slice(0, 300) || `HTTP ${status}`;
  if (typeof raw === "string" && raw && !msg.includes(raw)) msg += ` (${raw.slice(0, 300)})`;
  return msg;
}

/** Classify one failed OpenAI-compatible response by the generic rules (an {@link OpenAIFailureClassifier}). */
export function classifyOpenAIFailure(
  status: number,
  headers: HeaderReader | undefined,
  text: string,
  keyLabel: string | undefined,
  backend: string,
  now = Date.now(),
): UpstreamFailure {
  const body = parseErrorBody(text);
  const message = upstreamMessage(body, text, status);
  const outcome = String(status);
  const key = keyLabel ?? "(no key)";
  const upstreamCode = typeof body.error?.code === "string" ? body.error.code : undefined;

  if (status === 429) {
    const hint = retryHintUntil(headers, body.error?.metadata?.headers, now);
    const base = {
      status: 429,
      type: "rate_limit_error" as const,
      code: "rate_limit_exceeded",
      outcome,
    };
    return {
      ...base,
      action: "next-key",
      message: `${backend}: key ${key} is rate-limited: ${message}`,
      cooldown: { scope: "key-model", untilMs: hint, reason: "429" },
    };
  }
  if (status === 401) {
    const why = "was rejected (invalid or revoked)";
    return keyRejected(
      backend,
      key,
      why,
      message,
      { disable: true, reason: "401 invalid key" },
      outcome,
      now,
    );
  }
  if (status === 402) {
    const why = "has no credits left (402)";
    return keyRejected(
      backend,
      key,
      why,
      message,
      { coolMs: 600_000, reason: "402 no credits" },
      outcome,
      now,
    );
  }
  return statusFailure(backend, status, String(status), message, upstreamCode ?? "upstream_error");
}

/**
 * Classify an in-band stream error (`{"error":{…}}` in a 200 stream or body) with the provider's
 * `classify`. `scrub` runs over the error's text before any of it is cut (a key straddling a cut would
 * escape a later scrub).
 */
export function classifyInBandError(
  error: unknown,
  keyLabel: string | undefined,
  backend: string,
  scrub: (text: string) => string = (t) => t,
  classify: OpenAIFailureClassifier = classifyOpenAIFailure,
): UpstreamFailure {
  const e = (error && typeof error === "object" ? error : {}) as { code?: unknown; message?: unknown };
  const status = typeof e.code === "number" && e.code >= 400 && e.code < 600 ? e.code : 502;
  return classify(status, undefined, scrub(JSON.stringify({ error: e })), keyLabel, backend);
}
