/**
 * `POST /v1/messages/count_tokens` (SPEC §17.1) when the backend offers no count of its own: a local estimate
 * of the input tokens of a Messages request — system, tools and every message — documented in README: about
 * one token per 4 characters of text, tool inputs and results, tool names, descriptions and schemas, plus
 * 1,600 per image or document and a few per message and tool for their framing. Never 0 for a non-empty
 * request; adding a tool or a system prompt raises it. Pure.
 */
type Obj = Record<string, unknown>;

const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);

/** Tokens counted for one image or base64 document (Anthropic's figure for a ~1.1 megapixel image). */
export const MEDIA_TOKENS = 1600;
const PER_MESSAGE = 4;
const PER_TOOL = 8;

/** Characters and media of one content value (a string, blocks, or nested tool-result content). */
function measure(content: unknown, acc: { chars: number; media: number }): void {
  if (typeof content === "string") {
    acc.chars += content.length;
    return;
  }
  if (!Array.isArray(content)) return;
  for (const b of content) {
    if (!isObj(b)) continue;
    switch (b.type) {
      case "text":
        acc.chars += typeof b.text === "string" ? b.text.length : 0;
        break;
      case "thinking":
        acc.chars += typeof b.thinking === "string" ? b.thinking.length : 0;
        break;
      case "image":
        acc.media++;
        break;
      case "document": {
        const src = isObj(b.source) ? b.source : {};
        if (src.type === "text" && typeof src.data === "string") acc.chars += src.data.length;
        else if (src.type === "content") measure(src.content, acc);
        else acc.media++;
        break;
      }
      case "tool_use":
        acc.chars += String(b.name ?? "").length + JSON.stringify(b.input ?? {}).length;
        break;
      case "tool_result":
        measure(b.content, acc);
        break;
    }
  }
}

/** The estimated input tokens of a checked Messages body. */
export function estimateInputTokens(body: Obj): number {
  const acc = { chars: 0, media: 0 };
  let framing = 0;
  measure(body.system, acc);
  for (const m of Array.isArray(body.messages) ? body.messages : []) {
    framing += PER_MESSAGE;
    if (isObj(m)) measure(m.content, acc);
  }
  for (const t of Array.isArray(body.tools) ? body.tools : []) {
    framing += PER_TOOL;
    if (!isObj(t)) continue;
    acc.chars += String(t.name ?? "").length + (typeof t.description === "string" ? t.description.length : 0);
    if (t.input_schema !== undefined) acc.chars += JSON.stringify(t.input_schema).length;
  }
  return Math.max(1, Math.ceil(acc.chars / 4) + acc.media * MEDIA_TOKENS + framing);
}
