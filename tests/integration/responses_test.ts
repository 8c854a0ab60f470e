/**
 * The Responses front end (SPEC §17.2) through the real `openai` SDK's `client.responses` API, against the
 * OpenAI-compatible (OpenRouter-shaped) and Gemini mocks: translation both ways, the stream grammar row by row,
 * errors, local replies, sessions and usage records.
 */
import assert from "node:assert/strict";
import { chunkEvent, MockOpenAI, sseResponse } from "../mocks/openai_upstream.ts";
import { geminiAnswer, geminiSse, MockGemini, usageMeta } from "../mocks/gemini_upstream.ts";
import { startTestProxy, type TestProxy } from "../helpers.ts";

const KEY = "sk-or-v1-" + "1".repeat(64);
const GKEY = "AIza" + "G".repeat(35);

async function withOpenRouter(
  fn: (proxy: TestProxy, mock: MockOpenAI) => Promise<void>,
  args: string[] = ["--disable-auth"],
  env: Record<string, string> = {},
): Promise<void> {
  const mock = MockOpenAI.start();
  const proxy = await startTestProxy([...args, "--openrouter-api-base-url", mock.url], {
    OPENROUTER_API_KEY: KEY,
    ...env,
  });
  try {
    await fn(proxy, mock);
  } finally {
    await proxy.close();
    await mock.close();
  }
}

/** A Chat SSE event (without the trailing blank line) with this chunk body. */
function chatChunk(delta: Record<string, unknown>, finish: string | null = null, extra = {}): string {
  return `data: ${
    JSON.stringify({
      id: "gen-1",
      object: "chat.completion.chunk",
      created: 1,
      model: "up/model",
      choices: [{ index: 0, delta, finish_reason: finish }],
      ...extra,
    })
  }`;
}

function usageChunk(prompt: number, completion: number, details = {}): string {
  return `data: ${
    JSON.stringify({
      id: "gen-1",
      object: "chat.completion.chunk",
      model: "up/model",
      choices: [],
      usage: {
        prompt_tokens: prompt,
        completion_tokens: completion,
        total_tokens: prompt + completion,
        ...details,
      },
    })
  }`;
}

/** Parse a Responses SSE body into its events (`event:` name and parsed data). */
async function responsesEvents(res: Response): Promise<{ event: string; data: Record<string, unknown> }[]> {
  const raw = await res.text();
  return raw.split("\n\n").filter((e) => e.trim()).map((e) => {
    const lines = e.split("\n");
    const event = lines.find((l) => l.startsWith("event: "))?.slice(7) ?? "";
    const data = JSON.parse(lines.filter((l) => l.startsWith("data: ")).map((l) => l.slice(6)).join("\n"));
    return { event, data };
  });
}

