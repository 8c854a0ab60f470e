/**
 * An Anthropic Messages request (SPEC §17.1) → the conversation model (a Chat Completions request), checked
 * as it is read so a 400 names the field path (`messages.2.content.0.source.type`). The client's own body is
 * kept as it came, for a provider that speaks Messages (pass-through). What Claude Code sends besides the
 * core fields (`context_management`, `output_config`, `cache_control`, `metadata`, server tools, deferred
 * tools) has no place in the model and is left out of it, never an error. Pure.
 */
import { badRequest } from "../../core/errors.ts";
import type { ChatRequest, ContentPart, Message, ToolCall } from "../../model/request.ts";
import { type ReasoningPart, withReasoning } from "../../model/reasoning.ts";
import { verifiable } from "./thinking.ts";

type Obj = Record<string, unknown>;

const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);

/** A Messages request as parsed: the client's body and the conversation it holds. */
export interface ParsedMessages {
  /** The client's body as it came (unknown fields kept). */
  raw: Obj;
  /** The same request in the conversation model. */
  chat: ChatRequest;
}

/** A 400 naming the field: "Invalid request: <path>: <what>." */
function invalid(path: string, what: string): never {
  throw badRequest(`Invalid request: ${path}: ${what}.`, path);
}

function str(v: unknown, path: string): string {
  return typeof v === "string" ? v : invalid(path, "must be a string");
}

function num(body: Obj, field: string): number | undefined {
  const v = body[field];
  if (v === undefined || v === null) return undefined;
  return typeof v === "number" && Number.isFinite(v) ? v : invalid(field, "must be a number");
}

/** Content as blocks: a string is one text block. */
function blocks(content: unknown, path: string): Obj[] {
  if (typeof content === "string") return content === "" ? [] : [{ type: "text", text: content }];
  if (!Array.isArray(content)) return invalid(path, "must be a string or an array of content blocks");
  content.forEach((b, j) => {
    if (!isObj(b) || typeof b.type !== "string") {
      invalid(`${path}.${j}`, "must be a block with a string 'type'");
    }
  });
  return content as Obj[];
}

/** An `image` block → an `image_url` part (a data URL for base64 sources). */
function imagePart(b: Obj, path: string): ContentPart {
  const src = isObj(b.source) ? b.source : invalid(`${path}.source`, "must be an object");
  if (src.type === "base64") {
    const media = str(src.media_type, `${path}.source.media_type`);
    const data = str(src.data, `${path}.source.data`);
    return { type: "image_url", image_url: { url: `data:${media};base64,${data}` } };
  }
  if (src.type === "url") {
    return { type: "image_url", image_url: { url: str(src.url, `${path}.source.url`) } };
  }
  return invalid(`${path}.source.type`, 'must be "base64" or "url"');
}

/** A `document` block → a `file` part (base64 PDF) or text (plain-text, content or URL sources). */
function documentPart(b: Obj, path: string): ContentPart {
  const src = isObj(b.source) ? b.source : invalid(`${path}.source`, "must be an object");
  const title = typeof b.title === "string" ? b.title : undefined;
  if (src.type === "base64") {
    const media = str(src.media_type, `${path}.source.media_type`);
    const data = str(src.data, `${path}.source.data`);
    return {
      type: "file",
      file: { filename: title ?? "document.pdf", file_data: `data:${media};base64,${data}` },
    };
  }
  if (src.type === "text") return { type: "text", text: str(src.data, `${path}.source.data`) };
  if (src.type === "content") {
    const text = blocks(src.content, `${path}.source.content`).filter((x) => x.type === "text")
      .map((x, k) => str(x.text, `${path}.source.content.${k}.text`)).join("\n");
    return { type: "text", text };
  }
  if (src.type === "url") return { type: "text", text: `Document: ${str(src.url, `${path}.source.url`)}` };
  return invalid(`${path}.source.type`, 'must be "base64", "text", "content" or "url"');
}

/** A `tool_result` → the tool message's text and the images it held (they follow as a user message). */
function toolResult(b: Obj, path: string): { message: Message; images: ContentPart[] } {
  const id = str(b.tool_use_id, `${path}.tool_use_id`);
  const texts: string[] = [];
  const images: ContentPart[] = [];
  if (b.content !== undefined && b.content !== null) {
    for (const [k, c] of blocks(b.content, `${path}.content`).entries()) {
      if (c.type === "text") texts.push(str(c.text, `${path}.content.${k}.text`));
      else if (c.type === "image") images.push(imagePart(c, `${path}.content.${k}`));
      else if (c.type === "document") texts.push(documentPart(c, `${path}.content.${k}`).text ?? "");
      // Other result blocks (tool references, search results) have no Chat form.
    }
  }
  let text = texts.join("\n");
  if (b.is_error === true && !/^error\b/i.test(text)) text = `Error: ${text}`;
  return { message: { role: "tool", tool_call_id: id, content: text }, images };
}

