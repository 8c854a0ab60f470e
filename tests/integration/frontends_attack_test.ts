/**
 * An adversarial review of the front ends and their pass-throughs (SPEC §12, §17, §19), through HTTP against
 * the proxy: what a hostile client or upstream found that the other tests did not cover.
 */
import assert from "node:assert/strict";
import { startTestProxy } from "../helpers.ts";
import { MockAnthropic } from "../mocks/anthropic_upstream.ts";

const CLIENT_KEY = "llmproxy-client-key-for-attacks";
const ANT_KEY = "sk-ant-api03-" + "k".repeat(80);
const OR_KEY = "sk-or-v1-" + "7".repeat(64);

Deno.test("messages → anthropic: a key value in a forwarded protocol header (anthropic-beta) is redacted like the body", async () => {
  const mock = MockAnthropic.start();
  const p = await startTestProxy([], {
    LLM_INTERACTIVE_PROXY_API_KEY: CLIENT_KEY,
    ANTHROPIC_API_BASE_URL: mock.url,
    ANTHROPIC_API_KEY: ANT_KEY,
    // Another upstream's key: redaction keeps it from reaching Anthropic.
    OPENROUTER_API_KEY: OR_KEY,
  });
  try {
    const body = {
      model: "anthropic:claude-sonnet-4-5",
      max_tokens: 16,
      messages: [{ role: "user", content: `hi ${OR_KEY}` }],
    };
    const headers = {
      authorization: `Bearer ${CLIENT_KEY}`,
      "content-type": "application/json",
      "anthropic-version": "2023-06-01",
      "anthropic-beta": `effort-2025-11-24,${OR_KEY}`,
    };
    for (const path of ["/v1/messages", "/v1/messages/count_tokens"]) {
      const res = await p.fetch(path, { method: "POST", headers, body: JSON.stringify(body) });
      assert.equal(res.status, 200, path);
      await res.body?.cancel();
    }
    const sent = mock.requests.filter((r) => r.path.startsWith("/v1/messages"));
    assert.equal(sent.length, 2);
    for (const r of sent) {
      assert.ok(!JSON.stringify(r.body).includes(OR_KEY), `${r.path}: the body is redacted`);
      assert.ok(!JSON.stringify(r.headers).includes(OR_KEY), `${r.path}: no header carries the key`);
      assert.match(r.headers["anthropic-beta"], /^effort-2025-11-24,/, `${r.path}: the header is still sent`);
    }
  } finally {
    await p.close();
    await mock.close();
  }
});
