/**
 * OpenAI chat request → Gemini `generateContent` request (SPEC §3.2, reference/backends.md §3). Pure: a body
 * in, a Gemini body out, or a {@link TranslationError} naming the field the proxy cannot map. The work is
 * done once per body ({@link translateRequest}, model-free); {@link forModel} then adds the little that
 * depends on the upstream model, so a check and every attempt of a request can share one translation.
 */
import type { ChatRequest, Message } from "../../model/request.ts";
import { signatureFromToolCallId, SKIP_SIGNATURE } from "./ids.ts";
import { generationConfig } from "./generation_config.ts";
import { cleanSchema } from "./schema.ts";
import { assistantParts, contentParts, isObj, type Obj, textOnly, TranslationError } from "./parts.ts";
import type { GeminiContent, GeminiFunctionDeclaration, GeminiPart, GeminiRequest } from "./types.ts";

export { TranslationError };

/** Options of {@link toGeminiRequest}. */
export interface RequestOptions {
  /** Upstream model id; decides Gemini 3 specifics (thinking level, signature sentinel). */
  model: string;
}

/** True for Gemini 3 (and later) model ids, which need thought signatures and take `thinkingLevel`. */
export function isGemini3(model: string): boolean {
  const m = /gemini-(\d+)/.exec(model);
  return !!m && Number(m[1]) >= 3;
}

/** Tool output as a functionResponse `response` object: a JSON object as it is, anything else as `result`. */
function toolResponse(text: string): Record<string, unknown> {
  try {
    const v = JSON.parse(text);
    if (isObj(v)) return v;
  } catch { /* plain text */ }
  return { result: text };
}

function parseArgs(raw: unknown, where: string): Record<string, unknown> {
  if (raw === undefined || raw === null || raw === "") return {};
  if (isObj(raw)) return raw;
  if (typeof raw !== "string") {
    throw new TranslationError(`${where}: arguments must be a JSON string.`, where);
  }
  let v: unknown;
  try {
    v = JSON.parse(raw);
  } catch {
    throw new TranslationError(`${where}: arguments are not valid JSON.`, where);
  }
  if (!isObj(v)) throw new TranslationError(`${where}: arguments must be a JSON object.`, where);
  return v;
}

/**
 * Messages → systemInstruction + contents. The first call of each function-call turn that carries no
 * signature goes into `unsigned` (Gemini 3 needs a sentinel there).
 */
