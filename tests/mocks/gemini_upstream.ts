/**
 * A mock Gemini REST server following the Generative Language wire format (reference/backends.md §3):
 * `POST /v1beta/models/{m}:generateContent`, `:streamGenerateContent?alt=sse` (CRLF-separated SSE events,
 * each a full GenerateContentResponse delta, no `[DONE]`), `GET /v1beta/models` with `pageToken` pagination,
 * Google RPC error bodies. It records every request; tests script answers with `onGenerate`.
 */
import { readRequest } from "./read_request.ts";

/** A recorded upstream request. */
export interface GeminiRecorded {
  method: string;
  path: string;
  /** The model from the path (`gemini-2.5-flash`). */
  model: string | undefined;
  /** `generateContent` or `streamGenerateContent`. */
  rpc: string | undefined;
  search: string;
  headers: Record<string, string>;
  body: Record<string, unknown> | undefined;
  /** The `x-goog-api-key` header. */
  key: string | undefined;
}

/** A scripted answer: a Response, or undefined for the default echo. */
export type GenerateScript = (req: GeminiRecorded, n: number) => Response | Promise<Response> | undefined;

/** A Google RPC error response. */
export function googleError(
  code: number,
  status: string,
  message: string,
  details: unknown[] = [],
): Response {
  return new Response(
    JSON.stringify({ error: { code, message, status, ...(details.length ? { details } : {}) } }),
    { status: code, headers: { "content-type": "application/json; charset=UTF-8" } },
  );
}

/** The real-world 429 body: QuotaFailure with `quotaId`, Help, RetryInfo with `retryDelay`. */
export function quota429(quotaId: string, retryDelay?: string): Response {
  const details: unknown[] = [
    {
      "@type": "type.googleapis.com/google.rpc.QuotaFailure",
      violations: [{
        quotaMetric: "generativelanguage.googleapis.com/generate_content_free_tier_requests",
        quotaId,
        quotaDimensions: { location: "global", model: "gemini-2.5-flash" },
        quotaValue: "10",
      }],
    },
    {
      "@type": "type.googleapis.com/google.rpc.Help",
      links: [{
        description: "Learn more about Gemini API quotas",
        url: "https://ai.google.dev/gemini-api/docs/rate-limits",
      }],
    },
  ];
  if (retryDelay) details.push({ "@type": "type.googleapis.com/google.rpc.RetryInfo", retryDelay });
  return googleError(
    429,
    "RESOURCE_EXHAUSTED",
    "You exceeded your current quota, please check your plan and billing details.",
    details,
  );
}

/** The real 400 for a bad key. */
export function invalidKey400(): Response {
  return googleError(400, "INVALID_ARGUMENT", "API key not valid. Please pass a valid API key.", [
    {
      "@type": "type.googleapis.com/google.rpc.ErrorInfo",
      reason: "API_KEY_INVALID",
      domain: "googleapis.com",
      metadata: { service: "generativelanguage.googleapis.com" },
    },
  ]);
}

/** An SSE response from Gemini response objects (or raw `data:` payload strings), CRLF framed like Google's. */
export function geminiSse(events: (Record<string, unknown> | string)[], delayMs = 0): Response {
  const enc = new TextEncoder();
  let i = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const stream = new ReadableStream<Uint8Array>({
    async pull(c) {
      if (i >= events.length) return c.close();
      if (delayMs && i > 0) await new Promise((r) => (timer = setTimeout(r, delayMs)));
      const ev = events[i++];
      c.enqueue(enc.encode(`data: ${typeof ev === "string" ? ev : JSON.stringify(ev)}\r\n\r\n`));
    },
    cancel() {
      clearTimeout(timer);
    },
  });
  return new Response(stream, { headers: { "content-type": "text/event-stream" } });
}

/** Usage metadata for an answer. */
export function usageMeta(prompt: number, candidates: number, thoughts = 0): Record<string, unknown> {
  return {
    promptTokenCount: prompt,
    candidatesTokenCount: candidates,
    thoughtsTokenCount: thoughts,
    totalTokenCount: prompt + candidates + thoughts,
  };
}

/** One-candidate GenerateContentResponse with these parts (`null`: no finishReason / no usage). */
export function geminiAnswer(
  parts: Record<string, unknown>[],
  finishReason: string | null = "STOP",
  usage: Record<string, unknown> | null = usageMeta(11, 5),
): Record<string, unknown> {
  return {
    candidates: [{ content: { role: "model", parts }, ...(finishReason ? { finishReason } : {}), index: 0 }],
    ...(usage ? { usageMetadata: usage } : {}),
    modelVersion: "gemini-2.5-flash",
    responseId: "mock-response-1",
  };
}

/** The text the default echo answers with: the last user turn's text, or its function responses. */
export function geminiEchoText(model: string, body: Record<string, unknown>): string {
  const contents = (body.contents ?? []) as { role?: string; parts?: Record<string, unknown>[] }[];
  const last = [...contents].reverse().find((c) => c.role === "user");
  const parts = last?.parts ?? [];
  const responses = parts.filter((p) => p.functionResponse).map((p) => JSON.stringify(p.functionResponse));
  if (responses.length) return `Tool results for ${model}: ${responses.join(" ")}`;
  return `Echo from ${model}: ${
    parts.filter((p) => typeof p.text === "string").map((p) => p.text).join(" ")
  }`;
}

