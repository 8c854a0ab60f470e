/**
 * A Gemini `generateContent` request (SPEC §17.3) → the conversation model (a Chat Completions request):
 * `contents`/`parts` (text, `inlineData`, `fileData`, `functionCall`, `functionResponse`, thoughts and their
 * `thoughtSignature`), `systemInstruction`, `tools.functionDeclarations`, `toolConfig` and
 * `generationConfig`. A field of the wrong shape is a 400 naming its path (`contents[0].parts[1].text`). What
 * the model cannot carry (other tool kinds, `safetySettings`, `cachedContent`) stays in the client's own body,
 * which the `gemini` provider gets as it came; other providers go without it.
 */
import { badRequest } from "../../core/errors.ts";
import type { ChatRequest, ContentPart, Message, ToolCall } from "../../model/request.ts";
import { withSignature } from "../../providers/gemini/ids.ts";
import { invalid, isObj, list, type Obj, obj, str } from "./fields.ts";
import { functionTools, toolChoice } from "./tools.ts";
import { generationFields } from "./generation.ts";

/** The fields one of which a Part must carry (Google's `data` oneof). */
const PART_DATA = [
  "text",
  "inlineData",
  "fileData",
  "functionCall",
  "functionResponse",
  "executableCode",
  "codeExecutionResult",
];

/**
 * A part as an object that carries data, or a 400. A bare thought signature counts (a model turn may carry
 * one alone, and a Gemini upstream wants it back).
 */
function partObject(p: unknown, at: string): Obj {
  const part = obj(p, at);
  if (!part) invalid(at, "must be an object");
  if (![...PART_DATA, "thoughtSignature"].some((k) => part[k] !== undefined && part[k] !== null)) {
    invalid(at, `must carry one of ${PART_DATA.join(", ")}`);
  }
  return part;
}

/** A request parsed: the conversation model, the client's own body, and the tools the model cannot carry. */
export interface GeminiParsed {
  chat: ChatRequest;
  /** The client's body as it came (for the `gemini` provider). */
  body: Obj;
  /** Tool kinds other than function declarations (`googleSearch`, `codeExecution`, …), named once each. */
  droppedTools: string[];
}

/** The body's JSON object, or a 400. */
export function readJsonObject(text: string): Obj {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw badRequest(`Request body is not valid JSON (${(e as Error).message}).`);
  }
  if (!isObj(json)) throw badRequest("Request body must be a JSON object (a GenerateContentRequest).");
  return json;
}

/** Parse a generateContent body for `model` (the path's `{model}`); `stream` for streamGenerateContent. */
export function parseGenerateContent(body: Obj, model: string, stream: boolean): GeminiParsed {
  const messages: Message[] = [];
  const system = systemText(body.systemInstruction);
  if (system) messages.push({ role: "system", content: system });
  messages.push(...contentsToMessages(body.contents));
  const { tools, dropped } = functionTools(body.tools);
  const chat: ChatRequest = { model, messages };
  if (tools.length) {
    const choice = toolChoice(body.toolConfig, tools);
    chat.tools = choice.tools;
    if (choice.choice !== undefined) chat.tool_choice = choice.choice;
  }
  Object.assign(chat, generationFields(body.generationConfig));
  if (stream) {
    chat.stream = true;
    // usageMetadata on the last event needs the usage chunk, whatever the provider's default.
    chat.stream_options = { include_usage: true };
  }
  return { chat, body, droppedTools: dropped };
}

/** `systemInstruction` (a Content, or a plain string as some SDKs allow) → its text. */
function systemText(v: unknown): string {
  if (v === undefined || v === null) return "";
  if (typeof v === "string") return v;
  const c = obj(v, "systemInstruction")!;
  const parts = list(c.parts, "systemInstruction.parts") ?? [];
  return parts.map((p, j) => {
    const where = `systemInstruction.parts[${j}]`;
    const part = obj(p, where);
    if (!part || part.text === undefined) invalid(where, "only text parts are allowed in systemInstruction");
    return str(part.text, `${where}.text`) ?? "";
  }).join("\n");
}

/** A function call of a model turn, waiting for its response. */
interface PendingCall {
  /** The id the client gave it (Gemini's optional `functionCall.id`). */
  geminiId?: string;
  name: string;
  /** The tool-call id in the conversation model. */
  id: string;
  answered: boolean;
}

/** An id usable by every provider (Anthropic allows only letters, digits, `_` and `-`). */
function safeId(id: string): string {
  return id.replace(/[^A-Za-z0-9_-]/g, "_").slice(0, 64);
}

/** `functionCall.args` (an object) as the arguments string of a tool call. */
function callArguments(v: unknown, path: string): string {
  return JSON.stringify(obj(v, path) ?? {});
}

