/** Pure parts of gemini-cli-direct: prompt flattening, stream-json translation, exit codes, env, limiter. */
import assert from "node:assert/strict";
import {
  flattenConversation,
  NEUTRAL_SYSTEM_PROMPT,
  unsupportedReason,
} from "../../src/providers/gemini_cli/prompt.ts";
import {
  outputEvents,
  statsToUsage,
  stderrMessage,
  StreamJsonReader,
} from "../../src/providers/gemini_cli/events.ts";
import { exitFailure } from "../../src/providers/gemini_cli/errors.ts";
import { passesAllowlist } from "../../src/providers/gemini_cli/spawn.ts";
import {
  createWorkspace,
  removeWorkspace,
  sweepLeftoverLock,
  workspaceSettings,
} from "../../src/providers/gemini_cli/workspace.ts";
import { Limiter } from "../../src/providers/gemini_cli/limiter.ts";
import { createGeminiCli } from "../../src/providers/gemini_cli/backend.ts";
import { createScrubber } from "../../src/security/scrub.ts";
import type { ChatRequest } from "../../src/model/request.ts";
import { ChatRenderer } from "../../src/frontends/chat/stream.ts";

const req = (messages: unknown[], extra: Record<string, unknown> = {}) =>
  ({ model: "m", messages, ...extra }) as ChatRequest;

Deno.test("flattening: system and developer messages form the system prompt; one user message goes as is", () => {
  const p = flattenConversation(req([
    { role: "system", content: "S1" },
    { role: "developer", content: [{ type: "text", text: "S2" }] },
    { role: "user", content: "  keep <tags> and\n\n# headings  " },
  ]));
  assert.equal(p.system, "S1\n\nS2");
  assert.equal(p.prompt, "  keep <tags> and\n\n# headings  ");
  assert.equal(flattenConversation(req([{ role: "user", content: "x" }])).system, NEUTRAL_SYSTEM_PROMPT);
});

Deno.test("flattening: a conversation becomes a labelled transcript, tool calls and results included", () => {
  const p = flattenConversation(req([
    { role: "user", content: "q1" },
    {
      role: "assistant",
      content: null,
      tool_calls: [{ id: "1", type: "function", function: { name: "f", arguments: '{"a":1}' } }],
    },
    { role: "tool", tool_call_id: "1", content: "42" },
    { role: "user", content: [{ type: "text", text: "q2" }] },
  ]));
  assert.equal(p.prompt, 'User:\nq1\n\nAssistant:\n[called f({"a":1})]\n\nTool result:\n42\n\nUser:\nq2');
});

Deno.test("unsupported: non-empty tools, non-text parts and empty prompts; empty tools are none", () => {
  assert.match(
    unsupportedReason(req([{ role: "user", content: "x" }], { tools: [{ type: "function" }] }))!,
    /tools/,
  );
  assert.equal(unsupportedReason(req([{ role: "user", content: "x" }], { tools: [] })), undefined);
  assert.match(
    unsupportedReason(req([{ role: "user", content: [{ type: "image_url", image_url: { url: "x" } }] }]))!,
    /image_url/,
  );
  assert.match(unsupportedReason(req([{ role: "system", content: "only system" }]))!, /user message/);
});

Deno.test("sampling parameters map to generateContentConfig; a junk value is a 400 naming the field", () => {
  const overrides = (extra: Record<string, unknown>) =>
    (workspaceSettings("gemini-2.5-flash", req([], extra)) as {
      modelConfigs?: { overrides: { match: unknown; modelConfig: { generateContentConfig: unknown } }[] };
    }).modelConfigs?.overrides;
  assert.deepEqual(overrides({ temperature: 0, top_p: 1, max_tokens: 5, stop: ["a", "b"] }), [{
    match: { model: "gemini-2.5-flash" },
    modelConfig: {
      generateContentConfig: { temperature: 0, topP: 1, maxOutputTokens: 5, stopSequences: ["a", "b"] },
    },
  }]);
  assert.deepEqual(
    overrides({ max_completion_tokens: 7, max_tokens: 5, stop: [] })?.[0].modelConfig.generateContentConfig,
    { maxOutputTokens: 7 },
  );
  assert.equal(overrides({ seed: "x", n: 2 }), undefined, "fields the CLI does not take are not looked at");
  const user = [{ role: "user", content: "x" }];
  for (
    const [extra, field] of [
      [{ temperature: "hot" }, "temperature"],
      [{ top_p: Infinity }, "top_p"],
      [{ max_completion_tokens: "7", max_tokens: 5 }, "max_completion_tokens"],
      [{ max_tokens: [5] }, "max_tokens"],
      [{ stop: ["a", 3] }, "stop"],
      [{ stop: 3 }, "stop"],
    ] as const
  ) {
    assert.throws(() => workspaceSettings("gemini-2.5-flash", req(user, extra)), { param: field });
    assert.match(unsupportedReason(req(user, extra))!, new RegExp(`cannot send this request: ${field} must`));
  }
  assert.equal(unsupportedReason(req(user, { temperature: null, stop: null })), undefined);
});

