import assert from "node:assert/strict";
import { startTestProxy } from "../helpers.ts";
import { MockOpenAI } from "../mocks/openai_upstream.ts";

const KEY = "sk-or-v1-" + "d4".repeat(32);

/** A proxy (auth off, `--log-level level`) over a fresh mock: two requests, then its whole log after close. */
async function logOf(level: string): Promise<string> {
  const mock = MockOpenAI.start();
  const p = await startTestProxy(["--disable-auth", "--log-level", level], {
    OPENROUTER_API_BASE_URL: mock.url,
    OPENROUTER_API_KEY_1: KEY,
  });
  try {
    const ok = await p.client().chat.completions.create({
      model: "openrouter:gpt-x",
      messages: [{ role: "user", content: "hi" }],
    });
    assert.ok(ok.choices[0].message.content);
    // A path with the key in it: the line must not show it.
    const missing = await p.fetch(`/v1/models/x%0Ay${KEY}`);
    assert.equal(missing.status, 404);
    await missing.body?.cancel();
  } finally {
    await p.close();
    await mock.close();
  }
  return await p.logText();
}

Deno.test("each request leaves one log line at the info level: id, method, path, status, backend, model, key, attempts, time", async () => {
  const log = await logOf("info");
  const line = /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} \+00:00 \[INF\] llmproxy: (req_[0-9a-f]{32}) (.*)$/gm;
  const requests = [...log.matchAll(line)].map((m) => m[2]).filter((l) => /^(POST|GET) \//.test(l));
  assert.equal(requests.length, 2, log);
  assert.match(
    requests[0],
    /^POST \/v1\/chat\/completions 200 backend=openrouter model=gpt-x key=OPENROUTER_API_KEY_1 attempts=1 \d+ms$/,
  );
  assert.match(requests[1], /^GET \/v1\/models\/x%0Ay\S* 404 backend=- model=- key=- attempts=0 \d+ms$/);
  assert.equal(log.includes(KEY), false, "the key in the path is scrubbed");
});

Deno.test("--log-level warn drops the request lines", async () => {
  const log = await logOf("warn");
  assert.doesNotMatch(log, /\[INF\]/);
  assert.doesNotMatch(log, /POST \/v1\/chat\/completions/);
});

Deno.test("--log-level debug keeps the request lines", async () => {
  const log = await logOf("debug");
  assert.match(
    log,
    /\[INF\] llmproxy: req_[0-9a-f]{32} POST \/v1\/chat\/completions 200 backend=openrouter /,
  );
  assert.match(log, /\[INF\] llmproxy: req_[0-9a-f]{32} GET \/v1\/models\/\S* 404 backend=- /);
});
