/**
 * The wire protocols llmproxy speaks (SPEC §17), named once: a front end parses one of them, and a provider
 * that speaks the same one upstream may take the client's body as it came (pass-through) instead of a rebuilt
 * one.
 */

/** A wire protocol: OpenAI Chat Completions, Anthropic Messages, OpenAI Responses, Gemini generateContent. */
export type WireProtocol = "chat" | "anthropic" | "responses" | "gemini";

/**
 * The client's body in its own protocol, after the pipeline's edits that apply to it (redaction), kept for a
 * provider that speaks `protocol` upstream (SPEC §17: "the body passes through, unknown fields kept"). The
 * provider puts its own model name (and key) in; it never sends `headers` other than those named here.
 */
export interface NativeRequest {
  protocol: WireProtocol;
  body: Record<string, unknown>;
  /** Protocol headers of the client's to forward (e.g. `anthropic-beta`, `anthropic-version`). */
  headers: Record<string, string>;
}
