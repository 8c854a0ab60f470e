/**
 * A mock of the Gemini REST endpoint the real `gemini` CLI calls when given `-m`
 * (`POST /v1beta/models/{model}:streamGenerateContent?alt=sse`, reference/gemini-cli-testing.md): SSE
 * `data: <GenerateContentResponse>` events, no `[DONE]`. It records every request; tests script replies
 * with `onGenerate`.
 */
import { readRequest } from "./read_request.ts";

/** A recorded request. */
export interface GeminiRecorded {
  method: string;
  path: string;
  headers: Record<string, string>;
  body: GeminiBody | undefined;
}

/** The parts of a generateContent body the tests look at. */
export interface GeminiBody {
  contents?: { role?: string; parts?: { text?: string }[] }[];
  systemInstruction?: { parts?: { text?: string }[] };
  generationConfig?: Record<string, unknown>;
  tools?: unknown;
  [k: string]: unknown;
}

/** A scripted reply, or undefined for the default echo. */
export type GenerateScript = (req: GeminiRecorded, n: number) => Response | Promise<Response> | undefined;

/** The text of the last user turn's last text part (the prompt the CLI was given). */
export function lastUserText(body: GeminiBody | undefined): string {
  const turns = body?.contents ?? [];
  const last = [...turns].reverse().find((t) => t.role === "user");
  const texts = (last?.parts ?? []).map((p) => p.text ?? "").filter((t) => t !== "");
  return texts.at(-1) ?? "";
}

/** One streamed GenerateContentResponse carrying text. */
export function textChunk(text: string, finishReason?: string): Record<string, unknown> {
  return {
    candidates: [{
      content: { role: "model", parts: [{ text }] },
      index: 0,
      ...(finishReason ? { finishReason } : {}),
    }],
    modelVersion: "gemini-2.5-flash",
  };
}

/** The usage metadata of the final chunk. */
export function usageMetadata(prompt: number, candidates: number): Record<string, unknown> {
  return { promptTokenCount: prompt, candidatesTokenCount: candidates, totalTokenCount: prompt + candidates };
}

/** An SSE response from GenerateContentResponse objects, with an optional delay between events. */
export function geminiSse(chunks: unknown[], delayMs = 0): Response {
  const enc = new TextEncoder();
  let i = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const stream = new ReadableStream<Uint8Array>({
    async pull(c) {
      if (i >= chunks.length) return c.close();
      if (delayMs && i > 0) await new Promise((r) => (timer = setTimeout(r, delayMs)));
      c.enqueue(enc.encode(`data: ${JSON.stringify(chunks[i++])}\r\n\r\n`));
    },
    cancel() {
      clearTimeout(timer);
    },
  });
  return new Response(stream, { headers: { "content-type": "text/event-stream" } });
}

/** A Google API error body. */
export function geminiError(status: number, message: string, statusText = "RESOURCE_EXHAUSTED"): Response {
  return Response.json({ error: { code: status, message, status: statusText } }, { status });
}

/** A running mock. */
export class MockGemini {
  readonly requests: GeminiRecorded[] = [];
  onGenerate: GenerateScript | undefined;
  #server: Deno.HttpServer<Deno.NetAddr>;

  private constructor(server: Deno.HttpServer<Deno.NetAddr>) {
    this.#server = server;
  }

  /** The base URL for `GOOGLE_GEMINI_BASE_URL`. */
  get url(): string {
    return `http://127.0.0.1:${this.#server.addr.port}`;
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
    const { url, headers, body } = await readRequest<GeminiBody>(req);
    const rec: GeminiRecorded = { method: req.method, path: url.pathname + url.search, headers, body };
    this.requests.push(rec);
    if (!/^\/v1beta\/models\/[^/]+:streamGenerateContent$/.test(url.pathname)) {
      return geminiError(404, `mock: no route for ${url.pathname}`, "NOT_FOUND");
    }
    const scripted = await this.onGenerate?.(rec, this.requests.length);
    if (scripted) return scripted;
    const prompt = lastUserText(body);
    const words = `Echo: ${prompt}`.match(/\S+\s*/g) ?? [];
    const chunks = words.map((w, i) =>
      i === words.length - 1
        ? { ...textChunk(w, "STOP"), usageMetadata: usageMetadata(11, words.length) }
        : textChunk(w)
    );
    return geminiSse(chunks);
  }

  /** Stop the server. */
  async close(): Promise<void> {
    await this.#server.shutdown();
  }
}
