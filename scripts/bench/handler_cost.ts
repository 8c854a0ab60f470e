/**
 * CPU cost of llmproxy's own request handling, without the network: the real handler in-process, with
 * `fetch` (the upstream client) stubbed to answer at once. Prints µs per request (and the bare Request + stub cost).
 *   deno run -A scripts/bench/handler_cost.ts [llmproxy flags…]
 */
import { startInProcess } from "./in_process.ts";
import { createHandler } from "../../src/server/app.ts";

const COMPLETION = JSON.stringify({
  id: "x",
  object: "chat.completion",
  created: 1,
  model: "bench",
  choices: [{ index: 0, message: { role: "assistant", content: "hi" }, finish_reason: "stop" }],
  usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 },
});
// The upstream client is fetch (upstream_client.ts), stubbed here.
const realFetch = globalThis.fetch;
globalThis.fetch =
  ((input: RequestInfo | URL, init?: RequestInit) =>
    String(input).startsWith("http://upstream.test")
      ? Promise.resolve(new Response(COMPLETION, { headers: { "content-type": "application/json" } }))
      : realFetch(input, init)) as typeof fetch;

const running = await startInProcess(["--openrouter-api-base-url", "http://upstream.test/v1", ...Deno.args], {
  OPENROUTER_API_KEY: "sk-or-v1-" + "0".repeat(64),
});
const proxy = running.proxy;
const handler = createHandler(proxy.ctx);
const body = JSON.stringify({ model: "openrouter:bench", messages: [{ role: "user", content: "hi" }] });
const request = () =>
  new Request("http://127.0.0.1/v1/chat/completions", {
    method: "POST",
    headers: { "content-type": "application/json", host: "127.0.0.1" },
    body,
  });
const N = 20_000;
for (let i = 0; i < 3000; i++) await (await handler(request())).text(); // warm-up
let t = performance.now();
for (let i = 0; i < N; i++) await (await handler(request())).text();
const perRequest = (performance.now() - t) / N * 1000;
t = performance.now();
for (let i = 0; i < N; i++) {
  await request().text();
  await (await globalThis.fetch("http://upstream.test/v1/x")).text();
}
const bare = (performance.now() - t) / N * 1000;
// deno-lint-ignore no-console
console.log(
  `handler ${perRequest.toFixed(1)} µs/request; bare Request + stubbed fetch ${bare.toFixed(1)} µs`,
);
await running.close();
