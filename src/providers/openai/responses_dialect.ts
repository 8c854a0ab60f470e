/**
 * The OpenAI Responses event stream as the commit rule reads it (SPEC §7, §17.2), for a provider that passes a
 * Responses client's stream through: `response.created` / `in_progress` / `queued` and the empty
 * `output_item.added` / `content_part.added` events are held; the first event with content, a tool call or
 * the end commits; `error` and `response.failed` before it fail the attempt. After the commit only events with
 * a `"usage"` or `"error"` marker (or a terminal type) are read: `response.completed` / `response.incomplete`
 * end the stream and report the usage, and `error` / `response.failed` end it with a failure. A failure the
 * proxy adds, also for a stream closed before its end, is a `response.failed` event.
 */
import type { StreamDialect, Verdict } from "../../runner/commit.ts";
import type { Usage } from "../../model/request.ts";
import { textToBytes } from "../../openai/sse.ts";

const HOLD = new Set([
  "response.created",
  "response.in_progress",
  "response.queued",
  "response.output_item.added",
  "response.content_part.added",
  "response.reasoning_summary_part.added",
]);

type Event = {
  type?: unknown;
  error?: unknown;
  response?: { error?: unknown; usage?: unknown; model?: unknown };
};

/** The error an event reports, if it is a failure (`error`, `response.failed`). */
function failureOf(e: Event): unknown {
  if (e.type === "error") return e.error ?? e;
  if (e.type === "response.failed") return e.response?.error ?? { message: "the upstream response failed" };
  return undefined;
}

const num = (v: unknown) => (typeof v === "number" && Number.isFinite(v) ? v : 0);

/** Responses usage (`input_tokens`, …) in the Chat names usage records use. */
export function chatUsageOf(u: unknown): Usage | undefined {
  if (!u || typeof u !== "object") return undefined;
  const r = u as Record<string, unknown>;
  const prompt = num(r.input_tokens);
  const completion = num(r.output_tokens);
  return {
    prompt_tokens: prompt,
    completion_tokens: completion,
    total_tokens: num(r.total_tokens) || prompt + completion,
  };
}

/** The Responses stream dialect. */
export const RESPONSES_DIALECT: StreamDialect = {
  inspect(data, _event, seen): Verdict {
    if (data === undefined) return "hold";
    let e: Event;
    try {
      e = JSON.parse(data);
    } catch {
      return { error: { message: "the upstream sent a stream event that is not JSON", code: "bad_stream" } };
    }
    if (e === null || typeof e !== "object" || Array.isArray(e)) {
      return {
        error: { message: "the upstream sent a stream event that is not an object", code: "bad_stream" },
      };
    }
    seen?.(e as Record<string, unknown>);
    const failure = failureOf(e);
    if (failure !== undefined) return { error: failure };
    return typeof e.type === "string" && HOLD.has(e.type) ? "hold" : "commit";
  },
  model: (c) => {
    const m = (c as Event).response?.model;
    return typeof m === "string" ? m : undefined;
  },
  read(c) {
    const e = c as Event;
    const failure = failureOf(e);
    if (failure !== undefined) return { error: failure };
    if (e.type === "response.completed" || e.type === "response.incomplete") {
      const usage = chatUsageOf(e.response?.usage);
      return usage ? { usage, finished: true, ended: true } : { finished: true, ended: true };
    }
    return {};
  },
  cutOff: "The upstream ended the stream before the response completed; the answer may be cut off.",
  markers: ['"usage"', '"error"', '"response.completed"', '"response.incomplete"'].map(textToBytes),
  errorEvent: (error) =>
    `event: response.failed\ndata: ${
      JSON.stringify({
        type: "response.failed",
        response: {
          object: "response",
          status: "failed",
          error: { code: error.code, message: error.message },
        },
      })
    }\n\n`,
};
