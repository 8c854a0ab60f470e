/**
 * The REAL Gemini CLI (pinned, from npm) as a CLIENT of llmproxy's Gemini front end (SPEC §17.3, issue 16):
 * `GOOGLE_GEMINI_BASE_URL` points at the proxy, `GEMINI_API_KEY` is the llmproxy client key. Behind the proxy:
 * the Gemini REST mock under three pooled keys, and an OpenAI-compatible mock that an alias sends the CLI's
 * `gemini-2.5-pro` to. The CLI runs of each test go in parallel where order does not matter (~2 s each).
 */
import assert from "node:assert/strict";
import { startTestProxy, type TestProxy } from "../helpers.ts";
import { MockGemini, quota429 } from "../mocks/gemini_upstream.ts";
import { MockOpenAI, sseResponse } from "../mocks/openai_upstream.ts";
import { makeClientHome, runGeminiCli } from "../support/gemini_cli_client.ts";

const CLIENT_KEY = "llmproxy-client-key-0123456789";
const G1 = "AIzaSy" + "1".repeat(33);
const G2 = "AIzaSy" + "2".repeat(33);
const G3 = "AIzaSy" + "3".repeat(33);

interface Setup {
  proxy: TestProxy;
  gemini: MockGemini;
  openai: MockOpenAI;
  home: string;
  cli(model: string, prompt: string): ReturnType<typeof runGeminiCli>;
  close(): Promise<void>;
}

async function setup(): Promise<Setup> {
  const gemini = MockGemini.start();
  const openai = MockOpenAI.start();
  const home = await makeClientHome();
  const config = `${home}/llmproxy.json`;
  await Deno.writeTextFile(
    config,
    JSON.stringify({ model_aliases: { "gemini-2.5-pro": "openrouter:openai/gpt-4o-mini" } }),
  );
  const proxy = await startTestProxy(["--config", config], {
    LLM_INTERACTIVE_PROXY_API_KEY: CLIENT_KEY,
    GEMINI_API_BASE_URL: gemini.url,
    GEMINI_API_KEY_1: G1,
    GEMINI_API_KEY_2: G2,
    GEMINI_API_KEY_3: G3,
    OPENROUTER_API_BASE_URL: openai.url,
    OPENROUTER_API_KEY: "sk-or-v1-" + "f".repeat(64),
    LLM_BACKEND: "gemini",
  });
  return {
    proxy,
    gemini,
    openai,
    home,
    cli: (model, prompt) => runGeminiCli({ home, baseUrl: proxy.url, apiKey: CLIENT_KEY, model, prompt }),
    async close() {
      await proxy.close();
      await gemini.close();
      await openai.close();
      await Deno.remove(home, { recursive: true }).catch(() => {});
    },
  };
}

function result(run: Awaited<ReturnType<typeof runGeminiCli>>): Record<string, unknown> {
  const r = run.events.find((e) => e.type === "result");
  assert.ok(r, `no result event; exit ${run.code}; stderr: ${run.stderr.slice(-1500)}`);
  return r;
}

Deno.test("Gemini CLI → llmproxy → gemini: a plain prompt passes through under a pooled key, the CLI's own tools included", async () => {
  const t = await setup();
  try {
    const run = await t.cli("gemini-2.5-flash", "what is the capital of France?");
    assert.equal(result(run).status, "success", run.stderr.slice(-1500));
    assert.equal(run.code, 0);
    assert.match(run.answer, /^Echo from gemini-2\.5-flash: /);
    assert.match(run.answer, /what is the capital of France\?/);

    assert.equal(t.gemini.generations.length, 1);
    const sent = t.gemini.generations[0];
    assert.equal(sent.path, "/v1beta/models/gemini-2.5-flash:streamGenerateContent");
    assert.equal(sent.search, "?alt=sse");
    assert.equal(sent.key, G1, "the pooled key goes upstream");
    assert.equal(JSON.stringify(sent).includes(CLIENT_KEY), false, "the client key never goes upstream");
    // Passed through: the CLI's own tools and generation settings arrive as the CLI wrote them.
    const tools = (sent.body?.tools as { functionDeclarations?: { name: string }[] }[])[0]
      .functionDeclarations!;
    assert.ok(tools.some((d) => d.name === "read_file"), JSON.stringify(tools.map((d) => d.name)));
    assert.ok((sent.body?.generationConfig as Record<string, unknown>).thinkingConfig);

    const log = await t.proxy.logText();
    assert.match(log, /POST \/v1beta\/models\/gemini-2\.5-flash:streamGenerateContent 200 backend=gemini/);
    assert.equal(log.includes(CLIENT_KEY), false);
  } finally {
    await t.close();
  }
});