Deno.test("responses: non-streaming SDK call is translated to Chat and back (instructions, developer, sampling, usage)", async () => {
  await withOpenRouter(async (proxy, mock) => {
    const { data, response } = await proxy.client().responses.create({
      model: "openai/gpt-4o-mini",
      instructions: "Be brief.",
      input: [
        { role: "developer", content: "Answer in English." },
        { role: "user", content: [{ type: "input_text", text: "hello" }] },
        {
          type: "message",
          id: "msg_1",
          status: "completed",
          role: "assistant",
          content: [{ type: "output_text", text: "hi", annotations: [] }],
        },
        { role: "user", content: "how are you" },
      ],
      temperature: 0.2,
      top_p: 0.9,
      max_output_tokens: 55,
      reasoning: { effort: "low" },
      store: false,
      metadata: { a: "b" },
      prompt_cache_key: "k1",
      include: ["reasoning.encrypted_content"],
    }).withResponse();
    assert.equal(data.object, "response");
    assert.match(data.id, /^resp_[0-9a-f]{32}$/);
    assert.equal(data.status, "completed");
    assert.equal(data.output_text, "Echo from openai/gpt-4o-mini: how are you");
    assert.equal(data.output.length, 1);
    const msg = data.output[0];
    assert.equal(msg.type, "message");
    assert.match(msg.type === "message" ? msg.id : "", /^msg_/);
    assert.deepEqual(data.usage?.input_tokens, 7);
    assert.equal(data.usage?.output_tokens, 6);
    assert.equal(data.usage?.total_tokens, 13);
    assert.deepEqual(data.usage?.input_tokens_details, { cached_tokens: 0 });
    assert.deepEqual(data.usage?.output_tokens_details, { reasoning_tokens: 0 });
    assert.deepEqual(data.metadata, { a: "b" });
    assert.equal(response.headers.get("x-llmproxy-backend"), "openrouter");

    const sent = mock.chats[0].body!;
    assert.deepEqual(sent.messages, [
      { role: "system", content: "Be brief." },
      { role: "system", content: "Answer in English." },
      { role: "user", content: "hello" },
      { role: "assistant", content: "hi" },
      { role: "user", content: "how are you" },
    ]);
    assert.equal(sent.temperature, 0.2);
    assert.equal(sent.top_p, 0.9);
    assert.equal(sent.max_tokens, 55);
    assert.equal(sent.reasoning_effort, "low");
    for (
      const f of ["store", "include", "prompt_cache_key", "metadata", "input", "instructions", "reasoning"]
    ) {
      assert.equal(f in sent, false, `${f} is not forwarded to a Chat upstream`);
    }
  });
});

Deno.test("responses: a streamed text answer follows the §17.2 grammar with increasing sequence numbers and usage at the end", async () => {
  await withOpenRouter(async (proxy, mock) => {
    const stream = await proxy.client().responses.create({
      model: "openai/gpt-4o-mini",
      input: "one two three",
      stream: true,
      store: false,
    });
    const types: string[] = [];
    const seqs: number[] = [];
    let text = "";
    let completed: Record<string, unknown> | undefined;
    for await (const ev of stream) {
      types.push(ev.type);
      seqs.push(ev.sequence_number);
      if (ev.type === "response.output_text.delta") text += ev.delta;
      if (ev.type === "response.completed") completed = ev.response as unknown as Record<string, unknown>;
    }
    const deltas = types.filter((t) => t === "response.output_text.delta").length;
    assert.ok(deltas >= 3, "each upstream delta is its own event");
    assert.deepEqual(types, [
      "response.created",
      "response.in_progress",
      "response.output_item.added",
      "response.content_part.added",
      ...Array(deltas).fill("response.output_text.delta"),
      "response.output_text.done",
      "response.content_part.done",
      "response.output_item.done",
      "response.completed",
    ]);
    assert.deepEqual(seqs, seqs.map((_, i) => i), "sequence_number counts 0, 1, 2, …");
    assert.equal(text, "Echo from openai/gpt-4o-mini: one two three");
    assert.equal(completed?.status, "completed");
    const usage = completed?.usage as Record<string, number>;
    assert.equal(usage.input_tokens, 7);
    assert.equal(usage.total_tokens, usage.input_tokens + usage.output_tokens);
    const output = completed?.output as { type: string; content: { text: string }[] }[];
    assert.equal(output[0].content[0].text, text, "response.completed carries the whole response");
    assert.deepEqual(mock.chats[0].body?.stream_options, { include_usage: true });
  });
});

