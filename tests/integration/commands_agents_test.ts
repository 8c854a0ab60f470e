import assert from "node:assert/strict";
import type OpenAI from "openai";
import { ask, MODES, setup } from "./commands_helpers.ts";
import {
  cline2Task,
  clineFeedback,
  clineTask,
  ENVIRONMENT_DETAILS,
  qwenTurn,
  SYSTEM_OPENINGS,
  XML_ATTEMPT_COMPLETION,
} from "../fixtures/agents.ts";

const ATTEMPT_TOOL = {
  type: "function",
  function: {
    name: "attempt_completion",
    description: "Present the result of the task to the user.",
    parameters: { type: "object", properties: { result: { type: "string" } }, required: ["result"] },
  },
};
const READ_TOOL = {
  type: "function",
  function: { name: "read_file", parameters: { type: "object", properties: { path: { type: "string" } } } },
};

function cline(system: string, user: unknown): OpenAI.ChatCompletionMessageParam[] {
  return [{ role: "system", content: system }, { role: "user", content: user as string }];
}

Deno.test("Cline with XML tools: a typed !/hello in <task> is a pure command, answered as <attempt_completion>", async () => {
  const t = await setup();
  try {
    for (const stream of MODES) {
      const session = `cline-xml-${stream}`;
      const r = await ask(
        t.proxy,
        cline(SYSTEM_OPENINGS.cline + XML_ATTEMPT_COMPLETION, clineTask("!/hello")),
        { stream, session },
      );
      assert.match(
        r.content!,
        /^<attempt_completion>\n<result>\nllmproxy .*\nSession: cline-xml-[\s\S]*\n<\/result>\n<\/attempt_completion>$/,
      );
      assert.equal(r.finish, "stop");
      const err = await ask(
        t.proxy,
        cline(SYSTEM_OPENINGS.cline + XML_ATTEMPT_COMPLETION, clineFeedback("!/set(model=zzz)")),
        { stream, session },
      );
      assert.match(err.content!, /^<attempt_completion>\n<result>\nError: model "zzz" is neither/);
      const st = await ask(t.proxy, "!/status", { stream, session });
      assert.match(st.content!, /, agent cline$/m);
    }
    assert.equal(t.mock.chats.length, 0);
  } finally {
    await t.close();
  }
});

Deno.test("Cline 2.x: a typed !/hello beside the task_progress reminder part is answered by the proxy", async () => {
  const t = await setup();
  try {
    for (const stream of MODES) {
      const r = await ask(
        t.proxy,
        cline(SYSTEM_OPENINGS.cline + XML_ATTEMPT_COMPLETION, cline2Task("!/hello")),
        { stream, session: `cline2-${stream}` },
      );
      assert.match(r.content!, /^<attempt_completion>\n<result>\nllmproxy .*\nSession: cline2-/);
    }
    assert.equal(t.mock.chats.length, 0);
    // Typed text beside the command still goes to the model, without the command.
    await ask(
      t.proxy,
      cline(SYSTEM_OPENINGS.cline + XML_ATTEMPT_COMPLETION, cline2Task("!/set(project=x) fix the bug")),
      { stream: false, session: "cline2-mixed" },
    );
    assert.equal(t.mock.chats.length, 1);
    const sent = JSON.stringify((t.mock.chats[0].body?.messages as unknown[]).at(-1));
    assert.match(sent, /<task>\\n fix the bug\\n<\/task>/);
    assert.match(sent, /# task_progress RECOMMENDED/);
  } finally {
    await t.close();
  }
});

Deno.test("a request declaring a native attempt_completion tool gets a tool call (finish_reason tool_calls)", async () => {
  const t = await setup();
  try {
    for (const stream of MODES) {
      const r = await ask(t.proxy, cline(SYSTEM_OPENINGS["roo-code"], clineTask("!/set(project=tools)")), {
        stream,
        session: `native-${stream}`,
        extra: { tools: [READ_TOOL, ATTEMPT_TOOL] },
      });
      assert.equal(r.finish, "tool_calls");
      assert.equal(r.content, null);
      assert.equal(r.toolCalls.length, 1);
      assert.equal(r.toolCalls[0].name, "attempt_completion");
      assert.match(JSON.parse(r.toolCalls[0].arguments).result, /project set to tools$/);
    }
  } finally {
    await t.close();
  }
});

Deno.test("newer Cline with native tools but no attempt_completion gets plain text", async () => {
  const t = await setup();
  try {
    for (const stream of MODES) {
      const r = await ask(
        t.proxy,
        cline(SYSTEM_OPENINGS.cline + XML_ATTEMPT_COMPLETION, clineTask("!/set(project=x)")),
        {
          stream,
          session: `plain-${stream}`,
          extra: { tools: [READ_TOOL] },
        },
      );
      assert.equal(r.finish, "stop");
      assert.match(r.content!, /project set to x$/);
      assert.doesNotMatch(r.content!, /attempt_completion/);
    }
  } finally {
    await t.close();
  }
});

Deno.test("Cline mixed task: the typed rest and the agent's context are forwarded untouched", async () => {
  const t = await setup();
  try {
    for (const stream of MODES) {
      const r = await ask(
        t.proxy,
        cline(SYSTEM_OPENINGS.cline, clineTask("!/set(project=web) fix the <div> bug\n# in app.ts")),
        {
          stream,
          session: `cmix-${stream}`,
        },
      );
      const sent = t.mock.chats.at(-1)!.body!.messages as { content: unknown }[];
      assert.deepEqual(sent[1].content, [
        { type: "text", text: "<task>\n fix the <div> bug\n# in app.ts\n</task>" },
        { type: "text", text: ENVIRONMENT_DETAILS },
      ]);
      assert.equal(decodeURIComponent(r.headers.get("x-llmproxy-commands")!), "project set to web");
      // A command only inside pasted context is not run: the message goes to the model as it is.
      const n = t.mock.chats.length;
      const env = ENVIRONMENT_DETAILS.replace("# Current Mode", "!/hello\n# Current Mode");
      await ask(
        t.proxy,
        cline(SYSTEM_OPENINGS.cline, [{ type: "text", text: "<task>\nsummarise\n</task>" }, {
          type: "text",
          text: env,
        }]),
        {
          stream,
          session: `cmix-${stream}`,
        },
      );
      assert.equal(t.mock.chats.length, n + 1);
      assert.equal(
        (t.mock.chats.at(-1)!.body!.messages as { content: { text: string }[] }[])[1].content[1].text,
        env,
      );
    }
  } finally {
    await t.close();
  }
});

Deno.test("Qwen Code: <system-reminder> parts are not typed text, so a typed command alone is answered locally", async () => {
  const t = await setup();
  try {
    for (const stream of MODES) {
      const r = await ask(t.proxy, cline(SYSTEM_OPENINGS["qwen-code"], qwenTurn("!/status")), {
        stream,
        session: `qwen-${stream}`,
      });
      assert.match(r.content!, /^session: qwen-.*agent qwen-code$/m);
      assert.doesNotMatch(
        r.content!,
        /^session: .*\n[\s\S]*session: /,
        "the !/status inside the reminder did not run twice",
      );
    }
    assert.equal(t.mock.chats.length, 0);
  } finally {
    await t.close();
  }
});
