import assert from "node:assert/strict";
import { ask, MODES, setup } from "./commands_helpers.ts";
import { MockOpenAI } from "../mocks/openai_upstream.ts";
import { startTestProxy } from "../helpers.ts";

const mode = (s: boolean) => (s ? "stream" : "json");

Deno.test("pure-command messages are answered locally in both stream modes, never reaching the upstream", async () => {
  const t = await setup();
  try {
    for (const stream of MODES) {
      const session = `local-${mode(stream)}`;
      const first = await ask(t.proxy, "!/status", { stream, session });
      assert.equal(first.finish, "stop");
      assert.match(first.id, /^chatcmpl-[0-9a-f]{32}$/);
      assert.equal(first.chunkIds.size, 1, "one id across the SSE chunks");
      assert.equal(first.model, "openrouter:openai/gpt-4o-mini", "model = effective model");
      assert.match(
        first.content!,
        /^llmproxy \d+\.\d+\.\d+\nSession: local-/,
        "banner on the first local reply",
      );
      assert.match(first.content!, /Functional backends: openrouter \(1 key, 3 models\)/);
      assert.match(first.content!, /Type !\/help for the list of commands\./);
      assert.match(first.content!, /^model override: none$/m);
      const second = await ask(t.proxy, "!/status", { stream, session });
      assert.doesNotMatch(second.content!, /Type !\/help/, "banner only on the first local reply");
      assert.notEqual(first.id, second.id, "unique ids");
      if (!stream) {
        assert.deepEqual(second.usage, { prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 });
      }
    }
    const withUsage = await ask(t.proxy, "!/help", {
      stream: true,
      extra: { stream_options: { include_usage: true } },
    });
    assert.deepEqual(withUsage.usage, { prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 });
    assert.equal(t.mock.chats.length, 0);
  } finally {
    await t.close();
  }
});