Deno.test("responses: tools are translated (strict kept, namespace flattened, built-ins dropped and named) and a streamed tool call becomes function_call events", async () => {
  await withOpenRouter(async (proxy, mock) => {
    mock.onChat = () =>
      sseResponse([
        chatChunk({ role: "assistant", content: "" }),
        chatChunk({ reasoning: "Think" }),
        chatChunk({ reasoning: "ing." }),
        chatChunk({ content: "Let me look." }),
        chatChunk({
          tool_calls: [{
            index: 0,
            id: "call_a",
            type: "function",
            function: { name: "exec_command", arguments: "" },
          }],
        }),
        chatChunk({ tool_calls: [{ index: 0, function: { arguments: '{"cmd":' } }] }),
        chatChunk({ tool_calls: [{ index: 0, function: { arguments: '"ls"}' } }] }),
        chatChunk({
          tool_calls: [{
            index: 1,
            id: "call_b",
            type: "function",
            function: { name: "spawn_agent", arguments: "{}" },
          }],
        }),
        chatChunk({}, "tool_calls"),
        usageChunk(40, 9, {
          prompt_tokens_details: { cached_tokens: 30 },
          completion_tokens_details: { reasoning_tokens: 4 },
        }),
        "data: [DONE]",
      ]);
    const res = await proxy.fetch("/v1/responses", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        model: "openai/gpt-4o-mini",
        input: "list files",
        stream: true,
        store: false,
        tool_choice: "auto",
        parallel_tool_calls: true,
        tools: [
          {
            type: "function",
            name: "exec_command",
            description: "Run",
            strict: true,
            parameters: { type: "object", properties: { cmd: { type: "string" } } },
          },
          {
            type: "namespace",
            name: "multi_agent_v1",
            description: "agents",
            tools: [{
              type: "function",
              name: "spawn_agent",
              parameters: { type: "object", properties: {} },
            }],
          },
          { type: "web_search", external_web_access: false },
          { type: "file_search", vector_store_ids: ["v"] },
        ],
      }),
    });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("x-llmproxy-dropped-tools"), "web_search, file_search");
    const events = await responsesEvents(res);
    assert.deepEqual(events.map((e) => e.data.sequence_number), events.map((_, i) => i));
    for (const e of events) assert.equal(e.event, e.data.type, "the event: line names the type");
    assert.deepEqual(events.map((e) => e.data.type), [
      "response.created",
      "response.in_progress",
      "response.output_item.added", // reasoning
      "response.reasoning_summary_part.added",
      "response.reasoning_summary_text.delta",
      "response.reasoning_summary_text.delta",
      "response.reasoning_summary_text.done",
      "response.reasoning_summary_part.done",
      "response.output_item.done",
      "response.output_item.added", // message
      "response.content_part.added",
      "response.output_text.delta",
      "response.output_text.done",
      "response.content_part.done",
      "response.output_item.done",
      "response.output_item.added", // exec_command
      "response.function_call_arguments.delta",
      "response.function_call_arguments.delta",
      "response.output_item.added", // spawn_agent
      "response.function_call_arguments.delta",
      "response.function_call_arguments.done",
      "response.output_item.done",
      "response.function_call_arguments.done",
      "response.output_item.done",
      "response.completed",
    ]);
    const argDeltas = events.filter((e) =>
      e.data.type === "response.function_call_arguments.delta" && e.data.output_index === 2
    )
      .map((e) => e.data.delta).join("");
    assert.equal(argDeltas, '{"cmd":"ls"}');
    const argsDone = events.find((e) => e.data.type === "response.function_call_arguments.done")!.data;
    assert.equal(argsDone.arguments, '{"cmd":"ls"}');
    const done = events.filter((e) => e.data.type === "response.output_item.done").map((e) =>
      e.data.item as Record<string, unknown>
    );
    assert.equal(done[2].type, "function_call");
    assert.equal(done[2].call_id, "call_a");
    assert.equal(done[2].name, "exec_command");
    assert.equal(done[2].status, "completed");
    assert.match(String(done[2].id), /^fc_/);
    assert.equal(done[3].name, "spawn_agent");
    assert.equal(
      done[3].namespace,
      "multi_agent_v1",
      "a flattened function is named back into its namespace",
    );
    const final = events.at(-1)!.data.response as Record<string, unknown>;
    assert.deepEqual((final.output as { type: string }[]).map((o) => o.type), [
      "reasoning",
      "message",
      "function_call",
      "function_call",
    ]);
    assert.deepEqual((final.output as Record<string, unknown>[])[0].summary, [{
      type: "summary_text",
      text: "Thinking.",
    }]);
    assert.deepEqual(final.usage, {
      input_tokens: 40,
      output_tokens: 9,
      total_tokens: 49,
      input_tokens_details: { cached_tokens: 30 },
      output_tokens_details: { reasoning_tokens: 4 },
    });

    const sent = mock.chats[0].body!;
    assert.deepEqual(sent.tools, [
      {
        type: "function",
        function: {
          name: "exec_command",
          description: "Run",
          parameters: { type: "object", properties: { cmd: { type: "string" } } },
          strict: true,
        },
      },
      { type: "function", function: { name: "spawn_agent", parameters: { type: "object", properties: {} } } },
    ]);
    assert.equal(sent.tool_choice, "auto");
    assert.equal(sent.parallel_tool_calls, true);
  });
});