/** `contents` → user, assistant and tool messages, in order. */
function contentsToMessages(v: unknown): Message[] {
  const contents = list(v, "contents");
  if (!contents?.length) invalid("contents", "must be a non-empty list of Content");
  const out: Message[] = [];
  let pending: PendingCall[] = [];
  contents.forEach((c, i) => {
    const where = `contents[${i}]`;
    const content = obj(c, where);
    if (!content) invalid(where, "must be an object");
    const role = str(content.role, `${where}.role`) ?? "user";
    if (role !== "user" && role !== "model" && role !== "function") {
      invalid(`${where}.role`, `must be "user" or "model" (got ${JSON.stringify(role.slice(0, 40))})`);
    }
    const parts = list(content.parts, `${where}.parts`);
    if (!parts?.length) invalid(`${where}.parts`, "must be a non-empty list of Part");
    if (role === "model") {
      const msg = modelTurn(parts, where, i);
      pending = msg.calls;
      if (msg.message) out.push(msg.message);
    } else out.push(...userTurn(parts, where, pending));
  });
  return out;
}

/** A model turn → one assistant message (visible text and tool calls; thoughts stay with Gemini). */
function modelTurn(
  parts: unknown[],
  where: string,
  turn: number,
): { message?: Message; calls: PendingCall[] } {
  let text = "";
  const toolCalls: ToolCall[] = [];
  const calls: PendingCall[] = [];
  parts.forEach((p, j) => {
    const at = `${where}.parts[${j}]`;
    const part = partObject(p, at);
    const thought = part.thought === true;
    const signature = str(part.thoughtSignature, `${at}.thoughtSignature`);
    const t = str(part.text, `${at}.text`);
    if (t !== undefined && !thought) text += t;
    const fc = obj(part.functionCall, `${at}.functionCall`);
    if (fc) {
      const name = str(fc.name, `${at}.functionCall.name`);
      if (!name) invalid(`${at}.functionCall.name`, "must be a non-empty string");
      const geminiId = str(fc.id, `${at}.functionCall.id`) || undefined;
      // The thought signature rides in the id, so a Gemini upstream reached by translation gets it back.
      const id = withSignature(safeId(geminiId ?? `call_${turn}_${j}`), signature);
      toolCalls.push({
        id,
        type: "function",
        function: { name, arguments: callArguments(fc.args, `${at}.functionCall.args`) },
      });
      calls.push({ geminiId, name, id, answered: false });
    }
  });
  if (!text && !toolCalls.length) return { calls };
  return {
    message: {
      role: "assistant",
      content: text || null,
      ...(toolCalls.length ? { tool_calls: toolCalls } : {}),
    },
    calls,
  };
}

/** The call a function response answers: by the client's id, else the first open call of that name (one without an id first). */
function answeredCall(pending: PendingCall[], name: string, id: string | undefined): PendingCall | undefined {
  const open = pending.filter((c) => !c.answered && c.name === name);
  // A response without a (matching) id prefers a call that had none either.
  return (id ? open.find((c) => c.geminiId === id) : undefined) ?? open.find((c) => !c.geminiId) ?? open[0];
}

/** A user (or legacy `function`) turn → tool messages for its function responses, then a user message. */
function userTurn(parts: unknown[], where: string, pending: PendingCall[]): Message[] {
  const tools: Message[] = [];
  const content: ContentPart[] = [];
  parts.forEach((p, j) => {
    const at = `${where}.parts[${j}]`;
    const part = partObject(p, at);
    const fr = obj(part.functionResponse, `${at}.functionResponse`);
    if (fr) {
      const name = str(fr.name, `${at}.functionResponse.name`);
      if (!name) invalid(`${at}.functionResponse.name`, "must be a non-empty string");
      const call = answeredCall(pending, name, str(fr.id, `${at}.functionResponse.id`) || undefined);
      if (!call) {
        invalid(
          `${at}.functionResponse`,
          `answers no functionCall named ${JSON.stringify(name.slice(0, 80))} of the model turn before it`,
        );
      }
      call.answered = true;
      const response = obj(fr.response, `${at}.functionResponse.response`) ?? {};
      tools.push({ role: "tool", tool_call_id: call.id, content: JSON.stringify(response) });
      return;
    }
    const t = str(part.text, `${at}.text`);
    if (t !== undefined) {
      if (part.thought !== true && t !== "") content.push({ type: "text", text: t });
      return;
    }
    const inline = obj(part.inlineData, `${at}.inlineData`);
    if (inline) {
      const mime = str(inline.mimeType, `${at}.inlineData.mimeType`);
      const data = str(inline.data, `${at}.inlineData.data`);
      if (!mime || data === undefined) invalid(`${at}.inlineData`, "needs mimeType and data (base64)");
      const url = `data:${mime};base64,${data}`;
      content.push(
        mime.startsWith("image/")
          ? { type: "image_url", image_url: { url } }
          : { type: "file", file: { file_data: url } },
      );
      return;
    }
    const file = obj(part.fileData, `${at}.fileData`);
    if (file) {
      const uri = str(file.fileUri, `${at}.fileData.fileUri`);
      if (!uri) invalid(`${at}.fileData.fileUri`, "must be a non-empty string");
      str(file.mimeType, `${at}.fileData.mimeType`);
      content.push({ type: "image_url", image_url: { url: uri } });
    }
    // Other part kinds (executableCode, videoMetadata, …) reach only the gemini provider, in the client's body.
  });
  if (!content.length) return tools;
  const only = content.length === 1 && content[0].type === "text" ? content[0].text! : undefined;
  return [...tools, { role: "user", content: only ?? content }];
}
