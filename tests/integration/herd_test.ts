/** No thundering herd (SPEC §19): when a key frees after a wait, the queued requests go one per free slot. */
import assert from "node:assert/strict";
import { echoCompletion, MockOpenAI } from "../mocks/openai_upstream.ts";
import { startTestProxy } from "../helpers.ts";

const KEY = `sk-or-v1-${"1".repeat(64)}`;

Deno.test("30 requests waiting on one cooling key, upstream serving one at a time: few upstream 429s, all served", async () => {
  const mock = MockOpenAI.start();
  // The upstream takes one request at a time per key; a second one at the same time gets a 429.
  let inFlight = 0;
  let upstream429 = 0;
  let served = 0;
  mock.onChat = async () => {
    if (inFlight > 0) {
      upstream429++;
      return new Response(JSON.stringify({ error: { code: 429, message: "Rate limit exceeded" } }), {
        status: 429,
        headers: { "content-type": "application/json", "retry-after-ms": "20" },
      });
    }
    inFlight++;
    await Promise.resolve(); // the answer is produced after the request was counted as in flight
    await new Promise((r) => setTimeout(r, 2));
    inFlight--;
    served++;
    return Response.json(echoCompletion("m", "ok"));
  };
  const proxy = await startTestProxy(["--disable-auth", "--max-wait", "10"], {
    OPENROUTER_API_BASE_URL: mock.url,
    OPENROUTER_API_KEY: KEY,
  });
  try {
    // The key is cooling (an earlier 429) when the burst arrives, so every request waits for it.
    proxy.ctx.registry.pool("openrouter").cool("OPENROUTER_API_KEY", "m", {
      scope: "key-model",
      untilMs: Date.now() + 100,
      reason: "429",
    });
    const statuses = await Promise.all(Array.from({ length: 30 }, async (_, i) => {
      const res = await proxy.fetch("/v1/chat/completions", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ model: "m", messages: [{ role: "user", content: `q${i}` }] }),
      });
      await res.body?.cancel();
      return res.status;
    }));
    assert.deepEqual(statuses.filter((s) => s !== 200), [], "every request is served");
    assert.equal(served, 30);
    assert.ok(
      upstream429 <= 3,
      `upstream 429s: ${upstream429} (the herd gave about one per waiter per round)`,
    );
  } finally {
    await proxy.close();
    await mock.close();
  }
});
