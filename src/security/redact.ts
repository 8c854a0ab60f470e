/**
 * Redaction of outgoing prompts (SPEC §10.4): every text part of every message, tool-call arguments, image
 * URLs, message names and the top-level `user`, with secrets replaced. Returns a new body only when something
 * changed.
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
      content = content.map((p) => {
        if (p.type === "text" && typeof p.text === "string") return { ...p, text: fix(p.text) };
        const img = p.type === "image_url" ? (p.image_url as { url?: unknown } | undefined) : undefined;
        // Only http(s) URLs: a data: URL is image bytes, where a key-shaped run is noise, not a key.
        if (typeof img?.url === "string" && /^https?:/i.test(img.url)) {
          return { ...p, image_url: { ...img, url: fix(img.url) } };
        }
        return p;
      });
    }
    const toolCalls = m.tool_calls?.map((tc) =>
      typeof tc.function?.arguments === "string"
        ? { ...tc, function: { ...tc.function, arguments: fix(tc.function.arguments) } }
        : tc
    );
    const name = typeof m.name === "string" ? fix(m.name) : m.name;
    if (total === before) return m;
    return { ...m, content, ...(toolCalls ? { tool_calls: toolCalls } : {}), ...(name ? { name } : {}) };
  });
  const user = typeof body.user === "string" ? fix(body.user) : body.user;
  return total ? { body: { ...body, messages, ...(user ? { user } : {}) }, n: total } : { body, n: 0 };
}
