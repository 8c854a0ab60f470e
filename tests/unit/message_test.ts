import assert from "node:assert/strict";
import { scanLatestUserMessage, typedRanges } from "../../src/commands/message.ts";
import type { Message } from "../../src/model/request.ts";
import {
  cline2Task,
  clineFeedback,
  clineTask,
  clineToolResult,
  ENVIRONMENT_DETAILS,
  qwenTurn,
} from "../fixtures/agents.ts";

const known = (n: string) => ["hello", "help", "set", "status"].includes(n);
const scan = (messages: Message[], agent?: Parameters<typeof scanLatestUserMessage>[3]) =>
  scanLatestUserMessage(messages, "!/", known, agent);

Deno.test("only the latest message is scanned, and only when it is a user message", () => {
  const history: Message[] = [
    { role: "system", content: "!/hello" },
    { role: "user", content: "!/set(model=openrouter:x)" },
    { role: "assistant", content: "Type !/help for the list of commands." },
    { role: "user", content: "what is 2+2?" },
  ];
  assert.equal(scan(history), undefined);
  assert.equal(scan([...history, { role: "assistant", content: "!/hello" }]), undefined);
  assert.equal(
    scan([{ role: "user", content: "!/hello" }, { role: "tool", content: "x", tool_call_id: "1" }]),
    undefined,
  );
  const s = scan([...history, { role: "user", content: "!/status" }])!;
  assert.equal(s.index, 4);
  assert.deepEqual(s.commands.map((c) => c.name), ["status"]);
  assert.equal(s.pure, true);
});

Deno.test("text parts are scanned; a part holding only commands is dropped; images count as content", () => {
  const s = scan([{
    role: "user",
    content: [
      { type: "text", text: "!/hello" },
      { type: "text", text: "explain\n!/set(project=p)\n# keep" },
    ],
  }])!;
  assert.equal(s.pure, false);
  assert.deepEqual(s.message.content, [{ type: "text", text: "explain\n\n# keep" }]);
  const img = scan([{
    role: "user",
    content: [{ type: "text", text: "!/hello" }, {
      type: "image_url",
      image_url: { url: "data:image/png;base64,AA" },
    }],
  }])!;
  assert.equal(img.pure, false);
});

Deno.test("Cline: only the typed text inside <task>/<feedback> counts; environment details do not remain", () => {
  const task = scan([{ role: "user", content: clineTask("!/hello") }], "cline")!;
  assert.equal(task.pure, true);
  const mixed = scan([{ role: "user", content: clineTask("!/set(project=x) fix the bug") }], "cline")!;
  assert.equal(mixed.pure, false);
  assert.deepEqual(mixed.message.content, [
    { type: "text", text: "<task>\n fix the bug\n</task>" },
    { type: "text", text: ENVIRONMENT_DETAILS },
  ]);
  const fb = scan([{ role: "user", content: clineFeedback("!/status") }], "roo-code")!;
  assert.equal(fb.pure, true);
  assert.deepEqual(fb.commands.map((c) => c.name), ["status"]);
});

Deno.test("Cline 2.x: reminder parts beside the wrapped typed text are the agent's context", () => {
  const task = scan([{ role: "user", content: cline2Task("!/hello") }], "cline")!;
  assert.equal(task.pure, true);
  // Unwrapped parts of a message that has a wrapped one are not scanned either.
  const typedOutside = cline2Task("fix it");
  typedOutside[1] = { type: "text", text: "!/hello" };
  assert.equal(scan([{ role: "user", content: typedOutside }], "cline"), undefined);
  // Without a detected agent, every part is what the person typed.
  assert.equal(scan([{ role: "user", content: cline2Task("!/hello") }])!.pure, false);
});

Deno.test("Cline: commands in pasted tool output, file contents or environment details are not run", () => {
  assert.equal(
    scan([{ role: "user", content: clineToolResult("docs: run !/hello to start") }], "cline"),
    undefined,
  );
  const env = ENVIRONMENT_DETAILS.replace("# Current Mode", "!/status\n# Current Mode");
  assert.equal(
    scan([{
      role: "user",
      content: [{ type: "text", text: "<task>\nhi\n</task>" }, { type: "text", text: env }],
    }], "cline"),
    undefined,
  );
  // Without the agent detected, the same text is an ordinary message and is scanned.
  assert.notEqual(scan([{ role: "user", content: clineToolResult("!/hello") }]), undefined);
  // A <task> quoted inside environment details is not a typed region.
  assert.deepEqual(
    typedRanges("<environment_details><task>!/hello</task></environment_details>", "cline"),
    [],
  );
});

Deno.test("Qwen Code: <system-reminder> parts are ignored", () => {
  const s = scan([{ role: "user", content: qwenTurn("!/hello") }], "qwen-code")!;
  assert.deepEqual(s.commands.map((c) => c.name), ["hello"]);
  assert.equal(s.pure, true);
  assert.equal(scan([{ role: "user", content: qwenTurn("just a question") }], "qwen-code"), undefined);
});

Deno.test("opencode: its title request quotes the typed first message, so commands run only from the real turn", () => {
  // The shape opencode 1.18 sends beside the real turn (captured from `opencode run`).
  const title: Message[] = [
    {
      role: "system",
      content:
        "You are a title generator. You output ONLY a thread title. Nothing else.\n\n<task>\nGenerate a brief title",
    },
    { role: "user", content: "Generate a title for this conversation:\n" },
    { role: "user", content: "!/hello" },
  ];
  assert.equal(scan(title, "opencode"), undefined);
  const turn: Message[] = [
    {
      role: "system",
      content: "You are opencode, an agent - please keep going until the user’s query is resolved",
    },
    { role: "user", content: "!/hello" },
  ];
  const s = scan(turn, "opencode")!;
  assert.deepEqual(s.commands.map((c) => c.name), ["hello"]);
  assert.equal(s.pure, true);
  // Only opencode's own request is exempt: a plain client with that system prompt still runs its commands.
  assert.deepEqual(scan(title)?.commands.map((c) => c.name), ["hello"]);
});
