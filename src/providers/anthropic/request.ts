/**
 * Chat Completions request → Anthropic Messages request (SPEC §3.4). Pure: system and developer messages
 * become `system`, user/assistant text and images become content blocks, tools and tool calls become
 * `tools`/`tool_use`/`tool_result`, and the sampling fields are renamed; with thinking on, an assistant turn's
 * signed reasoning (`model/reasoning.ts`) goes back first as its thinking blocks. Problems name the field path.
 */
import type { ChatRequest, ContentPart, Message } from "../../model/request.ts";
import { reasoningOf } from "../../model/reasoning.ts";

/** `max_tokens` sent when the client gives none (Anthropic requires it). */
export const DEFAULT_MAX_TOKENS = 4096;

/** Thinking budgets for `reasoning_effort` (tokens; `max_tokens` is raised above the budget when needed). */
export const THINKING_BUDGETS: Record<string, number> = {
  minimal: 1024,
  low: 1024,
  medium: 8192,
  high: 24576,
};

/** A request the translation cannot express; `message` starts with the field path. */
export class AnthropicTranslationError extends Error {}

/** One Anthropic content block (only the fields the proxy writes). */
export type Block = Record<string, unknown> & { type: string };

/** An Anthropic message. */
export interface AnthropicMessage {
  role: "user" | "assistant";
  content: Block[];
}

const fail = (path: string, what: string): never => {
  throw new AnthropicTranslationError(`${path}: ${what}`);
};

/** A data URL (`data:image/png;base64,…`) → a base64 image source; any other URL → a url source. */
function imageBlock(part: ContentPart, at: string): Block {
  const img = part.image_url as { url?: unknown } | string | undefined;
  const url = typeof img === "string" ? img : img?.url;
  if (typeof url !== "string") return fail(`${at}.image_url.url`, "must be a string");
  const m = /^data:([^;,]+);base64,(.*)$/s.exec(url);
  if (m) return { type: "image", source: { type: "base64", media_type: m[1], data: m[2] } };
  return { type: "image", source: { type: "url", url } };
}

/** A `file` part with base64 `file_data` (a data URL) → a base64 `document` block. */
function documentBlock(part: ContentPart, at: string): Block {
  const file = part.file as { file_data?: unknown; filename?: unknown } | undefined;
  const m = typeof file?.file_data === "string" ? /^data:([^;,]+);base64,(.*)$/s.exec(file.file_data) : null;
  if (!m) return fail(`${at}.file.file_data`, "must be a base64 data URL");
  return {
    type: "document",
    source: { type: "base64", media_type: m[1], data: m[2] },
    ...(typeof file?.filename === "string" ? { title: file.filename } : {}),
  };
}

/** A message's content as blocks (`text`, `image_url` and `file` parts; other part types are refused). */
function contentBlocks(content: Message["content"], at: string): Block[] {
  if (content === undefined || content === null) return [];
  if (typeof content === "string") return content ? [{ type: "text", text: content }] : [];
  return content.map((p, j) => {
    if (p.type === "text") return { type: "text", text: p.text ?? "" };
    if (p.type === "image_url") return imageBlock(p, `${at}.content.${j}`);
    if (p.type === "file") return documentBlock(p, `${at}.content.${j}`);
    return fail(`${at}.content.${j}.type`, `"${p.type}" cannot be sent to Anthropic`);
  });
}

/** The text of a system/developer/tool message. */
function plainText(content: Message["content"], at: string): string {
  return contentBlocks(content, at).map((b) => (b.type === "text" ? b.text as string : "")).join("");
}

/** Parse a tool call's `arguments` JSON into the object `tool_use.input` needs. */
function toolInput(args: string | undefined, at: string): unknown {
  if (!args) return {};
  try {
    const v = JSON.parse(args);
    return v && typeof v === "object" && !Array.isArray(v) ? v : fail(at, "must be a JSON object");
  } catch (e) {
    if (e instanceof AnthropicTranslationError) throw e;
    return fail(at, "is not valid JSON");
  }
}

/** An assistant message's reasoning as Anthropic's blocks (`thinking` with its signature, `redacted_thinking`). */
function reasoningBlocks(m: Message): Block[] {
  return (reasoningOf(m) ?? []).map((r) =>
    r.kind === "thinking"
      ? { type: "thinking", thinking: r.text, signature: r.signature }
      : { type: "redacted_thinking", data: r.data }
  );
}

/** Append blocks for `role`, merging consecutive turns of one role (Anthropic alternates them). */
function push(out: AnthropicMessage[], role: "user" | "assistant", blocks: Block[]): void {
  if (!blocks.length) return;
  const last = out[out.length - 1];
  if (last?.role === role) last.content.push(...blocks);
  else out.push({ role, content: blocks });
}