Deno.test("stream-json: assistant deltas become text events, result stats usage; a Chat client gets role, text, finish, usage", () => {
  const r = new StreamJsonReader();
  const lines = [
    '{"type":"init","session_id":"s","model":"gemini-2.5-flash"}',
    '{"type":"message","role":"user","content":"hi"}',
    '{"type":"message","role":"assistant","content":"Hel","delta":true}',
    "not json",
    '{"type":"message","role":"assistant","content":"lo","delta":true}',
    '{"type":"result","status":"success","stats":{"total_tokens":9,"input_tokens":3,"output_tokens":2}}',
  ];
  const outs = lines.flatMap((l) => r.line(l));
  assert.deepEqual(outs, [{ kind: "delta", text: "Hel" }, { kind: "delta", text: "lo" }]);
  const end = r.end(0, "");
  assert.deepEqual(end, {
    kind: "finish",
    reason: "stop",
    usage: {
      prompt_tokens: 3,
      completion_tokens: 6,
      total_tokens: 9,
      completion_tokens_details: { reasoning_tokens: 4 },
    },
  });
  const modelEvents = [...outs, end].flatMap(outputEvents);
  assert.deepEqual(modelEvents.slice(0, 3), [
    { type: "text", choice: 0, text: "Hel" },
    { type: "text", choice: 0, text: "lo" },
    { type: "finish", choice: 0, reason: "stop" },
  ]);
  assert.deepEqual(modelEvents[3], {
    type: "usage",
    usage: { promptTokens: 3, completionTokens: 6, totalTokens: 9, reasoningTokens: 4 },
  });
  const chat = new ChatRenderer({ id: "chatcmpl-1", created: 1, model: "gemini-2.5-flash" }, true);
  const sse = modelEvents.map((ev) => chat.event(ev)).join("") + chat.end();
  const events = sse.split("\n\n").filter(Boolean).map((e) => e.slice(6));
  assert.equal(events.at(-1), "[DONE]");
  const chunks = events.slice(0, -1).map((e) => JSON.parse(e));
  assert.deepEqual(chunks[0].choices[0].delta, { role: "assistant", content: "" });
  assert.deepEqual(chunks[1].choices[0].delta, { content: "Hel" });
  assert.deepEqual(chunks[2].choices[0].delta, { content: "lo" });
  assert.equal(chunks[3].choices[0].finish_reason, "stop");
  assert.deepEqual(
    chunks[4].usage,
    end.kind === "finish" ? end.usage : undefined,
    "the run's usage, as it was",
  );
  assert.deepEqual(chunks[4].choices, []);
});

Deno.test("stream-json: a safety block (error event, exit 0) is content_filter; a failed run is an error with its exit code", () => {
  const blocked = new StreamJsonReader();
  blocked.line(
    '{"type":"error","severity":"error","message":"The model response was blocked due to safety settings."}',
  );
  blocked.line(
    '{"type":"result","status":"error","stats":{"input_tokens":1,"output_tokens":0,"total_tokens":1}}',
  );
  assert.equal((blocked.end(0, "") as { reason: string }).reason, "content_filter");

  const failed = new StreamJsonReader();
  failed.line('{"type":"result","status":"error","error":{"type":"unknown","message":"[API Error: 429]"}}');
  assert.deepEqual(failed.end(173, "noise"), { kind: "error", exitCode: 173, message: "[API Error: 429]" });

  const silent = new StreamJsonReader();
  assert.deepEqual(silent.end(0, ""), {
    kind: "error",
    exitCode: -1,
    message: "the Gemini CLI printed no stream-json output",
  });
  assert.equal(
    stderrMessage(
      "Warning: 256-color support not detected. x\nRipgrep is not available.\nPlease set an Auth method\n",
    ),
    "Please set an Auth method",
  );
  assert.equal(statsToUsage({ input_tokens: 1 }), undefined);
});

Deno.test("exit codes: 173→429 next key, 41→502 auth, 244→502, 144→400 returned, 148→404 next element", () => {
  const f = (code: number) => exitFailure(code, "m");
  assert.deepEqual([f(173).status, f(173).action, f(173).code], [429, "next-key", "rate_limit_exceeded"]);
  assert.deepEqual([f(41).status, f(41).code], [502, "upstream_auth_failed"]);
  assert.deepEqual([f(244).status, f(244).code], [502, "upstream_error"]);
  assert.deepEqual([f(144).status, f(144).action], [400, "return"]);
  assert.deepEqual([f(148).status, f(148).action], [404, "next-element"]);
  assert.equal(f(173).cooldown, undefined, "the CLI has no key pool to cool");
});

