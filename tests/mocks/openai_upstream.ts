/**
 * A mock OpenAI-compatible upstream that follows OpenRouter's wire format (reference/backends.md §4–5):
 * `/chat/completions` (JSON and SSE with `: OPENROUTER PROCESSING` keep-alives, usage chunk on request),
 * `/models`, OpenRouter error bodies. It records every request; tests script faults with `onChat`.
 */
import { readRequest } from "./read_request.ts";

/** A recorded upstream request. */
export interface Recorded {
  method: string;
  path: string;
  headers: Record<string, string>;
  body: Record<string, unknown> | undefined;
  key: string | undefined;
}

/** A scripted reply: a Response, or undefined to fall through to the default echo behaviour. */
export type ChatScript = (req: Recorded, n: number) => Response | Promise<Response> | undefined;

/** Options of the default echo behaviour. */
export interface EchoOptions {
  /** Delay between stream chunks, ms. */
  chunkDelayMs?: number;
  /** Send this many keep-alive comments before the first chunk. */
  keepAlives?: number;
}

/** Text the default echo answers with. */
export function echoText(model: string, body: Record<string, unknown>): string {
  const msgs = body.messages as { role: string; content: unknown }[];
  const last = [...msgs].reverse().find((m) => m.role === "user");
  const content = typeof last?.content === "string"
    ? last.content
    : Array.isArray(last?.content)
    ? (last!.content as { type: string; text?: string }[]).filter((p) => p.type === "text").map((p) => p.text)
      .join(
        " ",
      )
    : "";
  return `Echo from ${model}: ${content}`;
}

/** An OpenRouter error body. */
export function orError(status: number, message: string, metadata?: Record<string, unknown>): Response {
  return new Response(
    JSON.stringify({ error: { code: status, message, ...(metadata ? { metadata } : {}) } }),
    {
      status,
      headers: { "content-type": "application/json" },
    },
  );
}

/** One `chat.completion.chunk` event's `data:` line (the blank line that ends it is added by sseResponse). */
export function chunkEvent(content: string, finish: string | null = null): string {
  return `data: ${
    JSON.stringify({
      id: "g",
      object: "chat.completion.chunk",
      model: "m",
      choices: [{ index: 0, delta: { content }, finish_reason: finish }],
    })
  }`;
}

/** An SSE response from raw event texts (each gets the trailing blank line). */
export function sseResponse(events: string[], delayMs = 0): Response {
  const enc = new TextEncoder();
  let i = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const stream = new ReadableStream<Uint8Array>({
    async pull(c) {
      if (i >= events.length) return c.close();
      if (delayMs && i > 0) await new Promise((r) => (timer = setTimeout(r, delayMs)));
      c.enqueue(enc.encode(events[i++] + "\n\n"));
    },
    cancel() {
      clearTimeout(timer);
    },
  });
  return new Response(stream, {
    headers: { "content-type": "text/event-stream", "cache-control": "no-cache" },
  });
}

/** The SSE events of an echo answer. */
export function echoEvents(
  model: string,
  text: string,
  opts: { usage?: boolean; keepAlives?: number } = {},
): string[] {
  const base = {
    id: "gen-mock-1",
    object: "chat.completion.chunk",
    created: 1732680000,
    model,
    provider: "Mock",
  };
  const events: string[] = [];
  for (let i = 0; i < (opts.keepAlives ?? 1); i++) events.push(": OPENROUTER PROCESSING");
  events.push(
    `data: ${
      JSON.stringify({
        ...base,
        choices: [{ index: 0, delta: { role: "assistant", content: "" }, finish_reason: null }],
      })
    }`,
  );
  for (const piece of text.match(/\S+\s*/g) ?? []) {
    events.push(
      `data: ${
        JSON.stringify({ ...base, choices: [{ index: 0, delta: { content: piece }, finish_reason: null }] })
      }`,
    );
  }
  events.push(
    `data: ${JSON.stringify({ ...base, choices: [{ index: 0, delta: {}, finish_reason: "stop" }] })}`,
  );
  const words = text.split(/\s+/).length;
  if (opts.usage) {
    events.push(
      `data: ${
        JSON.stringify({
          ...base,
          choices: [],
          usage: { prompt_tokens: 7, completion_tokens: words, total_tokens: 7 + words, cost: 0.00042 },
        })
      }`,
    );
  }
  events.push("data: [DONE]");
  return events;
}

/** The JSON body of an echo answer. */
export function echoCompletion(model: string, text: string): Record<string, unknown> {
  const words = text.split(/\s+/).length;
  return {
    id: "gen-mock-1",
    object: "chat.completion",
    created: 1732680000,
    model,
    provider: "Mock",
    choices: [{
      index: 0,
      message: { role: "assistant", content: text, refusal: null },
      finish_reason: "stop",
      logprobs: null,
    }],
    usage: { prompt_tokens: 7, completion_tokens: words, total_tokens: 7 + words, cost: 0.00042 },
  };
}

