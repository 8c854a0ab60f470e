/** SPEC §19 "No lost records": odd numbers in upstream usage, end to end, for every way usage is read. */
import assert from "node:assert/strict";
import { MockOpenAI } from "../mocks/openai_upstream.ts";
import { startTestProxy } from "../helpers.ts";
import { mapUsage } from "../../src/providers/gemini/response.ts";
import { statsToUsage } from "../../src/providers/gemini_cli/events.ts";
import { MAX_TOKENS } from "../../src/core/clamp.ts";

const KEY = "sk-or-v1-" + "1".repeat(64);

function sse(events: unknown[]): Response {
  const text = events.map((e) => `data: ${JSON.stringify(e)}\n\n`).join("") + "data: [DONE]\n\n";
  return new Response(text, { headers: { "content-type": "text/event-stream" } });
}

Deno.test("usage of 1.5, 1e30 and -3 from upstream is stored clamped, JSON and SSE; other requests' records survive", async () => {
  const mock = MockOpenAI.start();
  const odd = { prompt_tokens: 1.5, completion_tokens: 1e30, total_tokens: -3, cost: -1 };
  mock.onChat = (req) => {
    const model = String(req.body?.model);
    if (model === "odd/json") {
      return Response.json({
        id: "c1",
        object: "chat.completion",
        created: 1,
        model,
        choices: [{ index: 0, message: { role: "assistant", content: "hi" }, finish_reason: "stop" }],
        usage: odd,
      });
    }
    if (model === "odd/sse") {
      const chunk = { id: "c2", object: "chat.completion.chunk", created: 1, model };
      return sse([
        {
          ...chunk,
          choices: [{ index: 0, delta: { role: "assistant", content: "hi" }, finish_reason: null }],
        },
        { ...chunk, choices: [{ index: 0, delta: {}, finish_reason: "stop" }] },
        { ...chunk, choices: [], usage: odd },
      ]);
    }
    return undefined;
  };
  const p = await startTestProxy(["--disable-auth", "--openrouter-api-base-url", mock.url], {
    OPENROUTER_API_KEY: KEY,
  });
  try {
    const c = p.client();
    await c.chat.completions.create({
      model: "openrouter:odd/json",
      messages: [{ role: "user", content: "x" }],
    });
    const s = await c.chat.completions.create({
      model: "openrouter:odd/sse",
      messages: [{ role: "user", content: "x" }],
      stream: true,
    });
    for await (const _ of s) { /* drain */ }
    await c.chat.completions.create({
      model: "openrouter:plain/m",
      messages: [{ role: "user", content: "x" }],
    });
    await p.ctx.usage.flush();
    const res = await p.fetch("/usage/recent?limit=10");
    const recent = (await res.json()).data as Record<string, unknown>[];
    const by = (m: string) => recent.find((r) => r.model === m);
    for (const m of ["odd/json", "odd/sse"]) {
      const r = by(m);
      assert.ok(r, `${m} recorded`);
      assert.equal(r.promptTokens, 2, m);
      assert.equal(r.completionTokens, MAX_TOKENS, m);
      assert.equal(r.totalTokens, 0, m);
      assert.equal(r.cost, 0, m);
    }
    assert.ok(by("plain/m"), "the ordinary request's record is there too");
    const stats = await (await p.fetch("/usage/stats?group_by=backend")).json();
    assert.equal(stats.data[0].requests, 3);
  } finally {
    await p.close();
    await mock.close();
  }
  assert.doesNotMatch(await p.logText(), /usage\/audit write failed/);
});

Deno.test("Gemini usageMetadata and Gemini CLI stats with odd numbers map to non-negative integers", () => {
  const g = mapUsage({
    promptTokenCount: 1.5,
    toolUsePromptTokenCount: -3,
    candidatesTokenCount: 1e30,
    thoughtsTokenCount: "7" as unknown as number,
    totalTokenCount: -1,
  });
  assert.equal(g.prompt_tokens, 2);
  assert.equal(g.completion_tokens, MAX_TOKENS);
  assert.equal(g.total_tokens, 0);
  const cli = statsToUsage({ input_tokens: 2.4, output_tokens: -5, total_tokens: 1e30 })!;
  assert.equal(cli.prompt_tokens, 2);
  assert.equal(cli.total_tokens, MAX_TOKENS);
  for (const v of [...Object.values(g), ...Object.values(cli)]) {
    if (typeof v === "number") assert.ok(Number.isInteger(v) && v >= 0, String(v));
  }
});
