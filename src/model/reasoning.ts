/**
 * Reasoning an assistant turn of the conversation carried (thinking with its signature, or reasoning the
 * provider sent encrypted), kept on the model's assistant message so it survives a translated request: only
 * the provider that signed it can verify it, so it rides under a symbol key that no JSON body shows — a Chat
 * upstream never receives it, a session never stores it — and the provider that speaks it (Anthropic) writes
 * it back as its blocks. Pure.
 */

/** One piece of an assistant turn's reasoning. */
export type ReasoningPart =
  | { kind: "thinking"; text: string; signature: string }
  | { kind: "redacted"; data: string };

/** The key of an assistant message's reasoning (invisible to `JSON.stringify`, kept by object spread). */
export const REASONING: unique symbol = Symbol("llmproxy.reasoning");

/** The reasoning an assistant message carries, if any. */
export function reasoningOf(message: object): readonly ReasoningPart[] | undefined {
  const parts = (message as { [REASONING]?: readonly ReasoningPart[] })[REASONING];
  return parts?.length ? parts : undefined;
}

/** `message` carrying `parts` as its reasoning (the same object, for a message being built). */
export function withReasoning<T extends object>(message: T, parts: readonly ReasoningPart[]): T {
  if (parts.length) (message as { [REASONING]?: readonly ReasoningPart[] })[REASONING] = parts;
  return message;
}
