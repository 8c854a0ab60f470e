/**
 * A whole answer in the conversation model ({@link ModelResult}: per choice its text, refusal, reasoning in
 * order — thinking with its signature, reasoning sent encrypted — tool calls and finish reason; the usage with
 * cached and reasoning tokens), the one builder of a choice ({@link resultChoice}), the one reader of a
 * `chat.completion` (a Chat upstream's JSON for another front end: {@link completionResult}) and the events
 * that stream a whole answer ({@link resultEvents}), so a client that asked for a stream gets one through the
 * same renderer as any stream. Translating providers build a `ModelResult` from their upstream's answer; the
 * front ends render it in their protocol. Pure.
 */
import type { ModelEvent, ModelUsage, StreamMeta } from "./events.ts";
import { completionId, unixNow } from "./ids.ts";
import { modelUsage } from "./usage.ts";

type Obj = Record<string, unknown>;

/** One tool call of an answer. */
export interface ResultToolCall {
  /** `""` when the answer gave none. */
  id: string;
  name: string;
  /** The arguments as JSON text. */
  arguments: string;
}

/**
 * One piece of a choice's reasoning, in the order the upstream gave it: thinking text with the signature that
 * closes it (Anthropic's; absent when it came unsigned), or reasoning sent encrypted (Anthropic
 * `redacted_thinking`: opaque data kept as it is).
 */
export type ResultReasoning =
  | { kind: "thinking"; text: string; signature?: string }
  | { kind: "redacted"; data: string };

/** One choice of an answer. */
export interface ResultChoice {
  index: number;
  /** The visible text (`""` when there is none). */
  text: string;
  refusal?: string;
  /** The reasoning, in order (empty when there is none). */
  reasoning: ResultReasoning[];
  toolCalls: ResultToolCall[];
  /** The finish reason, in the Chat Completions words (`stop`, `length`, `tool_calls`, `content_filter`, …). */
  finish: string;
}

/** A whole answer. */
export interface ModelResult {
  meta: StreamMeta;
  choices: ResultChoice[];
  /** The usage the upstream reported (absent when it reported none). */
  usage?: ModelUsage;
}

/** A choice `index` finished for `finish`, with what it holds (nothing unless given). */
export function resultChoice(
  index: number,
  finish: string,
  parts: Partial<Pick<ResultChoice, "text" | "refusal" | "reasoning" | "toolCalls">> = {},
): ResultChoice {
  return {
    index,
    text: parts.text ?? "",
    ...(parts.refusal ? { refusal: parts.refusal } : {}),
    reasoning: parts.reasoning ?? [],
    toolCalls: parts.toolCalls ?? [],
    finish,
  };
}

/** The thinking text of a choice (its thinking pieces joined; redacted reasoning has none). */
export function reasoningText(ch: ResultChoice): string {
  let text = "";
  for (const r of ch.reasoning) if (r.kind === "thinking") text += r.text;
  return text;
}

/** The choice a single-choice protocol shows: choice 0, else the first. */
export function firstChoice(r: ModelResult): ResultChoice | undefined {
  return r.choices.find((c) => c.index === 0) ?? r.choices[0];
}

/** The text of a message's content: a string, or its text parts joined. */
function textOf(content: unknown): string {
  if (typeof content === "string") return content;
  if (!Array.isArray(content)) return "";
  return content.map((p) => (typeof p?.text === "string" ? p.text : "")).join("");
}

/** A `chat.completion` object (a Chat upstream's JSON answer) as a {@link ModelResult}; what is not one reads as no choices. */
export function completionResult(json: unknown): ModelResult {
  const c = (json && typeof json === "object" && !Array.isArray(json) ? json : {}) as Obj;
  const choices = (Array.isArray(c.choices) ? c.choices as Obj[] : []).map((ch, i): ResultChoice => {
    const m = (ch?.message ?? {}) as Obj;
    const reasoning = typeof m.reasoning_content === "string" ? m.reasoning_content : m.reasoning;
    const signature = typeof m.reasoning_signature === "string" && m.reasoning_signature
      ? m.reasoning_signature
      : undefined;
    const calls = Array.isArray(m.tool_calls) ? m.tool_calls as Obj[] : [];
    return resultChoice(
      typeof ch?.index === "number" ? ch.index : i,
      typeof ch?.finish_reason === "string" && ch.finish_reason ? ch.finish_reason : "stop",
      {
        text: textOf(m.content),
        ...(typeof m.refusal === "string" && m.refusal ? { refusal: m.refusal } : {}),
        reasoning: typeof reasoning === "string" && reasoning
          ? [{ kind: "thinking", text: reasoning, ...(signature ? { signature } : {}) }]
          : [],
        toolCalls: calls.map((tc) => {
          const fn = (tc?.function ?? {}) as Obj;
          return {
            id: typeof tc?.id === "string" ? tc.id : "",
            name: typeof fn.name === "string" ? fn.name : "",
            arguments: typeof fn.arguments === "string" ? fn.arguments : "",
          };
        }),
      },
    );
  });
  return {
    meta: {
      id: typeof c.id === "string" ? c.id : completionId(),
      created: typeof c.created === "number" ? c.created : unixNow(),
      model: typeof c.model === "string" ? c.model : "",
    },
    choices,
    ...(c.usage && typeof c.usage === "object" ? { usage: modelUsage(c.usage as Obj) } : {}),
  };
}

/**
 * The events of a whole answer, in stream order: per choice its reasoning (each thinking piece followed by its
 * signature), text, refusal, tool calls, finish; then usage.
 */
export function resultEvents(r: ModelResult): ModelEvent[] {
  const out: ModelEvent[] = [];
  for (const ch of r.choices) {
    const choice = ch.index;
    for (const part of ch.reasoning) {
      if (part.kind === "redacted") {
        out.push({ type: "redacted_reasoning", choice, data: part.data });
        continue;
      }
      if (part.text) out.push({ type: "reasoning", choice, text: part.text });
      if (part.signature) out.push({ type: "reasoning_signature", choice, signature: part.signature });
    }
    if (ch.text) out.push({ type: "text", choice, text: ch.text });
    if (ch.refusal) out.push({ type: "refusal", choice, text: ch.refusal });
    for (const [index, tc] of ch.toolCalls.entries()) {
      out.push({ type: "tool_call", choice, index, id: tc.id, name: tc.name });
      if (tc.arguments) out.push({ type: "tool_args", choice, index, arguments: tc.arguments });
    }
    out.push({ type: "finish", choice, reason: ch.finish });
  }
  if (r.usage) out.push({ type: "usage", usage: r.usage });
  return out;
}