/** A running mock upstream. */
export class MockOpenAI {
  readonly requests: Recorded[] = [];
  onChat: ChatScript | undefined;
  models: { id: string; created?: number }[] = [
    { id: "meta-llama/llama-3.3-70b-instruct:free", created: 1733000000 },
    { id: "openai/gpt-4o-mini", created: 1721260800 },
    { id: "google/gemini-2.5-flash", created: 1750000000 },
  ];
  modelsStatus = 200;
  /** Extra headers on default (echo) answers, e.g. X-RateLimit-Remaining from a limiter. */
  successHeaders: ((req: Recorded) => Record<string, string>) | undefined;
  echo: EchoOptions = {};
  /** Answer chat requests without an `Authorization` header with 401 (as hosted upstreams do); off: a local server. */
  requireKey = true;
  #server: Deno.HttpServer<Deno.NetAddr>;

  private constructor(server: Deno.HttpServer<Deno.NetAddr>) {
    this.#server = server;
  }

  /** Base URL in OpenRouter's shape (`…/api/v1`). */
  get url(): string {
    return `http://127.0.0.1:${this.#server.addr.port}/api/v1`;
  }

  /** Chat requests only. */
  get chats(): Recorded[] {
    return this.requests.filter((r) => r.path.endsWith("/chat/completions"));
  }

  /** Start on a free loopback port. */
  static start(): MockOpenAI {
    // deno-lint-ignore prefer-const
    let mock: MockOpenAI;
    const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (req) => mock.#handle(req));
    mock = new MockOpenAI(server);
    return mock;
  }

  async #handle(req: Request): Promise<Response> {
    const { url, headers, body } = await readRequest(req);
    const auth = req.headers.get("authorization");
    const rec: Recorded = {
      method: req.method,
      path: url.pathname,
      headers,
      body,
      key: auth?.startsWith("Bearer ") ? auth.slice(7) : undefined,
    };
    this.requests.push(rec);
    if (url.pathname === "/api/v1/models") {
      if (this.modelsStatus !== 200) return orError(this.modelsStatus, "models unavailable");
      return Response.json({
        data: this.models.map((m) => ({ ...m, name: m.id, pricing: { prompt: "0" } })),
      });
    }
    if (url.pathname !== "/api/v1/chat/completions") return orError(404, "not found");
    if (!rec.key && this.requireKey) return orError(401, "No auth credentials found");
    const scripted = await this.onChat?.(rec, this.chats.length);
    if (scripted) return scripted;
    if (!body || !Array.isArray(body.messages)) return orError(400, "messages is required");
    const model = String(body.model);
    const answer = echoText(model, body);
    let res: Response;
    if (body.stream === true) {
      const usage = (body.stream_options as { include_usage?: boolean } | undefined)?.include_usage === true;
      res = sseResponse(
        echoEvents(model, answer, { usage, keepAlives: this.echo.keepAlives }),
        this.echo.chunkDelayMs ?? 0,
      );
    } else res = Response.json(echoCompletion(model, answer));
    for (const [k, v] of Object.entries(this.successHeaders?.(rec) ?? {})) res.headers.set(k, v);
    return res;
  }

  /** Stop the server. */
  async close(): Promise<void> {
    await this.#server.shutdown();
  }
}

/**
 * A per-key fixed-window limiter like OpenRouter's free tier: `limit` requests per `windowMs` per key, then
 * 429 "free-models-per-min" with `X-RateLimit-Reset` (ms epoch) in the headers and in error.metadata.
 * Returns a ChatScript plus counters of what it answered.
 */
export function perKeyLimiter(limit: number, windowMs: number, now: () => number = Date.now) {
  const windows = new Map<string, { start: number; count: number; rejected: number }>();
  const stats = { served: 0, rejected: 0, rejectedByKeyWindow: new Map<string, number>() };
  const last = new Map<string, { remaining: number; reset: number }>();
  const script: ChatScript = (req) => {
    const key = req.key ?? "";
    const t = now();
    let w = windows.get(key);
    if (!w || t - w.start >= windowMs) {
      w = { start: Math.floor(t / windowMs) * windowMs, count: 0, rejected: 0 };
      windows.set(key, w);
    }
    if (w.count < limit) {
      w.count++;
      stats.served++;
      last.set(key, { remaining: limit - w.count, reset: w.start + windowMs });
      return undefined;
    }
    stats.rejected++;
    const id = `${key}@${w.start}`;
    stats.rejectedByKeyWindow.set(id, (stats.rejectedByKeyWindow.get(id) ?? 0) + 1);
    const reset = String(w.start + windowMs);
    return new Response(
      JSON.stringify({
        error: {
          code: 429,
          message: "Rate limit exceeded: free-models-per-min. ",
          metadata: {
            headers: {
              "X-RateLimit-Limit": String(limit),
              "X-RateLimit-Remaining": "0",
              "X-RateLimit-Reset": reset,
            },
          },
        },
      }),
      { status: 429, headers: { "content-type": "application/json", "x-ratelimit-reset": reset } },
    );
  };
  /** True when some key has room left in its current window. */
  const hasCapacity = () => {
    const t = now();
    for (const w of windows.values()) if (t - w.start >= windowMs || w.count < limit) return true;
    return false;
  };
  /** X-RateLimit-* headers for the answer just served to this key (as OpenRouter sends them). */
  const headers = (req: Recorded): Record<string, string> => {
    const l = last.get(req.key ?? "");
    return l
      ? {
        "x-ratelimit-limit": String(limit),
        "x-ratelimit-remaining": String(l.remaining),
        "x-ratelimit-reset": String(l.reset),
      }
      : {};
  };
  return { script, stats, hasCapacity, headers };
}
