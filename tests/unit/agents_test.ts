import assert from "node:assert/strict";
import { detectAgent, replyShape } from "../../src/sessions/agents.ts";
import type { ChatRequest } from "../../src/model/request.ts";
import { clineTask, SYSTEM_OPENINGS, XML_ATTEMPT_COMPLETION } from "../fixtures/agents.ts";

const req = (system: string | undefined, extra: Partial<ChatRequest> = {}): ChatRequest => ({
  model: "m",
  messages: [
    ...(system === undefined ? [] : [{ role: "system" as const, content: system }]),
    { role: "user" as const, content: "hi" },
  ],
  ...extra,
});

Deno.test("every agent is detected from the opening of its real system prompt", () => {
  for (const [agent, opening] of Object.entries(SYSTEM_OPENINGS)) {
    assert.equal(detectAgent(req(opening), new Headers()), agent, agent);
    assert.equal(detectAgent(req(`\n  ${opening}`), new Headers()), agent, `${agent} after whitespace`);
  }
});

Deno.test("Roo and Kilo are not mistaken for Cline; mentions later in a prompt do not count", () => {
  assert.equal(
    detectAgent(req(SYSTEM_OPENINGS["roo-code"] + "\nLike Cline, use tools."), new Headers()),
    "roo-code",
  );
  assert.equal(
    detectAgent(req("You are a helpful assistant. Unlike Cline or aider, you chat."), new Headers()),
    undefined,
  );
  assert.equal(
    detectAgent(req("You are a helpful assistant that knows about tool use."), new Headers()),
    undefined,
  );
  assert.equal(detectAgent(req(undefined), new Headers()), undefined);
});

Deno.test("headers and message shapes identify agents when the system prompt does not", () => {
  assert.equal(detectAgent(req("custom"), new Headers({ "x-title": "Roo Code" })), "roo-code");
  assert.equal(detectAgent(req("custom"), new Headers({ "http-referer": "https://cline.bot" })), "cline");
  assert.equal(detectAgent(req("custom"), new Headers({ "x-title": "Kilo Code" })), "kilo-code");
  assert.equal(
    detectAgent(req("x"), new Headers({ "user-agent": "QwenCode/0.0.9 (linux; x64)" })),
    "qwen-code",
  );
  assert.equal(detectAgent(req("x"), new Headers({ "user-agent": "opencode/0.3.1 ai-sdk/4" })), "opencode");
  assert.equal(detectAgent(req("x"), new Headers({ "user-agent": "OpenAI/JS 5.1.0" })), undefined);
  const shaped: ChatRequest = { model: "m", messages: [{ role: "user", content: clineTask("do it") }] };
  assert.equal(detectAgent(shaped, new Headers()), "cline");
});

Deno.test("reply shape is decided by the request: native tool, XML tool text without tools, else text", () => {
  const nativeTool = {
    tools: [{ type: "function", function: { name: "attempt_completion", parameters: { type: "object" } } }],
  };
  const otherTool = { tools: [{ type: "function", function: { name: "read_file", parameters: {} } }] };
  assert.equal(replyShape(req(SYSTEM_OPENINGS.cline, nativeTool as Partial<ChatRequest>)), "tool-call");
  assert.equal(replyShape(req("anything", nativeTool as Partial<ChatRequest>)), "tool-call");
  assert.equal(replyShape(req(SYSTEM_OPENINGS.cline + XML_ATTEMPT_COMPLETION)), "xml");
  assert.equal(
    replyShape(req(SYSTEM_OPENINGS.cline + XML_ATTEMPT_COMPLETION, { tools: [] } as Partial<ChatRequest>)),
    "xml",
  );
  // Newer Cline: native tools but no attempt_completion among them → plain text.
  assert.equal(
    replyShape(req(SYSTEM_OPENINGS.cline + XML_ATTEMPT_COMPLETION, otherTool as Partial<ChatRequest>)),
    "text",
  );
  assert.equal(replyShape(req(SYSTEM_OPENINGS.cline)), "text");
  assert.equal(replyShape(req(undefined)), "text");
});
