/**
 * The real Codex CLI (pinned, tests/support/codex.ts) through llmproxy's Responses front end (SPEC §17.2), with
 * Codex's default configuration (its built-in `web_search` and `namespace` tools declared), on the
 * OpenAI-compatible (OpenRouter-shaped) mock and on the Gemini mock: plain answers, `!/hello` answered by the
 * proxy, a session override steering the next run, and a tool loop where Codex runs the shell command a
 * Chat-form (or Gemini) tool call asked for and the next request carries its output back.
 */
import assert from "node:assert/strict";
import { echoEvents, MockOpenAI, type Recorded, sseResponse } from "../mocks/openai_upstream.ts";
import { geminiAnswer, geminiSse, MockGemini, usageMeta } from "../mocks/gemini_upstream.ts";
import { startTestProxy } from "../helpers.ts";
import { runCodex } from "../support/codex.ts";

const KEY = "sk-or-v1-" + "3".repeat(64);
const GKEY = "AIza" + "C".repeat(35);
const MARKER = "marker-7f3a9c";

async function withProxy(
  fn: (url: string, openrouter: MockOpenAI, gemini: MockGemini) => Promise<void>,
): Promise<void> {
  const openrouter = MockOpenAI.start();
  const gemini = MockGemini.start();
  const proxy = await startTestProxy(
    ["--openrouter-api-base-url", openrouter.url, "--gemini-api-base-url", gemini.url],
    { OPENROUTER_API_KEY: KEY, GEMINI_API_KEY: GKEY, LLM_INTERACTIVE_PROXY_API_KEY: "codex-client-key" },
  );
  try {
    await fn(proxy.url, openrouter, gemini);
  } finally {
    await proxy.close();
    await openrouter.close();
    await gemini.close();
  }
}

const messagesOf = (r: Recorded) =>
  r.body?.messages as { role: string; content: unknown; tool_call_id?: string }[];

/** A Chat tool call asking Codex to run `cmd` with its `exec_command` tool. */
function toolCallSse(cmd: string): Response {
  const base = { id: "gen-tool", object: "chat.completion.chunk", created: 1, model: "mock" };
  return sseResponse([
    `data: ${
      JSON.stringify({
        ...base,
        choices: [{ index: 0, delta: { role: "assistant", content: null }, finish_reason: null }],
      })
    }`,
    `data: ${
      JSON.stringify({
        ...base,
        choices: [{
          index: 0,
          delta: {
            tool_calls: [{
              index: 0,
              id: "call_codex_1",
              type: "function",
              function: { name: "exec_command", arguments: JSON.stringify({ cmd }) },
            }],
          },
          finish_reason: null,
        }],
      })
    }`,
    `data: ${JSON.stringify({ ...base, choices: [{ index: 0, delta: {}, finish_reason: "tool_calls" }] })}`,
    `data: ${
      JSON.stringify({
        ...base,
        choices: [],
        usage: { prompt_tokens: 9, completion_tokens: 3, total_tokens: 12 },
      })
    }`,
    "data: [DONE]",
  ]);
}

Deno.test("codex: exec with its default tools answers through an OpenAI-compatible upstream", async () => {
  await withProxy(async (url, openrouter) => {
    const r = await runCodex({
      proxyUrl: url,
      key: "codex-client-key",
      model: "openrouter:openai/gpt-4o-mini",
      prompt: "say hi",
    });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /Echo from openai\/gpt-4o-mini: say hi/);
    assert.equal(openrouter.chats.length, 1);
    const sent = openrouter.chats[0];
    assert.equal(sent.key, KEY);
    const messages = messagesOf(sent);
    assert.equal(messages[0].role, "system", "Codex's developer message becomes a system message");
    assert.match(String(messages[0].content), /Codex/);
    assert.deepEqual(messages.at(-1), { role: "user", content: "say hi" });
    const tools = (sent.body?.tools as { function: { name: string } }[]).map((t) => t.function.name);
    assert.ok(tools.includes("exec_command"), tools.join());
    assert.ok(tools.includes("spawn_agent"), "the sub-agent namespace is flattened into functions");
    for (const f of ["store", "include", "prompt_cache_key", "client_metadata", "input", "reasoning"]) {
      assert.equal(f in sent.body!, false, `${f} is not forwarded`);
    }
  });
});

