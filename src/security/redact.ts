/**
 * Redaction of outgoing requests (SPEC §10.4, §19): every string the client sent that goes upstream — all
 * message fields including unknown ones, `tool_call_id`, `metadata`, `user`, strings nested in any other
 * field, object keys, and what rides under a symbol key (an assistant turn's carried reasoning) — with
 * secrets replaced. Only `model` is left to the model-name check (chat.ts).
 */
import type { ChatRequest } from "../model/request.ts";

/**
 * Replaces secrets in one text and counts them; undefined (or `n` 0) when there were none. `binary` is true for
 * image/audio/file payloads (data URLs, base64), where a secret-shaped run is noise: only exact key values
 * should be replaced there.
 */
export type TextRedactor = (text: string, binary: boolean) => { text: string; n: number } | undefined;

type Container = Record<string, unknown> | unknown[];

/** Shorter strings cannot hold a secret: scrub.ts ignores shorter key values, and every secret shape is longer. */
export const MIN_SECRET_LENGTH = 8;

const isContainer = (v: unknown): v is Container => typeof v === "object" && v !== null;

/** True for a string that carries bytes rather than text: an inline image, audio or file payload. */
function isBinary(parentKey: string | undefined, key: string, value: string): boolean {
  const slot = key === "image_url" || (parentKey === "image_url" && key === "url") ||
    (parentKey === "input_audio" && key === "data") || (parentKey === "file" && key === "file_data") ||
    // Anthropic `source.data`, Gemini `inlineData.data` (SPEC §17: the front ends' own bodies are redacted too).
    ((parentKey === "source" || parentKey === "inlineData" || parentKey === "inline_data") &&
      key === "data") ||
    key === "file_data";
  return slot && !/^https?:/i.test(value);
}

/** Set an own property, also one named `__proto__` (plain assignment would change the prototype instead). */
function put(obj: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(obj, key, { value, writable: true, enumerable: true, configurable: true });
}

/**
 * Redact every string of a request body except `model`, in place (the body is the proxy's own parse of the
 * request). Iterative, so no nesting depth can overflow the stack. `n` is how many occurrences were replaced.
 */
export function redactBody<T extends object = ChatRequest>(
  body: T,
  redact: TextRedactor,
): { body: T; n: number } {
  let total = 0;
  // Containers still to walk, and the key each was found under (parallel stacks: no tuple per container).
  const stack: Container[] = [body as Container];
  const keys: (string | undefined)[] = [undefined];
  for (let node = stack.pop(); node; node = stack.pop()) {
    const nodeKey = keys.pop();
    if (Array.isArray(node)) {
      for (let i = 0; i < node.length; i++) {
        const v = node[i];
        if (typeof v === "string") {
          if (v.length < MIN_SECRET_LENGTH) continue;
          const r = redact(v, false);
          if (r?.n) {
            total += r.n;
            node[i] = r.text;
          }
        } else if (isContainer(v)) {
          stack.push(v);
          keys.push(nodeKey);
        }
      }
      continue;
    }
    // for…in, not Object.keys: no array per object. A parsed body inherits no enumerable keys; a key renamed
    // below holds nothing left to replace if it is visited again.
    for (const key in node) {
      if (node === body && key === "model") continue;
      let v = node[key];
      if (typeof v === "string" && v.length >= MIN_SECRET_LENGTH) {
        const r = redact(v, isBinary(nodeKey, key, v));
        if (r?.n) {
          total += r.n;
          v = r.text;
          put(node, key, v);
        }
      } else if (isContainer(v)) {
        stack.push(v);
        keys.push(key);
      }
      const k = key.length < MIN_SECRET_LENGTH ? undefined : redact(key, false);
      if (k?.n) {
        total += k.n;
        delete node[key];
        put(node, k.text, v);
      }
    }
    // Values under symbol keys go upstream too: an assistant turn's carried reasoning (model/reasoning.ts)
    // rides on its message under one, and the anthropic provider writes it back as thinking blocks.
    for (const sym of Object.getOwnPropertySymbols(node)) {
      const v = (node as Record<symbol, unknown>)[sym];
      if (isContainer(v)) {
        stack.push(v);
        keys.push(undefined);
      }
    }
  }
  return { body, n: total };
}