/** A user turn → its tool results as tool messages, then the rest as one user message. */
function userMessages(content: unknown, path: string): Message[] {
  if (typeof content === "string") return [{ role: "user", content }];
  const tools: Message[] = [];
  const parts: ContentPart[] = [];
  const after: ContentPart[] = [];
  for (const [j, b] of blocks(content, `${path}.content`).entries()) {
    const at = `${path}.content.${j}`;
    switch (b.type) {
      case "text":
        parts.push({ type: "text", text: str(b.text, `${at}.text`) });
        break;
      case "image":
        parts.push(imagePart(b, at));
        break;
      case "document":
        parts.push(documentPart(b, at));
        break;
      case "tool_result": {
        const r = toolResult(b, at);
        tools.push(r.message);
        after.push(...r.images);
        break;
      }
      case "tool_use":
        return invalid(`${at}.type`, "tool_use blocks belong in assistant messages");
      default: // thinking echoed in a user turn, server-tool results: nothing a Chat upstream takes
        break;
    }
  }
  const rest = [...after, ...parts];
  return rest.length ? [...tools, { role: "user", content: rest }] : tools;
}

/**
 * An assistant turn → one assistant message: text and tool calls, and the thinking Anthropic can verify as the
 * message's reasoning (`model/reasoning.ts`: only the anthropic provider writes it back; thinking the proxy
 * marked unsigned is dropped, as before a pass-through).
 */
function assistantMessage(content: unknown, path: string): Message | undefined {
  if (typeof content === "string") return { role: "assistant", content };
  let text = "";
  const calls: ToolCall[] = [];
  const reasoning: ReasoningPart[] = [];
  for (const [j, b] of blocks(content, `${path}.content`).entries()) {
    const at = `${path}.content.${j}`;
    if (b.type === "text") text += str(b.text, `${at}.text`);
    else if (b.type === "tool_use") {
      const input = b.input === undefined
        ? {}
        : isObj(b.input)
        ? b.input
        : invalid(`${at}.input`, "must be an object");
      calls.push({
        id: str(b.id, `${at}.id`),
        type: "function",
        function: { name: str(b.name, `${at}.name`), arguments: JSON.stringify(input) },
      });
    } else if (b.type === "image" || b.type === "tool_result") {
      invalid(`${at}.type`, `${b.type} blocks belong in user messages`);
    } else if ((b.type === "thinking" || b.type === "redacted_thinking") && verifiable(b)) {
      reasoning.push(
        b.type === "thinking"
          ? {
            kind: "thinking",
            text: typeof b.thinking === "string" ? b.thinking : "",
            signature: b.signature as string,
          }
          : { kind: "redacted", data: b.data as string },
      );
    }
    // server-tool blocks: only their own provider can use them.
  }
  if (!text && !calls.length) return undefined;
  return withReasoning<Message>(
    { role: "assistant", content: text || null, ...(calls.length ? { tool_calls: calls } : {}) },
    reasoning,
  );
}

/** `system`: a string or text blocks (joined by newlines). */
function systemText(system: unknown): string {
  if (typeof system === "string") return system;
  if (!Array.isArray(system)) return invalid("system", "must be a string or an array of text blocks");
  return system.map((b, i) => {
    if (!isObj(b) || b.type !== "text") return invalid(`system.${i}`, 'must be a block of type "text"');
    return str(b.text, `system.${i}.text`);
  }).join("\n");
}

/**
 * `tools` → function tools. Server tools (a `type` other than `custom`, e.g. `web_search_20250305`) and
 * deferred tools (`defer_loading`) are the Anthropic API's own and are left out.
 */
function chatTools(tools: unknown): Obj[] | undefined {
  if (tools === undefined || tools === null) return undefined;
  if (!Array.isArray(tools)) return invalid("tools", "must be an array");
  const out: Obj[] = [];
  for (const [i, t] of tools.entries()) {
    if (!isObj(t)) return invalid(`tools.${i}`, "must be an object");
    const name = str(t.name, `tools.${i}.name`);
    if (t.type !== undefined && t.type !== null && t.type !== "custom") continue;
    if (t.defer_loading === true) continue;
    const schema = isObj(t.input_schema)
      ? t.input_schema
      : invalid(`tools.${i}.input_schema`, "must be an object");
    out.push({
      type: "function",
      function: {
        name,
        ...(typeof t.description === "string" ? { description: t.description } : {}),
        parameters: schema,
      },
    });
  }
  return out;
}