Deno.test("responses: function_call and function_call_output items become an assistant tool call and a tool message", async () => {
  await withOpenRouter(async (proxy, mock) => {
    const r = await proxy.client().responses.create({
      model: "m",
      store: false,
      input: [
        { role: "user", content: "run ls" },
        { type: "reasoning", id: "rs_1", summary: [], encrypted_content: "opaque" },
        { type: "function_call", call_id: "call_1", name: "exec_command", arguments: '{"cmd":"ls"}' },
        {
          type: "function_call",
          call_id: "call_2",
          name: "spawn_agent",
          namespace: "multi_agent_v1",
          arguments: "{}",
        } as never,
        { type: "function_call_output", call_id: "call_1", output: "a.txt\nb.txt" },
        {
          type: "function_call_output",
          call_id: "call_2",
          output: [{ type: "input_text", text: "agent started" }],
        } as never,
        {
          role: "user",
          content: [{ type: "input_text", text: "thanks" }, {
            type: "input_image",
            image_url: "data:image/png;base64,AAAA",
            detail: "auto",
          }],
        },
      ],
      tools: [{ type: "function", name: "exec_command", parameters: { type: "object" }, strict: false }],
    });
    assert.equal(r.status, "completed");
    assert.deepEqual(mock.chats[0].body?.messages, [
      { role: "user", content: "run ls" },
      {
        role: "assistant",
        content: null,
        tool_calls: [
          { id: "call_1", type: "function", function: { name: "exec_command", arguments: '{"cmd":"ls"}' } },
          { id: "call_2", type: "function", function: { name: "spawn_agent", arguments: "{}" } },
        ],
      },
      { role: "tool", tool_call_id: "call_1", content: "a.txt\nb.txt" },
      { role: "tool", tool_call_id: "call_2", content: "agent started" },
      {
        role: "user",
        content: [{ type: "text", text: "thanks" }, {
          type: "image_url",
          image_url: { url: "data:image/png;base64,AAAA" },
        }],
      },
    ]);
  });
});

Deno.test("responses: a length stop is incomplete with incomplete_details, streaming and not", async () => {
  await withOpenRouter(async (proxy, mock) => {
    mock.onChat = (req) =>
      req.body?.stream
        ? sseResponse([
          chatChunk({ role: "assistant", content: "cut" }),
          chatChunk({}, "length"),
          usageChunk(3, 1),
          "data: [DONE]",
        ])
        : Response.json({
          id: "x",
          object: "chat.completion",
          model: "up/model",
          choices: [{ index: 0, message: { role: "assistant", content: "cut" }, finish_reason: "length" }],
          usage: { prompt_tokens: 3, completion_tokens: 1, total_tokens: 4 },
        });
    const client = proxy.client();
    const whole = await client.responses.create({
      model: "m",
      input: "x",
      max_output_tokens: 1,
      store: false,
    });
    assert.equal(whole.status, "incomplete");
    assert.deepEqual(whole.incomplete_details, { reason: "max_output_tokens" });
    assert.equal(whole.output_text, "cut");
    assert.equal(whole.model, "up/model", "the model the upstream named");
    const stream = await client.responses.create({
      model: "m",
      input: "x",
      max_output_tokens: 1,
      store: false,
      stream: true,
    });
    let last: { type: string; response?: { status?: string; incomplete_details?: unknown } } | undefined;
    for await (const ev of stream) last = ev as never;
    assert.equal(last?.type, "response.incomplete");
    assert.equal(last?.response?.status, "incomplete");
    assert.deepEqual(last?.response?.incomplete_details, { reason: "max_output_tokens" });
  });
});

