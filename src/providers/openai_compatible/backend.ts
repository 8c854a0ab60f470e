/**
 * Any OpenAI-compatible upstream (SPEC §3.1; OpenRouter adds its quirks in openrouter/): the client's body goes
 * upstream unchanged except `model`, the (redacted) messages and, when `requestUsage` is on,
 * `stream_options.include_usage`. Answers and streams pass through as bytes (see commit.ts). Its exchange is
 * declared here; the runner (`runner/exchange.ts`) makes the attempt.
 */
import { keyReadiness } from "../../runner/spec.ts";
import type { KeyEntry } from "../../config/load.ts";
import type { Backend } from "../../runner/backend.ts";
import { CHAT_DIALECT } from "../../runner/commit.ts";
import { type ExchangeWay, type HttpExchange, runExchange } from "../../runner/exchange.ts";
import { getListing, listedEntries } from "../../runner/listing.ts";
import { type UpstreamClient, withUserAgent } from "../../runner/upstream_client.ts";
import type { ChatRequest, Usage } from "../../model/request.ts";
import { classifyInBandError, classifyOpenAIFailure, type OpenAIFailureClassifier } from "./errors.ts";
import type { Scrubber } from "../../security/scrub.ts";

/** Settings of one OpenAI-compatible backend. */
export interface OpenAICompatibleOptions {
  name: string;
  baseUrl: string;
  keys: KeyEntry[];
  /**
   * Where its keys come from (`PREFIX` or `PREFIX_1..N`), named when none is set; undefined: the upstream
   * needs no key (a local server such as Ollama), and the backend is functional without one.
   */
  keyEnv: string | undefined;
  /** Ask for usage in streams (`stream_options.include_usage`) and drop the chunk if the client did not. */
  requestUsage: boolean;
  /** Extra headers on every request (OpenRouter attribution). */
  headers?: Record<string, string>;
  /** The provider's failure rules (default: the generic OpenAI-compatible ones). */
  classify?: OpenAIFailureClassifier;
  scrub: Scrubber;
  /** The proxy's upstream HTTP client. */
  client: UpstreamClient;
}

/** The request headers of an OpenAI-compatible upstream: JSON, SSE, the key as a bearer token. */
export function bearerHeaders(key: KeyEntry | undefined): Record<string, string> {
  return {
    "content-type": "application/json",
    accept: "application/json, text/event-stream",
    ...(key ? { authorization: `Bearer ${key.value}` } : {}),
  };
}

/**
 * The exchange of an OpenAI-compatible upstream (Chat Completions at `<base>/chat/completions`), to which a
 * provider may add a pass-through way (openai/: Responses).
 */
export function openAICompatibleExchange(opts: OpenAICompatibleOptions): HttpExchange<ChatRequest> {
  const base = opts.baseUrl.replace(/\/+$/, "");
  const classify = opts.classify ?? classifyOpenAIFailure;
  const headersFor = oncePerKey((key) =>
    Object.freeze(withUserAgent({ ...bearerHeaders(key), ...opts.headers }))
  );
  const chat: ExchangeWay<ChatRequest> = {
    call(input, body) {
      const sent: Record<string, unknown> = { ...body, model: input.model };
      const clientWantsUsage = body.stream_options?.include_usage === true;
      const askUsage = input.stream && opts.requestUsage && !clientWantsUsage;
      if (askUsage) sent.stream_options = { ...(body.stream_options ?? {}), include_usage: true };
      return {
        url: `${base}/chat/completions`,
        headers: headersFor(input.key),
        body: sent,
        dropUsageChunks: askUsage,
      };
    },
    answer(json) {
      const j = json as { error?: unknown; choices?: unknown; usage?: Usage; model?: unknown } | null;
      if (j?.error) return { kind: "error", error: j.error };
      const choices = j?.choices;
      if (!Array.isArray(choices) || choices.some((c) => c === null || typeof c !== "object")) {
        return { kind: "bad", what: "without a list of choice objects" };
      }
      // A JSON answer to `stream: true` (the upstream ignored it) is turned into SSE by the pipeline.
      return {
        kind: "passed",
        usage: j?.usage,
        model: typeof j?.model === "string" ? j.model : undefined,
      };
    },
    stream: { dialect: CHAT_DIALECT },
  };
  return {
    name: opts.name,
    chat,
    classifyStatus: (status, headers, text, label) => classify(status, headers, text, label, opts.name),
    classifyInBand: (error, label) => classifyInBandError(error, label, opts.name, opts.scrub, classify),
    rateLimitHeaders: true,
  };
}

/**
 * `build(key)` made once per key, and once for no key: what every request with that key sends the same (its
 * headers), not rebuilt per request. A key's value never changes (a new value is a new key entry).
 */
function oncePerKey<T>(build: (key: KeyEntry | undefined) => T): (key: KeyEntry | undefined) => T {
  const made = new WeakMap<KeyEntry, T>();
  let keyless: T | undefined;
  return (key) => {
    if (!key) return keyless ??= build(undefined);
    let value = made.get(key);
    if (value === undefined) made.set(key, value = build(key));
    return value;
  };
}

/** An OpenAI-compatible backend of `exchange` (by default the Chat Completions one of `opts`). */
export function createOpenAICompatible(
  opts: OpenAICompatibleOptions,
  exchange: HttpExchange<ChatRequest> = openAICompatibleExchange(opts),
): Backend {
  const base = opts.baseUrl.replace(/\/+$/, "");
  const run = runExchange(exchange, opts);
  const keyless = opts.keyEnv === undefined;
  return {
    name: opts.name,
    type: "openai",
    keys: opts.keys,
    ...keyReadiness(opts.keys, opts.keyEnv, keyless),
    async listModels(signal) {
      const headers = { ...bearerHeaders(opts.keys[0]), ...opts.headers };
      const json = await getListing({
        client: opts.client,
        root: base,
        path: "/models",
        headers,
        scrub: opts.scrub,
      }, signal);
      return listedEntries(json).map((m) => ({
        id: m.id,
        created: typeof m.created === "number" ? m.created : undefined,
      }));
    },
    attempt: run.attempt,
  };
}
