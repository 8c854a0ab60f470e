/**
 * Qwen Code (the real `qwen`, pinned) through llmproxy, set up as README's "Use with your coding agent" says:
 * `~/.qwen/settings.json` names llmproxy as an OpenAI-compatible provider, the client key comes from the
 * variable its `envKey` names, and `customHeaders` sends Qwen Code's own session id as `X-Session-ID`.
 * The OpenAI-compatible upstream (OpenRouter's wire format) is mocked behind the proxy.
 */
import assert from "node:assert/strict";
import { startTestProxy } from "../helpers.ts";
import { MockOpenAI } from "../mocks/openai_upstream.ts";
import {
  type AgentDirs,
  agentDirs,
  lastUserText,
  qwenCodeBinary,
  README_PROXY_URL,
  readmeBlock,
  runAgent,
  systemText,
} from "../support/coding_agents.ts";
import { VERSION } from "../../src/core/version.ts";

const CLIENT_KEY = "client-key-" + "q".repeat(24);

/** README's settings file, for the proxy at `url`. */
async function settings(url: string): Promise<string> {
  return (await readmeBlock("Qwen Code", "json")).replaceAll(README_PROXY_URL, url);
}

async function setup() {
  const bin = await qwenCodeBinary();
  const mock = MockOpenAI.start();
  const proxy = await startTestProxy(["--openrouter-api-base-url", mock.url], {
    OPENROUTER_API_KEY: "sk-or-v1-" + "1".repeat(64),
    LLM_INTERACTIVE_PROXY_API_KEY: CLIENT_KEY,
  });
  const dirs: AgentDirs[] = [];
  /** Run `qwen args…` in a fresh home and workspace (or the given ones). */
  const qwen = async (args: string[], at?: AgentDirs) => {
    const d = at ?? await agentDirs();
    if (!at) {
      dirs.push(d);
      await Deno.mkdir(`${d.home}/.qwen`);
      await Deno.writeTextFile(`${d.home}/.qwen/settings.json`, await settings(proxy.url));
    }
    const run = await runAgent(bin, args, {
      home: d.home,
      cwd: d.cwd,
      env: { LLMPROXY_API_KEY: CLIENT_KEY },
    });
    assert.equal(run.code, 0, `qwen ${args.join(" ")} failed:\n${run.stdout}\n${run.stderr}`);
    return { ...run, dirs: d };
  };
  return {
    mock,
    proxy,
    qwen,
    async close() {
      await proxy.close();
      await mock.close();
      for (const d of dirs) await d.remove();
    },
  };
}

Deno.test("Qwen Code: a prompt reaches the model; a typed !/hello is answered by the proxy, in the session Qwen Code names", async () => {
  const t = await setup();
  try {
    const session = crypto.randomUUID();
    const [plain, hello] = await Promise.all([
      t.qwen(["say hi"]),
      t.qwen(["--session-id", session, "!/hello"]),
    ]);
    assert.match(plain.stdout, /^Echo from openai\/gpt-4o-mini: [\s\S]*say hi\s*$/);
    const asked = t.mock.chats.filter((r) => lastUserText(r).endsWith("say hi"));
    assert.equal(asked.length, 1, "one turn went upstream (no background memory request)");
    assert.equal(asked[0].body?.model, "openai/gpt-4o-mini");
    assert.match(systemText(asked[0]), /^You are Qwen Code\b/);

    // The banner, with the session id Qwen Code sent in X-Session-ID, reached Qwen Code's output.
    assert.equal(
      hello.stdout.trim(),
      [
        `llmproxy ${VERSION}`,
        `Session: ${session}`,
        "Functional backends: openrouter (1 key, 3 models)",
        "Type !/help for the list of commands.",
      ].join("\n"),
    );
    assert.equal(t.mock.chats.filter((r) => lastUserText(r).includes("!/hello")).length, 0);
    assert.equal(t.mock.chats.length, 1, "only the plain prompt reached the upstream");
  } finally {
    await t.close();
  }
});

Deno.test("Qwen Code: a project set in one run shows in !/status of the resumed session (X-Session-ID)", async () => {
  const t = await setup();
  try {
    const session = crypto.randomUUID();
    // Beside it, a run in a session of its own (Qwen Code's next id) does not see the project.
    const [set, other] = await Promise.all([
      t.qwen(["--session-id", session, "!/set(project=issue-18)"]),
      t.qwen(["--session-id", crypto.randomUUID(), "!/set(project=elsewhere)"]),
    ]);
    assert.match(set.stdout, /project set to issue-18/);
    assert.match(other.stdout, /project set to elsewhere/);
    const status = await t.qwen(["--resume", session, "!/status"], set.dirs);
    assert.match(
      status.stdout,
      new RegExp(
        `^session: ${session} \\(client key LLM_INTERACTIVE_PROXY_API_KEY, admin\\), agent qwen-code$`,
        "m",
      ),
    );
    assert.match(status.stdout, /^project: issue-18$/m);
    assert.equal(t.mock.chats.length, 0, "commands never reached the upstream");
  } finally {
    await t.close();
  }
});
