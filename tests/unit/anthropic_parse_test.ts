/**
 * Messages → conversation model rules of the Anthropic front end (SPEC §17.1), one by one, and the 400s that
 * name the field path; plus the wildcard alias lookup and the thinking filter for the pass-through.
 */
import assert from "node:assert/strict";
import { withReasoning } from "../../src/model/reasoning.ts";
import { parseMessagesBody } from "../../src/frontends/anthropic/parse.ts";
import { withoutForeignThinking } from "../../src/frontends/anthropic/thinking.ts";
import { UNSIGNED_THINKING } from "../../src/frontends/anthropic/shapes.ts";
import { estimateInputTokens } from "../../src/frontends/anthropic/count_tokens.ts";
import { errorResponse } from "../../src/frontends/anthropic/errors.ts";
import { aliasTarget } from "../../src/config/aliases.ts";
import { ProxyError } from "../../src/core/errors.ts";

const chat = (body: Record<string, unknown>) =>
  parseMessagesBody(JSON.stringify({ model: "m", max_tokens: 10, ...body })).chat;

function rejects(body: unknown, param: string) {
  assert.throws(() => parseMessagesBody(JSON.stringify(body)), (e: unknown) => {
    assert.ok(e instanceof ProxyError);
    assert.equal(e.status, 400);
    assert.equal(e.param, param);
    assert.ok(e.message.includes(param), e.message);
    return true;
  });
}

Deno.test("anthropic parse: thinking maps to reasoning_effort by budget; adaptive and disabled leave the backend's default", () => {
  const effort = (thinking: unknown) =>
    chat({ messages: [{ role: "user", content: "x" }], thinking }).reasoning_effort;
  assert.equal(effort({ type: "enabled", budget_tokens: 1024 }), "low");
  assert.equal(effort({ type: "enabled", budget_tokens: 5000 }), "medium");
  assert.equal(effort({ type: "enabled", budget_tokens: 20000 }), "high");
  assert.equal(effort({ type: "adaptive", display: "omitted" }), undefined);
  assert.equal(effort({ type: "disabled" }), undefined);
});

Deno.test("anthropic parse: tool_choice maps to Chat's; server and deferred tools stay out of the model", () => {
  const tools = [
    { name: "Read", description: "read a file", input_schema: { type: "object", properties: {} } },
    { type: "web_search_20250305", name: "web_search", max_uses: 3 },
    { name: "DeferredToolPlaceholder", input_schema: { type: "object" }, defer_loading: true },
  ];
  const messages = [{ role: "user", content: "x" }];
  const c = chat({ messages, tools, tool_choice: { type: "any", disable_parallel_tool_use: true } });
  assert.deepEqual(c.tools, [{
    type: "function",
    function: { name: "Read", description: "read a file", parameters: { type: "object", properties: {} } },
  }]);
  assert.equal(c.tool_choice, "required");
  assert.equal(c.parallel_tool_calls, false);
  assert.equal(chat({ messages, tools, tool_choice: { type: "auto" } }).tool_choice, "auto");
  assert.equal(chat({ messages, tools, tool_choice: { type: "none" } }).tool_choice, "none");
  assert.deepEqual(chat({ messages, tools, tool_choice: { type: "tool", name: "Read" } }).tool_choice, {
    type: "function",
    function: { name: "Read" },
  });
  assert.equal(
    chat({ messages, tool_choice: { type: "auto" } }).tool_choice,
    undefined,
    "no tools, no choice",
  );
});

