/**
 * gemini-cli-direct against the REAL Gemini CLI (pinned, installed by tests/support) talking to a mock
 * Gemini REST server, through the proxy with the real OpenAI SDK (reference/gemini-cli-testing.md).
 * Each test runs its CLI calls in parallel to keep the ~1–2 s start-up cost down.
 */
import assert from "node:assert/strict";
import { startTestProxy } from "../helpers.ts";
import { geminiError, geminiSse, lastUserText, MockGemini, textChunk } from "../mocks/gemini_cli_upstream.ts";
import { cliProxyEnv, cliRecords, eventually, geminiCliBinary, makeCliHome } from "../support/gemini_cli.ts";

const SECRET = "sk-or-v1-" + "ab".repeat(32);

async function setup(extraArgs: string[] = []) {
  const bin = await geminiCliBinary();
  const mock = MockGemini.start();
  const home = await makeCliHome();
  const proxy = await startTestProxy(
    ["--disable-auth", "--gemini-cli-path", bin, "--default-backend", "gemini-cli-direct", ...extraArgs],
    { ...cliProxyEnv(home, mock.url), OPENROUTER_API_KEY: SECRET },
  );
  return {
    mock,
    home,
    proxy,
    async close() {
      await proxy.close();
      await mock.close();
      await Deno.remove(home, { recursive: true }).catch(() => {});
    },
  };
}

Deno.test("real CLI: non-streaming answers, carry the system prompt, sampling and redaction, and leave nothing behind", async () => {
  const t = await setup();
  try {
    const client = t.proxy.client();
    const [withSystem, plain] = await Promise.all([
      client.chat.completions.create({
        model: "gemini-cli-direct:gemini-2.5-flash",
        messages: [
          { role: "system", content: "You are a pirate. Say arr." },
          { role: "user", content: `my key is ${SECRET} ok` },
        ],
        temperature: 0.3,
        top_p: 0.7,
        max_tokens: 77,
        stop: ["END"],
      }).withResponse(),
      client.chat.completions.create({
        model: "gemini-2.5-flash-lite",
        messages: [
          { role: "user", content: "first question" },
          { role: "assistant", content: "first answer" },
          { role: "user", content: "second question" },
        ],
      }),
    ]);
    const res = withSystem.data;
    assert.equal(res.object, "chat.completion");
    assert.equal(res.choices[0].finish_reason, "stop");
    assert.equal(res.choices[0].message.content, "Echo: my key is (API_KEY_HAS_BEEN_REDACTED) ok");
    assert.equal(res.usage?.prompt_tokens, 11);
    assert.ok((res.usage?.completion_tokens ?? 0) > 0);
    assert.equal(withSystem.response.headers.get("x-llmproxy-backend"), "gemini-cli-direct");
    assert.equal(withSystem.response.headers.get("x-llmproxy-model"), "gemini-cli-direct:gemini-2.5-flash");
    assert.equal(withSystem.response.headers.get("x-llmproxy-redactions"), "1");

    assert.equal(t.mock.requests.length, 2);
    const sent = t.mock.requests.find((r) => r.path.includes("models/gemini-2.5-flash:"))!;
    assert.equal(sent.path, "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse");
    assert.equal(sent.headers["x-goog-api-key"], "dummy");
    const system = sent.body?.systemInstruction?.parts?.map((p) => p.text).join("") ?? "";
    assert.match(system, /^You are a pirate\. Say arr\./);
    assert.doesNotMatch(system, /Gemini CLI/, "the CLI's own agent prompt is not used");
    const gen = sent.body?.generationConfig ?? {};
    assert.equal(gen.temperature, 0.3);
    assert.equal(gen.topP, 0.7);
    assert.equal(gen.maxOutputTokens, 77);
    assert.deepEqual(gen.stopSequences, ["END"]);
    assert.equal(JSON.stringify(sent.body).includes(SECRET), false, "the key never reaches the CLI");
    assert.equal(
      sent.body?.tools === undefined || JSON.stringify(sent.body.tools) === '[{"functionDeclarations":[]}]',
      true,
    );

    const other = t.mock.requests.find((r) => r.path.includes("models/gemini-2.5-flash-lite:"))!;
    assert.equal(
      lastUserText(other.body),
      "User:\nfirst question\n\nAssistant:\nfirst answer\n\nUser:\nsecond question",
    );
    assert.equal(plain.choices[0].message.content, `Echo: ${lastUserText(other.body)}`);
    const neutral = other.body?.systemInstruction?.parts?.map((p) => p.text).join("") ?? "";
    assert.match(neutral, /^You are a helpful assistant\./);

    await eventually(async () =>
      assert.deepEqual(await cliRecords(t.home), [], "no chat recordings or project records pile up")
    );

    const ids = (await client.models.list()).data.map((m) => m.id);
    for (const m of ["gemini-2.5-pro", "gemini-2.5-flash", "gemini-2.5-flash-lite"]) {
      assert.ok(ids.includes(`gemini-cli-direct:${m}`), m);
    }
    const health = await (await t.proxy.fetch("/health")).json();
    assert.deepEqual(health.backends["gemini-cli-direct"], {
      functional: true,
      keys: 0,
      models: 3,
      cooling: 0,
      disabled: 0,
    });
  } finally {
    await t.close();
  }
});