/** `tool_choice` → Chat's (`auto`, `any` → `required`, `tool` → a named function, `none`). */
function chatToolChoice(choice: unknown): { tool_choice?: unknown; parallel_tool_calls?: boolean } {
  if (choice === undefined || choice === null) return {};
  if (!isObj(choice)) return invalid("tool_choice", "must be an object with a type");
  const parallel = choice.disable_parallel_tool_use === true ? { parallel_tool_calls: false } : {};
  switch (choice.type) {
    case "auto":
      return { tool_choice: "auto", ...parallel };
    case "any":
      return { tool_choice: "required", ...parallel };
    case "none":
      return { tool_choice: "none" };
    case "tool":
      return {
        tool_choice: { type: "function", function: { name: str(choice.name, "tool_choice.name") } },
        ...parallel,
      };
    default:
      return invalid("tool_choice.type", 'must be "auto", "any", "tool" or "none"');
  }
}

/**
 * `thinking` → `reasoning_effort`: `enabled` maps its budget (≤ 1024 low, ≤ 8192 medium, more high);
 * `adaptive` and `disabled` leave the backend's own default (nothing is sent).
 */
function reasoningEffort(thinking: unknown): string | undefined {
  if (thinking === undefined || thinking === null) return undefined;
  if (!isObj(thinking)) return invalid("thinking", "must be an object with a type");
  switch (thinking.type) {
    case "enabled": {
      const budget = thinking.budget_tokens;
      if (typeof budget !== "number" || !Number.isFinite(budget) || budget < 0) {
        return invalid("thinking.budget_tokens", "must be a number of tokens");
      }
      return budget <= 1024 ? "low" : budget <= 8192 ? "medium" : "high";
    }
    case "adaptive":
    case "disabled":
      return undefined;
    default:
      return invalid("thinking.type", 'must be "enabled", "adaptive" or "disabled"');
  }
}

/** Parse and check a Messages request body; 400s name the offending field. */
export function parseMessagesBody(text: string): ParsedMessages {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw badRequest(`Request body is not valid JSON (${(e as Error).message}).`);
  }
  if (!isObj(raw)) throw badRequest("Request body must be a JSON object with 'model' and 'messages'.");
  return { raw, chat: toChat(raw) };
}

/** A checked Messages body as a Chat Completions request. */
function toChat(body: Obj): ChatRequest {
  if (body.model !== undefined && (typeof body.model !== "string" || body.model === "")) {
    invalid("model", "must be a non-empty string");
  }
  const maxTokens = num(body, "max_tokens");
  if (maxTokens !== undefined && (!Number.isInteger(maxTokens) || maxTokens < 1)) {
    invalid("max_tokens", "must be an integer of at least 1");
  }
  if (body.stream !== undefined && body.stream !== null && typeof body.stream !== "boolean") {
    invalid("stream", "must be true or false");
  }
  if (!Array.isArray(body.messages)) return invalid("messages", "must be an array of messages");
  if (!body.messages.length) invalid("messages", "must contain at least one message");

  const messages: Message[] = [];
  if (body.system !== undefined && body.system !== null) {
    const system = systemText(body.system);
    if (system) messages.push({ role: "system", content: system });
  }
  for (const [i, m] of body.messages.entries()) {
    const at = `messages.${i}`;
    if (!isObj(m)) invalid(at, "must be an object with a role and content");
    if (m.role === "user") messages.push(...userMessages(m.content, at));
    else if (m.role === "assistant") {
      const a = assistantMessage(m.content, at);
      if (a) messages.push(a);
    } else if (m.role === "system") {
      // Claude Code's environment block: system text at its place in the conversation.
      const text = blocks(m.content, `${at}.content`).filter((b) => b.type === "text")
        .map((b, k) => str(b.text, `${at}.content.${k}.text`)).join("\n");
      if (text) messages.push({ role: "system", content: text });
    } else invalid(`${at}.role`, 'must be "user", "assistant" or "system"');
  }

  const chat: ChatRequest = { model: body.model as string | undefined, messages };
  if (body.stream === true) {
    chat.stream = true;
    chat.stream_options = { include_usage: true }; // usage goes in message_delta
  }
  if (maxTokens !== undefined) chat.max_tokens = maxTokens;
  for (const f of ["temperature", "top_p", "top_k"] as const) {
    const v = num(body, f);
    if (v !== undefined) chat[f] = v;
  }
  const stops = body.stop_sequences;
  if (stops !== undefined && stops !== null) {
    if (!Array.isArray(stops)) invalid("stop_sequences", "must be an array of strings");
    (stops as unknown[]).forEach((s, i) => str(s, `stop_sequences.${i}`));
    if ((stops as string[]).length) chat.stop = stops;
  }
  const tools = chatTools(body.tools);
  const choice = chatToolChoice(body.tool_choice);
  if (tools?.length) Object.assign(chat, { tools }, choice);
  const effort = reasoningEffort(body.thinking);
  if (effort) chat.reasoning_effort = effort;
  return chat;
}
