/**
 * Pure parts of the Responses front end and the Responses stream dialect: function names across namespace
 * flattening (clashes made unique and named back), `tool_choice` forms, and what the commit rule makes of
 * each Responses event.
 */
import assert from "node:assert/strict";
import { FunctionNames } from "../../src/frontends/responses/names.ts";
import { parseResponsesBody, toChatRequest } from "../../src/frontends/responses/parse.ts";
import { newResponseMeta, resultToResponse } from "../../src/frontends/responses/build.ts";
import { completionResult } from "../../src/model/result.ts";
import { chatUsageOf, RESPONSES_DIALECT } from "../../src/providers/openai/responses_dialect.ts";

Deno.test("namespace functions whose names clash with a declared function get a unique flat name and are named back", () => {
  const names = new FunctionNames();
  const { chat } = toChatRequest(
    parseResponsesBody(JSON.stringify({
      model: "m",
      input: "x",
      tools: [
        { type: "function", name: "spawn_agent" },
        { type: "namespace", name: "agents", tools: [{ type: "function", name: "spawn_agent" }] },
      ],
      tool_choice: {
        type: "allowed_tools",
        mode: "required",
        tools: [{ type: "function", name: "spawn_agent" }],
      },
    })),
    [],
    names,
  );
  assert.deepEqual(
    (chat.tools as { function: { name: string } }[]).map((t) => t.function.name),
    ["spawn_agent", "agents__spawn_agent"],
  );
  assert.deepEqual(chat.tool_choice, {
    type: "allowed_tools",
    allowed_tools: { mode: "required", tools: [{ type: "function", function: { name: "spawn_agent" } }] },
  });
  const response = resultToResponse(
    completionResult({
      model: "m",
      choices: [{
        index: 0,
        message: {
          role: "assistant",
          content: null,
          tool_calls: [
            { id: "c1", type: "function", function: { name: "agents__spawn_agent", arguments: "{}" } },
            { id: "c2", type: "function", function: { name: "spawn_agent", arguments: "{}" } },
          ],
        },
        finish_reason: "tool_calls",
      }],
    }),
    { model: "m" },
    newResponseMeta("m"),
    names,
  );
  const calls = response.output as Record<string, unknown>[];
  assert.deepEqual([calls[0].name, calls[0].namespace], ["spawn_agent", "agents"]);
  assert.deepEqual([calls[1].name, calls[1].namespace], ["spawn_agent", undefined]);
});

Deno.test("the Responses dialect holds the preamble, commits on content, fails on error events and reads usage at the end", () => {
  const v = (e: Record<string, unknown>) => RESPONSES_DIALECT.inspect(JSON.stringify(e), "");
  assert.equal(v({ type: "response.created", response: {} }), "hold");
  assert.equal(v({ type: "response.in_progress", response: {} }), "hold");
  assert.equal(v({ type: "response.output_item.added", item: { type: "message" } }), "hold");
  assert.equal(v({ type: "response.output_text.delta", delta: "x" }), "commit");
  assert.equal(v({ type: "response.function_call_arguments.delta", delta: "{" }), "commit");
  assert.equal(v({ type: "response.completed", response: {} }), "commit");
  assert.deepEqual(v({ type: "error", error: { code: "x", message: "m" } }), {
    error: { code: "x", message: "m" },
  });
  assert.deepEqual(v({ type: "response.failed", response: { error: { code: "y", message: "n" } } }), {
    error: { code: "y", message: "n" },
  });
  assert.equal(RESPONSES_DIALECT.inspect(undefined, ": keep-alive"), "hold");
  assert.deepEqual(RESPONSES_DIALECT.inspect("<html>", ""), {
    error: { message: "the upstream sent a stream event that is not JSON", code: "bad_stream" },
  });
  assert.deepEqual(
    RESPONSES_DIALECT.read({
      type: "response.completed",
      response: { error: null, usage: { input_tokens: 5, output_tokens: 2, total_tokens: 7 } },
    }, undefined),
    { usage: { prompt_tokens: 5, completion_tokens: 2, total_tokens: 7 }, finished: true, ended: true },
    "a completed response's error:null is not an error; it ends the stream",
  );
  assert.deepEqual(chatUsageOf({ input_tokens: 3, output_tokens: 4 }), {
    prompt_tokens: 3,
    completion_tokens: 4,
    total_tokens: 7,
  });
  assert.match(
    RESPONSES_DIALECT.errorEvent({ message: "m", type: "api_error", code: "c" }),
    /^event: response\.failed\ndata: /,
  );
});