Deno.test("anthropic parse: tool results become tool messages before the rest of the turn (is_error, blocks, images)", () => {
  const img = { type: "image", source: { type: "base64", media_type: "image/png", data: "AAAA" } };
  const c = chat({
    messages: [
      { role: "user", content: "go" },
      {
        role: "assistant",
        content: [
          { type: "thinking", thinking: "hmm", signature: "sig" },
          { type: "text", text: "Running." },
          {
            type: "tool_use",
            id: "toolu_1",
            name: "Bash",
            input: { command: "ls" },
            cache_control: { type: "ephemeral" },
          },
          { type: "tool_use", id: "toolu_2", name: "Read", input: { file_path: "/a" } },
        ],
      },
      {
        role: "user",
        content: [
          { type: "tool_result", tool_use_id: "toolu_1", content: "command not found", is_error: true },
          { type: "tool_result", tool_use_id: "toolu_2", content: [{ type: "text", text: "line1" }, img] },
          { type: "text", text: "and then?" },
        ],
      },
    ],
  });
  assert.deepEqual(c.messages.slice(1), [
    // The signed thinking rides along for the provider that can verify it (model/reasoning.ts).
    withReasoning({
      role: "assistant",
      content: "Running.",
      tool_calls: [
        { id: "toolu_1", type: "function", function: { name: "Bash", arguments: '{"command":"ls"}' } },
        { id: "toolu_2", type: "function", function: { name: "Read", arguments: '{"file_path":"/a"}' } },
      ],
    }, [{ kind: "thinking", text: "hmm", signature: "sig" }]),
    { role: "tool", tool_call_id: "toolu_1", content: "Error: command not found" },
    { role: "tool", tool_call_id: "toolu_2", content: "line1" },
    {
      role: "user",
      content: [
        { type: "image_url", image_url: { url: "data:image/png;base64,AAAA" } },
        { type: "text", text: "and then?" },
      ],
    },
  ]);
});

Deno.test("anthropic parse: documents become file parts or text", () => {
  const c = chat({
    messages: [{
      role: "user",
      content: [
        {
          type: "document",
          source: { type: "base64", media_type: "application/pdf", data: "JVBE" },
          title: "a.pdf",
        },
        { type: "document", source: { type: "text", media_type: "text/plain", data: "plain words" } },
      ],
    }],
  });
  assert.deepEqual(c.messages[0].content, [
    { type: "file", file: { filename: "a.pdf", file_data: "data:application/pdf;base64,JVBE" } },
    { type: "text", text: "plain words" },
  ]);
});

Deno.test("anthropic parse: bad fields are 400s naming the path", () => {
  assert.throws(() => parseMessagesBody("[]"), /must be a JSON object/);
  rejects({ model: "m" }, "messages");
  rejects({ model: "m", messages: [] }, "messages");
  rejects({ model: 3, messages: [{ role: "user", content: "x" }] }, "model");
  rejects({ model: "m", max_tokens: 0, messages: [{ role: "user", content: "x" }] }, "max_tokens");
  rejects({ model: "m", messages: [{ role: "tool", content: "x" }] }, "messages.0.role");
  rejects({ model: "m", messages: [{ role: "user", content: 5 }] }, "messages.0.content");
  rejects({ model: "m", messages: [{ role: "user", content: [{ text: "x" }] }] }, "messages.0.content.0");
  rejects(
    { model: "m", messages: [{ role: "user", content: [{ type: "text", text: 1 }] }] },
    "messages.0.content.0.text",
  );
  rejects(
    {
      model: "m",
      messages: [{ role: "user", content: [{ type: "image", source: { type: "file", file_id: "f" } }] }],
    },
    "messages.0.content.0.source.type",
  );
  rejects(
    {
      model: "m",
      messages: [{ role: "assistant", content: [{ type: "tool_use", id: "t", name: "n", input: [] }] }],
    },
    "messages.0.content.0.input",
  );
  rejects(
    { model: "m", messages: [{ role: "user", content: "x" }], system: [{ type: "image" }] },
    "system.0",
  );
  rejects(
    { model: "m", messages: [{ role: "user", content: "x" }], tools: [{ name: "t" }] },
    "tools.0.input_schema",
  );
  rejects(
    { model: "m", messages: [{ role: "user", content: "x" }], tool_choice: { type: "some" } },
    "tool_choice.type",
  );
  rejects(
    { model: "m", messages: [{ role: "user", content: "x" }], thinking: { type: "enabled" } },
    "thinking.budget_tokens",
  );
  rejects(
    { model: "m", messages: [{ role: "user", content: "x" }], stop_sequences: ["a", 2] },
    "stop_sequences.1",
  );
  rejects({ model: "m", messages: [{ role: "user", content: "x" }], temperature: "hot" }, "temperature");
  assert.throws(() => parseMessagesBody("{nope"), /not valid JSON/);
});

