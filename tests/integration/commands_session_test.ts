import assert from "node:assert/strict";
import { MockOpenAI } from "../mocks/openai_upstream.ts";
import { startTestProxy } from "../helpers.ts";
import { ask, MODES, OR_KEY, setup } from "./commands_helpers.ts";

Deno.test("a session persists across a proxy restart with the same --kv file", async () => {
  const mock = MockOpenAI.start();
  const dir = await Deno.makeTempDir({ prefix: "llmproxy-kv-" });
  const kv = `${dir}/store.kv`;
  // startTestProxy puts `--kv :memory:` first; the later --kv must win (node parseArgs: last one wins).
  const args = ["--disable-auth", "--openrouter-api-base-url", mock.url, "--kv", kv];
  try {
    let proxy = await startTestProxy(args, { OPENROUTER_API_KEY: OR_KEY });
    await proxy.ctx.registry.refresh("openrouter");
    await ask(proxy, "!/set(project=kept, model=openrouter:google/gemini-2.5-flash)", { session: "persist" });
    await proxy.close();
    assert.ok((await Deno.stat(kv)).isFile, "the store file was written");

    proxy = await startTestProxy(args, { OPENROUTER_API_KEY: OR_KEY });
    try {
      const st = await ask(proxy, "!/status", { session: "persist" });
      assert.match(st.content!, /^project: kept$/m);
      assert.match(st.content!, /^model override: openrouter:google\/gemini-2\.5-flash$/m);
      assert.doesNotMatch(st.content!, /Type !\/help/, "the banner was already shown in this session");
      const other = await ask(proxy, "!/status", { session: "fresh" });
      assert.match(other.content!, /^project: none$/m);
      const s = await proxy.ctx.sessions.get("anonymous", "persist");
      assert.ok(s.history.length >= 2, "history records survive too");
      assert.equal(s.history[0].handler, "proxy");
      assert.deepEqual(s.history[0].commands, ["set"]);
      assert.equal(s.history[0].content, undefined, "no content without --audit-content");
    } finally {
      await proxy.close();
    }
  } finally {
    await mock.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("--force-set-project: 400 naming the command (current prefix) and the header; commands still work", async () => {
  const t = await setup(["--disable-auth", "--force-set-project", "--command-prefix", "#/"]);
  try {
    for (const stream of MODES) {
      const session = `fp-${stream}`;
      const n = t.mock.chats.length;
      await assert.rejects(
        ask(t.proxy, "hello", { stream, session }),
        (e: { status?: number; message?: string }) => {
          assert.equal(e.status, 400);
          assert.match(
            e.message!,
            /Type #\/set\(project=NAME\) in the chat, or send the header X-Project: NAME\./,
          );
          return true;
        },
      );
      assert.equal(t.mock.chats.length, n, "refused before reaching the upstream");
      const set = await ask(t.proxy, "#/set(project=demo)", { stream, session });
      assert.match(set.content!, /project set to demo/);
      const ok = await ask(t.proxy, "hello", { stream, session });
      assert.match(ok.content!, /Echo from/);
      // The X-Project header is enough on its own.
      const hdr = await ask(t.proxy, "hi", {
        stream,
        session: `fp-h-${stream}`,
        headers: { "X-Project": "from-header" },
      });
      assert.match(hdr.content!, /Echo from/);
      const st = await ask(t.proxy, "#/status", { stream, session: `fp-h-${stream}` });
      assert.match(st.content!, /^project: from-header$/m);
    }
  } finally {
    await t.close();
  }
});

Deno.test("--disable-interactive-commands: commands are plain text sent to the model verbatim", async () => {
  const t = await setup(["--disable-auth", "--disable-interactive-commands"]);
  try {
    for (const stream of MODES) {
      const r = await ask(t.proxy, "!/hello and !/set(model=x)", { stream });
      assert.equal(
        (t.mock.chats.at(-1)!.body!.messages as { content: string }[])[0].content,
        "!/hello and !/set(model=x)",
      );
      assert.match(r.content!, /: !\/hello and !\/set\(model=x\)$/);
    }
  } finally {
    await t.close();
  }
});

Deno.test("--disable-interactive-mode: no banner on the first local reply; hello still shows it; set(interactive) per session", async () => {
  const t = await setup(["--disable-auth", "--disable-interactive-mode"]);
  try {
    const first = await ask(t.proxy, "!/set(project=p)", { session: "ni" });
    assert.equal(first.content, "project set to p");
    const hello = await ask(t.proxy, "!/hello", { session: "ni" });
    assert.match(hello.content!, /^llmproxy .*\nSession: ni\n/);
    const on = await ask(t.proxy, "!/set(interactive=yes)", { session: "ni2" });
    assert.match(on.content!, /^llmproxy .*\nSession: ni2\n[\s\S]*interactive mode on for this session$/);
    const back = await ask(t.proxy, "!/unset(interactive-mode)", { session: "ni2" });
    assert.equal(back.content, "interactive mode back to the default (off)");
  } finally {
    await t.close();
  }
});

Deno.test("--audit-content keeps the redacted, truncated prompt in session history", async () => {
  const t = await setup(["--disable-auth", "--audit-content"]);
  try {
    await ask(t.proxy, `tell me ${OR_KEY} ${"x".repeat(3000)}`, { session: "audit" });
    const s = await t.proxy.ctx.sessions.get("anonymous", "audit");
    const rec = s.history.at(-1)!;
    assert.equal(rec.handler, "backend");
    assert.equal(rec.outcome, "ok");
    assert.equal(rec.backend, "openrouter");
    assert.ok(rec.content!.length <= 1001);
    assert.doesNotMatch(rec.content!, /sk-or-v1-/);
  } finally {
    await t.close();
  }
});
