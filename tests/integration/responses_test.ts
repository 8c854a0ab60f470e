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
