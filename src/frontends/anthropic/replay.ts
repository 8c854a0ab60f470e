/**
 * A whole Messages answer as the Messages event stream (SPEC §7, §16: a `stream: true` request never gets a
 * JSON reply): for an Anthropic upstream that answered a passed-through stream request with one `message`.
 * Each content block becomes its start, one delta (text, thinking and its signature, tool input as JSON) and
 * its stop; blocks without a delta form (`redacted_thinking`, later types) come whole in their start. Pure.
 */
import { namedEvent } from "./shapes.ts";

type Obj = Record<string, unknown>;

const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);

/** The start block and deltas of one content block. */
function blockEvents(block: Obj): { start: Obj; deltas: Obj[] } {
  switch (block.type) {
    case "text":
      return { start: { ...block, text: "" }, deltas: [{ type: "text_delta", text: block.text ?? "" }] };
    case "thinking":
      return {
        start: { ...block, thinking: "", signature: "" },
        deltas: [
          { type: "thinking_delta", thinking: block.thinking ?? "" },
          ...(typeof block.signature === "string"
            ? [{ type: "signature_delta", signature: block.signature }]
            : []),
        ],
      };
    case "tool_use":
    case "server_tool_use":
      return {
        start: { ...block, input: {} },
        deltas: [{ type: "input_json_delta", partial_json: JSON.stringify(block.input ?? {}) }],
      };
    default:
      return { start: block, deltas: [] };
  }
}

/** The event stream of `message` (a Messages `message` object), as SSE text. */
export function messageAsEvents(message: Obj): string {
  const content = Array.isArray(message.content) ? message.content.filter(isObj) : [];
  const usage = isObj(message.usage) ? message.usage : {};
  const out = [
    namedEvent("message_start", {
      message: { ...message, content: [], stop_reason: null, stop_sequence: null, usage: { ...usage } },
    }),
  ];
  for (const [index, block] of content.entries()) {
    const { start, deltas } = blockEvents(block);
    out.push(namedEvent("content_block_start", { index, content_block: start }));
    for (const delta of deltas) out.push(namedEvent("content_block_delta", { index, delta }));
    out.push(namedEvent("content_block_stop", { index }));
  }
  out.push(
    namedEvent("message_delta", {
      delta: { stop_reason: message.stop_reason ?? null, stop_sequence: message.stop_sequence ?? null },
      usage: { output_tokens: usage.output_tokens ?? 0 },
    }),
    namedEvent("message_stop", {}),
  );
  return out.join("");
}
