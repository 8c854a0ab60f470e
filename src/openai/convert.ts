/** Turn a complete `chat.completion` into the `chat.completion.chunk` SSE events a streaming client expects. */
import { SSE_DONE, sseData } from "./sse.ts";

interface Completion {
  id?: string;
  created?: number;
  model?: string;
  choices?: {
    index?: number;
    message?: {
      role?: string;
      content?: unknown;
      tool_calls?: { id?: string; type?: string; function?: unknown }[];
    };
    finish_reason?: string | null;
  }[];
  usage?: unknown;
  system_fingerprint?: unknown;
}

/** SSE text for a completion: role delta, content, tool calls, finish, optional usage chunk, `[DONE]`. */
export function completionToSse(c: Completion, includeUsage: boolean): string {
  const base = {
    id: c.id ?? `chatcmpl-${crypto.randomUUID()}`,
    object: "chat.completion.chunk",
    created: c.created ?? Math.floor(Date.now() / 1000),
    model: c.model ?? "",
  };
  let out = "";
  for (const [i, ch] of (c.choices ?? []).entries()) {
    const index = ch.index ?? i;
    const msg = ch.message ?? {};
    out += sseData({
      ...base,
      choices: [{ index, delta: { role: "assistant", content: "" }, finish_reason: null }],
    });
    if (typeof msg.content === "string" && msg.content) {
      out += sseData({ ...base, choices: [{ index, delta: { content: msg.content }, finish_reason: null }] });
    }
    if (Array.isArray(msg.tool_calls) && msg.tool_calls.length) {
      const calls = msg.tool_calls.map((tc, j) => ({ index: j, ...tc }));
      out += sseData({ ...base, choices: [{ index, delta: { tool_calls: calls }, finish_reason: null }] });
    }
    out += sseData({ ...base, choices: [{ index, delta: {}, finish_reason: ch.finish_reason ?? "stop" }] });
  }
  if (includeUsage && c.usage) out += sseData({ ...base, choices: [], usage: c.usage });
  return out + SSE_DONE;
}