/** A model entry as models.list returns it. */
export interface MockModel {
  name: string;
  supportedGenerationMethods: string[];
}

/** A running mock Gemini server. */
export class MockGemini {
  readonly requests: GeminiRecorded[] = [];
  onGenerate: GenerateScript | undefined;
  models: MockModel[] = [
    { name: "models/gemini-2.5-flash", supportedGenerationMethods: ["generateContent", "countTokens"] },
    { name: "models/gemini-2.5-pro", supportedGenerationMethods: ["generateContent", "countTokens"] },
    { name: "models/text-embedding-004", supportedGenerationMethods: ["embedContent"] },
    { name: "models/gemini-3-pro-preview", supportedGenerationMethods: ["generateContent"] },
  ];
  /** The server's own page size cap (the real default is 50); small so tests see several pages. */
  pageCap = 2;
  /** Keys accepted; others get the real API_KEY_INVALID 400. Empty: any key is accepted. */
  validKeys = new Set<string>();
  /** Delay between stream events, ms. */
  chunkDelayMs = 0;
  /** What `:countTokens` answers as `totalTokens`; undefined: a 500. */
  countTokens: number | undefined = 1234;
  #server: Deno.HttpServer<Deno.NetAddr>;

  private constructor(server: Deno.HttpServer<Deno.NetAddr>) {
    this.#server = server;
  }

  /** Base URL as `--gemini-api-base-url` takes it (the host root). */
  get url(): string {
    return `http://127.0.0.1:${this.#server.addr.port}`;
  }

  /** generateContent / streamGenerateContent requests only. */
  get generations(): GeminiRecorded[] {
    return this.requests.filter((r) => r.rpc !== undefined);
  }

  /** Start on a free loopback port. */
  static start(): MockGemini {
    // deno-lint-ignore prefer-const
    let mock: MockGemini;
    const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (req) => mock.#handle(req));
    mock = new MockGemini(server);
    return mock;
  }

  async #handle(req: Request): Promise<Response> {
    const { url, headers, body } = await readRequest(req);
    const m = /^\/v1beta\/models\/([^:]+):(generateContent|streamGenerateContent)$/.exec(url.pathname);
    const rec: GeminiRecorded = {
      method: req.method,
      path: url.pathname,
      model: m ? decodeURIComponent(m[1]) : undefined,
      rpc: m?.[2],
      search: url.search,
      headers,
      body,
      key: req.headers.get("x-goog-api-key") ?? undefined,
    };
    this.requests.push(rec);
    if (url.searchParams.has("key")) return googleError(400, "INVALID_ARGUMENT", "mock: key in the URL");
    if (!rec.key) {
      return googleError(
        403,
        "PERMISSION_DENIED",
        "Method doesn't allow unregistered callers (callers without established identity). Please use API Key or other form of API consumer identity to call this API.",
      );
    }
    if (this.validKeys.size && !this.validKeys.has(rec.key)) return invalidKey400();
    if (url.pathname === "/v1beta/models" && req.method === "GET") return this.#list(url);
    if (/^\/v1beta\/models\/[^:]+:countTokens$/.test(url.pathname) && req.method === "POST") {
      if (this.countTokens === undefined) return googleError(500, "INTERNAL", "mock: count failed");
      return Response.json({ totalTokens: this.countTokens });
    }
    if (!m || req.method !== "POST") return googleError(404, "NOT_FOUND", `mock: no route ${url.pathname}`);
    const scripted = await this.onGenerate?.(rec, this.generations.length);
    if (scripted) return scripted;
    if (!this.models.some((x) => x.name === `models/${rec.model}`)) {
      return googleError(
        404,
        "NOT_FOUND",
        `models/${rec.model} is not found for API version v1beta, or is not supported for generateContent.`,
      );
    }
    if (!body || !Array.isArray(body.contents)) {
      return googleError(
        400,
        "INVALID_ARGUMENT",
        "* GenerateContentRequest.contents: contents is not specified",
      );
    }
    const answer = geminiEchoText(rec.model!, body);
    if (rec.rpc === "streamGenerateContent") {
      if (url.searchParams.get("alt") !== "sse") {
        return googleError(400, "INVALID_ARGUMENT", "mock: only alt=sse");
      }
      const pieces = answer.match(/\S+\s*/g) ?? [];
      const events = pieces.map((p, i) =>
        geminiAnswer(
          [{ text: p }],
          i === pieces.length - 1 ? "STOP" : null,
          i === pieces.length - 1 ? usageMeta(11, pieces.length) : usageMeta(11, 0),
        )
      );
      return geminiSse(events, this.chunkDelayMs);
    }
    return Response.json(geminiAnswer([{ text: answer }], "STOP", usageMeta(11, answer.split(/\s+/).length)));
  }

  #list(url: URL): Response {
    const size = Math.min(Number(url.searchParams.get("pageSize") ?? 50), this.pageCap);
    const start = Number(url.searchParams.get("pageToken") || "0");
    const page = this.models.slice(start, start + size).map((m) => ({
      ...m,
      version: "001",
      displayName: m.name.slice(7),
      inputTokenLimit: 1048576,
      outputTokenLimit: 65536,
    }));
    const next = start + size < this.models.length ? String(start + size) : undefined;
    return Response.json({ models: page, ...(next ? { nextPageToken: next } : {}) });
  }

  /** Stop the server. */
  async close(): Promise<void> {
    await this.#server.shutdown();
  }
}