Deno.test("Gemini CLI → llmproxy → gemini: one key out of its daily quota is skipped, the CLI is still served", async () => {
  const t = await setup();
  try {
    t.gemini.onGenerate = (req) =>
      req.key === G1 ? quota429("GenerateRequestsPerDayPerProjectPerModel-FreeTier", "30s") : undefined;
    // The first request starts on key 1, meets its 429 and is served by key 2 (the client sees nothing).
    const first = await t.cli("gemini-2.5-flash", "first");
    assert.equal(result(first).status, "success", first.stderr.slice(-1500));
    // Three more: round-robin would start one of them on key 1 again, but key 1 cools until midnight Pacific.
    const more = await Promise.all(["second", "third", "fourth"].map((p) => t.cli("gemini-2.5-flash", p)));
    for (const run of more) {
      assert.equal(result(run).status, "success", run.stderr.slice(-1500));
      assert.match(run.answer, /^Echo from gemini-2\.5-flash: /);
    }
    const byKey = (k: string) => t.gemini.generations.filter((r) => r.key === k).length;
    assert.equal(byKey(G1), 1, "the limited key was tried once, then left to cool");
    assert.equal(byKey(G2) + byKey(G3), 4);
    assert.ok(byKey(G2) >= 1 && byKey(G3) >= 1, "the remaining keys share the load");
    const health = await (await t.proxy.fetch("/health")).json();
    assert.equal(health.backends.gemini.cooling, 1);
  } finally {
    await t.close();
  }
});

Deno.test("Gemini CLI: !/hello is answered by llmproxy in Gemini's stream shape; the alias sends gemini-2.5-pro to an OpenAI-compatible model and back", async () => {
  const t = await setup();
  try {
    // The OpenAI-compatible upstream first calls one of the CLI's tools, then answers with text after the
    // tool's result comes back: a function call and its response make the round trip through translation.
    t.openai.onChat = (req) => {
      const messages = req.body?.messages as { role: string; content?: unknown }[];
      if (messages.some((m) => m.role === "tool")) {
        const result = String(messages.findLast((m) => m.role === "tool")!.content);
        return sseResponse([
          `data: ${
            JSON.stringify({
              id: "gen-2",
              object: "chat.completion.chunk",
              model: "openai/gpt-4o-mini",
              choices: [{
                index: 0,
                delta: { role: "assistant", content: `Listed: ${result.slice(0, 400)}` },
              }],
            })
          }`,
          `data: ${
            JSON.stringify({
              id: "gen-2",
              object: "chat.completion.chunk",
              model: "openai/gpt-4o-mini",
              choices: [{ index: 0, delta: {}, finish_reason: "stop" }],
              usage: { prompt_tokens: 30, completion_tokens: 4, total_tokens: 34 },
            })
          }`,
          "data: [DONE]",
        ]);
      }
      return sseResponse([
        `data: ${
          JSON.stringify({
            id: "gen-1",
            object: "chat.completion.chunk",
            model: "openai/gpt-4o-mini",
            choices: [{
              index: 0,
              delta: {
                role: "assistant",
                tool_calls: [{
                  index: 0,
                  id: "call_abc",
                  type: "function",
                  function: { name: "list_directory", arguments: '{"dir_path":' },
                }],
              },
            }],
          })
        }`,
        `data: ${
          JSON.stringify({
            id: "gen-1",
            object: "chat.completion.chunk",
            model: "openai/gpt-4o-mini",
            choices: [{ index: 0, delta: { tool_calls: [{ index: 0, function: { arguments: '"."}' } }] } }],
          })
        }`,
        `data: ${
          JSON.stringify({
            id: "gen-1",
            object: "chat.completion.chunk",
            model: "openai/gpt-4o-mini",
            choices: [{ index: 0, delta: {}, finish_reason: "tool_calls" }],
            usage: { prompt_tokens: 20, completion_tokens: 6, total_tokens: 26 },
          })
        }`,
        "data: [DONE]",
      ]);
    };
    const [hello, routed] = await Promise.all([
      t.cli("gemini-2.5-flash", "!/hello"),
      t.cli("gemini-2.5-pro", "list the files here"),
    ]);
    assert.equal(result(hello).status, "success", hello.stderr.slice(-1500));
    assert.match(hello.answer, /llmproxy/);
    assert.match(hello.answer, /!\/help/);
    assert.equal(t.gemini.generations.length, 0, "a command is answered locally, never upstream");

    assert.equal(result(routed).status, "success", routed.stderr.slice(-1500));
    assert.match(routed.answer, /^Listed: /, routed.answer);
    assert.equal(t.openai.chats.length, 2);
    const [call, answer] = t.openai.chats.map((r) => r.body!);
    assert.equal(call.model, "openai/gpt-4o-mini");
    assert.equal(call.stream, true);
    const messages = call.messages as { role: string; content: unknown }[];
    assert.equal(messages[0].role, "system", "systemInstruction became the system message");
    assert.match(String(messages[0].content), /CLI agent/);
    const tools = call.tools as { type: string; function: { name: string; parameters: { type: string } } }[];
    const list = tools.find((x) => x.function.name === "list_directory");
    assert.equal(list?.type, "function");
    assert.equal(list?.function.parameters.type, "object");
    // The second call carries the model's tool call and the CLI's functionResponse as a tool message.
    const second = answer.messages as {
      role: string;
      tool_calls?: { id: string }[];
      tool_call_id?: string;
    }[];
    const assistant = second.find((m) => m.role === "assistant" && m.tool_calls?.length)!;
    const tool = second.find((m) => m.role === "tool")!;
    assert.equal(tool.tool_call_id, assistant.tool_calls![0].id);
  } finally {
    await t.close();
  }
});
