/**
 * The Cline CLI (the real `cline`, pinned) through llmproxy, set up as README's "Use with your coding agent"
 * says: `cline auth` with the `openai-compatible` provider, llmproxy's URL, the client key and the model, then
 * `headers` with `X-Session-ID` added to that provider's settings in `~/.cline/data/settings/providers.json`.
 * The OpenAI-compatible upstream (OpenRouter's wire format) is mocked behind the proxy.
 */
import assert from "node:assert/strict";
import { startTestProxy } from "../helpers.ts";
import { MockOpenAI } from "../mocks/openai_upstream.ts";
import {
  type AgentDirs,
  agentDirs,
  clineBinary,
  lastUserText,
  README_PROXY_URL,
  readmeBlock,
  runAgent,
  systemText,
} from "../support/coding_agents.ts";
import { VERSION } from "../../src/core/version.ts";

const CLIENT_KEY = "client-key-" + "c".repeat(24);
const PROVIDERS = ".cline/data/settings/providers.json";

async function setup() {
  const bin = await clineBinary();
  const mock = MockOpenAI.start();
  const proxy = await startTestProxy(["--openrouter-api-base-url", mock.url], {
    OPENROUTER_API_KEY: "sk-or-v1-" + "1".repeat(64),
    LLM_INTERACTIVE_PROXY_API_KEY: CLIENT_KEY,
  });
  const dirs: AgentDirs[] = [];
  const cline = async (args: string[], d: AgentDirs, stdin?: string) => {
    // Local sessions: by default the CLI starts a shared hub daemon (its own process group, a fixed port) that
    // would outlive the run and serve the next test's runs.
    const run = await runAgent(bin, args, {
      home: d.home,
      cwd: d.cwd,
      stdin,
      env: { CLINE_SESSION_BACKEND_MODE: "local" },
    });
    assert.equal(run.code, 0, `cline ${args.join(" ")} failed:\n${run.stdout}\n${run.stderr}`);
    return run;
  };
  // README's two steps: the `cline auth` command, then `headers` added to the settings it wrote.
  const auth = (await readmeBlock("Cline (the `cline` CLI)", "sh")).replaceAll(README_PROXY_URL, proxy.url)
    .replaceAll("<client key>", CLIENT_KEY).trim().split(/\s+/);
  assert.equal(auth.shift(), "cline");
  const fragment = (await readmeBlock("Cline (the `cline` CLI)", "json")).replaceAll(
    README_PROXY_URL,
    proxy.url,
  )
    .replaceAll("<client key>", CLIENT_KEY);
  const { settings: documented } = JSON.parse(`{${fragment}}`)["openai-compatible"] as {
    settings: Record<string, unknown> & { headers: Record<string, string> };
  };
  assert.deepEqual(Object.keys(documented.headers), ["X-Session-ID"]);
  /** A home set up as README says, sending `X-Session-ID: session`. */
  const home = async (session: string) => {
    const d = await agentDirs();
    dirs.push(d);
    await cline(auth, d);
    const file = JSON.parse(await Deno.readTextFile(`${d.home}/${PROVIDERS}`)) as {
      providers: Record<string, { settings: Record<string, unknown> }>;
    };
    const { headers: _, ...written } = documented;
    assert.deepEqual(
      file.providers["openai-compatible"].settings,
      written,
      "cline auth wrote what README shows",
    );
    file.providers["openai-compatible"].settings.headers = { "X-Session-ID": session };
    await Deno.writeTextFile(`${d.home}/${PROVIDERS}`, JSON.stringify(file, null, 2));
    return d;
  };
  return {
    mock,
    proxy,
    home,
    /** One task: `message` on stdin (the CLI refuses a one-word prompt argument such as `!/hello`). */
    task: async (message: string, d: AgentDirs) => (await cline([], d, message)).stdout,
    async close() {
      await proxy.close();
      await mock.close();
      for (const d of dirs) await d.remove();
    },
  };
}

Deno.test("Cline: a prompt reaches the model; a typed !/hello is answered by the proxy in the X-Session-ID session", async () => {
  const t = await setup();
  try {
    const session = `cline-${crypto.randomUUID()}`;
    const [a, b] = await Promise.all([t.home(`cline-${crypto.randomUUID()}`), t.home(session)]);
    const [plain, hello] = await Promise.all([t.task("say hi", a), t.task("!/hello", b)]);
    assert.equal(plain.trim(), "Echo from openai/gpt-4o-mini: say hi");
    assert.equal(t.mock.chats.length, 1, "only the plain prompt went upstream");
    const sent = t.mock.chats[0];
    assert.match(systemText(sent), /^You are Cline\b/);
    assert.equal(lastUserText(sent), "say hi");
    assert.equal(sent.body?.model, "openai/gpt-4o-mini");

    assert.equal(
      hello.trim(),
      [
        `llmproxy ${VERSION}`,
        `Session: ${session}`,
        "Functional backends: openrouter (1 key, 3 models)",
        "Type !/help for the list of commands.",
      ].join("\n"),
    );
  } finally {
    await t.close();
  }
});

Deno.test("Cline: a project set in one task shows in !/status of the next (same X-Session-ID)", async () => {
  const t = await setup();
  try {
    const session = `cline-${crypto.randomUUID()}`;
    const d = await t.home(session);
    assert.match(await t.task("!/set(project=issue-18)", d), /^project set to issue-18$/m);
    const status = await t.task("!/status", d);
    assert.match(
      status,
      new RegExp(
        `^session: ${session} \\(client key LLM_INTERACTIVE_PROXY_API_KEY, admin\\), agent cline$`,
        "m",
      ),
    );
    assert.match(status, /^project: issue-18$/m);
    assert.equal(t.mock.chats.length, 0, "commands never reached the upstream");
  } finally {
    await t.close();
  }
});
