/**
 * Redaction of outgoing prompts (SPEC §10.4): every text part of every message, and tool-call arguments,
 * with configured key values replaced. Returns a new body only when something changed.
 */
import type { ChatRequest, Message } from "../openai/types.ts";

/** Replaces secrets in one text and counts them. */
export type TextRedactor = (text: string) => { text: string; n: number };

/** Redact a request's messages; `n` is how many occurrences were replaced. */
export function redactMessages(body: ChatRequest, redact: TextRedactor): { body: ChatRequest; n: number } {
  let total = 0;
  const fix = (s: string) => {
    const r = redact(s);
    total += r.n;
    return r.n ? r.text : s;
  };
  const messages = body.messages.map((m): Message => {
    const before = total;
    let content = m.content;
    if (typeof content === "string") content = fix(content);
    else if (Array.isArray(content)) {
      content = content.map((p) =>
        p.type === "text" && typeof (p as { text?: unknown }).text === "string"
          ? { ...p, text: fix((p as { text: string }).text) }
          : p
      );
    }
    const toolCalls = m.tool_calls?.map((tc) =>
      typeof tc.function?.arguments === "string"
        ? { ...tc, function: { ...tc.function, arguments: fix(tc.function.arguments) } }
        : tc
    );
    if (total === before) return m;
    return { ...m, content, ...(toolCalls ? { tool_calls: toolCalls } : {}) };
  });
  return total ? { body: { ...body, messages }, n: total } : { body, n: 0 };
}
