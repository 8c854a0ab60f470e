/**
 * A fast mock OpenAI-compatible upstream for benchmarks: `POST …/chat/completions` answers a fixed JSON
 * completion (its content `bench_content_chars` long when given, else one short sentence), or with
 * `stream: true` an SSE stream of `bench_chunks` content chunks spaced `bench_spacing_ms` ms, each its own
 * write (`"delta":{"content":"tok7 "}`), the last one written together with the finish chunk, the usage chunk
 * (when `stream_options.include_usage` is set) and `[DONE]` (the shape of issue 19).
 * `GET /bench/streams` answers, and starts counting anew, the streams ended since the last such call and their
 * mean time as the mock saw it (ms, from the request's arrival to its last chunk queued; null when none): on a
 * machine whose cores the mock shares with the proxy under test, how much of a stream's time is the mock's own,
 * slowed or not by the proxy's work (issue 19's 200-stream row, scripts/bench/side_by_side.ts).
 *   deno run -A scripts/bench/mock.ts [PORT]     (prints the port it listens on)
 */
import { contentChunk, tailChunk } from "./stream_shape.ts";

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
const JSON_HEADERS = { "content-type": "application/json" };
const SSE_HEADERS = { "content-type": "text/event-stream", "cache-control": "no-cache" };

/** Streams ended since the last `GET /bench/streams`, and the sum of their times (ms). */
let streamsEnded = 0;
let streamMsSum = 0;

const port = Number(Deno.args[0] ?? 0);
Deno.serve({
  hostname: "127.0.0.1",
  port,
  // deno-lint-ignore no-console
  onListen: ({ port }) => console.log(port),
}, async (req) => {
  if (req.method === "GET" && new URL(req.url).pathname === "/bench/streams") {
    const answer = Response.json({
      streams: streamsEnded,
      meanMs: streamsEnded ? streamMsSum / streamsEnded : null,
    });
    streamsEnded = streamMsSum = 0;
    return answer;
  }
  if (req.method !== "POST") return Response.json({ data: [{ id: "bench", object: "model" }] });
  const arrived = performance.now(); // a stream's time, as the mock sees it, starts here
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
      if (i < n - 1) c.enqueue(contentChunk(i));
      else {
        c.enqueue(tailChunk(i, usage));
        c.close();
        streamsEnded++;
        streamMsSum += performance.now() - arrived;
      }
      i++;
    },
    cancel() {
      clearTimeout(timer);
    },
  });
  return new Response(stream, { headers: SSE_HEADERS });
});
