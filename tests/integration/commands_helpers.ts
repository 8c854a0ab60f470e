/** Helpers for the in-chat command tests: one call shape for both stream modes through the real OpenAI SDK. */
import type OpenAI from "openai";
import { MockOpenAI } from "../mocks/openai_upstream.ts";
import { startTestProxy, type TestProxy } from "../helpers.ts";

/** An OpenRouter key shaped like the real ones. */
export const OR_KEY = "sk-or-v1-" + "1".repeat(64);

/** A reply as the client saw it, the same for JSON and SSE. */
export interface Reply {
  content: string | null;
  finish: string | null;
  id: string;
  model: string;
  usage: OpenAI.CompletionUsage | undefined;
  toolCalls: { name: string; arguments: string }[];
  headers: Headers;
  /** SSE: every chunk carried the same id. */
  chunkIds: Set<string>;
}

/** Options of {@link ask}. */
export interface AskOptions {
  stream?: boolean;
  session?: string;
  key?: string;
  model?: string;
  headers?: Record<string, string>;
  /** Extra body fields (tools, stream_options, …). */
  extra?: Record<string, unknown>;
}

/** Send a chat request through the SDK and normalise the answer. */
export async function ask(
  proxy: TestProxy,
  messages: string | OpenAI.ChatCompletionMessageParam[],
  opts: AskOptions = {},
): Promise<Reply> {
  const headers: Record<string, string> = { ...opts.headers };
  if (opts.session) headers["X-Session-ID"] = opts.session;
  const client = proxy.client(opts.key, { headers });
  const msgs = typeof messages === "string" ? [{ role: "user" as const, content: messages }] : messages;
  const base = { model: opts.model ?? "openrouter:openai/gpt-4o-mini", messages: msgs, ...opts.extra };
  if (!opts.stream) {
    const { data, response } = await client.chat.completions.create({ ...base, stream: false } as never)
      .withResponse() as unknown as { data: OpenAI.ChatCompletion; response: Response };
    const ch = data.choices[0];
    return {
      content: ch.message.content,
      finish: ch.finish_reason,
      id: data.id,
      model: data.model,
      usage: data.usage,
      toolCalls: (ch.message.tool_calls ?? []).map((t) => {
        const fn = (t as { function: { name: string; arguments: string } }).function;
        return { name: fn.name, arguments: fn.arguments };
      }),
      headers: response.headers,
      chunkIds: new Set([data.id]),
    };
  }
  const { data, response } = await client.chat.completions.create({ ...base, stream: true } as never)
    .withResponse() as unknown as { data: AsyncIterable<OpenAI.ChatCompletionChunk>; response: Response };
  let content: string | null = null;
  let finish: string | null = null;
  let model = "";
  let usage: OpenAI.CompletionUsage | undefined;
  const ids = new Set<string>();
  const calls: { name: string; arguments: string }[] = [];
  for await (const chunk of data) {
    ids.add(chunk.id);
    model = chunk.model;
    if (chunk.usage) usage = chunk.usage;
    const ch = chunk.choices[0];
    if (!ch) continue;
    if (typeof ch.delta.content === "string" && ch.delta.content) {
      content = (content ?? "") + ch.delta.content;
    }
    for (const tc of ch.delta.tool_calls ?? []) {
      const i = tc.index;
      calls[i] ??= { name: "", arguments: "" };
      calls[i].name += tc.function?.name ?? "";
      calls[i].arguments += tc.function?.arguments ?? "";
    }
    if (ch.finish_reason) finish = ch.finish_reason;
  }
  return {
    content,
    finish,
    id: [...ids][0],
    model,
    usage,
    toolCalls: calls,
    headers: response.headers,
    chunkIds: ids,
  };
}

/** A mock OpenRouter and a proxy in front of it (auth disabled unless `env` has client keys and args omit it). */
export async function setup(
  args: string[] = ["--disable-auth"],
  env: Record<string, string> = {},
): Promise<{ mock: MockOpenAI; proxy: TestProxy; close: () => Promise<void> }> {
  const mock = MockOpenAI.start();
  const proxy = await startTestProxy(["--openrouter-api-base-url", mock.url, ...args], {
    OPENROUTER_API_KEY: OR_KEY,
    ...env,
  });
  // Let the start-up model listing land so model validation is deterministic.
  await proxy.ctx.registry.refresh("openrouter");
  return {
    mock,
    proxy,
    async close() {
      await proxy.close();
      await mock.close();
    },
  };
}

/** Both stream modes, for tests that must hold in each. */
export const MODES = [false, true] as const;