/** `tools` (function tools) → Anthropic tools with `input_schema`. */
function mapTools(tools: unknown): Record<string, unknown>[] | undefined {
  if (tools === undefined || tools === null) return undefined;
  if (!Array.isArray(tools)) return fail("tools", "must be an array");
  return tools.map((t, i) => {
    const fn = (t as { function?: { name?: unknown; description?: unknown; parameters?: unknown } })
      ?.function;
    if (typeof fn?.name !== "string") return fail(`tools.${i}.function.name`, "must be a string");
    return {
      name: fn.name,
      ...(typeof fn.description === "string" ? { description: fn.description } : {}),
      input_schema: (fn.parameters as object | undefined) ?? { type: "object", properties: {} },
    };
  });
}

/** `tool_choice` → Anthropic's (`none`, `auto`, `required` → `any`, a named function → `tool`). */
function mapToolChoice(choice: unknown): Record<string, unknown> | undefined {
  if (choice === undefined || choice === null) return undefined;
  if (choice === "auto") return { type: "auto" };
  if (choice === "none") return { type: "none" };
  if (choice === "required") return { type: "any" };
  const name = (choice as { function?: { name?: unknown } })?.function?.name;
  if (typeof name === "string") return { type: "tool", name };
  return fail("tool_choice", 'must be "auto", "none", "required" or a named function');
}

/** Translate a Chat Completions request into an Anthropic Messages body (without `model` and `stream`). */
export function translateRequest(body: ChatRequest): Record<string, unknown> {
  const system: string[] = [];
  const messages: AnthropicMessage[] = [];
  // Thinking blocks go back only when thinking is on (Anthropic refuses them in a last turn without it).
  const thinking = typeof body.reasoning_effort === "string" && body.reasoning_effort !== "none";
  for (const [i, m] of body.messages.entries()) {
    const at = `messages.${i}`;
    if (m.role === "system" || m.role === "developer") {
      system.push(plainText(m.content, at));
    } else if (m.role === "user") {
      push(messages, "user", contentBlocks(m.content, at));
    } else if (m.role === "assistant") {
      const blocks = [...(thinking ? reasoningBlocks(m) : []), ...contentBlocks(m.content, at)];
      for (const [j, tc] of (m.tool_calls ?? []).entries()) {
        blocks.push({
          type: "tool_use",
          id: tc.id ?? `toolu_${i}_${j}`,
          name: tc.function.name,
          input: toolInput(tc.function.arguments, `${at}.tool_calls.${j}.function.arguments`),
        });
      }
      push(messages, "assistant", blocks);
    } else if (m.role === "tool") {
      if (typeof m.tool_call_id !== "string") fail(`${at}.tool_call_id`, "must be a string");
      push(messages, "user", [{
        type: "tool_result",
        tool_use_id: m.tool_call_id,
        content: plainText(m.content, at),
      }]);
    } else {
      fail(`${at}.role`, `"${m.role}" cannot be sent to Anthropic`);
    }
  }
  const out: Record<string, unknown> = { messages };
  if (system.length) out.system = system.join("\n\n");
  const maxTokens = body.max_completion_tokens ?? body.max_tokens;
  if (maxTokens !== undefined && maxTokens !== null && (typeof maxTokens !== "number" || maxTokens < 1)) {
    fail(body.max_completion_tokens !== undefined ? "max_completion_tokens" : "max_tokens", "must be >= 1");
  }
  out.max_tokens = (maxTokens as number | undefined) ?? DEFAULT_MAX_TOKENS;
  for (const f of ["temperature", "top_p"] as const) if (typeof body[f] === "number") out[f] = body[f];
  if (typeof body.stop === "string") out.stop_sequences = [body.stop];
  else if (Array.isArray(body.stop)) out.stop_sequences = body.stop;
  const tools = mapTools(body.tools);
  if (tools?.length) out.tools = tools;
  const choice = mapToolChoice(body.tool_choice);
  if (choice && tools?.length) out.tool_choice = choice;
  const effort = body.reasoning_effort;
  if (typeof effort === "string" && effort !== "none") {
    const budget = THINKING_BUDGETS[effort] ??
      fail("reasoning_effort", "must be minimal, low, medium or high");
    out.thinking = { type: "enabled", budget_tokens: budget };
    if ((out.max_tokens as number) <= budget) out.max_tokens = budget + DEFAULT_MAX_TOKENS;
    delete out.temperature; // Anthropic refuses temperature with thinking
  }
  return out;
}
