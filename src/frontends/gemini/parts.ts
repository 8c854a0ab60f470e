/**
 * Chat answer pieces → Gemini parts, shared by the whole-answer renderer and the stream translator: a tool
 * call as a `functionCall` part (its thought signature, carried in the tool-call id, as `thoughtSignature`)
 * and a message's reasoning text. Pure.
 */
import { baseToolCallId, signatureFromToolCallId } from "../../providers/gemini/ids.ts";
import type { GeminiPart } from "../../providers/gemini/types.ts";
import type { Obj } from "./fields.ts";

/** A tool call's arguments (a JSON text) as `functionCall.args`, which must be an object. */
function argsObject(text: unknown): Obj {
  if (typeof text !== "string" || text.trim() === "") return {};
  try {
    const v = JSON.parse(text);
    if (v !== null && typeof v === "object" && !Array.isArray(v)) return v;
    return { value: v };
  } catch {
    return { arguments: text };
  }
}

/** A Chat tool call as a `functionCall` part (a signature carried in the id comes back as `thoughtSignature`). */
export function functionCallPart(id: unknown, name: string, args: unknown): GeminiPart {
  const sid = typeof id === "string" && id ? id : undefined;
  const signature = signatureFromToolCallId(sid);
  return {
    functionCall: { name, args: argsObject(args), ...(sid ? { id: baseToolCallId(sid) } : {}) },
    ...(signature ? { thoughtSignature: signature } : {}),
  };
}

/** Reasoning text of a Chat message or delta (`reasoning_content`, or OpenRouter's `reasoning`). */
export function reasoningText(m: Obj): string | undefined {
  const r = m.reasoning_content ?? m.reasoning;
  return typeof r === "string" && r !== "" ? r : undefined;
}