function translateMessages(
  messages: Message[],
  unsigned: GeminiPart[],
): Pick<GeminiRequest, "systemInstruction" | "contents"> {
  const system: { text: string }[] = [];
  const contents: GeminiContent[] = [];
  /** tool_call_id → function name, from earlier assistant turns. */
  const callNames = new Map<string, string>();
  let lastWasToolTurn = false;

  messages.forEach((m, i) => {
    const where = `messages.${i}`;
    const isTool = m.role === "tool" || m.role === "function";
    switch (m.role) {
      case "system":
      case "developer": {
        const text = textOnly(m.content, where);
        if (text) system.push({ text });
        break;
      }
      case "user": {
        const parts = contentParts(m.content, where);
        if (!parts.length) {
          throw new TranslationError(`${where}: a user message needs non-empty content.`, `${where}.content`);
        }
        contents.push({ role: "user", parts });
        break;
      }
      case "assistant": {
        const parts = assistantParts(m.content, where);
        const calls: GeminiPart[] = [];
        let signed = false;
        for (const [j, tc] of (m.tool_calls ?? []).entries()) {
          const cw = `${where}.tool_calls.${j}`;
          if (tc.type !== undefined && tc.type !== "function") {
            throw new TranslationError(`${cw}: only function tool calls are supported.`, cw);
          }
          const name = tc.function.name;
          if (tc.id) callNames.set(tc.id, name);
          const part: GeminiPart = {
            functionCall: { name, args: parseArgs(tc.function.arguments, `${cw}.function.arguments`) },
          };
          const sig = signatureFromToolCallId(tc.id);
          if (sig) {
            part.thoughtSignature = sig;
            signed = true;
          }
          calls.push(part);
        }
        const legacy = (m as { function_call?: { name?: unknown; arguments?: unknown } }).function_call;
        if (!calls.length && isObj(legacy) && typeof legacy.name === "string") {
          calls.push({
            functionCall: { name: legacy.name, args: parseArgs(legacy.arguments, `${where}.function_call`) },
          });
        }
        // Gemini 3 rejects a function-call turn whose first call has no signature; the sentinel passes.
        if (calls.length && !signed) unsigned.push(calls[0]);
        const all = [...parts, ...calls];
        if (all.length) contents.push({ role: "model", parts: all });
        break;
      }
      case "tool":
      case "function": {
        let name: string | undefined;
        if (m.role === "tool") {
          if (!m.tool_call_id) {
            throw new TranslationError(
              `${where}: a tool message needs tool_call_id.`,
              `${where}.tool_call_id`,
            );
          }
          name = callNames.get(m.tool_call_id);
          if (!name) {
            throw new TranslationError(
              `${where}: tool_call_id ${
                JSON.stringify(m.tool_call_id)
              } does not match any tool call of an earlier assistant message.`,
              `${where}.tool_call_id`,
            );
          }
        } else {
          name = m.name;
          if (!name) {
            throw new TranslationError(`${where}: a function message needs a name.`, `${where}.name`);
          }
        }
        const part: GeminiPart = {
          functionResponse: { name, response: toolResponse(textOnly(m.content, where)) },
        };
        // All answers to one model turn go into one user turn, as Gemini expects.
        if (lastWasToolTurn) contents[contents.length - 1].parts.push(part);
        else contents.push({ role: "user", parts: [part] });
        break;
      }
    }
    lastWasToolTurn = isTool;
  });
  if (!contents.length) {
    throw new TranslationError(
      "messages: Gemini needs at least one user or assistant message besides system messages.",
      "messages",
    );
  }
  return { ...(system.length ? { systemInstruction: { parts: system } } : {}), contents };
}

/** tools → functionDeclarations. */
function translateTools(tools: unknown): GeminiFunctionDeclaration[] {
  if (tools === undefined || tools === null) return [];
  if (!Array.isArray(tools)) throw new TranslationError("tools must be an array.", "tools");
  return tools.map((t, i) => {
    const fn = isObj(t) ? t.function : undefined;
    if (!isObj(t) || t.type !== "function" || !isObj(fn) || typeof fn.name !== "string") {
      throw new TranslationError(
        `tools.${i}: only {type:"function", function:{name,…}} tools are supported by the gemini backend.`,
        `tools.${i}`,
      );
    }
    return {
      name: fn.name,
      ...(typeof fn.description === "string" ? { description: fn.description } : {}),
      ...(fn.parameters !== undefined ? { parametersJsonSchema: cleanSchema(fn.parameters) } : {}),
    };
  });
}

type ToolConfig = NonNullable<GeminiRequest["toolConfig"]>;

function namedChoice(v: unknown): string | undefined {
  if (!isObj(v) || !isObj(v.function)) return undefined;
  return typeof v.function.name === "string" ? v.function.name : undefined;
}

