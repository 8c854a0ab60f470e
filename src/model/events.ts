/**
 * The conversation model's answer as a typed event stream (ARCHITECTURE.md "Conversation model"): what a
 * translating provider emits instead of Chat SSE text, what the commit rule judges without parsing, and what
 * every front end renders into its own grammar. Finish reasons use the Chat Completions words (`stop`,
 * `length`, `tool_calls`, `content_filter`, or the upstream's own). Pure types.
 */

/** What a stream's events share: the answer's id, its creation time (unix s) and the model that answered. */
export interface StreamMeta {
  id: string;
  created: number;
  /** The model named so far: a producer updates it (an upstream names its model in its first events) before the event that follows. */
  model: string;
}

/** Token usage, with the cached prompt tokens (cache reads), cache writes and reasoning tokens when known. */
export interface ModelUsage {
  promptTokens: number;
  completionTokens: number;
  totalTokens: number;
  /** Prompt tokens read from a cache (included in `promptTokens`). */
  cachedTokens?: number;
  /** Prompt tokens written to a cache (included in `promptTokens`; Anthropic's cache creation). */
  cacheWriteTokens?: number;
  /** Completion tokens spent on reasoning (included in `completionTokens`). */
  reasoningTokens?: number;
  /** What the upstream says the request cost (USD), when it says. */
  cost?: number;
}

/** An error in a stream: the upstream's in-band error (before classification) or the one that ends a committed stream. */
export interface ModelError {
  message: string;
  /** The proxy's error type (`api_error`, …), once classified. */
  type?: string;
  code?: string;
  /** The HTTP status the error maps to, once classified. */
  status?: number;
  /** What the upstream said besides (its error object, an exit code), for the failure classifier. */
  [k: string]: unknown;
}

/**
 * One event of an answer. `choice` numbers the answer's choices (Gemini candidates, Chat `n`); most answers
 * have one, choice 0. A stream ends after its choices' `finish` events (and `usage`), or with one `error`.
 */
export type ModelEvent =
  /** Visible text. */
  | { type: "text"; choice: number; text: string }
  /** A refusal's text (Chat `refusal`, Gemini's blocked prompt). */
  | { type: "refusal"; choice: number; text: string }
  /** Reasoning (thinking) text. */
  | { type: "reasoning"; choice: number; text: string }
  /** The signature that closes the reasoning before it (Anthropic's `signature_delta`). */
  | { type: "reasoning_signature"; choice: number; signature: string }
  /** Reasoning the upstream sent encrypted (Anthropic `redacted_thinking`): opaque data to keep as it is. */
  | { type: "redacted_reasoning"; choice: number; data: string }
  /** A tool call starts: its position among the choice's calls, its id (`""` when the upstream gave none) and the function's name. */
  | { type: "tool_call"; choice: number; index: number; id: string; name: string }
  /** A fragment of a started tool call's JSON arguments. */
  | { type: "tool_args"; choice: number; index: number; arguments: string }
  /** The choice is finished, for `reason`. */
  | { type: "finish"; choice: number; reason: string }
  /** The answer's usage (the last report wins). */
  | { type: "usage"; usage: ModelUsage }
  /** The stream failed: nothing follows. */
  | { type: "error"; error: ModelError };

/** Events that carry content (text, reasoning, refusal, tool calls). */
export function isContent(ev: ModelEvent): boolean {
  switch (ev.type) {
    case "text":
    case "refusal":
    case "reasoning":
      return ev.text !== "";
    case "reasoning_signature":
    case "redacted_reasoning":
    case "tool_call":
      return true;
    case "tool_args":
      return ev.arguments !== "";
    default:
      return false;
  }
}

/** What the commit rule (SPEC §7) makes of one event before the commit: hold it, commit with it, or fail with its error. */
export type EventVerdict = "hold" | "commit" | { error: ModelError };

/**
 * The commit rule's decision for one event, the one place it is written: content, a finish or a usage report
 * commits (an error-finish fails), an error fails the attempt, nothing else exists to hold.
 */
export function eventVerdict(ev: ModelEvent): EventVerdict {
  if (ev.type === "error") return { error: ev.error };
  if (ev.type === "finish") {
    return ev.reason === "error"
      ? { error: { message: "the upstream ended the stream with an error", code: "upstream_error" } }
      : "commit";
  }
  if (ev.type === "usage") return "commit";
  return isContent(ev) ? "commit" : "hold";
}

/** The message of the error a renderer ends with when a stream closed before its answer finished. */
export const CUT_OFF_MESSAGE = "The upstream ended the stream before the answer finished; it may be cut off.";
