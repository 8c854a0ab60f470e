/**
 * A mock Anthropic Messages upstream following the real wire format: `POST /v1/messages` (JSON, or SSE with
 * `message_start`, `content_block_*`, `ping`, `message_delta`, `message_stop`), `POST /v1/messages/count_tokens`,
 * `GET /v1/models`, and
 * Anthropic error bodies. It records every request; tests script answers with `onMessages`.
 */
import { readRequest } from "./read_request.ts";
import { sseResponse } from "./openai_upstream.ts";

/** A recorded upstream request. */
export interface AnthropicRecorded {
  path: string;
  headers: Record<string, string>;
  body: Record<string, unknown> | undefined;
  key: string | undefined;
}

/** An Anthropic error response (`{"type":"error","error":{type,message}}`). */
export function anthropicError(
  status: number,
  type: string,
  message: string,
  headers: Record<string, string> = {},
): Response {
  return new Response(JSON.stringify({ type: "error", error: { type, message } }), {
    status,
    headers: { "content-type": "application/json", ...headers },
  });
}

/** One SSE event with its `event:` line. */
export function event(type: string, data: Record<string, unknown>): string {
  return `event: ${type}\ndata: ${JSON.stringify({ type, ...data })}`;
}

const usage0 = {
  input_tokens: 11,
  output_tokens: 1,
  cache_read_input_tokens: 3,
  cache_creation_input_tokens: 0,
};

/** The events of an answer: text (in word pieces), then optionally one tool call (input in two pieces). */
export function messageEvents(
  model: string,
  text: string,
  tool?: { id: string; name: string; input: Record<string, unknown> },
): string[] {
  const out = [
    event("message_start", {
      message: {
        id: "msg_mock",
        type: "message",
        role: "assistant",
        model,
        content: [],
        stop_reason: null,
        usage: usage0,
      },
    }),
    event("content_block_start", { index: 0, content_block: { type: "text", text: "" } }),
    event("ping", {}),
  ];
  for (const piece of text.match(/\S+\s*/g) ?? []) {
    out.push(event("content_block_delta", { index: 0, delta: { type: "text_delta", text: piece } }));
  }
  out.push(event("content_block_stop", { index: 0 }));
  if (tool) {
    const json = JSON.stringify(tool.input);
    out.push(
      event("content_block_start", {
        index: 1,
        content_block: { type: "tool_use", id: tool.id, name: tool.name, input: {} },
      }),
    );
    for (const part of [json.slice(0, 5), json.slice(5)]) {
      out.push(
        event("content_block_delta", { index: 1, delta: { type: "input_json_delta", partial_json: part } }),
      );
    }
    out.push(event("content_block_stop", { index: 1 }));
  }
  out.push(
    event("message_delta", {
      delta: { stop_reason: tool ? "tool_use" : "end_turn", stop_sequence: null },
      usage: { output_tokens: 9 },
    }),
    event("message_stop", {}),
  );
  return out;
}

/** The fields `/v1/messages/count_tokens` takes. */
const COUNT_FIELDS = ["model", "messages", "system", "tools", "tool_choice", "thinking", "mcp_servers"];

/** The last user message's text. */
function lastUserText(body: Record<string, unknown>): string {
  const msgs = body.messages as { role: string; content: string | { type: string; text?: string }[] }[];
  const last = [...msgs].reverse().find((m) => m.role === "user");
  if (typeof last?.content === "string") return last.content;
  return (last?.content ?? []).filter((b) => b.type === "text").map((b) => b.text).join(" ");
}

/** A running mock Anthropic upstream. */
export class MockAnthropic {
  readonly requests: AnthropicRecorded[] = [];
  onMessages: ((req: AnthropicRecorded, n: number) => Response | undefined) | undefined;
  /** What `/v1/messages/count_tokens` answers as `input_tokens` (undefined: a 500). */
  countTokens: number | undefined = 777;
  #server: Deno.HttpServer<Deno.NetAddr>;

  private constructor(server: Deno.HttpServer<Deno.NetAddr>) {
    this.#server = server;
  }

  /** Base URL (`…/v1`). */
  get url(): string {
    return `http://127.0.0.1:${this.#server.addr.port}/v1`;
  }

  /** Start on a free loopback port. */
  static start(): MockAnthropic {
    // deno-lint-ignore prefer-const
    let mock: MockAnthropic;
    const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (req) => mock.#handle(req));
    mock = new MockAnthropic(server);
    return mock;
  }

  async #handle(req: Request): Promise<Response> {
    const { url, headers, body } = await readRequest(req);
    const rec = { path: url.pathname, headers, body, key: req.headers.get("x-api-key") ?? undefined };
    this.requests.push(rec);
    // Any dated API version (the proxy's own 2023-06-01, or a Messages client's newer one passed through).
    if (!/^\d{4}-\d{2}-\d{2}$/.test(req.headers.get("anthropic-version") ?? "")) {
      return anthropicError(400, "invalid_request_error", "anthropic-version: header is required");
    }
    if (!rec.key) return anthropicError(401, "authentication_error", "x-api-key header is required");
    if (url.pathname === "/v1/models") {
      return Response.json({
        data: [{ type: "model", id: "claude-sonnet-4-5", created_at: "2025-09-29T00:00:00Z" }],
      });
    }
    if (url.pathname === "/v1/messages/count_tokens") {
      // The real endpoint refuses fields it does not take (max_tokens, stream, …).
      const extra = Object.keys(body ?? {}).find((k) => !COUNT_FIELDS.includes(k));
      if (extra) {
        return anthropicError(400, "invalid_request_error", `${extra}: Extra inputs are not permitted`);
      }
      if (this.countTokens === undefined) return anthropicError(500, "api_error", "count failed");
      return Response.json({ input_tokens: this.countTokens });
    }
    if (url.pathname !== "/v1/messages") return anthropicError(404, "not_found_error", "not found");
    const scripted = this.onMessages?.(rec, this.requests.filter((r) => r.path === "/v1/messages").length);
    if (scripted) return scripted;
    if (!body || typeof body.max_tokens !== "number") {
      return anthropicError(400, "invalid_request_error", "max_tokens: Field required");
    }
    const model = String(body.model);
    const text = `Echo from ${model}: ${lastUserText(body)}`;
    if (body.stream === true) return sseResponse(messageEvents(model, text));
    return Response.json({
      id: "msg_mock",
      type: "message",
      role: "assistant",
      model,
      content: [{ type: "text", text }],
      stop_reason: "end_turn",
      stop_sequence: null,
      usage: { ...usage0, output_tokens: 9 },
    });
  }

  /** Message requests only. */
  get messages(): AnthropicRecorded[] {
    return this.requests.filter((r) => r.path === "/v1/messages");
  }

  /** Stop the server. */
  async close(): Promise<void> {
    await this.#server.shutdown();
  }
}
