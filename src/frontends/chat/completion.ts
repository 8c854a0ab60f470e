/**
 * A whole answer of the conversation model ({@link ModelResult}) as the `chat.completion` a Chat client gets
 * (built by `openai/build.ts`): per choice the assistant message — content (`null` beside tool calls), refusal
 * (`null` when none), `reasoning_content` with its `reasoning_signature` when the answer reasoned, tool calls —
 * and the usage with its cached and reasoning tokens, when the answer reported it. Pure.
 */
import { completion, completionChoice } from "../../openai/build.ts";
import { chatUsage } from "../../model/usage.ts";
import { type ModelResult, reasoningText, type ResultChoice } from "../../model/result.ts";

/** One choice's assistant message. */
function message(ch: ResultChoice): Record<string, unknown> {
  const m: Record<string, unknown> = {
    role: "assistant",
    content: ch.text || (ch.toolCalls.length ? null : ""),
    refusal: ch.refusal ?? null,
  };
  const reasoning = reasoningText(ch);
  if (reasoning) m.reasoning_content = reasoning;
  const signature = ch.reasoning.map((r) => (r.kind === "thinking" ? r.signature ?? "" : "")).join("");
  if (signature) m.reasoning_signature = signature;
  if (ch.toolCalls.length) {
    m.tool_calls = ch.toolCalls.map((tc) => ({
      id: tc.id,
      type: "function",
      function: { name: tc.name, arguments: tc.arguments },
    }));
  }
  return m;
}

/** A {@link ModelResult} as a `chat.completion` object. */
export function resultCompletion(r: ModelResult): Record<string, unknown> {
  const choices = r.choices.map((ch) => completionChoice(ch.index, message(ch), ch.finish));
  return completion(r.meta, choices, r.usage ? { usage: chatUsage(r.usage) } : {});
}