Deno.test("responses: a failure after the commit ends the stream with response.failed", async () => {
  await withOpenRouter(async (proxy, mock) => {
    mock.onChat = () =>
      sseResponse([
        chunkEvent("partial "),
        `data: ${JSON.stringify({ error: { message: `upstream broke with ${KEY}`, code: 502 } })}`,
        chunkEvent("never"),
      ]);
    const res = await proxy.fetch("/v1/responses", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: "m", input: "x", stream: true }),
    });
    assert.equal(res.status, 200);
    const events = await responsesEvents(res);
    const last = events.at(-1)!.data;
    assert.equal(last.type, "response.failed");
    const response = last.response as {
      status: string;
      error: { code: string; message: string };
      id: string;
    };
    assert.equal(response.status, "failed");
    assert.equal(typeof response.error.message, "string");
    assert.equal(JSON.stringify(events).includes(KEY), false, "the key is scrubbed");
    assert.equal(
      events.some((e) => JSON.stringify(e.data).includes("never")),
      false,
      "nothing after the failure",
    );
    const got = await proxy.fetch(`/v1/responses/${response.id}`);
    assert.equal(got.status, 404, "a failed response is not stored");
    await got.body?.cancel();
  });
});

Deno.test("responses: bad requests are 400s in the OpenAI error shape naming the field; upstream errors keep their status", async () => {
  await withOpenRouter(async (proxy, mock) => {
    const post = async (body: unknown) => {
      const res = await proxy.fetch("/v1/responses", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: typeof body === "string" ? body : JSON.stringify(body),
      });
      return { status: res.status, body: await res.json() };
    };
    const cases: [unknown, string | null, RegExp][] = [
      ["{not json", null, /not valid JSON/],
      [[1], null, /JSON object/],
      [{ model: "m" }, "input", /required/],
      [{ model: "m", input: 5 }, "input", /string or an array/],
      [
        { model: "m", input: [{ role: "robot", content: "x" }] },
        "input.0.role",
        /user, assistant, system, developer/,
      ],
      [{ model: "m", input: [{ type: "computer_call", id: "c" }] }, "input.0.type", /computer_call/],
      [
        { model: "m", input: [{ role: "user", content: [{ type: "input_file", file_id: "f" }] }] },
        "input.0.content.0.type",
        /input_file/,
      ],
      [
        { model: "m", input: [{ type: "function_call", name: "f", arguments: "{}" }] },
        "input.0.call_id",
        /string/,
      ],
      [{ model: "m", input: "x", temperature: "hot" }, "temperature", /number/],
      [{ model: "m", input: "x", max_output_tokens: 0 }, "max_output_tokens", /positive integer/],
      [
        { model: "m", input: "x", tools: [{ type: "web_search" }], tool_choice: { type: "web_search" } },
        "tool_choice",
        /web_search/,
      ],
      [
        { model: "m", input: "x", text: { format: { type: "json_schema", name: "n" } } },
        "text.format.schema",
        /JSON Schema/,
      ],
      [{ model: "m", input: "x", tools: [{ type: "function" }] }, "tools.0.name", /non-empty string/],
    ];
    for (const [body, param, message] of cases) {
      const r = await post(body);
      assert.equal(r.status, 400, JSON.stringify(body));
      assert.equal(r.body.error.type, "invalid_request_error");
      assert.equal(r.body.error.param, param, JSON.stringify(body));
      assert.match(r.body.error.message, message);
    }
    assert.equal(mock.chats.length, 0, "nothing bad went upstream");

    mock.onChat = () =>
      new Response(JSON.stringify({ error: { code: 400, message: "context too long" } }), {
        status: 400,
        headers: { "content-type": "application/json" },
      });
    const err = await proxy.client().responses.create({ model: "m", input: "x" }).catch((e) => e);
    assert.equal(err.status, 400);
    assert.match(String(err.message), /context too long/);
  });
});

