/**
 * The real Claude Code (pinned, from npm) through llmproxy's Messages front end (SPEC §17.1), headless and
 * offline against mocked upstreams: a plain task on an OpenAI-compatible (OpenRouter-shaped) mock and on the
 * Gemini mock, `!/hello` answered by the proxy, `!/set(model=…)` in one run steering the next run of the same
 * session, and a multi-step tool task — Claude Code writes a file through a tool call the upstream returned —
 * on OpenRouter-, Gemini- and Anthropic-shaped upstreams (the last passed through).
 */
import assert from "node:assert/strict";
import { startTestProxy, type TestProxy } from "../helpers.ts";
import { MockOpenAI, sseResponse } from "../mocks/openai_upstream.ts";
import {
  geminiAnswer,
  geminiSse,
  type GenerateScript,
  googleError,
  MockGemini,
} from "../mocks/gemini_upstream.ts";
import { messageEvents, MockAnthropic } from "../mocks/anthropic_upstream.ts";
import { type ClaudeResult, runClaude } from "../support/claude_code.ts";

const CLIENT_KEY = "llmproxy-claude-code-test-key";
const FILE_TEXT = "written by Claude Code through llmproxy";

async function withProxy(
  env: Record<string, string>,
  fn: (p: TestProxy) => Promise<void>,
  args: string[] = [],
): Promise<void> {
  const p = await startTestProxy(args, { LLM_INTERACTIVE_PROXY_API_KEY: CLIENT_KEY, ...env });
  try {
    await fn(p);
  } finally {
    await p.close();
  }
}

/** Run Claude Code against the proxy and expect success. */
async function claude(p: TestProxy, prompt: string, more: Partial<Parameters<typeof runClaude>[0]> = {}) {
  const r = await runClaude({ baseUrl: p.url, apiKey: CLIENT_KEY, prompt, ...more });
  assert.equal(r.result?.is_error, false, `claude failed: ${r.stdout}\n${r.stderr}`);
  return r as ClaudeResult & { result: { result: string } };
}

/** The last user turn's text of a Chat request (what Claude Code typed, among its reminders). */
function lastUserText(body: Record<string, unknown> | undefined): string {
  const msgs = (body?.messages ?? []) as { role: string; content: unknown }[];
  const last = msgs.findLast((m) => m.role === "user");
  return JSON.stringify(last?.content ?? "");
}

Deno.test("claude code: a plain task on an OpenAI-compatible upstream (claude-* aliased), with its real request", async () => {
  const or = MockOpenAI.start();
  const dir = await Deno.makeTempDir();
  await Deno.writeTextFile(
    `${dir}/config.json`,
    JSON.stringify({ model_aliases: { "claude-*": "openrouter:openai/gpt-4o-mini" } }),
  );
  try {
    await withProxy(
      { OPENROUTER_API_KEY: "sk-or-v1-" + "c".repeat(64), OPENROUTER_API_BASE_URL: or.url },
      async (p) => {
        const r = await claude(p, "say hi");
        assert.match(r.result.result, /Echo from openai\/gpt-4o-mini: .*say hi/s);
        const sent = or.chats.at(-1)!.body!;
        assert.equal(sent.model, "openai/gpt-4o-mini");
        assert.equal(sent.stream, true);
        assert.ok((sent.tools as unknown[]).length >= 5, "Claude Code's tools reach the upstream");
        assert.match(lastUserText(sent), /say hi/);
        // Bearer (ANTHROPIC_AUTH_TOKEN) works too.
        const viaToken = await claude(p, "token please", { bearer: true });
        assert.match(viaToken.result.result, /token please/);
      },
      ["--config", `${dir}/config.json`],
    );
  } finally {
    await or.close();
    await Deno.remove(dir, { recursive: true });
  }
});

/**
 * Script `gemini` to refuse, as the real API does, a function declaration whose schema holds a keyword Gemini
 * does not take (Claude Code's tools all carry `$schema` and `additionalProperties`); otherwise `next`.
 */
