/**
 * Opt-in checks against the real Gemini API through the proxy. They run only when GEMINI_API_KEY_1 is set in
 * the environment (never stored in the repository); otherwise they are reported as ignored.
 * Model: GEMINI_LIVE_MODEL (default gemini-2.5-flash).
 */
import assert from "node:assert/strict";
import type OpenAI from "openai";
import { startTestProxy, type TestProxy } from "../helpers.ts";

const KEY = Deno.env.get("GEMINI_API_KEY_1");
const MODEL = `gemini:${Deno.env.get("GEMINI_LIVE_MODEL") ?? "gemini-2.5-flash"}`;
const ignore = !KEY;
const why = ignore ? " [ignored: set GEMINI_API_KEY_1 to run]" : "";

async function withLiveProxy(fn: (proxy: TestProxy) => Promise<void>): Promise<void> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(Deno.env.toObject())) if (/^GEMINI_API_KEY_\d+$/.test(k)) env[k] = v;
  const proxy = await startTestProxy(["--disable-auth", "--timeout", "60"], env);
  try {
    await fn(proxy);
  } finally {
    await proxy.close();
  }
}

Deno.test({
  name: `live gemini: chat, streaming and /v1/models${why}`,
  ignore,
  async fn() {
    await withLiveProxy(async (proxy) => {
      const client = proxy.client();
      const res = await client.chat.completions.create({
        model: MODEL,
        messages: [{ role: "system", content: "Answer with one word." }, {
          role: "user",
          content: "Capital of France?",
        }],
        max_tokens: 200,
      });
      assert.match(res.choices[0].message.content ?? "", /paris/i);
      assert.ok((res.usage?.prompt_tokens ?? 0) > 0);

      const stream = await client.chat.completions.create({
        model: MODEL,
        messages: [{ role: "user", content: "Count from 1 to 5, digits separated by spaces." }],
        stream: true,
        stream_options: { include_usage: true },
      });
      let text = "";
      let usage: OpenAI.CompletionUsage | undefined;
      for await (const c of stream) {
        text += c.choices[0]?.delta?.content ?? "";
        usage = c.usage ?? usage;
      }
      assert.match(text, /1\D+2\D+3\D+4\D+5/);
      assert.ok((usage?.total_tokens ?? 0) > 0);

      const ids = [];
      for await (const m of client.models.list()) ids.push(m.id);
      assert.ok(ids.includes(MODEL), `${MODEL} is listed`);
    });
  },
});

Deno.test({
  name: `live gemini: a tool-call round trip${why}`,
  ignore,
  async fn() {
    await withLiveProxy(async (proxy) => {
      const client = proxy.client();
      const tools: OpenAI.ChatCompletionTool[] = [{
        type: "function",
        function: {
          name: "get_weather",
          description: "Current weather for a city",
          parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
        },
      }];
      const messages: OpenAI.ChatCompletionMessageParam[] = [{
        role: "user",
        content: "What's the weather in Paris?",
      }];
      const first = await client.chat.completions.create({
        model: MODEL,
        messages,
        tools,
        tool_choice: "required",
      });
      const msg = first.choices[0].message;
      assert.equal(first.choices[0].finish_reason, "tool_calls");
      const call = msg.tool_calls![0];
      assert.ok(call.type === "function" && call.function.name === "get_weather");
      messages.push(msg);
      messages.push({ role: "tool", tool_call_id: call.id, content: '{"temperature_c":18,"sky":"sunny"}' });
      const second = await client.chat.completions.create({ model: MODEL, messages, tools });
      assert.match(second.choices[0].message.content ?? "", /18/);
    });
  },
});