Deno.test("anthropic thinking: blocks Anthropic did not sign are dropped before the pass-through, never sent", () => {
  const real = { type: "thinking", thinking: "t1", signature: "EqoBCkgIARABGAIiQ" };
  const body = {
    model: "m",
    thinking: { type: "enabled", budget_tokens: 2000 },
    messages: [
      { role: "user", content: "q1" },
      { role: "assistant", content: [real, { type: "text", text: "a1" }] },
      { role: "user", content: "q2" },
      {
        role: "assistant",
        content: [
          { type: "thinking", thinking: "from gemini", signature: UNSIGNED_THINKING },
          { type: "tool_use", id: "t1", name: "Bash", input: {} },
        ],
      },
      { role: "user", content: [{ type: "tool_result", tool_use_id: "t1", content: "ok" }] },
    ],
  };
  const out = withoutForeignThinking(structuredClone(body));
  const msgs = out.messages as { content: unknown[] }[];
  assert.deepEqual(msgs[1].content[0], real, "a block Anthropic signed stays");
  assert.deepEqual(msgs[3].content, [{ type: "tool_use", id: "t1", name: "Bash", input: {} }]);
  assert.equal(out.thinking, undefined, "the tool turn lost its leading thinking block: thinking is off");
  // Nothing foreign: the body is the same object.
  const clean = { ...body, messages: body.messages.slice(0, 2) };
  assert.equal(withoutForeignThinking(clean), clean);
  // A block without a signature is dropped; a turn left empty goes.
  const bare = withoutForeignThinking({
    messages: [{ role: "user", content: "q" }, {
      role: "assistant",
      content: [{ type: "thinking", thinking: "x" }],
    }],
  });
  assert.deepEqual(bare.messages, [{ role: "user", content: "q" }]);
});

Deno.test("anthropic count_tokens estimate: never 0, raised by a tool and by a system prompt", () => {
  const base = { messages: [{ role: "user", content: "hi" }] };
  const n = estimateInputTokens(base);
  assert.ok(n > 0);
  const tool = {
    name: "Read",
    description: "Read a file",
    input_schema: { type: "object", properties: { p: { type: "string" } } },
  };
  assert.ok(estimateInputTokens({ ...base, tools: [tool] }) > n);
  assert.ok(estimateInputTokens({ ...base, system: "You are terse." }) > n);
  assert.ok(estimateInputTokens({ messages: [{ role: "user", content: "" }] }) > 0);
});

Deno.test("anthropic errors: SPEC §13 statuses get Anthropic's types; retry-after stays", async () => {
  const cases: [number, string][] = [
    [400, "invalid_request_error"],
    [413, "request_too_large"],
    [401, "authentication_error"],
    [403, "permission_error"],
    [404, "not_found_error"],
    [429, "rate_limit_error"],
    [500, "api_error"],
    [502, "api_error"],
    [504, "api_error"],
    [503, "overloaded_error"],
    [529, "overloaded_error"],
  ];
  for (const [status, type] of cases) {
    const res = errorResponse(
      new ProxyError(status, "api_error", "x", "what to do", null, { "retry-after": "7" }),
    );
    assert.equal(res.status, status);
    assert.equal(res.headers.get("retry-after"), "7");
    assert.deepEqual(await res.json(), { type: "error", error: { type, message: "what to do" } });
  }
});

Deno.test("model_aliases: an exact key wins, then the longest prefix of a key ending in *", () => {
  const aliases = { "claude-*": "a", "claude-haiku-*": "b", "claude-haiku-4": "c", "gpt-4o": "d" };
  assert.equal(aliasTarget(aliases, "claude-opus-5-5"), "a");
  assert.equal(aliasTarget(aliases, "claude-haiku-4-5"), "b");
  assert.equal(aliasTarget(aliases, "claude-haiku-4"), "c");
  assert.equal(aliasTarget(aliases, "gpt-4o"), "d");
  assert.equal(aliasTarget(aliases, "gpt-4o-mini"), undefined, "a key without * is exact");
  assert.equal(aliasTarget(aliases, "toString"), undefined);
  assert.equal(aliasTarget({ "*": "all" }, "anything"), "all");
});
