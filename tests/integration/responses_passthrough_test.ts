/**
 * Responses pass-through to the `openai` provider (SPEC §3.4, §17.2) through the `openai` SDK: a stateless
 * (`store:false`) Responses request goes to `<base>/responses` as the client sent it — built-in tools, `include`
 * and unknown fields kept, only the model replaced — and the answer comes back byte for byte, through the
 * commit rule (failover before the first content, `response.failed` after it). A request that uses the
 * proxy's store is translated to Chat Completions instead.
 */
import assert from "node:assert/strict";
import { startTestProxy, type TestProxy } from "../helpers.ts";

const K1 = "sk-proj-" + "a".repeat(48);
const K2 = "sk-proj-" + "b".repeat(48);

interface Seen {
  path: string;
  key: string | undefined;
  body: Record<string, unknown>;
}

const ev = (type: string, seq: number, data: Record<string, unknown>) =>
  `event: ${type}\ndata: ${JSON.stringify({ type, sequence_number: seq, ...data })}\n\n`;

const RESPONSE = {
  id: "resp_upstream",
  object: "response",
  created_at: 1,
  model: "gpt-4o-mini-2024",
  output: [],
};
const ITEM = {
  id: "msg_up",
  type: "message",
  role: "assistant",
  status: "completed",
  content: [{ type: "output_text", text: "from upstream", annotations: [] }],
};
const USAGE = {
  input_tokens: 21,
  output_tokens: 4,
  total_tokens: 25,
  input_tokens_details: { cached_tokens: 0 },
  output_tokens_details: { reasoning_tokens: 0 },
};

/** The upstream's Responses stream; `end` replaces its last event. */
function upstreamEvents(end?: string): string {
  return ev("response.created", 0, {
    response: { ...RESPONSE, status: "in_progress", error: null, usage: null },
  }) +
    ev("response.output_item.added", 1, {
      output_index: 0,
      item: { ...ITEM, status: "in_progress", content: [] },
    }) +
    ev("response.output_text.delta", 2, {
      item_id: "msg_up",
      output_index: 0,
      content_index: 0,
      delta: "from upstream",
    }) +
    ev("response.output_item.done", 3, { output_index: 0, item: ITEM }) +
    (end ??
      ev("response.completed", 4, {
        response: { ...RESPONSE, status: "completed", output: [ITEM], usage: USAGE },
      }));
}

async function withUpstream(
  answer: (seen: Seen, n: number) => Response,
  fn: (proxy: TestProxy, seen: Seen[]) => Promise<void>,
): Promise<void> {
  const seen: Seen[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    const auth = req.headers.get("authorization");
    const path = new URL(req.url).pathname;
    if (req.method === "GET") {
      return Response.json({ object: "list", data: [{ id: "gpt-4o-mini", object: "model" }] });
    }
    const s = { path, key: auth?.slice(7), body: await req.json() };
    seen.push(s);
    return answer(s, seen.length);
  });
  const proxy = await startTestProxy(["--disable-auth"], {
    OPENAI_API_BASE_URL: `http://127.0.0.1:${server.addr.port}/v1`,
    OPENAI_API_KEY_1: K1,
    OPENAI_API_KEY_2: K2,
  });
  try {
    await fn(proxy, seen);
  } finally {
    await proxy.close();
    await server.shutdown();
  }
}

const sse = (text: string) => new Response(text, { headers: { "content-type": "text/event-stream" } });