Deno.test("real CLI: streaming delivers each delta as a chunk, usage on request; 429 and 500 map to 429 and 502", async () => {
  const t = await setup();
  t.mock.onGenerate = (req) => {
    const prompt = lastUserText(req.body);
    if (prompt === "rate me") return geminiError(429, "Resource has been exhausted (e.g. check quota).");
    if (prompt === "break me") return geminiError(500, "Internal error encountered.", "INTERNAL");
    if (prompt === "block me") {
      return geminiSse([{
        candidates: [{ finishReason: "SAFETY", index: 0 }],
        modelVersion: "gemini-2.5-flash",
      }]);
    }
    return geminiSse([
      textChunk("one "),
      textChunk("two "),
      {
        ...textChunk("three", "STOP"),
        usageMetadata: { promptTokenCount: 5, candidatesTokenCount: 3, totalTokenCount: 8 },
      },
    ], 50);
  };
  try {
    const client = t.proxy.client();
    const streamed = (async () => {
      const stream = await client.chat.completions.create({
        model: "gemini-2.5-flash",
        messages: [{ role: "user", content: "count" }],
        stream: true,
        stream_options: { include_usage: true },
      });
      const deltas: string[] = [];
      let finish: string | null = null;
      let usage: unknown;
      let role: string | undefined;
      for await (const chunk of stream) {
        role ??= chunk.choices[0]?.delta?.role;
        if (chunk.choices[0]?.delta?.content) deltas.push(chunk.choices[0].delta.content);
        finish = chunk.choices[0]?.finish_reason ?? finish;
        if (chunk.usage) usage = chunk.usage;
      }
      return { deltas, finish, usage, role };
    })();
    const status = (content: string) =>
      client.chat.completions.create({ model: "gemini-2.5-flash", messages: [{ role: "user", content }] })
        .then(() => 200, (e) => ({ status: e.status, code: e.code, message: String(e.message) }));
    const [s, limited, broken, blocked] = await Promise.all([
      streamed,
      status("rate me"),
      status("break me"),
      client.chat.completions.create({
        model: "gemini-2.5-flash",
        messages: [{ role: "user", content: "block me" }],
      }),
    ]);
    assert.deepEqual(s.deltas, ["one ", "two ", "three"]);
    assert.equal(s.role, "assistant");
    assert.equal(s.finish, "stop");
    assert.deepEqual(s.usage, { prompt_tokens: 5, completion_tokens: 3, total_tokens: 8 });
    assert.equal(typeof limited === "object" && limited.status, 429);
    assert.match(typeof limited === "object" ? limited.message : "", /rate-limited/);
    assert.equal(typeof broken === "object" && broken.status, 502);
    assert.equal(typeof broken === "object" && broken.code, "upstream_error");
    assert.equal(blocked.choices[0].finish_reason, "content_filter");
    await eventually(async () => assert.deepEqual(await cliRecords(t.home), []));
  } finally {
    await t.close();
  }
});
