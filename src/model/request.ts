/**
 * The conversation model's request (SPEC §2), in the Chat Completions shape every front end parses into and every
 * provider reads: system and messages whose parts are text, images, tool calls and tool results (an assistant
 * turn's thinking with its signature rides under a symbol key, `reasoning.ts`), tools, tool choice, sampling,
 * limits, response format, stream; and the request check. Unknown fields pass through untouched (SPEC §2): the
 * check looks only at what the proxy itself reads. (Hand-written rather than zod: it runs on every request and
 * keeps zod's memory out of runs without a config file.)
 */

/** One content part. */
export type ContentPart = { type: string; text?: string; [k: string]: unknown };

/** A tool call in an assistant message. */
export interface ToolCall {
  id?: string;
  type?: string;
  function: { name: string; arguments?: string; [k: string]: unknown };
  [k: string]: unknown;
}

/** Chat message roles. */
export const ROLES = ["system", "developer", "user", "assistant", "tool", "function"] as const;

/** A chat message (unknown fields kept). */
export interface Message {
  role: typeof ROLES[number];
  content?: string | null | ContentPart[];
  name?: string;
  tool_calls?: ToolCall[] | null;
  tool_call_id?: string;
  [k: string]: unknown;
}

/** A chat completions request (unknown fields kept). */
export interface ChatRequest {
  model?: string;
  messages: Message[];
  stream?: boolean | null;
  stream_options?: { include_usage?: boolean; [k: string]: unknown } | null;
  [k: string]: unknown;
}

/** Why a request body is invalid: the field path (`messages.0.role`) and what is wrong. */
export interface RequestProblem {
  param: string;
  message: string;
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

function checkMessage(m: unknown, at: string): RequestProblem | undefined {
  if (!isObject(m)) return { param: at, message: "must be an object with a role" };
  if (!ROLES.includes(m.role as Message["role"])) {
    return { param: `${at}.role`, message: `must be one of ${ROLES.join(", ")}` };
  }
  const c = m.content;
  if (Array.isArray(c)) {
    for (const [j, p] of c.entries()) {
      if (!isObject(p) || typeof p.type !== "string") {
        return { param: `${at}.content.${j}`, message: "must be an object with a string 'type'" };
      }
      if (p.type === "text" && typeof p.text !== "string") {
        return { param: `${at}.content.${j}.text`, message: "must be a string" };
      }
    }
  } else if (c !== undefined && c !== null && typeof c !== "string") {
    return { param: `${at}.content`, message: "must be a string, null or an array of content parts" };
  }
  for (const f of ["name", "tool_call_id"] as const) {
    if (m[f] !== undefined && typeof m[f] !== "string") {
      return { param: `${at}.${f}`, message: "must be a string" };
    }
  }
  const calls = m.tool_calls;
  if (calls !== undefined && calls !== null) {
    if (!Array.isArray(calls)) return { param: `${at}.tool_calls`, message: "must be an array" };
    for (const [j, tc] of calls.entries()) {
      const fn = isObject(tc) ? tc.function : undefined;
      if (!isObject(fn) || typeof fn.name !== "string") {
        return { param: `${at}.tool_calls.${j}.function.name`, message: "must be a string" };
      }
      if (fn.arguments !== undefined && typeof fn.arguments !== "string") {
        return { param: `${at}.tool_calls.${j}.function.arguments`, message: "must be a JSON string" };
      }
    }
  }
  return undefined;
}

/** Check a parsed request body; returns the first problem, or undefined when the proxy can use it. */
export function checkChatRequest(body: Record<string, unknown>): RequestProblem | undefined {
  if (body.model !== undefined && (typeof body.model !== "string" || body.model === "")) {
    return { param: "model", message: "must be a non-empty string" };
  }
  if (!Array.isArray(body.messages)) return { param: "messages", message: "must be an array of messages" };
  if (!body.messages.length) return { param: "messages", message: "must contain at least one message" };
  for (const [i, m] of body.messages.entries()) {
    const problem = checkMessage(m, `messages.${i}`);
    if (problem) return problem;
  }
  if (body.stream !== undefined && body.stream !== null && typeof body.stream !== "boolean") {
    return { param: "stream", message: "must be true or false" };
  }
  const so = body.stream_options;
  if (so !== undefined && so !== null) {
    if (!isObject(so)) return { param: "stream_options", message: "must be an object" };
    if (so.include_usage !== undefined && typeof so.include_usage !== "boolean") {
      return { param: "stream_options.include_usage", message: "must be true or false" };
    }
  }
  return undefined;
}

/** Token usage as OpenAI reports it. */
export interface Usage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  cost?: number;
  [k: string]: unknown;
}

/** The text of a message's content (text parts joined by newlines). */
export function contentText(content: Message["content"]): string {
  if (typeof content === "string") return content;
  if (!Array.isArray(content)) return "";
  return content.filter((p) => p.type === "text").map((p) => (p as { text: string }).text).join("\n");
}