Deno.test("responses pass-through: a store:false request reaches openai's /responses unchanged and its stream comes back as it was", async () => {
  await withUpstream(
    (
      s,
    ) => (s.body.stream
      ? sse(upstreamEvents())
      : Response.json({ ...RESPONSE, status: "completed", output: [ITEM], usage: USAGE, error: null })),
    async (proxy, seen) => {
      const request = {
        model: "openai:gpt-4o-mini",
        input: [{ role: "developer", content: "rules" }, { role: "user", content: "find news" }],
        tools: [{ type: "web_search" }, {
          type: "function",
          name: "f",
          parameters: { type: "object" },
          strict: true,
        }],
        include: ["reasoning.encrypted_content"],
        reasoning: { effort: "low", summary: "auto" },
        store: false,
        stream: true,
        prompt_cache_key: "abc",
        some_future_field: { x: 1 },
      };
      const res = await proxy.fetch("/v1/responses", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(request),
      });
      assert.equal(res.status, 200);
      assert.equal(await res.text(), upstreamEvents(), "the upstream's bytes, untouched");
      assert.equal(res.headers.get("x-llmproxy-backend"), "openai");
      assert.equal(
        res.headers.get("x-llmproxy-dropped-tools"),
        null,
        "nothing is dropped for a Responses upstream",
      );
      assert.equal(seen[0].path, "/v1/responses");
      assert.equal(seen[0].key, K1);
      assert.deepEqual(seen[0].body, { ...request, model: "gpt-4o-mini" });

      const whole = await proxy.client().responses.create({
        model: "openai:gpt-4o-mini",
        input: "hi",
        store: false,
      });
      assert.equal(whole.id, "resp_upstream");
      assert.equal(whole.output_text, "from upstream");
      const recent = await (await proxy.fetch("/usage/recent?limit=5")).json();
      const rows = recent.data.filter((r: { frontend: string }) => r.frontend === "responses");
      assert.equal(rows.length, 2);
      for (const r of rows) {
        assert.equal(r.promptTokens, 21, "usage is read from response.completed");
      }
    },
  );
});

Deno.test("responses pass-through: a failure before the first content fails over to the next key; after it, response.failed ends the stream", async () => {
  await withUpstream((_s, n) => {
    if (n === 1) {
      return sse(
        ev("response.created", 0, { response: RESPONSE }) +
          ev("error", 1, { error: { code: "server_error", message: "boom" } }),
      );
    }
    if (n === 2) return sse(upstreamEvents());
    return sse(
      upstreamEvents(
        ev("response.failed", 4, {
          response: { ...RESPONSE, status: "failed", error: { code: "server_error", message: "died late" } },
        }),
      ),
    );
  }, async (proxy, seen) => {
    const stream = await proxy.client().responses.create({
      model: "openai:gpt-4o-mini",
      input: "x",
      store: false,
      stream: true,
    }).withResponse();
    assert.equal(
      stream.response.headers.get("x-llmproxy-attempts"),
      "2",
      "an error event before any content fails over to the next key",
    );
    let text = "";
    for await (const e of stream.data) if (e.type === "response.output_text.delta") text += e.delta;
    assert.equal(text, "from upstream");
    assert.deepEqual(seen.map((s) => s.key), [K1, K2]);

    const res = await proxy.fetch("/v1/responses", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: "openai:gpt-4o-mini", input: "x", store: false, stream: true }),
    });
    const raw = await res.text();
    assert.match(raw, /from upstream/);
    assert.match(raw, /event: response\.failed\ndata: .*died late/);
  });
});

Deno.test("responses pass-through: a request that uses the store is translated to Chat Completions instead", async () => {
  await withUpstream(() =>
    Response.json({
      id: "chatcmpl-1",
      object: "chat.completion",
      model: "gpt-4o-mini",
      choices: [{ index: 0, message: { role: "assistant", content: "translated" }, finish_reason: "stop" }],
      usage: { prompt_tokens: 3, completion_tokens: 1, total_tokens: 4 },
    }), async (proxy, seen) => {
    const r = await proxy.client().responses.create({ model: "openai:gpt-4o-mini", input: "keep this" });
    assert.equal(r.output_text, "translated");
    assert.equal(seen[0].path, "/v1/chat/completions");
    assert.equal((await proxy.client().responses.retrieve(r.id)).output_text, "translated");
  });
});
