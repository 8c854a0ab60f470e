/**
 * The bench's streamed answer (issue 19's shape), one source for the mock upstream and the in-process
 * benchmarks: each content chunk (`"delta":{"content":"tok7 "}`) its own write of ~150 bytes, the last one
 * written together with the finish chunk, the usage chunk (when asked) and `[DONE]`. Writes are encoded once.
 */
const enc = new TextEncoder();

/** One SSE chunk event with `fields` (choices, usage) over the common ones. */
export const chunkEvent = (fields: Record<string, unknown>): Uint8Array =>
  enc.encode(
    `data: ${
      JSON.stringify({
        id: "chatcmpl-bench",
        object: "chat.completion.chunk",
        created: 1732680000,
        model: "bench",
        ...fields,
      })
    }\n\n`,
  );
const chunk = (content: string, finish: string | null = null) =>
  chunkEvent({ choices: [{ index: 0, delta: { content }, finish_reason: finish }] });
const CONTENT: Uint8Array[] = [];
/** Content chunk `i` ("tok7 "), encoded once. */
export const contentChunk = (i: number): Uint8Array => CONTENT[i] ??= chunk(`tok${i} `);
const LAST = chunk("", "stop");
const USAGE = chunkEvent({
  choices: [],
  usage: { prompt_tokens: 5, completion_tokens: 20, total_tokens: 25 },
});
const DONE = enc.encode("data: [DONE]\n\n");
const TAIL = new Map<string, Uint8Array>();
/** Content chunk `i`, the finish chunk, the usage chunk (if asked) and `[DONE]`: one write. */
export function tailChunk(i: number, usage: boolean): Uint8Array {
  const key = `${i}:${usage}`;
  let bytes = TAIL.get(key);
  if (!bytes) {
    const parts = [contentChunk(i), LAST, ...(usage ? [USAGE] : []), DONE];
    bytes = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const p of parts) {
      bytes.set(p, at);
      at += p.length;
    }
    TAIL.set(key, bytes);
  }
  return bytes;
}

/** The writes of a stream of `n` content chunks (n ≥ 1), usage asked or not. */
export function streamWrites(n: number, usage: boolean): Uint8Array[] {
  return [...Array.from({ length: n - 1 }, (_, i) => contentChunk(i)), tailChunk(n - 1, usage)];
}
