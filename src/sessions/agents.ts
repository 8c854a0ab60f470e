/**
 * Coding-agent detection (SPEC §9) from the system prompt's opening, the request headers (User-Agent,
 * X-Title, HTTP-Referer) and the shape of the latest user message, and the reply shape a local reply must
 * take, which is decided by the request itself (declared tools, XML tool text), not by the agent's name.
 */
import type { ChatRequest, Message } from "../model/request.ts";
import { contentText } from "../model/request.ts";
import type { HeaderReader } from "../core/headers.ts";

/** Agents the proxy recognises. */
export type Agent =
  | "cline"
  | "roo-code"
  | "kilo-code"
  | "qwen-code"
  | "opencode"
  | "aider"
  | "continue"
  | "gemini-cli"
  | "claude-code";

/** Agents that wrap what the person typed in `<task>`/`<feedback>`/… tags next to context of their own. */
export const CLINE_FAMILY: ReadonlySet<Agent> = new Set(["cline", "roo-code", "kilo-code"]);

/** System-prompt openings (after leading whitespace), most specific first. */
const OPENINGS: [RegExp, Agent][] = [
  [/^You are Cline\b/, "cline"],
  [/^You are Roo\b/, "roo-code"],
  [/^You are Kilo Code\b/, "kilo-code"],
  [/^You are Qwen Code\b/, "qwen-code"],
  [/^You are opencode\b/i, "opencode"],
  [/^You are an expert AI programming assistant\s+Your name is opencode\b/, "opencode"],
  [/^Act as an expert (?:software developer|code analyst|architect)\b/, "aider"],
  [/^<important_rules>\s*You are in (?:chat|agent|plan) mode\b/, "continue"],
];

/** Header hints, by header in the order they are read: [pattern, agent]. */
const HEADER_HINTS: [string, [RegExp, Agent][]][] = [
  ["x-title", [
    [/^Cline$/i, "cline"],
    [/^Roo Code$/i, "roo-code"],
    [/^Kilo Code$/i, "kilo-code"],
  ]],
  ["http-referer", [
    [/cline\.bot/i, "cline"],
    [/RooVetGit|roocode\.com/i, "roo-code"],
    [/kilocode\.ai/i, "kilo-code"],
  ]],
  ["user-agent", [
    [/^QwenCode\//i, "qwen-code"],
    [/^opencode\//i, "opencode"],
    [/\baider\b/i, "aider"],
    [/^Continue\b/i, "continue"],
    // "GeminiCLI/0.61.0/…", "GeminiCLI-tui/0.61.0/…" (it sends the model's own system prompt, no opening of its own).
    [/^GeminiCLI\b/, "gemini-cli"],
    [/^claude-cli\//i, "claude-code"],
  ]],
];

function systemText(messages: readonly Message[]): string {
  const m = messages.find((x) => x.role === "system" || x.role === "developer");
  return m ? contentText(m.content).slice(0, 4000).trimStart() : "";
}

/** Which agent sent this request, or undefined for a plain client. */
export function detectAgent(body: ChatRequest, headers: HeaderReader): Agent | undefined {
  const sys = systemText(body.messages);
  for (const [re, agent] of OPENINGS) if (re.test(sys)) return agent;
  // One read per header (a served request's header read is not free), then its patterns.
  for (const [h, hints] of HEADER_HINTS) {
    const v = headers.get(h);
    if (v) { for (const [re, agent] of hints) if (re.test(v)) return agent; }
  }
  const last = body.messages.at(-1);
  if (last?.role === "user") {
    const text = contentText(last.content);
    if (/^\s*<task>/.test(text) || text.includes("<environment_details>")) return "cline";
  }
  return undefined;
}

/**
 * Requests an agent makes on its own that quote what the person typed as data: opencode's title generator
 * gets the first message again (as the latest user message) to name the conversation, beside the real turn.
 */
const QUOTING_REQUESTS: [Agent, RegExp][] = [
  ["opencode", /^You are a title generator\b/],
];

/**
 * True when this request is one of the agent's own requests that quote the typed text (opencode's title
 * generator): nothing in it was typed to the proxy, so its commands are not read (they run once, from the
 * real turn).
 */
export function quotesTypedText(messages: readonly Message[], agent: Agent | undefined): boolean {
  if (!agent) return false;
  const sys = systemText(messages);
  return QUOTING_REQUESTS.some(([a, re]) => a === agent && re.test(sys));
}

/** How a local reply is shaped for this request. */
export type ReplyShape = "tool-call" | "xml" | "text";

function declaresTool(body: ChatRequest, name: string): boolean {
  const tools = (body as { tools?: unknown }).tools;
  if (!Array.isArray(tools)) return false;
  return tools.some((t) => {
    const fn = (t as { function?: { name?: unknown }; name?: unknown })?.function?.name ??
      (t as { name?: unknown })?.name;
    return fn === name;
  });
}

/**
 * SPEC §9: a declared native `attempt_completion` tool → a tool call; an XML `attempt_completion` tool
 * described in the system prompt and no declared tools → the XML block; anything else → plain text.
 */
export function replyShape(body: ChatRequest): ReplyShape {
  if (declaresTool(body, "attempt_completion")) return "tool-call";
  const tools = (body as { tools?: unknown }).tools;
  const noTools = !Array.isArray(tools) || tools.length === 0;
  if (noTools) {
    const sys = body.messages.filter((m) => m.role === "system" || m.role === "developer")
      .map((m) => contentText(m.content)).join("\n");
    if (sys.includes("<attempt_completion>")) return "xml";
  }
  return "text";
}
