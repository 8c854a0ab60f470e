/**
 * A whole Responses answer as the Responses event stream (SPEC §7, §16: a `stream: true` request never gets a
 * JSON reply): for an upstream that answered a passed-through stream request with one `response` object.
 * `response.created`, each output item added and done (a message's text parts with their delta), then
 * `response.completed` (or `response.incomplete`) with the whole response; every event numbered. Pure.
 */

type Obj = Record<string, unknown>;

const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);

/** The event stream of `response` (a Responses `response` object), as SSE text. */
export function responseAsEvents(response: Obj): string {
  let seq = 0;
  const out: string[] = [];
  const emit = (type: string, data: Obj) =>
    out.push(`event: ${type}\ndata: ${JSON.stringify({ type, sequence_number: seq++, ...data })}\n\n`);
  const output = Array.isArray(response.output) ? response.output.filter(isObj) : [];
  emit("response.created", { response: { ...response, status: "in_progress", output: [], usage: null } });
  for (const [outputIndex, item] of output.entries()) {
    const parts = item.type === "message" && Array.isArray(item.content) ? item.content.filter(isObj) : [];
    emit("response.output_item.added", {
      output_index: outputIndex,
      item: item.type === "message" ? { ...item, status: "in_progress", content: [] } : item,
    });
    for (const [contentIndex, part] of parts.entries()) {
      const at = { item_id: item.id, output_index: outputIndex, content_index: contentIndex };
      if (part.type !== "output_text") {
        emit("response.content_part.added", { ...at, part });
      } else {
        emit("response.content_part.added", { ...at, part: { ...part, text: "" } });
        emit("response.output_text.delta", { ...at, delta: part.text ?? "" });
        emit("response.output_text.done", { ...at, text: part.text ?? "" });
      }
      emit("response.content_part.done", { ...at, part });
    }
    emit("response.output_item.done", { output_index: outputIndex, item });
  }
  emit(response.status === "incomplete" ? "response.incomplete" : "response.completed", { response });
  return out.join("");
}