function strictSchemas(gemini: MockGemini, next?: GenerateScript): void {
  gemini.onGenerate = (req, n) => {
    const tools = JSON.stringify(req.body?.tools ?? []);
    const bad = /"(\$schema|additionalProperties|propertyNames|exclusiveMinimum)":/.exec(tools);
    if (bad) {
      return googleError(400, "INVALID_ARGUMENT", `Invalid JSON payload received. Unknown name "${bad[1]}"`);
    }
    return next?.(req, n);
  };
}

Deno.test("claude code: a plain task on Gemini (its tool schemas cleaned); !/hello is answered by the proxy", async () => {
  const gemini = MockGemini.start();
  try {
    strictSchemas(gemini);
    await withProxy(
      { GEMINI_API_KEY: "AIza" + "k".repeat(35), GEMINI_API_BASE_URL: gemini.url },
      async (p) => {
        const r = await claude(p, "hello from claude", { model: "gemini:gemini-2.5-flash" });
        assert.match(r.result.result, /Echo from gemini-2.5-flash: .*hello from claude/s);
        const sent = gemini.generations.at(-1)!.body!;
        assert.ok(sent.systemInstruction, "Claude Code's system prompt is Gemini's systemInstruction");
        const before = gemini.generations.length;
        const hello = await claude(p, "!/hello", { model: "gemini:gemini-2.5-flash" });
        assert.match(hello.result.result, /llmproxy/);
        assert.equal(gemini.generations.length, before, "the command never went upstream");
      },
    );
  } finally {
    await gemini.close();
  }
});

Deno.test("claude code: !/set(model=…) in one run steers the next run of the same session", async () => {
  const or = MockOpenAI.start();
  try {
    await withProxy(
      { OPENROUTER_API_KEY: "sk-or-v1-" + "d".repeat(64), OPENROUTER_API_BASE_URL: or.url },
      async (p) => {
        const session = ["X-Session-ID: cc-session-1"];
        const set = await claude(p, "!/set(model=openrouter:google/gemini-2.5-flash)", {
          model: "claude-opus-5-5",
          headers: session,
        });
        assert.match(set.result.result, /model/);
        assert.equal(or.chats.length, 0);
        await claude(p, "next run", { model: "claude-opus-5-5", headers: session });
        assert.equal(or.chats.at(-1)!.body!.model, "google/gemini-2.5-flash");
        await claude(p, "other session", {
          model: "claude-opus-5-5",
          headers: ["X-Session-ID: cc-session-2"],
        });
        assert.equal(or.chats.at(-1)!.body!.model, "claude-opus-5-5");
      },
    );
  } finally {
    await or.close();
  }
});

/** Run the tool task: Claude Code should write FILE_TEXT to `<workspace>/out.txt`. */
async function toolTask(p: TestProxy, model: string, fileFor: (path: string) => void): Promise<string> {
  const workspace = await Deno.makeTempDir({ prefix: "llmproxy-claude-ws-" });
  try {
    const path = `${workspace}/out.txt`;
    fileFor(path);
    const r = await claude(p, `write "${FILE_TEXT}" to out.txt`, {
      model,
      workspace,
      args: ["--allowedTools", "Write"],
      timeoutMs: 90_000,
    });
    assert.equal(
      await Deno.readTextFile(path),
      FILE_TEXT,
      "Claude Code ran the Write tool the upstream asked for",
    );
    return r.result.result;
  } finally {
    await Deno.remove(workspace, { recursive: true });
  }
}

