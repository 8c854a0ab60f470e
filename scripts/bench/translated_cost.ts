/**
 * CPU cost per streamed request of a TRANSLATED stream (issue 13: events instead of Chat SSE text parsed back):
 * one llmproxy per checkout given, in front of an Anthropic-shaped mock in this process (20 text deltas 10 ms
 * apart); per round and front end (Chat, Responses, Gemini: each translates the `anthropic` provider's stream),
 * 600 streams at 100 concurrency, interleaved; the figure is the proxy process's CPU time (/proc) per stream.
 *   deno run -A scripts/bench/translated_cost.ts [CHECKOUT_DIR …]   (default: this checkout)
 */
import { type ComparedProxy, startProxy, streamCpuRounds } from "./side_by_side.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
const dirs = Deno.args.length ? Deno.args : [ROOT];
const MODEL = "anthropic:bench";
const enc = new TextEncoder();
const ev = (type: string, data: Record<string, unknown>) =>
  enc.encode(`event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`);

/** The Anthropic mock: 20 text deltas 10 ms apart, framed as Anthropic streams them. */
const mock = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
  if (new URL(req.url).pathname.endsWith("/models")) {
    return Response.json({ data: [{ id: "bench", created_at: "2025-01-01T00:00:00Z" }] });
  }
  await req.body?.cancel();
  let i = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const body = new ReadableStream<Uint8Array>({
    async pull(c) {
      if (i === 0) {
        c.enqueue(ev("message_start", {
          message: {
            id: "msg_b",
            type: "message",
            role: "assistant",
            model: "bench",
            content: [],
            usage: { input_tokens: 5, output_tokens: 1 },
          },
        }));
        c.enqueue(ev("content_block_start", { index: 0, content_block: { type: "text", text: "" } }));
      } else if (i <= 20) {
        await new Promise((r) => (timer = setTimeout(r, 10)));
        c.enqueue(ev("content_block_delta", { index: 0, delta: { type: "text_delta", text: `word${i} ` } }));
      } else {
        c.enqueue(ev("content_block_stop", { index: 0 }));
        c.enqueue(ev("message_delta", { delta: { stop_reason: "end_turn" }, usage: { output_tokens: 20 } }));
        c.enqueue(ev("message_stop", {}));
        c.close();
      }
      i++;
    },
    cancel() {
      clearTimeout(timer);
    },
  });
  return new Response(body, { headers: { "content-type": "text/event-stream" } });
});
const upstream = `http://127.0.0.1:${mock.addr.port}/v1`;

const CASES = [
  {
    name: "chat",
    path: "/v1/chat/completions",
    body: { model: MODEL, messages: [{ role: "user", content: "hi" }], stream: true },
  },
  {
    name: "responses",
    path: "/v1/responses",
    body: { model: MODEL, input: "hi", store: false, stream: true },
  },
  {
    name: "gemini",
    path: `/v1beta/models/${MODEL}:streamGenerateContent?alt=sse`,
    body: { contents: [{ role: "user", parts: [{ text: "hi" }] }] },
  },
];

const tmp = await Deno.makeTempDir();
const proxies: ComparedProxy[] = [];
for (const dir of dirs) {
  const p = await startProxy(upstream, tmp, [
    "--anthropic-api-base-url",
    upstream,
    "--anthropic-api-key",
    "sk-ant-bench",
  ], dir);
  proxies.push({ dir, child: p.child!, origin: p.base.replace(/\/v1$/, "") });
}
async function load(origin: string, c: (typeof CASES)[number], n: number, conc: number): Promise<void> {
  const body = JSON.stringify(c.body);
  let i = 0;
  await Promise.all(Array.from({ length: conc }, async () => {
    while (i++ < n) {
      const res = await fetch(origin + c.path, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body,
      });
      if (res.status !== 200) throw new Error(`${c.name}: ${res.status} ${await res.text()}`);
      const text = await res.text();
      if (!text.includes("word20")) throw new Error(`${c.name}: incomplete answer ${text.slice(-200)}`);
    }
  }));
}
await streamCpuRounds(proxies, CASES, load);
await mock.shutdown();
await Deno.remove(tmp, { recursive: true });
