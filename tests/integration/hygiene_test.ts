/**
 * Input and stream hygiene (issue 12, the Low findings): values outside an allowed set are a 400 naming the
 * field, SSE with CR-only line endings is understood, and garbage after the commit ends the stream cleanly.
 */
import assert from "node:assert/strict";
import { MockGemini } from "../mocks/gemini_upstream.ts";
import { startTestProxy } from "../helpers.ts";

Deno.test("gemini: a reasoning_effort outside the allowed set is a 400 naming the field and the values", async () => {
  const mock = MockGemini.start();
  const p = await startTestProxy(["--disable-auth", "--gemini-api-base-url", mock.url], {
    GEMINI_API_KEY_1: "AIzaSy" + "H".repeat(33),
  });
  try {
    for (const effort of ["__proto__", "constructor", "extreme", 5, true]) {
      const res = await p.fetch("/v1/chat/completions", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({
          model: "gemini:gemini-2.5-flash",
          reasoning_effort: effort,
          messages: [{ role: "user", content: "x" }],
        }),
      });
      const err = (await res.json()).error;
      assert.equal(res.status, 400, `${effort}: ${JSON.stringify(err)}`);
      assert.match(err.message, /reasoning_effort must be one of none, minimal, low, medium, high/);
    }
    assert.equal(mock.generations.length, 0, "nothing went upstream");
    const ok = await p.fetch("/v1/chat/completions", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        model: "gemini:gemini-2.5-flash",
        reasoning_effort: "low",
        messages: [{ role: "user", content: "x" }],
      }),
    });
    assert.equal(ok.status, 200);
    await ok.body?.cancel();
    const sent = mock.generations[0].body as { generationConfig?: { thinkingConfig?: unknown } };
    assert.deepEqual(sent.generationConfig?.thinkingConfig, { thinkingBudget: 1024 });
  } finally {
    await p.close();
    await mock.close();
  }
});
