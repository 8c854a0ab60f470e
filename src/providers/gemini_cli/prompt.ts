/**
 * Pure translation of an OpenAI conversation into what the Gemini CLI takes: one system prompt (for the
 * `GEMINI_SYSTEM_MD` file) and one prompt text (for stdin). The CLI has no message list, so earlier turns
 * are written out as a labelled transcript.
 */
import type { ChatRequest, Message } from "../../model/request.ts";
import { samplingConfig } from "../gemini/generation_config.ts";
import { TranslationError } from "../gemini/parts.ts";

/** Used as the system prompt when the client sent none, so the CLI's own agent prompt is never used. */
export const NEUTRAL_SYSTEM_PROMPT = "You are a helpful assistant.";

/** The CLI's inputs for one request. */
export interface CliPrompt {
  /** The text of all system/developer messages, or the neutral prompt. */
  system: string;
  /** The flattened conversation for stdin. */
  prompt: string;
}

const LABEL: Record<string, string> = {
  user: "User",
  assistant: "Assistant",
  tool: "Tool result",
  function: "Function result",
};

/** The text parts of a message's content, joined by newlines. */
export function messageText(content: Message["content"]): string {
  if (typeof content === "string") return content;
  if (!Array.isArray(content)) return "";
  return content.filter((p) => p.type === "text").map((p) => (p as { text: string }).text).join("\n");
}

function assistantText(m: Message): string {
  const text = messageText(m.content);
  const calls = (m.tool_calls ?? []).map((c) => `[called ${c.function.name}(${c.function.arguments ?? ""})]`);
  return [text, ...calls].filter((s) => s !== "").join("\n");
}

/**
 * Flatten `messages`: system and developer messages become the system prompt; the rest become stdin.
 * A conversation that is a single user message is sent as its text alone; longer ones as a transcript
 * (`User:` / `Assistant:` / `Tool result:` blocks), ending with the latest message.
 */
export function flattenConversation(body: ChatRequest): CliPrompt {
  const system: string[] = [];
  const turns: { role: string; text: string }[] = [];
  for (const m of body.messages) {
    if (m.role === "system" || m.role === "developer") {
      const t = messageText(m.content);
      if (t.trim() !== "") system.push(t);
      continue;
    }
    const text = m.role === "assistant" ? assistantText(m) : messageText(m.content);
    if (text.trim() === "") continue;
    turns.push({ role: m.role, text });
  }
  const prompt = turns.length === 1 && turns[0].role === "user"
    ? turns[0].text
    : turns.map((t) => `${LABEL[t.role] ?? t.role}:\n${t.text}`).join("\n\n");
  return { system: system.length ? system.join("\n\n") : NEUTRAL_SYSTEM_PROMPT, prompt };
}

/**
 * Why the CLI cannot serve this body, or undefined: client tools and non-text parts cannot pass, and a
 * sampling parameter of the wrong type is refused as the gemini backend refuses it (generation_config.ts).
 */
export function unsupportedReason(body: ChatRequest): string | undefined {
  const tools = (body as { tools?: unknown }).tools;
  const functions = (body as { functions?: unknown }).functions;
  if ((Array.isArray(tools) && tools.length > 0) || (Array.isArray(functions) && functions.length > 0)) {
    return "gemini-cli-direct cannot take client tools: the Gemini CLI runs only its own tools and never returns " +
      "tool calls to the caller. Send the request without `tools`, or use the gemini or openrouter backend.";
  }
  for (const m of body.messages) {
    if (!Array.isArray(m.content)) continue;
    const other = m.content.find((p) => p.type !== "text");
    if (other) {
      return `gemini-cli-direct takes text only: a ${m.role} message has a "${other.type}" part, and the ` +
        "Gemini CLI reads one text prompt. Send text, or use the gemini backend for images and files.";
    }
  }
  if (flattenConversation(body).prompt.trim() === "") {
    return "gemini-cli-direct needs a user message with text (the Gemini CLI refuses an empty prompt).";
  }
  try {
    samplingConfig(body as Record<string, unknown>);
  } catch (e) {
    if (!(e instanceof TranslationError)) throw e;
    return `gemini-cli-direct cannot send this request: ${e.message}`;
  }
  return undefined;
}
