/**
 * Anthropic Messages response → the conversation model's {@link ModelResult} (SPEC §3.4): text, `tool_use` →
 * tool calls, `thinking` blocks kept with their signatures and `redacted_thinking` with its data, in order
 * (only this provider can verify them), stop reasons and usage with cache tokens. Pure.
 */
import type { Usage } from "../../model/request.ts";
import type { StreamMeta } from "../../model/events.ts";
import {
  type ModelResult,
  resultChoice,
  type ResultReasoning,
  type ResultToolCall,
} from "../../model/result.ts";
import { modelUsage } from "../../model/usage.ts";

/** Anthropic's usage object. */
export interface AnthropicUsage {
  input_tokens?: number;
  output_tokens?: number;
  cache_creation_input_tokens?: number | null;
  cache_read_input_tokens?: number | null;
}

/** A content block of an answer. */
export interface AnswerBlock {
  type: string;
  text?: string;
  thinking?: string;
  signature?: string;
  /** A `redacted_thinking` block's encrypted reasoning. */
  data?: string;
  id?: string;
  name?: string;
  input?: unknown;
}

/** An Anthropic Messages response. */
export interface AnthropicResponse {
  id?: string;
  type?: string;
  model?: string;
  content?: AnswerBlock[];
  stop_reason?: string | null;
  usage?: AnthropicUsage;
}

/** `stop_reason` → `finish_reason`. */
export function mapStopReason(reason: string | null | undefined): string {
  switch (reason) {
    case "max_tokens":
    case "model_context_window_exceeded":
      return "length";
    case "tool_use":
      return "tool_calls";
    case "refusal":
      return "content_filter";
    default: // end_turn, stop_sequence, pause_turn
      return "stop";
  }
}

/** Anthropic usage → OpenAI usage: prompt tokens include cache reads and writes; cache reads are `cached_tokens`. */
export function mapUsage(u: AnthropicUsage): Usage {
  const cacheRead = u.cache_read_input_tokens ?? 0;
  const cacheWrite = u.cache_creation_input_tokens ?? 0;
  const prompt = (u.input_tokens ?? 0) + cacheRead + cacheWrite;
  const completionTokens = u.output_tokens ?? 0;
  return {
    prompt_tokens: prompt,
    completion_tokens: completionTokens,
    total_tokens: prompt + completionTokens,
    prompt_tokens_details: { cached_tokens: cacheRead, cache_creation_tokens: cacheWrite },
  };
}

/** What is wrong with a 200 body, or undefined when it is a readable Messages response. */
export function malformedResponse(r: unknown): string | undefined {
  if (r === null || typeof r !== "object" || Array.isArray(r)) return "not an object";
  const c = (r as AnthropicResponse).content;
  if (!Array.isArray(c)) return "content: not an array";
  const bad = c.findIndex((b) => b === null || typeof b !== "object" || typeof b.type !== "string");
  return bad >= 0 ? `content.${bad}: not a block with a type` : undefined;
}

/** Translate a Messages response into a {@link ModelResult} (the response's model, else `meta`'s). */
export function toModelResult(r: AnthropicResponse, meta: StreamMeta): ModelResult {
  let text = "";
  const reasoning: ResultReasoning[] = [];
  const toolCalls: ResultToolCall[] = [];
  for (const b of r.content ?? []) {
    if (b.type === "text") text += b.text ?? "";
    else if (b.type === "thinking") {
      reasoning.push({
        kind: "thinking",
        text: b.thinking ?? "",
        ...(b.signature ? { signature: b.signature } : {}),
      });
    } else if (b.type === "redacted_thinking" && typeof b.data === "string") {
      reasoning.push({ kind: "redacted", data: b.data });
    } else if (b.type === "tool_use") {
      toolCalls.push({
        id: typeof b.id === "string" ? b.id : "",
        name: typeof b.name === "string" ? b.name : "",
        arguments: JSON.stringify(b.input ?? {}),
      });
    }
  }
  return {
    meta: { ...meta, model: r.model ?? meta.model },
    choices: [resultChoice(0, mapStopReason(r.stop_reason), { text, reasoning, toolCalls })],
    usage: modelUsage(mapUsage(r.usage ?? {})),
  };
}
