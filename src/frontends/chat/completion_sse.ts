/**
 * Turn a complete `chat.completion` into the `chat.completion.chunk` SSE events a streaming Chat client
 * expects (Chat to Chat: the completion's own fields, chunk by chunk, without a detour through events).
 */
import {
  type CompletionMeta,
  deltaSse,
  roleDelta,
  SSE_DONE,
  toolCallDeltas,
  usageSse,
} from "../../openai/build.ts";
import { completionId, unixNow } from "../../model/ids.ts";

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
  const meta: CompletionMeta = {
    id: c.id ?? completionId(),
    created: c.created ?? unixNow(),
    model: c.model ?? "",
  };
  let out = "";
  for (const [i, ch] of (c.choices ?? []).entries()) {
    const index = ch.index ?? i;
    const msg = ch.message ?? {};
    out += deltaSse(meta, index, roleDelta());
    if (typeof msg.content === "string" && msg.content) {
      out += deltaSse(meta, index, { content: msg.content });
    }
    if (Array.isArray(msg.tool_calls) && msg.tool_calls.length) {
      out += deltaSse(meta, index, { tool_calls: toolCallDeltas(msg.tool_calls) });
    }
    out += deltaSse(meta, index, {}, ch.finish_reason ?? "stop");
  }
  if (includeUsage && c.usage) out += usageSse(meta, c.usage);
  return out + SSE_DONE;
}