Deno.test("claude code: a tool task on an OpenAI-compatible upstream (the tool call in Chat form)", async () => {
  const or = MockOpenAI.start();
  try {
    await withProxy(
      { OPENROUTER_API_KEY: "sk-or-v1-" + "e".repeat(64), OPENROUTER_API_BASE_URL: or.url },
      async (p) => {
        let path = "";
        or.onChat = (req) => {
          const msgs = req.body!.messages as { role: string; tool_call_id?: string; content?: unknown }[];
          const result = msgs.find((m) => m.role === "tool");
          const chunks = result ? [{ content: `Done: ${JSON.stringify(result.content)}` }] : [
            { content: "I will write the file." },
            {
              tool_calls: [{
                index: 0,
                id: "call_write_1",
                type: "function",
                function: { name: "Write", arguments: "" },
              }],
            },
            {
              tool_calls: [{
                index: 0,
                function: { arguments: JSON.stringify({ file_path: path, content: FILE_TEXT }) },
              }],
            },
          ];
          return sseResponse([
            ...chunks.map((d) =>
              `data: ${
                JSON.stringify({
                  id: "g",
                  object: "chat.completion.chunk",
                  model: "m",
                  choices: [{ index: 0, delta: d }],
                })
              }`
            ),
            `data: ${
              JSON.stringify({
                id: "g",
                object: "chat.completion.chunk",
                model: "m",
                choices: [{ index: 0, delta: {}, finish_reason: result ? "stop" : "tool_calls" }],
              })
            }`,
            "data: [DONE]",
          ]);
        };
        const answer = await toolTask(p, "openrouter:openai/gpt-4o-mini", (f) => (path = f));
        assert.match(answer, /^Done: /);
        const second = or.chats.at(-1)!.body!.messages as { role: string; tool_call_id?: string }[];
        assert.ok(second.some((m) => m.role === "tool" && m.tool_call_id === "call_write_1"));
      },
    );
  } finally {
    await or.close();
  }
});

Deno.test("claude code: a tool task on Gemini", async () => {
  const gemini = MockGemini.start();
  try {
    await withProxy(
      { GEMINI_API_KEY: "AIza" + "m".repeat(35), GEMINI_API_BASE_URL: gemini.url },
      async (p) => {
        let path = "";
        strictSchemas(gemini, (req) => {
          const contents = req.body!.contents as { parts: Record<string, unknown>[] }[];
          const answered = contents.some((c) => c.parts.some((x) => x.functionResponse));
          return geminiSse([
            answered ? geminiAnswer([{ text: "All written." }]) : geminiAnswer([{
              functionCall: { name: "Write", args: { file_path: path, content: FILE_TEXT } },
              thoughtSignature: "Z2VtaW5pLXNpZw==",
            }]),
          ]);
        });
        assert.equal(await toolTask(p, "gemini:gemini-2.5-flash", (f) => (path = f)), "All written.");
        const last = gemini.generations.at(-1)!.body!.contents as { parts: Record<string, unknown>[] }[];
        const call = last.flatMap((c) => c.parts).find((x) => x.functionCall);
        assert.equal(
          call?.thoughtSignature,
          "Z2VtaW5pLXNpZw==",
          "the thought signature came back through Claude Code",
        );
      },
    );
  } finally {
    await gemini.close();
  }
});

Deno.test("claude code: a tool task through the anthropic provider (pass-through)", async () => {
  const mock = MockAnthropic.start();
  try {
    await withProxy(
      { ANTHROPIC_API_KEY: "sk-ant-api03-" + "9".repeat(40), ANTHROPIC_API_BASE_URL: mock.url },
      async (p) => {
        let path = "";
        mock.onMessages = (req) => {
          const msgs = req.body!.messages as { content: unknown }[];
          const answered = JSON.stringify(msgs).includes('"tool_result"');
          const model = String(req.body!.model);
          return sseResponse(
            answered ? messageEvents(model, "The file is written.") : messageEvents(model, "Writing.", {
              id: "toolu_write_1",
              name: "Write",
              input: { file_path: path, content: FILE_TEXT },
            }),
          );
        };
        assert.equal(
          await toolTask(p, "anthropic:claude-sonnet-4-5", (f) => (path = f)),
          "The file is written.",
        );
        const first = mock.messages[0];
        assert.ok(
          first.headers["anthropic-beta"]?.includes("claude-code"),
          "Claude Code's betas are forwarded",
        );
        assert.ok(first.body!.context_management, "fields only Anthropic uses pass through");
      },
    );
  } finally {
    await mock.close();
  }
});
