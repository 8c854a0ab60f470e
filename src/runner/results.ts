/**
 * The attempt results every backend builds the same way: a failure with key values scrubbed from its message,
 * a request the backend cannot send (400), a 200 it cannot read ("bad answer"), and a whole answer translated
 * into the conversation model's {@link ModelResult}.
 */
import type { AttemptResult, UpstreamFailure } from "./backend.ts";
import type { ModelUsage } from "../model/events.ts";
import type { ModelResult } from "../model/result.ts";

/** A failed attempt whose message has key values scrubbed. */
export function scrubbedFailure(f: UpstreamFailure, scrub: (text: string) => string): AttemptResult {
  return { ok: false, failure: { ...f, message: scrub(f.message) } };
}

/**
 * A request the backend cannot send as it is (400, returned to the client: another key would not help).
 * `outcome` names why in the usage record (`unsupported`, `bad_model`).
 */
export function refusal(message: string, outcome: string): UpstreamFailure {
  return {
    action: "return",
    status: 400,
    type: "invalid_request_error",
    code: "invalid_request",
    message,
    outcome,
  };
}

/** A 200 the backend cannot read (`what` completes "NAME answered 200 …"): the next key may do better. */
export function badAnswer(backend: string, what: string, scrub: (text: string) => string): AttemptResult {
  return scrubbedFailure({
    action: "next-key",
    status: 502,
    type: "api_error",
    code: "upstream_error",
    message: `${backend} answered 200 ${what}.`,
    outcome: "bad_answer",
  }, scrub);
}

/**
 * A whole answer the backend translated into a {@link ModelResult}. The usage record reads its usage, unless
 * `usage` says otherwise (an upstream that reported none: the client's answer shows zeros, the record none).
 */
export function resultAnswer(
  result: ModelResult,
  usage: ModelUsage | undefined = result.usage,
): AttemptResult {
  return { ok: true, value: { kind: "result", result, ...(usage ? { usage } : {}) } };
}
