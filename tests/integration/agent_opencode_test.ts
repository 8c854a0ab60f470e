/**
 * opencode (the real `opencode`, pinned) through llmproxy, set up as README's "Use with your coding agent"
 * says: `~/.config/opencode/opencode.json` declares llmproxy as an `@ai-sdk/openai-compatible` provider with
 * the client key from the environment. opencode sends its own session id as `X-Session-Id` by itself, and
 * before the first turn of a session a title request that quotes the typed message (whose commands must not
 * run a second time). The OpenAI-compatible upstream (OpenRouter's wire format) is mocked behind the proxy.
 */
import assert from "node:assert/strict";
import { startTestProxy } from "../helpers.ts";
import { MockOpenAI } from "../mocks/openai_upstream.ts";
import {
  type AgentDirs,
  agentDirs,
  lastUserText,
  opencodeBinary,
  README_PROXY_URL,
  readmeBlock,
  runAgent,
  systemText,
} from "../support/coding_agents.ts";
import { VERSION } from "../../src/core/version.ts";

const CLIENT_KEY = "client-key-" + "o".repeat(24);

/** README's config file, for the proxy at `url`. */
async function config(url: string): Promise<string> {
  return (await readmeBlock("opencode", "json")).replaceAll(README_PROXY_URL, url);
}

/** What `opencode run --format json` printed: its session id and the answer's text. */
function answer(stdout: string): { session: string; text: string } {
  const events = stdout.split("\n").filter((l) => l.startsWith("{")).map((l) =>
    JSON.parse(l) as { sessionID?: string; type?: string; part?: { text?: string } }
  );
  return {
    session: events.find((e) => e.sessionID)?.sessionID ?? "",
    text: events.filter((e) => e.type === "text").map((e) => e.part?.text ?? "").join(""),
  };
}

async function setup() {
  const bin = await opencodeBinary();
  const mock = MockOpenAI.start();
  const proxy = await startTestProxy(["--openrouter-api-base-url", mock.url], {
    OPENROUTER_API_KEY: "sk-or-v1-" + "1".repeat(64),
    LLM_INTERACTIVE_PROXY_API_KEY: CLIENT_KEY,
  });
  const dirs: AgentDirs[] = [];
  /**
   * `opencode run --format json args…` with `message` on stdin (opencode quotes an argument that contains a
   * space), in a fresh home and workspace (or the given ones).
   */
  const opencode = async (
    message: string,
    args: string[] = [],
    at?: AgentDirs,
  ) => {
    const d = at ?? await agentDirs();
    if (!at) {
      dirs.push(d);
      await Deno.mkdir(`${d.home}/.config/opencode`, { recursive: true });
      await Deno.writeTextFile(`${d.home}/.config/opencode/opencode.json`, await config(proxy.url));
    }
    const run = await runAgent(bin, ["run", "--format", "json", ...args], {
      home: d.home,
      cwd: d.cwd,
      stdin: message,
      // Offline here: skip fetching the models.dev catalogue and the update check (each waits for the network).
      env: {
        LLMPROXY_API_KEY: CLIENT_KEY,
        OPENCODE_DISABLE_MODELS_FETCH: "1",
        OPENCODE_DISABLE_AUTOUPDATE: "1",
      },
    });
    assert.equal(
      run.code,
      0,
      `opencode run ${args.join(" ")} <<< ${message} failed:\n${run.stdout}\n${run.stderr}`,
    );
    return { ...answer(run.stdout), dirs: d };
  };
  return {
    mock,
    proxy,
    opencode,
    async close() {
      await proxy.close();
      await mock.close();
      for (const d of dirs) await d.remove();
    },
  };
}

Deno.test("opencode: a prompt reaches the model; a typed !/hello is answered by the proxy, in opencode's session", async () => {
  const t = await setup();
  try {
    const [plain, hello] = await Promise.all([t.opencode("say hi"), t.opencode("!/hello")]);
    assert.equal(plain.text, "Echo from openai/gpt-4o-mini: say hi");
    const turns = t.mock.chats.filter((r) => /^You are opencode\b/.test(systemText(r)));
    assert.equal(turns.length, 1, "one agent turn went upstream");
    assert.equal(lastUserText(turns[0]), "say hi");
    assert.equal(turns[0].body?.model, "openai/gpt-4o-mini");

    assert.match(hello.session, /^ses_/);
    assert.equal(
      hello.text.trim(),
      [
        `llmproxy ${VERSION}`,
        `Session: ${hello.session}`,
        "Functional backends: openrouter (1 key, 3 models)",
        "Type !/help for the list of commands.",
      ].join("\n"),
    );
    // Only opencode's title requests (which quote the typed text) reached the upstream with "!/hello".
    const quoting = t.mock.chats.filter((r) => lastUserText(r) === "!/hello");
    for (const r of quoting) assert.match(systemText(r), /^You are a title generator\b/);
  } finally {
    await t.close();
  }
});

Deno.test("opencode: commands run once (not again from the title request) and the session carries over (X-Session-Id)", async () => {
  const t = await setup();
  try {
    const first = await t.opencode(
      "!/create-failover-route(name=oc-route, policy=k) !/set(project=issue-18)",
    );
    assert.doesNotMatch(first.text, /Error/, first.text);
    assert.match(first.text, /^route oc-route created \(policy k\)/m);
    assert.match(first.text, /^project set to issue-18$/m);

    const next = await t.opencode("!/status", ["--session", first.session], first.dirs);
    assert.equal(next.session, first.session);
    assert.match(
      next.text,
      new RegExp(
        `^session: ${first.session} \\(client key LLM_INTERACTIVE_PROXY_API_KEY, admin\\), agent opencode$`,
        "m",
      ),
    );
    assert.match(next.text, /^project: issue-18$/m);
    assert.match(next.text, /^routes: oc-route \(policy k\)/m);
    assert.equal(t.mock.chats.filter((r) => /^You are opencode\b/.test(systemText(r))).length, 0);
  } finally {
    await t.close();
  }
});
