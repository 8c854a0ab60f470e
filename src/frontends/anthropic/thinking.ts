/**
 * Thinking blocks on their way back to Anthropic (SPEC §3.4, §17.1): a Messages client keeps the thinking
 * blocks of earlier turns and sends them again. Anthropic verifies each block's signature, so a block it did
 * not sign — reasoning another provider produced, which the proxy marked {@link UNSIGNED_THINKING} or which
 * came without a signature — is dropped from the body passed through, never forged or sent with a foreign
 * signature. Pure.
 */
import { UNSIGNED_THINKING } from "./shapes.ts";

type Obj = Record<string, unknown>;

const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);

/** True for a block Anthropic could verify: redacted thinking, or thinking with a signature not the proxy's. */
export function verifiable(b: Obj): boolean {
  if (b.type === "redacted_thinking") return typeof b.data === "string" && b.data !== "";
  return typeof b.signature === "string" && b.signature !== "" && b.signature !== UNSIGNED_THINKING;
}

const isThinking = (b: unknown) => isObj(b) && (b.type === "thinking" || b.type === "redacted_thinking");

/**
 * The body to pass through to Anthropic: assistant turns without thinking blocks Anthropic cannot verify (a
 * turn left empty is dropped). When that leaves the turn a tool result answers without its leading thinking
 * block, thinking is turned off for this request (Anthropic refuses such a turn with thinking on). `body` is
 * returned as it is when nothing needed dropping.
 */
export function withoutForeignThinking(body: Obj): Obj {
  const messages = body.messages as unknown[];
  let changed = false;
  let lastAssistantChanged = false;
  const out: unknown[] = [];
  for (const m of messages) {
    if (!isObj(m) || m.role !== "assistant" || !Array.isArray(m.content)) {
      out.push(m);
      continue;
    }
    const kept = m.content.filter((b) => !isThinking(b) || verifiable(b as Obj));
    if (kept.length === m.content.length) {
      out.push(m);
      lastAssistantChanged = false;
      continue;
    }
    changed = true;
    lastAssistantChanged = true;
    if (kept.length) out.push({ ...m, content: kept });
  }
  if (!changed) return body;
  const next: Obj = { ...body, messages: out };
  const last = out.findLast((m) => isObj(m) && m.role === "assistant") as Obj | undefined;
  const firstBlock = Array.isArray(last?.content) ? last.content[0] : undefined;
  if (
    lastAssistantChanged && isObj(body.thinking) && body.thinking.type !== "disabled" &&
    !isThinking(firstBlock)
  ) {
    delete next.thinking;
  }
  return next;
}
