/**
 * Parsing an OpenAI Responses request (SPEC §17.2) into the conversation model (a Chat Completions request):
 * input items and `instructions` become messages (`developer` → `system`), function and namespace tools
 * become Chat function tools, built-in tools the conversation model cannot run are dropped and named, and
 * sampling, limits, reasoning effort and `text.format` take their Chat names. Responses-only fields (`store`,
 * `include`, `prompt_cache_key`, `client_metadata`, …) are not carried over. Every 400 names the field path.
 * Pure.
 */
import { badRequest } from "../../core/errors.ts";
import type { ChatRequest, ContentPart, Message, ToolCall } from "../../model/request.ts";
import type { FunctionNames } from "./names.ts";

/** A Responses input or output item as JSON (unknown fields kept). */
export type Item = Record<string, unknown>;

/** A Responses request body as JSON (checked by {@link checkResponsesBody}). */
export type ResponsesBody = Record<string, unknown>;

/** What the conversation model gets from a Responses request. */
export interface Translated {
  chat: ChatRequest;
  /** Built-in tool types that were declared but cannot be run by the conversation model (dropped). */
  dropped: string[];
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

/** Parse the request text: a JSON object with an `input` (string or array) and the fields' types checked. */
export function parseResponsesBody(text: string): ResponsesBody {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw badRequest(`Request body is not valid JSON (${(e as Error).message}).`);
  }
  if (!isObject(json)) throw badRequest("Request body must be a JSON object with 'model' and 'input'.");
  checkResponsesBody(json);
  return json;
}

function fail(param: string, message: string): never {
  throw badRequest(`Invalid request: ${param}: ${message}.`, param);
}

function optional(body: ResponsesBody, field: string, type: "string" | "number" | "boolean"): void {
  const v = body[field];
  if (v !== undefined && v !== null && typeof v !== type) fail(field, `must be a ${type}`);
}

/** Check the top-level fields the proxy reads (items are checked while they are translated). */
export function checkResponsesBody(body: ResponsesBody): void {
  if (body.model !== undefined && (typeof body.model !== "string" || body.model === "")) {
    fail("model", "must be a non-empty string");
  }
  const input = body.input;
  if (input === undefined || input === null) {
    if (typeof body.previous_response_id !== "string") {
      fail("input", "is required (a string or an array of items)");
    }
  } else if (typeof input !== "string" && !Array.isArray(input)) {
    fail("input", "must be a string or an array of items");
  }
  for (const f of ["instructions", "previous_response_id", "user"]) optional(body, f, "string");
  for (const f of ["temperature", "top_p"]) optional(body, f, "number");
  for (const f of ["stream", "store", "parallel_tool_calls"]) optional(body, f, "boolean");
  const max = body.max_output_tokens;
  if (max !== undefined && max !== null && (!Number.isInteger(max) || (max as number) < 1)) {
    fail("max_output_tokens", "must be a positive integer");
  }
  if (body.tools !== undefined && body.tools !== null && !Array.isArray(body.tools)) {
    fail("tools", "must be an array");
  }
  for (const f of ["reasoning", "text", "metadata"]) {
    if (body[f] !== undefined && body[f] !== null && !isObject(body[f])) fail(f, "must be an object");
  }
  const effort = (body.reasoning as Record<string, unknown> | undefined)?.effort;
  if (effort !== undefined && effort !== null && typeof effort !== "string") {
    fail("reasoning.effort", "must be a string");
  }
}

/** The request's own input as items (a string input is one user message). */
export function inputItems(body: ResponsesBody): Item[] {
  const input = body.input;
  if (typeof input === "string") return [{ type: "message", role: "user", content: input }];
  return Array.isArray(input) ? input as Item[] : [];
}

const MESSAGE_ROLES = ["user", "assistant", "system", "developer"];