Deno.test("responses: auth uses the client key; a missing key is a 401 in the OpenAI shape", async () => {
  await withOpenRouter(
    async (proxy) => {
      const res = await proxy.fetch("/v1/responses", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ model: "m", input: "x" }),
      });
      assert.equal(res.status, 401);
      const body = await res.json();
      assert.equal(body.error.code, "invalid_api_key");
      const ok = await proxy.client("client-key-1").responses.create({
        model: "m",
        input: "hi",
        store: false,
      });
      assert.equal(ok.output_text, "Echo from m: hi");
    },
    [],
    { LLM_INTERACTIVE_PROXY_API_KEY: "client-key-1" },
  );
});

Deno.test("responses: text.format json_schema and json_object become response_format", async () => {
  await withOpenRouter(async (proxy, mock) => {
    const client = proxy.client();
    const schema = {
      type: "object",
      properties: { a: { type: "string" } },
      required: ["a"],
      additionalProperties: false,
    };
    await client.responses.create({
      model: "m",
      input: "x",
      store: false,
      text: { format: { type: "json_schema", name: "thing", schema, strict: true } },
    });
    await client.responses.create({
      model: "m",
      input: "x json",
      store: false,
      text: { format: { type: "json_object" } },
    });
    await client.responses.create({
      model: "m",
      input: "x",
      store: false,
      text: { format: { type: "text" } },
    });
    assert.deepEqual(mock.chats[0].body?.response_format, {
      type: "json_schema",
      json_schema: { name: "thing", schema, strict: true },
    });
    assert.deepEqual(mock.chats[1].body?.response_format, { type: "json_object" });
    assert.equal("response_format" in mock.chats[2].body!, false);
  });
});

Deno.test("responses: !/hello is answered locally in Responses shape, streaming and not; a session override steers the next request", async () => {
  await withOpenRouter(async (proxy, mock) => {
    const client = proxy.client("unused", { headers: { "X-Session-ID": "codex-1" } });
    const local = await client.responses.create({ model: "m", input: "!/hello" }).withResponse();
    assert.match(local.data.id, /^resp_/);
    assert.equal(local.data.status, "completed");
    assert.match(local.data.output_text, /Session: codex-1/);
    assert.deepEqual(local.data.usage, {
      input_tokens: 0,
      output_tokens: 0,
      total_tokens: 0,
      input_tokens_details: { cached_tokens: 0 },
      output_tokens_details: { reasoning_tokens: 0 },
    });
    const stored = await (await proxy.fetch(`/v1/responses/${local.data.id}`)).json();
    assert.equal(stored.output[0].content[0].text, local.data.output_text, "a local reply is stored too");

    const stream = await client.responses.create({
      model: "m",
      input: "!/set(model=openrouter:openai/gpt-4o-mini)",
      stream: true,
    });
    const types: string[] = [];
    let text = "";
    for await (const ev of stream) {
      types.push(ev.type);
      if (ev.type === "response.output_text.delta") text += ev.delta;
    }
    assert.equal(types[0], "response.created");
    assert.equal(types.at(-1), "response.completed");
    assert.match(text, /openai\/gpt-4o-mini/);
    assert.doesNotMatch(text, /^Error/);
    assert.equal(mock.chats.length, 0, "commands never reach the model");

    const next = await client.responses.create({ model: "m", input: "go", store: false }).withResponse();
    assert.equal(next.response.headers.get("x-llmproxy-model"), "openrouter:openai/gpt-4o-mini");
    assert.equal(mock.chats[0].body?.model, "openai/gpt-4o-mini");
  });
});

