/**
 * Where commands are looked for (SPEC §8.1), pure: only the latest message (system messages after it, such as
 * Claude Code's environment block, are skipped), and only when it is a user
 * message; its text parts; and for a detected coding agent only what the person typed (inside Cline-style
 * `<task>`/`<feedback>`/`<answer>`/`<user_message>` wrappers, never `<environment_details>`,
 * `<system-reminder>` blocks or pasted tool results); never in an agent's own request that quotes the typed
 * text (opencode's title generator), so a command runs once.
 */
import type { Message } from "../model/request.ts";
import { type Agent, CLINE_FAMILY, quotesTypedText } from "../sessions/agents.ts";
import { parseCommands, type ParsedCommand } from "./parse.ts";

/** Commands found in the latest user message and that message without them. */
export interface MessageScan {
  /** Index of the scanned message in the request. */
  index: number;
  commands: ParsedCommand[];
  /** The message with exactly the command tokens removed. */
  message: Message;
  /** True when nothing the person typed remains but whitespace (SPEC §8.3: answer locally). */
  pure: boolean;
}

type Range = [number, number];

const CONTEXT_BLOCK = /<(environment_details|system-reminder|session_context)>[\s\S]*?(?:<\/\1>|$)/g;
/**
 * A text part that is an agent's own reminder, whole (Cline 2.x sends "# task_progress RECOMMENDED …" as a part
 * of its own between the typed `<task>` and `<environment_details>`).
 */
const REMINDER_PART = /^\s*# task_progress\b/;
const WRAPPER = /<(task|feedback|answer|user_message)>([\s\S]*?)<\/\1>/g;
const TOOL_RESULT = /^\s*\[[^\]\n]+\] Result:/;

/** Spans of `text` inside agent context blocks (`<environment_details>`, `<system-reminder>`, …). */
function contextRanges(text: string): Range[] {
  const context: Range[] = [];
  for (const m of text.matchAll(CONTEXT_BLOCK)) context.push([m.index, m.index + m[0].length]);
  return context;
}

/** Spans inside Cline-style `<task>`/`<feedback>`/… wrappers of `text`, outside context blocks. */
function wrappedRanges(text: string, context: Range[] = contextRanges(text)): Range[] {
  const inContext = (r: Range) => context.some(([a, b]) => r[0] >= a && r[1] <= b);
  const wrapped: Range[] = [];
  for (const m of text.matchAll(WRAPPER)) {
    const start = m.index + m[1].length + 2;
    const r: Range = [start, start + m[2].length];
    if (!inContext(r)) wrapped.push(r);
  }
  return wrapped;
}

/**
 * The spans of `text` the person typed, for a message from `agent`. `wrappedElsewhere`: another part of the same
 * message holds the typed text in a Cline-style wrapper, so an unwrapped part is the agent's context.
 */
export function typedRanges(text: string, agent: Agent | undefined, wrappedElsewhere = false): Range[] {
  if (!agent) return [[0, text.length]];
  if (REMINDER_PART.test(text)) return [];
  const context = contextRanges(text);
  if (CLINE_FAMILY.has(agent)) {
    const wrapped = wrappedRanges(text, context);
    if (wrapped.length) return wrapped;
    if (wrappedElsewhere || TOOL_RESULT.test(text)) return [];
  }
  const out: Range[] = [];
  let at = 0;
  for (const [a, b] of context) {
    if (a > at) out.push([at, a]);
    at = Math.max(at, b);
  }
  if (at < text.length) out.push([at, text.length]);
  return out;
}

interface TextScan {
  commands: ParsedCommand[];
  text: string;
  /** Whether typed text other than whitespace remains. */
  remains: boolean;
}

function scanText(
  text: string,
  prefix: string,
  isKnown: (n: string) => boolean,
  agent: Agent | undefined,
  wrappedElsewhere = false,
): TextScan {
  const commands: ParsedCommand[] = [];
  let out = "";
  let last = 0;
  let remains = false;
  for (const [a, b] of typedRanges(text, agent, wrappedElsewhere)) {
    const r = parseCommands(text.slice(a, b), prefix, isKnown);
    if (r.text.trim() !== "") remains = true;
    for (const c of r.commands) {
      commands.push({ ...c, start: c.start + a, end: c.end + a });
      out += text.slice(last, c.start + a);
      last = c.end + a;
    }
  }
  return { commands, text: out + text.slice(last), remains };
}

/** True when some text part of `content` contains `prefix`. */
function mentions(content: unknown, prefix: string): boolean {
  return Array.isArray(content) &&
    content.some((p) =>
      typeof (p as { text?: unknown })?.text === "string" && (p as { text: string }).text.includes(prefix)
    );
}

/** Scan the request's latest non-system message for commands; undefined when it is not a user message or has none. */
export function scanLatestUserMessage(
  messages: readonly Message[],
  prefix: string,
  isKnown: (name: string) => boolean,
  agent: Agent | undefined,
): MessageScan | undefined {
  // A system message after the person's turn (Claude Code's environment block) is not a newer turn.
  let index = messages.length - 1;
  while (index > 0 && (messages[index].role === "system" || messages[index].role === "developer")) index--;
  const msg = messages[index];
  if (!msg || msg.role !== "user") return undefined;
  const content = msg.content;
  // Fast path for the common case: no text part mentions the prefix, so there is nothing to parse.
  if (typeof content === "string" ? !content.includes(prefix) : !mentions(content, prefix)) return undefined;
  if (quotesTypedText(messages, agent)) return undefined;
  if (typeof content === "string") {
    const s = scanText(content, prefix, isKnown, agent);
    if (!s.commands.length) return undefined;
    return { index, commands: s.commands, message: { ...msg, content: s.text }, pure: !s.remains };
  }
  if (!Array.isArray(content)) return undefined;
  const commands: ParsedCommand[] = [];
  let remains = false;
  const parts: typeof content = [];
  const wraps = (part: unknown) => {
    const t = (part as { text?: unknown })?.text;
    return typeof t === "string" && wrappedRanges(t).length > 0;
  };
  // Cline 2.x: the typed text is one wrapped part; its other parts (reminders, details) are its own context.
  const wrapped = agent !== undefined && CLINE_FAMILY.has(agent) && content.some(wraps);
  for (const part of content) {
    const text = (part as { text?: unknown }).text;
    if (part.type !== "text" || typeof text !== "string") {
      remains = true;
      parts.push(part);
      continue;
    }
    const s = scanText(text, prefix, isKnown, agent, wrapped && !wraps(part));
    commands.push(...s.commands);
    if (s.remains) remains = true;
    // A part that held nothing but commands is dropped rather than sent as an empty text part.
    if (s.commands.length && s.text === "") continue;
    parts.push(s.commands.length ? { ...part, text: s.text } : part);
  }
  if (!commands.length) return undefined;
  return { index, commands, message: { ...msg, content: parts }, pure: !remains };
}