/** Content parts of an input message → Chat parts (text and images). */
function chatParts(content: unknown[], at: string): ContentPart[] {
  return content.map((p, j): ContentPart => {
    const path = `${at}.${j}`;
    if (!isObject(p) || typeof p.type !== "string") fail(path, "must be an object with a string 'type'");
    switch (p.type) {
      case "input_text":
      case "output_text":
      case "text":
        if (typeof p.text !== "string") fail(`${path}.text`, "must be a string");
        return { type: "text", text: p.text };
      case "refusal":
        if (typeof p.refusal !== "string") fail(`${path}.refusal`, "must be a string");
        return { type: "text", text: p.refusal };
      case "input_image": {
        if (typeof p.image_url !== "string") {
          fail(
            `${path}.image_url`,
            "must be a URL or data URL (file_id images are not supported by llmproxy)",
          );
        }
        const detail = typeof p.detail === "string" && p.detail !== "auto" ? { detail: p.detail } : {};
        return { type: "image_url", image_url: { url: p.image_url, ...detail } };
      }
      default:
        fail(
          `${path}.type`,
          `content part type "${p.type}" is not supported (use input_text or input_image)`,
        );
    }
  });
}

const textOf = (parts: ContentPart[]) => parts.map((p) => p.text ?? "").join("");

/** One message item → a Chat message (`developer` becomes `system`). */
function messageOf(item: Item, at: string): Message {
  const role = item.role;
  if (typeof role !== "string" || !MESSAGE_ROLES.includes(role)) {
    fail(`${at}.role`, `must be one of ${MESSAGE_ROLES.join(", ")}`);
  }
  const chatRole = role === "developer" ? "system" : role as Message["role"];
  const c = item.content;
  if (typeof c === "string") return { role: chatRole, content: c };
  if (!Array.isArray(c)) fail(`${at}.content`, "must be a string or an array of content parts");
  const parts = chatParts(c, `${at}.content`);
  // Only user messages carry images in Chat; the others are plain text.
  if (chatRole === "user" && parts.some((p) => p.type !== "text")) return { role: chatRole, content: parts };
  if (chatRole !== "user" && parts.some((p) => p.type !== "text")) {
    fail(`${at}.content`, `a ${role} message can only hold text`);
  }
  return { role: chatRole, content: textOf(parts) };
}

/** A tool's output (string or parts) as the text of a Chat tool message. */
function outputText(output: unknown, at: string): string {
  if (typeof output === "string") return output;
  if (!Array.isArray(output)) fail(at, "must be a string or an array of content parts");
  return output.map((p, j) => {
    if (!isObject(p) || typeof p.type !== "string") {
      fail(`${at}.${j}`, "must be an object with a string 'type'");
    }
    if (typeof p.text === "string") return p.text;
    return `[${p.type} omitted: the model's API takes only text in tool results]`;
  }).join("");
}

/**
 * Input items (history first) → Chat messages. Consecutive `function_call` items join the assistant message
 * before them (one assistant turn with several tool calls); `reasoning` items are dropped (only a Responses
 * upstream can use them).
 */
export function itemsToMessages(items: readonly Item[], at: string, names: FunctionNames): Message[] {
  const out: Message[] = [];
  for (const [i, item] of items.entries()) {
    const path = `${at}.${i}`;
    if (!isObject(item)) fail(path, "must be an object");
    const type = item.type ?? (item.role !== undefined ? "message" : undefined);
    switch (type) {
      case "message":
        out.push(messageOf(item, path));
        break;
      case "function_call": {
        for (const f of ["call_id", "name", "arguments"]) {
          if (typeof item[f] !== "string") fail(`${path}.${f}`, "must be a string");
        }
        const ns = typeof item.namespace === "string" ? item.namespace : undefined;
        const call: ToolCall = {
          id: item.call_id as string,
          type: "function",
          function: { name: names.flat(item.name as string, ns), arguments: item.arguments as string },
        };
        const last = out.at(-1);
        if (last?.role === "assistant") {
          last.tool_calls = [...(last.tool_calls ?? []), call];
        } else out.push({ role: "assistant", content: null, tool_calls: [call] });
        break;
      }
      case "function_call_output":
        if (typeof item.call_id !== "string") fail(`${path}.call_id`, "must be a string");
        out.push({
          role: "tool",
          tool_call_id: item.call_id,
          content: outputText(item.output, `${path}.output`),
        });
        break;
      case "reasoning":
        break;
      default:
        fail(
          `${path}.type`,
          `item type "${
            String(type)
          }" cannot be sent to this model (llmproxy translates message, function_call, function_call_output, reasoning and item_reference items)`,
        );
    }
  }
  return out;
}

