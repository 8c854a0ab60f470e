/**
 * CPU cost of llmproxy's own handling of one streamed request: the real handler called in-process (no server
 * in front), against a loopback upstream in the same process that answers the bench mock's 20-chunk stream
 * (`stream_shape.ts`) chunk by chunk, the answer read to its end. Beside it, the same upstream through a bare
 * JS hop (the JS-hop floor's work: one stream of ours pumping the upstream's chunks, read as llmproxy reads
 * them). Prints process CPU µs (user + system) per stream, the median of BATCHES batches; N (env) sets the
 * streams. The upstream's CPU is in both figures; compare their difference, across runs of one machine state.
 *   deno run -A scripts/bench/stream_handler_cost.ts [llmproxy flags…]
 */
import process from "node:process";
import { startInProcess } from "./in_process.ts";
import { createHandler } from "../../src/server/app.ts";
import { readChunks } from "../../src/runner/chunk_reader.ts";
import { streamWrites } from "./stream_shape.ts";
import { jsHop } from "./js_hop.ts";

const CHUNKS = streamWrites(20, true);
// The upstream: a local server in this process answering the stream chunk by chunk (a real fetch answer, read
// as llmproxy reads one). Its CPU is in both figures alike.
const upstream = Deno.serve(
  { hostname: "127.0.0.1", port: 0, onListen: () => {} },
  () => {
    let i = 0;
    return new Response(
      new ReadableStream<Uint8Array>({
        // A timer between chunks, so that each is its own write and its own read, as from the real mock.
        async pull(c) {
          if (i) await new Promise((r) => setTimeout(r, 0));
          if (i === CHUNKS.length) c.close();
          else c.enqueue(CHUNKS[i++]);
        },
      }),
      { headers: { "content-type": "text/event-stream" } },
    );
  },
);
const UPSTREAM = `http://127.0.0.1:${upstream.addr.port}/v1`;

const running = await startInProcess(["--openrouter-api-base-url", UPSTREAM, ...Deno.args], {
  OPENROUTER_API_KEY: "sk-or-v1-" + "0".repeat(64),
});
const handler = createHandler(running.proxy.ctx);
const body = JSON.stringify({
  model: "openrouter:bench",
  messages: [{ role: "user", content: "hi" }],
  stream: true,
  stream_options: { include_usage: true },
});
const request = () =>
  new Request("http://127.0.0.1/v1/chat/completions", {
    method: "POST",
    headers: { "content-type": "application/json", "content-length": String(body.length), host: "127.0.0.1" },
    body,
  });
/** Read a response body to its end as the server would (chunk by chunk). */
async function drain(res: Response): Promise<void> {
  const r = res.body!.getReader();
  while (!(await r.read()).done) { /* the server writes it */ }
}
/** The JS-hop floor's work on the same stubbed stream. */
async function bareHop(): Promise<Response> {
  await request().text();
  const res = await fetch(`${UPSTREAM}/chat/completions`, { method: "POST", body: "{}" });
  return new Response(jsHop(readChunks(res.body!)));
}
const N = Number(Deno.env.get("N") ?? 5_000);
const BATCHES = 5;
const CONCURRENCY = 20;
async function measure(one: () => Promise<Response>): Promise<number> {
  const cpus: number[] = [];
  for (let b = 0; b < BATCHES; b++) {
    const cpu0 = process.cpuUsage();
    let left = N / BATCHES;
    await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
      while (left-- > 0) await drain(await one());
    }));
    const cpu = process.cpuUsage(cpu0);
    cpus.push((cpu.user + cpu.system) / (N / BATCHES));
  }
  return [...cpus].sort((a, b) => a - b)[Math.floor(cpus.length / 2)];
}
await measure(() => handler(request())); // warm-up
await measure(bareHop);
const ours = await measure(() => handler(request()));
const bare = await measure(bareHop);
// deno-lint-ignore no-console
console.log(`CPU per stream: llmproxy ${ours.toFixed(0)} µs, bare JS hop ${bare.toFixed(0)} µs`);
await running.close();
await upstream.shutdown();