Deno.test("responses: usage records name the front end", async () => {
  await withOpenRouter(async (proxy) => {
    await proxy.client().responses.create({ model: "m", input: "x", store: false });
    const recent = await (await proxy.fetch("/usage/recent?limit=5")).json();
    assert.equal(recent.data[0].frontend, "responses");
  });
});

Deno.test("responses: through the Gemini translation, streaming text and a tool call, and non-streaming", async () => {
  const mock = MockGemini.start();
  const proxy = await startTestProxy(["--disable-auth", "--gemini-api-base-url", mock.url], {
    GEMINI_API_KEY: GKEY,
  });
  try {
    mock.onGenerate = (req) => {
      const hasTool = JSON.stringify(req.body).includes("functionResponse");
      if (req.rpc === "streamGenerateContent" && !hasTool) {
        return geminiSse([
          geminiAnswer([{ text: "Running " }], null, null),
          geminiAnswer(
            [{ functionCall: { name: "exec_command", args: { cmd: "ls" } } }],
            "STOP",
            usageMeta(12, 4),
          ),
        ]);
      }
      return undefined;
    };
    const client = proxy.client();
    const stream = await client.responses.create({
      model: "gemini:gemini-2.5-flash",
      input: "list",
      stream: true,
      tools: [{
        type: "function",
        name: "exec_command",
        parameters: { type: "object", properties: { cmd: { type: "string" } } },
        strict: false,
      }, { type: "web_search" }],
    });
    let final: Record<string, unknown> | undefined;
    for await (const ev of stream) if (ev.type === "response.completed") final = ev.response as never;
    const output = final?.output as Record<string, unknown>[];
    assert.deepEqual(output.map((o) => o.type), ["message", "function_call"]);
    assert.equal(output[1].name, "exec_command");
    assert.deepEqual(JSON.parse(String(output[1].arguments)), { cmd: "ls" });
    assert.equal((final?.usage as Record<string, number>).input_tokens, 12);
    const sent = mock.generations[0].body!;
    const decls = (sent.tools as { functionDeclarations: { name: string }[] }[])[0].functionDeclarations;
    assert.deepEqual(decls.map((d) => d.name), ["exec_command"], "web_search is not sent to Gemini");

    const second = await client.responses.create({
      model: "gemini:gemini-2.5-flash",
      previous_response_id: String(final?.id),
      input: [{ type: "function_call_output", call_id: String(output[1].call_id), output: "a.txt" }],
    });
    assert.match(second.output_text, /Tool results for gemini-2.5-flash: .*a\.txt/);
  } finally {
    await proxy.close();
    await mock.close();
  }
});

Deno.test("responses: a translated stream's response.created names the model the upstream answered with, as response.completed does", async () => {
  await withOpenRouter(async (proxy, mock) => {
    // The client asks for one name; the upstream answers as "up/model" (what a route, an alias or a provider's
    // own model resolution leads to). Every response object of the stream reports the same, answering model.
    mock.onChat = () =>
      sseResponse([
        chatChunk({ role: "assistant", content: "" }),
        chatChunk({ content: "Hi." }),
        chatChunk({}, "stop"),
        usageChunk(3, 2),
        "data: [DONE]",
      ]);
    const stream = await proxy.client().responses.create({
      model: "openai/gpt-4o-mini",
      input: "hello",
      stream: true,
      store: false,
    });
    const models: [string, unknown][] = [];
    for await (const ev of stream) {
      if ("response" in ev) models.push([ev.type, (ev.response as { model?: unknown }).model]);
    }
    assert.deepEqual(models, [
      ["response.created", "up/model"],
      ["response.in_progress", "up/model"],
      ["response.completed", "up/model"],
    ]);
  });
});