Deno.test("codex: exec answers through the Gemini translation", async () => {
  await withProxy(async (url, _openrouter, gemini) => {
    const r = await runCodex({
      proxyUrl: url,
      key: "codex-client-key",
      model: "gemini:gemini-2.5-flash",
      prompt: "say hi",
    });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /Echo from gemini-2\.5-flash: .*say hi/);
    const sent = gemini.generations[0].body!;
    assert.match(JSON.stringify(sent.systemInstruction), /Codex/);
  });
});

Deno.test("codex: !/hello is answered by the proxy, and a session override steers the next run", async () => {
  await withProxy(async (url, openrouter) => {
    const session = { "X-Session-ID": "codex-session-1" };
    const hello = await runCodex({
      proxyUrl: url,
      key: "codex-client-key",
      model: "openrouter:m",
      prompt: "!/hello",
      headers: session,
    });
    assert.equal(hello.code, 0, hello.stderr);
    assert.match(hello.stdout, /Session: codex-session-1/);
    const set = await runCodex({
      proxyUrl: url,
      key: "codex-client-key",
      model: "openrouter:m",
      prompt: "!/set(model=openrouter:openai/gpt-4o-mini)",
      headers: session,
    });
    assert.equal(set.code, 0, set.stderr);
    assert.doesNotMatch(set.stdout, /Error/);
    assert.equal(openrouter.chats.length, 0, "commands never reach the model");
    const next = await runCodex({
      proxyUrl: url,
      key: "codex-client-key",
      model: "openrouter:m",
      prompt: "go",
      headers: session,
    });
    assert.equal(next.code, 0, next.stderr);
    assert.equal(openrouter.chats[0].body?.model, "openai/gpt-4o-mini", "the session's model override wins");
    assert.match(next.stdout, /Echo from openai\/gpt-4o-mini: go/);
  });
});

Deno.test("codex: a tool loop runs the shell command an OpenAI-compatible upstream asked for and sends its output back", async () => {
  await withProxy(async (url, openrouter) => {
    openrouter.onChat = (req) => {
      const tool = messagesOf(req).find((m) => m.role === "tool");
      if (!tool) return toolCallSse("cat marker.txt");
      return sseResponse(
        echoEvents("mock", `Tool said: ${String(tool.content).includes(MARKER) ? MARKER : "nothing"}`, {
          usage: true,
        }),
      );
    };
    const r = await runCodex({
      proxyUrl: url,
      key: "codex-client-key",
      model: "openrouter:openai/gpt-4o-mini",
      prompt: "show me marker.txt",
      files: { "marker.txt": `${MARKER}\n` },
      allowCommands: true,
    });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(openrouter.chats.length, 2, "the call and the follow-up with the tool's output");
    const follow = messagesOf(openrouter.chats[1]);
    const call = follow.find((m) =>
      m.role === "assistant" && Array.isArray((m as { tool_calls?: unknown[] }).tool_calls)
    );
    assert.ok(call, "the assistant's tool call is in the history");
    const result = follow.find((m) => m.role === "tool")!;
    assert.equal(result.tool_call_id, "call_codex_1");
    assert.match(String(result.content), new RegExp(MARKER), "Codex ran the command and sent its output");
    assert.match(r.stdout, new RegExp(`Tool said: ${MARKER}`));
  });
});

Deno.test("codex: a tool loop through the Gemini translation", async () => {
  await withProxy(async (url, _openrouter, gemini) => {
    gemini.onGenerate = (req) => {
      if (JSON.stringify(req.body).includes("functionResponse")) return undefined; // the echo reports the results
      return geminiSse([
        geminiAnswer(
          [{ functionCall: { name: "exec_command", args: { cmd: "cat marker.txt" } } }],
          "STOP",
          usageMeta(20, 5),
        ),
      ]);
    };
    const r = await runCodex({
      proxyUrl: url,
      key: "codex-client-key",
      model: "gemini:gemini-2.5-flash",
      prompt: "show me marker.txt",
      files: { "marker.txt": `${MARKER}\n` },
      allowCommands: true,
    });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(gemini.generations.length, 2);
    const response = JSON.stringify(gemini.generations[1].body);
    assert.match(response, /functionResponse/);
    assert.match(response, new RegExp(MARKER));
    assert.match(r.stdout, /Tool results for gemini-2\.5-flash/);
  });
});