Deno.test("env allowlist: CLI auth and locale pass; client keys, OpenRouter keys and numbered pools never", () => {
  for (const ok of ["PATH", "HOME", "USER", "LANG", "LC_ALL", "TZ", "GEMINI_CLI_HOME", "GEMINI_API_KEY"]) {
    assert.ok(passesAllowlist(ok), ok);
  }
  for (const ok of ["GOOGLE_API_KEY", "GOOGLE_CLOUD_PROJECT", "GOOGLE_GENAI_USE_VERTEXAI", "GEMINI_MODEL"]) {
    assert.ok(passesAllowlist(ok), ok);
  }
  for (
    const no of [
      "LLM_INTERACTIVE_PROXY_API_KEY",
      "LLM_INTERACTIVE_PROXY_API_KEY_2",
      "OPENROUTER_API_KEY",
      "OPENROUTER_API_KEY_1",
      "GEMINI_API_KEY_1",
      "GEMINI_API_KEY_12",
      "GEMINI_API_BASE_URL",
      "LLMPROXY_DATA_DIR",
      "SSH_AUTH_SOCK",
    ]
  ) {
    assert.equal(passesAllowlist(no), false, no);
  }
});

Deno.test("limiter: N run, M wait in order, the rest are refused, an aborted waiter leaves the line", async () => {
  const lim = new Limiter(1, 2);
  const never = new AbortController().signal;
  const a = await lim.acquire(never);
  assert.ok(a.ok);
  const order: string[] = [];
  const ctl = new AbortController();
  const b = lim.acquire(never).then((r) => (order.push("b"), r));
  const c = lim.acquire(ctl.signal).then((r) => (order.push("c"), r));
  assert.deepEqual(await lim.acquire(never), { ok: false, reason: "full" });
  ctl.abort();
  assert.deepEqual(await c, { ok: false, reason: "aborted" });
  assert.equal(lim.waiting, 1);
  a.release();
  a.release();
  const rb = await b;
  assert.ok(rb.ok);
  assert.equal(lim.running, 1);
  rb.release();
  assert.equal(lim.running, 0);
  assert.deepEqual(order, ["c", "b"]);
});

Deno.test("on Windows the backend is not functional and says why", () => {
  const b = createGeminiCli({
    path: "gemini",
    models: ["gemini-2.5-flash"],
    concurrency: 1,
    env: {},
    scrub: createScrubber([]),
    os: "windows",
  });
  assert.equal(b.functional(), false);
  assert.match(b.problem()!, /Windows/);
  assert.deepEqual(b.keys, []);
});

Deno.test("workspace removal takes only this run's records from the CLI home, and a left-behind lock is swept", async () => {
  const data = await Deno.makeTempDir({ prefix: "llmproxy-cli-data-" });
  const ws = await createWorkspace("gemini-2.5-flash", req([{ role: "user", content: "x" }]), "sys");
  try {
    const slug = ws.dir.split("/").at(-1)!;
    await Deno.writeTextFile(
      `${data}/projects.json`,
      JSON.stringify({ projects: { "/home/u/project": "project", [ws.dir]: slug } }),
    );
    for (const sub of ["tmp", "history"]) {
      await Deno.mkdir(`${data}/${sub}/${slug}/chats`, { recursive: true });
      await Deno.writeTextFile(`${data}/${sub}/${slug}/.project_root`, ws.dir);
      await Deno.mkdir(`${data}/${sub}/project`, { recursive: true });
      await Deno.writeTextFile(`${data}/${sub}/project/.project_root`, "/home/u/project");
    }
    assert.equal(await Deno.readTextFile(ws.systemFile), "sys");
    await removeWorkspace(ws, data);
    const reg = JSON.parse(await Deno.readTextFile(`${data}/projects.json`));
    assert.deepEqual(reg.projects, { "/home/u/project": "project" });
    for (const sub of ["tmp", "history"]) {
      const names = [];
      for await (const e of Deno.readDir(`${data}/${sub}`)) names.push(e.name);
      assert.deepEqual(names, ["project"]);
    }
    assert.equal(await Deno.stat(ws.dir).then(() => true, () => false), false);
    assert.equal(await Deno.stat(`${data}/projects.json.lock`).then(() => true, () => false), false);

    // A lock someone keeps touching stays; one nobody touches is swept.
    await Deno.mkdir(`${data}/projects.json.lock`);
    const touch = setInterval(() => Deno.utimeSync(`${data}/projects.json.lock`, new Date(), new Date()), 20);
    await sweepLeftoverLock(data);
    clearInterval(touch);
    assert.ok(
      await Deno.stat(`${data}/projects.json.lock`).then(() => true, () => false),
      "a live lock stays",
    );
    await sweepLeftoverLock(data);
    assert.equal(await Deno.stat(`${data}/projects.json.lock`).then(() => true, () => false), false);
  } finally {
    await Deno.remove(data, { recursive: true });
    await Deno.remove(ws.dir, { recursive: true }).catch(() => {});
  }
});