/** A Responses function tool → a Chat function tool (`strict` kept). */
function chatTool(t: Record<string, unknown>, at: string, name: string): Record<string, unknown> {
  if (typeof t.name !== "string" || t.name === "") fail(`${at}.name`, "must be a non-empty string");
  if (t.parameters !== undefined && t.parameters !== null && !isObject(t.parameters)) {
    fail(`${at}.parameters`, "must be a JSON Schema object");
  }
  if (t.description !== undefined && t.description !== null && typeof t.description !== "string") {
    fail(`${at}.description`, "must be a string");
  }
  const fn: Record<string, unknown> = { name };
  if (typeof t.description === "string") fn.description = t.description;
  if (isObject(t.parameters)) fn.parameters = t.parameters;
  if (typeof t.strict === "boolean") fn.strict = t.strict;
  return { type: "function", function: fn };
}

/**
 * `tools` → Chat function tools: namespaces flattened; any other type is a built-in tool (`web_search`,
 * `file_search`, …) only OpenAI's Responses API runs, so it is dropped and named.
 */
function translateTools(
  tools: unknown[],
  names: FunctionNames,
): { tools: Record<string, unknown>[]; dropped: string[] } {
  const out: Record<string, unknown>[] = [];
  const dropped: string[] = [];
  for (const [i, t] of tools.entries()) {
    const at = `tools.${i}`;
    if (!isObject(t) || typeof t.type !== "string") fail(at, "must be an object with a string 'type'");
    if (t.type === "function") {
      out.push(chatTool(t, at, names.flat(t.name as string)));
    } else if (t.type === "namespace") {
      if (typeof t.name !== "string") fail(`${at}.name`, "must be a string");
      if (!Array.isArray(t.tools)) fail(`${at}.tools`, "must be an array of function tools");
      for (const [j, sub] of t.tools.entries()) {
        if (!isObject(sub) || sub.type !== "function") {
          fail(`${at}.tools.${j}`, "must be a function tool");
        }
        out.push(chatTool(sub, `${at}.tools.${j}`, names.flat(sub.name as string, t.name)));
      }
    } else if (!dropped.includes(t.type)) dropped.push(t.type);
  }
  return { tools: out, dropped };
}

/** `tool_choice` → Chat's; forcing a tool that was dropped is a 400 naming it. */
function translateToolChoice(choice: unknown, dropped: string[], names: FunctionNames): unknown {
  if (choice === undefined || choice === null) return undefined;
  if (typeof choice === "string") {
    if (!["auto", "none", "required"].includes(choice)) {
      fail("tool_choice", 'must be "auto", "none", "required" or an object');
    }
    return choice;
  }
  if (!isObject(choice) || typeof choice.type !== "string") {
    fail("tool_choice", "must be a string or an object with a 'type'");
  }
  if (choice.type === "function") {
    if (typeof choice.name !== "string") fail("tool_choice.name", "must be a string");
    return { type: "function", function: { name: names.flat(choice.name) } };
  }
  if (choice.type === "allowed_tools") {
    if (!Array.isArray(choice.tools)) fail("tool_choice.tools", "must be an array");
    const tools = choice.tools.map((t, j) => {
      if (!isObject(t) || t.type !== "function" || typeof t.name !== "string") {
        fail(
          `tool_choice.tools.${j}`,
          'must be a function tool {type:"function", name} (built-in tools cannot be run here)',
        );
      }
      return { type: "function", function: { name: names.flat(t.name) } };
    });
    return { type: "allowed_tools", allowed_tools: { mode: choice.mode ?? "auto", tools } };
  }
  throw badRequest(
    `tool_choice forces the built-in tool "${choice.type}", which only OpenAI's Responses API runs; this model is reached through another API${
      dropped.includes(choice.type) ? " and the tool was dropped" : ""
    }. Use a function tool or tool_choice "auto".`,
    "tool_choice",
  );
}

