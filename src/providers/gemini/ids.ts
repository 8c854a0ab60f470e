/**
 * Tool-call ids handed to OpenAI clients for Gemini function calls. Gemini 3 wants the `thoughtSignature` of a
 * function call echoed on the next turn; the proxy keeps no server state for that, so the signature rides in
 * the id itself (`call_<random>__ts_<base64url signature>`) and comes back with the client's next request.
 */

import { toolCallId } from "../../model/ids.ts";

const SIG_MARK = "__ts_";

function toBase64Url(text: string): string {
  const bytes = new TextEncoder().encode(text);
  let bin = "";
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

function fromBase64Url(text: string): string | undefined {
  if (!/^[A-Za-z0-9_-]+$/.test(text)) return undefined;
  try {
    const bin = atob(text.replaceAll("-", "+").replaceAll("_", "/"));
    const bytes = Uint8Array.from(bin, (c) => c.charCodeAt(0));
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    return undefined;
  }
}

/** A fresh tool-call id; with a signature, the signature is recoverable by {@link signatureFromToolCallId}. */
export function makeToolCallId(signature?: string): string {
  return withSignature(toolCallId(), signature);
}

/** `id` carrying `signature` (for an id the client chose; {@link signatureFromToolCallId} reads it back). */
export function withSignature(id: string, signature: string | undefined): string {
  return signature ? `${id}${SIG_MARK}${toBase64Url(signature)}` : id;
}

/** The id without the signature {@link makeToolCallId} or {@link withSignature} put in it. */
export function baseToolCallId(id: string): string {
  const at = id.indexOf(SIG_MARK);
  return at < 0 ? id : id.slice(0, at);
}

/** The thought signature carried by an id made by {@link makeToolCallId}, or undefined. */
export function signatureFromToolCallId(id: string | undefined): string | undefined {
  if (!id) return undefined;
  const at = id.indexOf(SIG_MARK);
  if (at < 0) return undefined;
  return fromBase64Url(id.slice(at + SIG_MARK.length));
}

/** Sentinel Gemini accepts in place of a lost signature (what gemini-cli itself sends). */
export const SKIP_SIGNATURE = "skip_thought_signature_validator";
