/**
 * The `anthropic` backend (SPEC §3.4): Anthropic Messages at `<base>/messages`, the key in `x-api-key` and
 * `anthropic-version: 2023-06-01`. Its exchange is declared here over the pure translators in request.ts,
 * response.ts, stream.ts and errors.ts; the runner (`runner/exchange.ts`) makes the attempt. A Messages
 * client's own body passes through (dialect.ts reads its stream for the commit rule).
 */
import { type HttpBackendOptions, keyReadiness } from "../../runner/spec.ts";
import type { KeyEntry } from "../../config/load.ts";
import { newStreamMeta } from "../../model/ids.ts";
import type { AnswerReading, HttpExchange } from "../../runner/exchange.ts";
import { runExchange } from "../../runner/exchange.ts";
import type { Backend } from "../../runner/backend.ts";
import { getListing, listedEntries } from "../../runner/listing.ts";
import { classifyAnthropicFailure, classifyAnthropicInBand } from "./errors.ts";
import { AnthropicTranslationError, translateRequest } from "./request.ts";
import { type AnthropicResponse, malformedResponse, mapUsage, toModelResult } from "./response.ts";
import { ANTHROPIC_DIALECT } from "./dialect.ts";
import { countAnthropicTokens } from "./count_tokens.ts";
import { translateAnthropicSse } from "./stream.ts";

/** The API version every request names. */
export const ANTHROPIC_VERSION = "2023-06-01";

/** Settings of the Anthropic backend (`baseUrl`: `--anthropic-api-base-url`, `https://api.anthropic.com/v1`). */
export type AnthropicOptions = HttpBackendOptions;

/** The headers of every Anthropic request: JSON, SSE, the API version, the key in `x-api-key`. */
function headersFor(key: KeyEntry | undefined): Record<string, string> {
  return {
    "content-type": "application/json",
    accept: "application/json, text/event-stream",
    "anthropic-version": ANTHROPIC_VERSION,
    ...(key ? { "x-api-key": key.value } : {}),
  };
}

/**
 * A 200 Messages answer: an error object in it (`{"type":"error","error":{type,message}}`) is that error; one
 * that is not readable is a bad answer; `ok` reads a readable one.
 */
function readMessage(json: unknown, ok: (r: AnthropicResponse) => AnswerReading): AnswerReading {
  const e = (json as { type?: unknown; error?: { type?: unknown; message?: unknown } } | null)?.error;
  if ((json as { type?: unknown } | null)?.type === "error" && e && typeof e === "object") {
    return { kind: "error", error: { code: e.type, message: e.message } };
  }
  const malformed = malformedResponse(json);
  if (malformed) return { kind: "bad", what: `with a malformed Messages response (${malformed})` };
  return ok(json as AnthropicResponse);
}

/** The Anthropic Messages exchange: translated, or a Messages client's own body passed through. */
function anthropicExchange(name: string, base: string): HttpExchange<Record<string, unknown>> {
  const url = `${base}/messages`;
  return {
    name,
    translate: translateRequest,
    refusal: AnthropicTranslationError,
    chat: {
      call: (input, t) => ({
        url,
        headers: headersFor(input.key),
        body: { model: input.model, ...t, ...(input.stream ? { stream: true } : {}) },
      }),
      answer: (json, input) =>
        readMessage(json, (r) => ({ kind: "result", result: toModelResult(r, newStreamMeta(input.model)) })),
      stream: {
        translate: translateAnthropicSse,
      },
    },
    /**
     * A Messages client's own body (SPEC §3.4, §17): sent as it came with the upstream model put in and the
     * client's `anthropic-version` and `anthropic-beta`; the answer goes back as it came.
     */
    native: {
      protocol: "anthropic",
      call(input, native) {
        const body: Record<string, unknown> = { ...native.body, model: input.model };
        if (input.stream) body.stream = true;
        else delete body.stream;
        return { url, headers: { ...headersFor(input.key), ...native.headers }, body };
      },
      answer: (json) =>
        readMessage(json, (r) => ({
          kind: "passed",
          usage: mapUsage(r.usage ?? {}),
          model: typeof r.model === "string" ? r.model : undefined,
        })),
      stream: { dialect: ANTHROPIC_DIALECT },
    },
    classifyStatus: (status, headers, text, label) =>
      classifyAnthropicFailure(status, headers, text, label, name),
    classifyInBand: (error, label) => classifyAnthropicInBand(error, label, name),
  };
}

/** Create the Anthropic backend. */
export function createAnthropic(opts: AnthropicOptions): Backend {
  const base = opts.baseUrl.replace(/\/+$/, "");
  const run = runExchange(anthropicExchange(opts.name, base), opts);
  return {
    name: opts.name,
    type: "anthropic",
    keys: opts.keys,
    ...keyReadiness(opts.keys, opts.keyEnv),
    unsupported: run.unsupported,
    attempt: run.attempt,

    countTokens(input) {
      const native = input.native?.protocol === "anthropic" ? input.native : undefined;
      const body = native ? native.body : run.translation(input.body);
      if (!body) return Promise.resolve(undefined);
      return countAnthropicTokens({
        client: opts.client,
        backend: opts.name,
        url: `${base}/messages/count_tokens`,
        headers: { ...headersFor(input.key), ...native?.headers },
        body,
      }, input);
    },

    async listModels(signal) {
      const json = await getListing({
        client: opts.client,
        root: base,
        path: "/models?limit=1000",
        headers: headersFor(opts.keys[0]),
        scrub: opts.scrub,
      }, signal);
      return listedEntries(json).map((m) => {
        const t = typeof m.created_at === "string" ? Date.parse(m.created_at) : NaN;
        return { id: m.id, created: Number.isFinite(t) ? Math.floor(t / 1000) : undefined };
      });
    },
  };
}
