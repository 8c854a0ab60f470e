/**
 * A whole answer in the conversation model ({@link ModelResult}: per choice its text, refusal, reasoning with
 * its signature, tool calls and finish reason; the usage) — read from a `chat.completion` object (a local
 * reply, a Chat upstream's JSON) — and the events that stream it, so a client that asked for a stream gets one
 * from a whole answer through the same renderer as any stream.
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

/** One choice of an answer. */
export interface ResultChoice {
  index: number;
  text: string;
  refusal?: string;
  reasoning?: string;
  /** The signature of `reasoning` (Anthropic's), when it came signed. */
  signature?: string;
  toolCalls: ResultToolCall[];
  finish: string;
}

/** A whole answer. */
export interface ModelResult {
  meta: StreamMeta;
  choices: ResultChoice[];
  usage?: ModelUsage;
}

/** The text of a message's content: a string, or its text parts joined. */
function textOf(content: unknown): string {
  if (typeof content === "string") return content;
  if (!Array.isArray(content)) return "";
  return content.map((p) => (typeof p?.text === "string" ? p.text : "")).join("");
}

/** A `chat.completion` object as a {@link ModelResult}. */
export function completionResult(c: Obj): ModelResult {
  const choices = (Array.isArray(c.choices) ? c.choices as Obj[] : []).map((ch, i): ResultChoice => {
    const m = (ch?.message ?? {}) as Obj;
    const reasoning = typeof m.reasoning_content === "string" ? m.reasoning_content : m.reasoning;
    const calls = Array.isArray(m.tool_calls) ? m.tool_calls as Obj[] : [];
    return {
      index: typeof ch?.index === "number" ? ch.index : i,
      text: textOf(m.content),
      ...(typeof m.refusal === "string" && m.refusal ? { refusal: m.refusal } : {}),
      ...(typeof reasoning === "string" && reasoning ? { reasoning } : {}),
      ...(typeof m.reasoning_signature === "string" && m.reasoning_signature
        ? { signature: m.reasoning_signature }
        : {}),
      toolCalls: calls.map((tc) => {
        const fn = (tc?.function ?? {}) as Obj;
        return {
          id: typeof tc?.id === "string" ? tc.id : "",
          name: typeof fn.name === "string" ? fn.name : "",
          arguments: typeof fn.arguments === "string" ? fn.arguments : "",
        };
      }),
      finish: typeof ch?.finish_reason === "string" && ch.finish_reason ? ch.finish_reason : "stop",
    };
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

/** The events of a whole answer, in stream order: per choice reasoning, text, refusal, tool calls, finish; then usage. */
export function resultEvents(r: ModelResult): ModelEvent[] {
  const out: ModelEvent[] = [];
  for (const ch of r.choices) {
    const choice = ch.index;
    if (ch.reasoning) out.push({ type: "reasoning", choice, text: ch.reasoning });
    if (ch.signature) out.push({ type: "reasoning_signature", choice, signature: ch.signature });
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
