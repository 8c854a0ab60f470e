/**
 * Wire types and zod schemas of the OpenAI chat API. Unknown fields pass through untouched (SPEC §2):
 * the schema checks only what the proxy itself reads.
 */
import { z } from "zod";

const textPart = z.looseObject({ type: z.literal("text"), text: z.string() });
const otherPart = z.looseObject({ type: z.string() });
/** Message content: a string, null, or an array of typed parts. */
export const contentSchema = z.union([z.string(), z.null(), z.array(z.union([textPart, otherPart]))]);

const toolCallSchema = z.looseObject({
  id: z.string().optional(),
  type: z.string().optional(),
  function: z.looseObject({ name: z.string(), arguments: z.string().optional() }),
});

/** One chat message. */
export const messageSchema = z.looseObject({
  role: z.enum(["system", "developer", "user", "assistant", "tool", "function"]),
  content: contentSchema.optional(),
  name: z.string().optional(),
  tool_calls: z.array(toolCallSchema).nullable().optional(),
  tool_call_id: z.string().optional(),
});

/** The chat completions request body. */
export const chatRequestSchema = z.looseObject({
  model: z.string().min(1, "must be a non-empty string").optional(),
  messages: z.array(messageSchema).min(1, "must contain at least one message"),
  stream: z.boolean().nullable().optional(),
  stream_options: z.looseObject({ include_usage: z.boolean().optional() }).nullable().optional(),
});

/** A chat message (unknown fields kept). */
export type Message = z.infer<typeof messageSchema>;
/** A chat completions request (unknown fields kept). */
export type ChatRequest = z.infer<typeof chatRequestSchema>;
/** One content part. */
export type ContentPart = { type: string; text?: string; [k: string]: unknown };

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