/** `text.format` → Chat `response_format` (undefined for plain text). */
function responseFormat(text: unknown): unknown {
  if (!isObject(text) || text.format === undefined || text.format === null) return undefined;
  const f = text.format;
  if (!isObject(f) || typeof f.type !== "string") fail("text.format", "must be an object with a 'type'");
  if (f.type === "text") return undefined;
  if (f.type === "json_object") return { type: "json_object" };
  if (f.type === "json_schema") {
    if (typeof f.name !== "string") fail("text.format.name", "must be a string");
    if (!isObject(f.schema)) fail("text.format.schema", "must be a JSON Schema object");
    const js: Record<string, unknown> = { name: f.name, schema: f.schema };
    if (typeof f.strict === "boolean") js.strict = f.strict;
    if (typeof f.description === "string") js.description = f.description;
    return { type: "json_schema", json_schema: js };
  }
  fail("text.format.type", 'must be "text", "json_object" or "json_schema"');
}

/**
 * A Responses request (with `history`, the items of the responses it continues, oldest first) → the Chat
 * request of the conversation model.
 */
export function toChatRequest(
  body: ResponsesBody,
  history: readonly Item[],
  names: FunctionNames,
): Translated {
  const { tools, dropped } = translateTools(Array.isArray(body.tools) ? body.tools : [], names);
  const messages: Message[] = [];
  if (typeof body.instructions === "string" && body.instructions !== "") {
    messages.push({ role: "system", content: body.instructions });
  }
  messages.push(...itemsToMessages(history, "previous_response_id", names));
  messages.push(...itemsToMessages(inputItems(body), "input", names));
  if (!messages.length) fail("input", "must contain at least one item");
  const chat: ChatRequest = { messages };
  if (typeof body.model === "string") chat.model = body.model;
  if (body.stream === true) {
    chat.stream = true;
    // The Responses stream ends with the usage, so it is always asked for.
    chat.stream_options = { include_usage: true };
  }
  if (tools.length) {
    chat.tools = tools;
    const choice = translateToolChoice(body.tool_choice, dropped, names);
    if (choice !== undefined) chat.tool_choice = choice;
    if (typeof body.parallel_tool_calls === "boolean") chat.parallel_tool_calls = body.parallel_tool_calls;
  } else if (isObject(body.tool_choice) && body.tool_choice.type !== "function") {
    translateToolChoice(body.tool_choice, dropped, names); // a forced built-in is still a 400
  } else if (isObject(body.tool_choice)) {
    fail("tool_choice", "names a function that is not in tools");
  }
  if (typeof body.temperature === "number") chat.temperature = body.temperature;
  if (typeof body.top_p === "number") chat.top_p = body.top_p;
  if (typeof body.max_output_tokens === "number") chat.max_tokens = body.max_output_tokens;
  const effort = (body.reasoning as Record<string, unknown> | undefined)?.effort;
  if (typeof effort === "string") chat.reasoning_effort = effort;
  const rf = responseFormat(body.text);
  if (rf !== undefined) chat.response_format = rf;
  if (typeof body.user === "string") chat.user = body.user;
  return { chat, dropped };
}