/** tool_choice → toolConfig; may narrow the declarations (allowed_tools with mode auto). */
function translateToolChoice(
  choice: unknown,
  decls: GeminiFunctionDeclaration[],
): { toolConfig?: ToolConfig; decls: GeminiFunctionDeclaration[] } {
  const cfg = (mode: "AUTO" | "NONE" | "ANY", names?: string[]): ToolConfig => ({
    functionCallingConfig: { mode, ...(names ? { allowedFunctionNames: names } : {}) },
  });
  if (choice === undefined || choice === null) return { decls };
  if (choice === "auto") return { toolConfig: cfg("AUTO"), decls };
  if (choice === "none") return { toolConfig: cfg("NONE"), decls };
  if (choice === "required") return { toolConfig: cfg("ANY"), decls };
  const bad = () =>
    new TranslationError(
      'tool_choice must be "auto", "none", "required", {type:"function",function:{name}} or allowed_tools.',
      "tool_choice",
    );
  if (!isObj(choice)) throw bad();
  if (choice.type === "function") {
    const name = namedChoice(choice);
    if (!name) throw bad();
    if (!decls.some((d) => d.name === name)) {
      throw new TranslationError(`tool_choice names "${name}", which is not in tools.`, "tool_choice");
    }
    return { toolConfig: cfg("ANY", [name]), decls };
  }
  if (choice.type === "allowed_tools" && isObj(choice.allowed_tools)) {
    const at = choice.allowed_tools;
    const names = Array.isArray(at.tools) ? at.tools.map(namedChoice) : [];
    if (!names.length || names.some((n) => !n)) throw bad();
    if (at.mode === "required") return { toolConfig: cfg("ANY", names as string[]), decls };
    if (at.mode === "auto") {
      return { toolConfig: cfg("AUTO"), decls: decls.filter((d) => names.includes(d.name)) };
    }
  }
  throw bad();
}

/** A request translated once, before the upstream model is known: see {@link forModel}. */
export interface Translation {
  /** The Gemini body for a model before Gemini 3. */
  request: GeminiRequest;
  /** Function-call parts of `request` that Gemini 3 needs signed with the sentinel. */
  unsigned: readonly GeminiPart[];
  /** The valid `reasoning_effort`, when there is one (Gemini 3 takes it as a thinking level). */
  effort?: string;
}

/** Translate an OpenAI chat request, model-free. Throws {@link TranslationError}. */
export function translateRequest(body: ChatRequest): Translation {
  const b = body as Obj;
  const unsigned: GeminiPart[] = [];
  const { systemInstruction, contents } = translateMessages(body.messages, unsigned);
  const { toolConfig, decls } = translateToolChoice(b.tool_choice, translateTools(b.tools));
  const config = generationConfig(b);
  const request: GeminiRequest = {
    ...(systemInstruction ? { systemInstruction } : {}),
    contents,
    ...(decls.length ? { tools: [{ functionDeclarations: decls }] } : {}),
    ...(toolConfig && decls.length ? { toolConfig } : {}),
    ...(config ? { generationConfig: config } : {}),
  };
  return {
    request,
    unsigned,
    ...(config?.thinkingConfig ? { effort: b.reasoning_effort as string } : {}),
  };
}

/**
 * The Gemini body of a translation for `model`: as it is for models before Gemini 3; for Gemini 3, a copy
 * with the sentinel signature on unsigned function-call turns and the thinking effort as a level. The
 * translation itself is never changed (routes may send it to several models).
 */
export function forModel(t: Translation, model: string): GeminiRequest {
  if (!isGemini3(model) || (!t.unsigned.length && t.effort === undefined)) return t.request;
  const sign = new Set(t.unsigned);
  const contents = !sign.size
    ? t.request.contents
    : t.request.contents.map((c) =>
      c.parts.some((p) => sign.has(p))
        ? { ...c, parts: c.parts.map((p) => (sign.has(p) ? { ...p, thoughtSignature: SKIP_SIGNATURE } : p)) }
        : c
    );
  const g = t.request.generationConfig;
  const level = ["none", "minimal", "low"].includes(t.effort!) ? "low" : "high";
  return {
    ...t.request,
    contents,
    ...(g && t.effort !== undefined
      ? { generationConfig: { ...g, thinkingConfig: { thinkingLevel: level } } }
      : {}),
  };
}

/** Translate an OpenAI chat request into a Gemini request body for `opts.model`. Throws {@link TranslationError}. */
export function toGeminiRequest(body: ChatRequest, opts: RequestOptions): GeminiRequest {
  return forModel(translateRequest(body), opts.model);
}