Deno.test("help, help(name) and hello in both stream modes, with the current prefix in examples", async () => {
  const t = await setup(["--disable-auth", "--command-prefix", "$/"]);
  try {
    for (const stream of MODES) {
      const help = await ask(t.proxy, "$/help", { stream, session: `h-${mode(stream)}` });
      for (
        const name of [
          "help",
          "hello",
          "status",
          "set",
          "unset",
          "create-failover-route",
          "delete-failover-route",
          "list-failover-routes",
          "route-list",
          "route-append",
          "route-prepend",
          "route-clear",
        ]
      ) {
        assert.match(help.content!, new RegExp(`^\\$/${name}\\b`, "m"), name);
      }
      const one = await ask(t.proxy, "$/help(set)", { stream, session: `h-${mode(stream)}` });
      assert.match(one.content!, /\$\/set\(KEY=VALUE/);
      assert.match(one.content!, /Examples: \$\/set\(model=openrouter:/);
      assert.match(one.content!, /command-prefix: .*\(global, admin keys only\)/);
      assert.doesNotMatch(one.content!, /!\//, "no hard-coded default prefix");
      const hello = await ask(t.proxy, "$/hello", { stream, session: `h-${mode(stream)}` });
      assert.match(hello.content!, /^llmproxy .*\nSession: h-.*\nFunctional backends: .*\nType \$\/help/);
      const bad = await ask(t.proxy, "$/help(nope)", { stream, session: `h-${mode(stream)}` });
      assert.match(bad.content!, /^Error: unknown command "nope"/);
      assert.equal(bad.finish, "stop");
    }
    assert.equal(t.mock.chats.length, 0);
  } finally {
    await t.close();
  }
});

Deno.test("set/unset model and backend steer later requests (SPEC §4.3), both stream modes", async () => {
  const t = await setup();
  try {
    for (const stream of MODES) {
      const session = `m-${mode(stream)}`;
      const set = await ask(t.proxy, "!/set(model=openrouter:google/gemini-2.5-flash)", { stream, session });
      assert.match(set.content!, /model set to openrouter:google\/gemini-2\.5-flash/);
      assert.equal(set.model, "openrouter:google/gemini-2.5-flash");
      const n = t.mock.chats.length;
      const r = await ask(t.proxy, "hi", { stream, session, model: "openai/gpt-4o-mini" });
      assert.equal(t.mock.chats.length, n + 1);
      assert.equal(t.mock.chats.at(-1)!.body!.model, "google/gemini-2.5-flash");
      assert.equal(r.headers.get("x-llmproxy-model"), "openrouter:google/gemini-2.5-flash");
      const unset = await ask(t.proxy, "!/unset(model)", { stream, session });
      assert.match(unset.content!, /model override removed/);
      await ask(t.proxy, "hi", { stream, session, model: "openrouter:openai/gpt-4o-mini" });
      assert.equal(t.mock.chats.at(-1)!.body!.model, "openai/gpt-4o-mini");
      // backend= sends the client's model (minus its backend prefix) to that backend.
      const b = await ask(t.proxy, "!/set(backend=openrouter)", { stream, session });
      assert.match(b.content!, /backend set to openrouter/);
      await ask(t.proxy, "hi", {
        stream,
        session,
        model: "openrouter:meta-llama/llama-3.3-70b-instruct:free",
      });
      assert.equal(t.mock.chats.at(-1)!.body!.model, "meta-llama/llama-3.3-70b-instruct:free");
      await ask(t.proxy, "!/unset(backend)", { stream, session });
    }
  } finally {
    await t.close();
  }
});

Deno.test("an unknown model is rejected with the closest names, and a failed message changes nothing", async () => {
  const t = await setup();
  try {
    for (const stream of MODES) {
      const session = `bad-${mode(stream)}`;
      const r = await ask(t.proxy, "!/set(project=p1) !/set(model=openrouter:openai/gpt-4o-mimi)", {
        stream,
        session,
      });
      assert.match(
        r.content!,
        /^Error: openrouter does not list model "openai\/gpt-4o-mimi"; closest: openrouter:openai\/gpt-4o-mini/,
      );
      assert.equal(r.finish, "stop");
      const status = await ask(t.proxy, "!/status", { stream, session });
      assert.match(status.content!, /^project: none$/m, "the earlier set in the same message was not kept");
      assert.match(status.content!, /^model override: none$/m);
      const other = await ask(t.proxy, "!/set(model=nosuchbackend:x)", { stream, session });
      assert.match(
        other.content!,
        /^Error: "nosuchbackend:x" is not backend:model with a known backend \(openrouter[^)]*\)/,
      );
      const bool = await ask(t.proxy, "!/set(interactive=maybe)", { stream, session });
      assert.match(bool.content!, /^Error: interactive: expected true\/false/);
      const key = await ask(t.proxy, "!/set(modle=x)", { stream, session });
      assert.match(key.content!, /^Error: unknown setting "modle" \(did you mean model\?\)/);
      // The session is never stuck: a normal request still goes through.
      const ok = await ask(t.proxy, "hello", { stream, session });
      assert.match(ok.content!, /^Echo from openai\/gpt-4o-mini: hello/);
    }
  } finally {
    await t.close();
  }
});

Deno.test("several commands in one message all run, left to right", async () => {
  const t = await setup();
  try {
    const r = await ask(t.proxy, "!/set(project=a)\n!/set(project=b, interactive=off)\n!/status", {
      session: "multi",
    });
    assert.match(r.content!, /project set to a\nproject set to b\ninteractive mode off for this session\n/);
    assert.match(r.content!, /^project: b$/m);
    assert.doesNotMatch(r.content!, /Type !\/help/, "interactive off: no banner");
  } finally {
    await t.close();
  }
});

Deno.test("a mixed message is forwarded with exactly the command tokens removed; confirmations only in the header", async () => {
  const t = await setup();
  try {
    for (const stream of MODES) {
      const session = `mix-${mode(stream)}`;
      const typed = "Line1\n!/set(project=demo)\n<b>keep</b>\n# heading\n\n  indented !/status  end";
      const r = await ask(t.proxy, typed, { stream, session });
      const sent = t.mock.chats.at(-1)!.body!.messages as { role: string; content: string }[];
      assert.equal(sent.at(-1)!.content, "Line1\n\n<b>keep</b>\n# heading\n\n  indented   end");
      assert.equal(
        r.content,
        "Echo from openai/gpt-4o-mini: Line1\n\n<b>keep</b>\n# heading\n\n  indented   end",
      );
      assert.doesNotMatch(
        r.content!,
        /project set|llmproxy|Type !\/help/,
        "no confirmations or banner in model output",
      );
      const h = decodeURIComponent(r.headers.get("x-llmproxy-commands")!);
      assert.match(h, /^project set to demo; session: mix-/);
      assert.ok(r.headers.get("x-llmproxy-commands")!.length <= 1024);
      const status = await ask(t.proxy, "!/status", { stream, session });
      assert.match(status.content!, /^project: demo$/m);
    }
  } finally {
    await t.close();
  }
});

Deno.test("history is never scanned: a command in an earlier user message is not re-run (SPEC §16)", async () => {
  const t = await setup();
  try {
    for (const stream of MODES) {
      const session = `replay-${mode(stream)}`;
      const history = [
        { role: "user" as const, content: "!/set(project=first)" },
        {
          role: "assistant" as const,
          content: "project set to first\nType !/help for the list of commands.",
        },
      ];
      await ask(t.proxy, history[0].content, { stream, session });
      await ask(t.proxy, "!/unset(project)", { stream, session });
      const n = t.mock.chats.length;
      const r = await ask(t.proxy, [...history, { role: "user", content: "what now?" }], { stream, session });
      assert.equal(t.mock.chats.length, n + 1, "forwarded to the model, not intercepted");
      assert.match(r.content!, /^Echo from .*: what now\?/);
      assert.equal(r.headers.get("x-llmproxy-commands"), null);
      const sent = t.mock.chats.at(-1)!.body!.messages as { content: string }[];
      assert.equal(sent[0].content, "!/set(project=first)", "history is forwarded as it is");
      const status = await ask(t.proxy, "!/status", { stream, session });
      assert.match(status.content!, /^project: none$/m, "the command in history did not run again");
    }
  } finally {
    await t.close();
  }
});

Deno.test("unknown commands with ( are errors; other prefix look-alikes are plain text", async () => {
  const t = await setup();
  try {
    for (const stream of MODES) {
      const err = await ask(t.proxy, "please !/frobnicate(x=1)", { stream });
      assert.match(err.content!, /^Error: unknown command "!\/frobnicate"; type !\/help/);
      const typo = await ask(t.proxy, "!/sett(model=x)", { stream });
      assert.match(
        typo.content!,
        /^Error: unknown command "!\/sett" \(did you mean !\/set\?\); type !\/help/,
      );
      const n = t.mock.chats.length;
      const plain = await ask(t.proxy, "run !/usr/bin/env and !/foo bar", { stream });
      assert.equal(t.mock.chats.length, n + 1);
      assert.match(plain.content!, /: run !\/usr\/bin\/env and !\/foo bar$/);
    }
  } finally {
    await t.close();
  }
});

Deno.test("invalid X-Session-ID is a 400; sessions are isolated by X-Session-ID", async () => {
  const t = await setup();
  try {
    await assert.rejects(
      ask(t.proxy, "hi", { session: "bad id!" }),
      (e: { status?: number; message?: string }) => {
        assert.equal(e.status, 400);
        assert.match(e.message!, /X-Session-ID/);
        return true;
      },
    );
    await assert.rejects(ask(t.proxy, "hi", { session: "x".repeat(129) }), { status: 400 });
    await ask(t.proxy, "!/set(project=alpha, model=openrouter:google/gemini-2.5-flash)", { session: "A" });
    const b = await ask(t.proxy, "!/status", { session: "B" });
    assert.match(b.content!, /^project: none$/m);
    assert.match(b.content!, /^model override: none$/m);
    const a = await ask(t.proxy, "!/status", { session: "A" });
    assert.match(a.content!, /^project: alpha$/m);
    assert.match(a.content!, /^session: A /m);
    // Without the header (auth disabled): one session per User-Agent.
    const ua1 = await ask(t.proxy, "!/set(project=ua1)", { headers: { "User-Agent": "client-one" } });
    assert.match(ua1.content!, /Session: ua-[0-9a-f]{12}/);
    const ua2 = await ask(t.proxy, "!/status", { headers: { "User-Agent": "client-two" } });
    assert.match(ua2.content!, /^project: none$/m);
    const ua1b = await ask(t.proxy, "!/status", { headers: { "User-Agent": "client-one" } });
    assert.match(ua1b.content!, /^project: ua1$/m);
  } finally {
    await t.close();
  }
});

Deno.test("x-llmproxy-commands is percent-encoded ASCII and capped at 1 KiB", async () => {
  const t = await setup();
  try {
    const r = await ask(t.proxy, "!/set(project=café ☕) tell me more", { session: "enc" });
    const raw = r.headers.get("x-llmproxy-commands")!;
    assert.match(raw, /^[\x20-\x7e]+$/);
    assert.equal(decodeURIComponent(raw), "project set to café ☕");
    const pct = await ask(t.proxy, "!/set(project=50%off) tell me more", { session: "enc" });
    assert.equal(decodeURIComponent(pct.headers.get("x-llmproxy-commands")!), "project set to 50%off");
    const lone = await ask(t.proxy, "!/set(project=a\ud800b) tell me more", { session: "enc" }); // was a 500
    assert.equal(decodeURIComponent(lone.headers.get("x-llmproxy-commands")!), "project set to a\ufffdb");
    const long2 = await ask(t.proxy, `!/set(project="${"é".repeat(199)}") more`, { session: "enc" });
    const capped = long2.headers.get("x-llmproxy-commands")!;
    assert.ok(capped.length <= 1024);
    assert.match(decodeURIComponent(capped), /^project set to é+$/, "cut between characters, not escapes");
    const long = await ask(t.proxy, `!/set(project="${"p".repeat(150)}") !/help more text`, {
      session: "enc",
    });
    assert.ok(long.headers.get("x-llmproxy-commands")!.length <= 1024);
    assert.equal((t.mock.chats.at(-1)!.body!.messages as { content: string }[])[0].content, "  more text");
  } finally {
    await t.close();
  }
});

Deno.test("a malformed argument list is an error reply that points at help(name)", async () => {
  const t = await setup();
  try {
    for (const stream of MODES) {
      const r = await ask(t.proxy, '!/set(project="unclosed)', { stream });
      assert.equal(
        r.content,
        "Error: !/set: unclosed quote in the command arguments; type !/help(set) for its arguments.",
      );
    }
    assert.equal(t.mock.chats.length, 0);
  } finally {
    await t.close();
  }
});

Deno.test("set(backend=b) sends the client's model minus its backend prefix to b; model+backend must agree", async () => {
  const second = MockOpenAI.start();
  const dir = await Deno.makeTempDir({ prefix: "llmproxy-cfg-" });
  const config = `${dir}/config.json`;
  await Deno.writeTextFile(
    config,
    JSON.stringify({
      backends: {
        local: { type: "openai", base_url: second.url, api_key_env: "LOCAL_API_KEY" },
        dead: { type: "openai", base_url: second.url, api_key_env: "DEAD_API_KEY" },
      },
    }),
  );
  const t = await setup(["--disable-auth", "--config", config], { LOCAL_API_KEY: "local-key-123456" });
  try {
    for (const stream of MODES) {
      const session = `be-${mode(stream)}`;
      assert.match(
        (await ask(t.proxy, "!/set(backend=local)", { stream, session })).content!,
        /backend set to local/,
      );
      const r = await ask(t.proxy, "hi", { stream, session, model: "openrouter:openai/gpt-4o-mini" });
      assert.equal(second.chats.at(-1)!.body!.model, "openai/gpt-4o-mini");
      assert.equal(r.headers.get("x-llmproxy-model"), "local:openai/gpt-4o-mini");
      const both = await ask(t.proxy, "!/set(backend=local, model=openrouter:openai/gpt-4o-mini)", {
        stream,
        session,
      });
      assert.match(
        both.content!,
        /^Error: set: model openrouter:openai\/gpt-4o-mini is not on backend local/,
      );
      const ok = await ask(t.proxy, "!/set(backend=local, model=local:google/gemini-2.5-flash)", {
        stream,
        session,
      });
      assert.match(ok.content!, /model set to local:google\/gemini-2\.5-flash/);
      assert.match(
        (await ask(t.proxy, "!/status", { stream, session })).content!,
        /^backend override: none$/m,
      );
      const dead = await ask(t.proxy, "!/set(backend=dead)", { stream, session });
      assert.match(dead.content!, /^Error: backend: backend "dead" is not functional/);
      await ask(t.proxy, "!/unset(model, backend)", { stream, session });
    }
  } finally {
    await t.close();
    await second.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("one message may run at most 20 commands; more is one error and changes nothing", async () => {
  const t = await setup();
  try {
    const ok = await ask(t.proxy, "!/set(project=kept) " + "!/hello ".repeat(19), { session: "many" });
    assert.doesNotMatch(ok.content!, /^Error/);
    const many = "!/set(project=changed) " + "!/help ".repeat(100_000);
    const r = await ask(t.proxy, many, { session: "many" });
    assert.match(r.content!, /^Error: .*100001 commands.*at most 20/);
    assert.ok(r.content!.length < 1000, "a short reply");
    const status = await ask(t.proxy, "!/status", { session: "many" });
    assert.match(status.content!, /^project: kept$/m, "nothing changed");
    assert.equal(t.mock.chats.length, 0);
  } finally {
    await t.close();
  }
});

Deno.test("the route --force-model points at cannot be deleted", async () => {
  const mock = MockOpenAI.start();
  const dir = await Deno.makeTempDir();
  await Deno.writeTextFile(
    `${dir}/c.json`,
    JSON.stringify({
      failover_routes: { forced: { policy: "m", elements: ["openrouter:openai/gpt-4o-mini"] } },
    }),
  );
  const p = await startTestProxy(["--disable-auth", "--config", `${dir}/c.json`, "--force-model", "forced"], {
    OPENROUTER_API_BASE_URL: mock.url,
    OPENROUTER_API_KEY: "sk-or-v1-" + "7".repeat(64),
  });
  try {
    const r = await p.client().chat.completions.create({
      model: "x",
      messages: [{ role: "user", content: "!/delete-failover-route(name=forced)" }],
    });
    assert.match(r.choices[0].message.content!, /^Error: route forced is the --force-model target/);
    assert.ok(p.ctx.routes.has("forced"));
  } finally {
    await p.close();
    await mock.close();
    await Deno.remove(dir, { recursive: true });
  }
});
