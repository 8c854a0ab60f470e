/**
 * llmproxy's request handler in-process over a stubbed upstream, for the handler benchmarks
 * (`handler_cost.ts`, `handler_alloc.ts`): `fetch` to `http://upstream.test` answers the bench mock's completion
 * at once, with its length as the mock's does through Deno.serve (so the answer is read natively), and every
 * other URL goes to the real `fetch`.
 */
import { type InProcessProxy, startInProcess } from "./in_process.ts";
import { createHandler, type Handler } from "../../src/server/app.ts";

const COMPLETION = JSON.stringify({
  id: "chatcmpl-bench",
  object: "chat.completion",
  created: 1732680000,
  model: "bench",
  choices: [{
    index: 0,
    message: { role: "assistant", content: "Hello from the bench mock." },
    finish_reason: "stop",
  }],
  usage: { prompt_tokens: 5, completion_tokens: 6, total_tokens: 11 },
});
const UPSTREAM_HEADERS = { "content-type": "application/json", "content-length": String(COMPLETION.length) };
const BODY = JSON.stringify({ model: "openrouter:bench", messages: [{ role: "user", content: "hi" }] });

/** The running proxy, its handler, a fresh JSON Chat request for it, and `close` (which also unstubs fetch). */
export interface StubbedHandler {
  running: InProcessProxy;
  handler: Handler;
  request(): Request;
  close(): Promise<void>;
}

/** Stub the upstream and start llmproxy in-process with these extra flags. */
export async function startStubbedHandler(args: string[]): Promise<StubbedHandler> {
  const realFetch = globalThis.fetch;
  globalThis.fetch =
    ((input: RequestInfo | URL, init?: RequestInit) =>
      String(input).startsWith("http://upstream.test")
        ? Promise.resolve(new Response(COMPLETION, { headers: UPSTREAM_HEADERS }))
        : realFetch(input, init)) as typeof fetch;
  const running = await startInProcess(["--openrouter-api-base-url", "http://upstream.test/v1", ...args], {
    OPENROUTER_API_KEY: "sk-or-v1-" + "0".repeat(64),
  });
  return {
    running,
    handler: createHandler(running.proxy.ctx),
    request: () =>
      new Request("http://127.0.0.1/v1/chat/completions", {
        method: "POST",
        headers: {
          "content-type": "application/json",
          "content-length": String(BODY.length),
          host: "127.0.0.1",
        },
        body: BODY,
      }),
    async close() {
      await running.close();
      globalThis.fetch = realFetch;
    },
  };
}
