/** SPEC §19 "Terminal output": client text never reaches a terminal as control characters. */
import assert from "node:assert/strict";
import { MockOpenAI } from "../mocks/openai_upstream.ts";
import { runMain, startTestProxy } from "../helpers.ts";
import { ask } from "./commands_helpers.ts";

const ADMIN = "admin-client-key-000001";
const USER = "user-client-key-0000002";
/** Retitle the terminal, clear it, and an 8-bit CSI (C1) colour change. */
const HOSTILE = "\x1b]0;PWNED\x07\x1b[2J\x9b31mred\x7f";
const ESCAPED = "\\x1b]0;PWNED\\x07\\x1b[2J\\x9b31mred\\x7f";
/** The first raw control character other than a line break, if any. */
const rawControl = (text: string) =>
  [...text].find((c) => {
    const n = c.charCodeAt(0);
    return (n < 0x20 && n !== 10) || (n >= 0x7f && n <= 0x9f);
  });

Deno.test("a hostile project name is printed escaped by `llmproxy usage`, in logs and in the audit log", async () => {
  const mock = MockOpenAI.start();
  const dir = await Deno.makeTempDir();
  const p = await startTestProxy(
    ["--kv", `${dir}/s.kv`, "--openrouter-api-base-url", mock.url, "--audit-log", `${dir}/audit.jsonl`],
    {
      OPENROUTER_API_KEY: "sk-or-v1-" + "1".repeat(64),
      LLM_INTERACTIVE_PROXY_API_KEY_1: ADMIN,
      LLM_INTERACTIVE_PROXY_API_KEY_2: USER,
    },
  );
  try {
    // A non-admin key may name its session's project (session scope): the text is stored as given.
    const set = await ask(p, `!/set(project="${HOSTILE}")`, { key: USER, session: "s1" });
    assert.match(set.content!, /project set to/);
    await ask(p, "hello", { key: USER, session: "s1", model: "openrouter:a/b" });
    // And a model name with the same bytes, for the request log line.
    await p.client(USER).chat.completions.create({
      model: `nosuch:${HOSTILE}`,
      messages: [{ role: "user", content: "x" }],
    }).catch(() => {});
    await p.ctx.usage.flush();
    const cli = await runMain(["usage", "--by", "project", "--kv", `${dir}/s.kv`], { env: { HOME: dir } });
    assert.equal(cli.code, 0, cli.stderr);
    assert.ok(cli.stdout.includes(ESCAPED), cli.stdout);
    assert.equal(rawControl(cli.stdout), undefined, "no raw control character reaches the terminal");
  } finally {
    await p.close();
    await mock.close();
  }
  try {
    const logText = await p.logText();
    assert.ok(logText.includes(ESCAPED), logText);
    assert.equal(rawControl(logText), undefined);
    const audit = await Deno.readTextFile(`${dir}/audit.jsonl`);
    assert.ok(audit.includes("PWNED"));
    assert.equal(rawControl(audit), undefined);
    for (const line of audit.trim().split("\n")) JSON.parse(line); // still JSON lines
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
