/**
 * A fast mock OpenAI-compatible upstream for benchmarks: `POST …/chat/completions` answers a fixed JSON
 * completion (its content `bench_content_chars` long when given, else one short sentence), or with
 * `stream: true` an SSE stream of `bench_chunks` content chunks spaced `bench_spacing_ms` ms, each its own
 * write (`"delta":{"content":"tok7 "}`), the last one written together with the finish chunk, the usage chunk
 * (when `stream_options.include_usage` is set) and `[DONE]` (the shape of issue 19).
 *   deno run -A scripts/bench/mock.ts [PORT]     (prints the port it listens on)
 */
const enc = new TextEncoder();
const completion = (content: string) =>
  JSON.stringify({
    id: "chatcmpl-bench",
    object: "chat.completion",
    created: 1732680000,
    model: "bench",
    choices: [{ index: 0, message: { role: "assistant", content }, finish_reason: "stop" }],
    usage: { prompt_tokens: 5, completion_tokens: 6, total_tokens: 11 },
  });
const COMPLETION = completion("Hello from the bench mock.");
const sized = new Map<number, string>();
/** One SSE chunk event with `fields` (choices, usage) over the common ones. */
const event = (fields: Record<string, unknown>) =>
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
  event({ choices: [{ index: 0, delta: { content }, finish_reason: finish }] });
const CONTENT: Uint8Array[] = [];
/** Content chunk `i` ("tok7 "), encoded once. */
const content = (i: number) => CONTENT[i] ??= chunk(`tok${i} `);
const LAST = chunk("", "stop");
const USAGE = event({ choices: [], usage: { prompt_tokens: 5, completion_tokens: 20, total_tokens: 25 } });
const DONE = enc.encode("data: [DONE]\n\n");
/** The last content chunk, the finish chunk, the usage chunk (if asked) and `[DONE]`: one write. */
const TAIL = new Map<string, Uint8Array>();
const tail = (i: number, usage: boolean) => {
  const key = `${i}:${usage}`;
  let bytes = TAIL.get(key);
  if (!bytes) {
    const parts = [content(i), LAST, ...(usage ? [USAGE] : []), DONE];
    bytes = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const p of parts) {
      bytes.set(p, at);
      at += p.length;
    }
    TAIL.set(key, bytes);
  }
  return bytes;
};
const JSON_HEADERS = { "content-type": "application/json" };
const SSE_HEADERS = { "content-type": "text/event-stream", "cache-control": "no-cache" };

const port = Number(Deno.args[0] ?? 0);
Deno.serve({
  hostname: "127.0.0.1",
  port,
  // deno-lint-ignore no-console
  onListen: ({ port }) => console.log(port),
}, async (req) => {
  if (req.method !== "POST") return Response.json({ data: [{ id: "bench", object: "model" }] });
  const body = await req.json();
  if (!body.stream) {
    const n = Number(body.bench_content_chars);
    if (!(n > 0)) return new Response(COMPLETION, { headers: JSON_HEADERS });
    let text = sized.get(n);
    if (!text) sized.set(n, text = completion("lorem ipsum ".repeat(Math.ceil(n / 12)).slice(0, n)));
    return new Response(text, { headers: JSON_HEADERS });
  }
  const n = Number(body.bench_chunks ?? 20);
  const spacing = Number(body.bench_spacing_ms ?? 0);
  const usage = body.stream_options?.include_usage === true;
  let i = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const stream = new ReadableStream<Uint8Array>({
    async pull(c) {
      if (i > 0 && spacing) await new Promise((r) => (timer = setTimeout(r, spacing)));
      if (i < n - 1) c.enqueue(content(i));
      else {
        c.enqueue(tail(i, usage));
        c.close();
      }
      i++;
    },
    cancel() {
      clearTimeout(timer);
    },
  });
  return new Response(stream, { headers: SSE_HEADERS });
});
