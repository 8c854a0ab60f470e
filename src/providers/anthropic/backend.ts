/**
 * The `anthropic` backend (SPEC §3.4): Anthropic Messages at `<base>/messages`, the key in `x-api-key` and
 * `anthropic-version: 2023-06-01`. The thin I/O edge around the pure translators in request.ts, response.ts,
 * stream.ts and errors.ts; streams go through the commit rule (commit.ts) like every backend's. A Messages
 * client's own body passes through (dialect.ts reads its stream for the commit rule).
 */
import { missingKeyProblem } from "../../config/providers.ts";
import type { KeyEntry } from "../../config/load.ts";
import type { ChatRequest } from "../../openai/types.ts";
import { newStreamMeta } from "../../model/ids.ts";
import type { Scrubber } from "../../security/scrub.ts";
import type {
  AttemptInput,
  AttemptResult,
  Backend,
  CountInput,
  ModelInfo,
  UpstreamFailure,
} from "../../runner/backend.ts";
import {
  badAnswer as badAnswerOf,
  commitTranslated,
  commitTranslatedEvents,
  completionAnswer,
  scrubbedFailure,
  translatedOncePerBody,
} from "../../runner/translated.ts";
import { postUpstream, readAnswer, type StatusClassifier } from "../../runner/http.ts";
import { readText, type UpstreamClient } from "../../runner/upstream_client.ts";
import { classifyAnthropicFailure, classifyAnthropicInBand } from "./errors.ts";
import { AnthropicTranslationError, translateRequest } from "./request.ts";
import { type AnthropicResponse, malformedResponse, mapUsage, toOpenAICompletion } from "./response.ts";
import { ANTHROPIC_DIALECT } from "./dialect.ts";
import { countAnthropicTokens } from "./count_tokens.ts";
import type { NativeRequest } from "../../core/protocol.ts";
import { translateAnthropicSse } from "./stream.ts";

/** The API version every request names. */
export const ANTHROPIC_VERSION = "2023-06-01";

/** Settings of the Anthropic backend. */
export interface AnthropicOptions {
  name: string;
  /** `--anthropic-api-base-url` (`https://api.anthropic.com/v1`). */
  baseUrl: string;
  keys: KeyEntry[];
  /** Where its keys come from, named when none is set. */
  keyEnv?: string;
  scrub: Scrubber;
  /** The proxy's upstream HTTP client. */
  client: UpstreamClient;
}

/** Create the Anthropic backend. */
export function createAnthropic(opts: AnthropicOptions): Backend {
  const base = opts.baseUrl.replace(/\/+$/, "");
  const headersFor = (key: KeyEntry | undefined): Record<string, string> => ({
    "content-type": "application/json",
    accept: "application/json, text/event-stream",
    "anthropic-version": ANTHROPIC_VERSION,
    ...(key ? { "x-api-key": key.value } : {}),
  });
  const failure = (f: UpstreamFailure): AttemptResult => scrubbedFailure(f, opts.scrub);
  const badAnswer = (what: string): AttemptResult => badAnswerOf(opts.name, what, opts.scrub);
  /** How an error status of this upstream is read, for the key `label`. */
  const classifyStatus = (label: string | undefined): StatusClassifier => (status, headers, text) =>
    classifyAnthropicFailure(status, headers, text, label, opts.name);
  /** Each body is translated once; the check and every attempt share it. */
  const translate = translatedOncePerBody<ChatRequest, Record<string, unknown>, AnthropicTranslationError>(
    translateRequest,
    AnthropicTranslationError,
  );

  /**
   * A Messages client's own body (SPEC §3.4, §17): sent as it came with the upstream model put in and the
   * client's `anthropic-version` and `anthropic-beta`; the answer goes back as it came (`protocol:
   * "anthropic"`), its stream through the commit rule with the Messages dialect.
   */
  async function passThrough(input: AttemptInput, native: NativeRequest): Promise<AttemptResult> {
    const label = input.key?.label;
    const headers = headersFor(input.key);
    for (const [k, v] of Object.entries(native.headers)) headers[k] = v;
    const body: Record<string, unknown> = { ...native.body, model: input.model };
    if (input.stream) body.stream = true;
    else delete body.stream;
    const posted = await postUpstream(
      opts.client,
      opts.name,
      `${base}/messages`,
      headers,
      JSON.stringify(body),
      input.signal,
      input.timeoutMs,
    );
    if (!posted.ok) return failure(posted.failure);
    const answer = await readAnswer(posted, input.stream, classifyStatus(label), opts.scrub);
    if (answer.kind === "failed") return failure(answer.failure);
    if (answer.kind === "not-json") return badAnswer("with a body that is not JSON");
    if (answer.kind === "json") {
      const json = answer.json as AnthropicResponse;
      const malformed = malformedResponse(json);
      if (malformed) return badAnswer(`with a malformed Messages response (${malformed})`);
      return {
        ok: true,
        value: {
          kind: "json",
          status: 200,
          text: answer.text,
          usage: mapUsage(json.usage ?? {}),
          model: typeof json.model === "string" ? json.model : undefined,
          protocol: "anthropic",
        },
      };
    }
    const result = await commitTranslated(posted, posted.res.body!, input, {
      name: opts.name,
      scrub: opts.scrub,
      maxBodyBytes: opts.client.maxBodyBytes,
      classifyInBand: (e) => classifyAnthropicInBand(e, label, opts.name),
      dialect: ANTHROPIC_DIALECT,
    });
    if (result.ok) result.value.protocol = "anthropic";
    return result;
  }

  return {
    name: opts.name,
    type: "anthropic",
    keys: opts.keys,
    functional: () => opts.keys.length > 0,
    problem: () => (opts.keys.length ? undefined : missingKeyProblem(opts.keyEnv)),

    unsupported(body: ChatRequest): string | undefined {
      const t = translate(body);
      return t instanceof AnthropicTranslationError
        ? `The ${opts.name} backend cannot send this request: ${t.message}`
        : undefined;
    },

    countTokens(input: CountInput): Promise<number | undefined> {
      const native = input.native?.protocol === "anthropic" ? input.native : undefined;
      const t = native ? native.body : translate(input.body);
      if (t instanceof AnthropicTranslationError) return Promise.resolve(undefined);
      return countAnthropicTokens({
        client: opts.client,
        backend: opts.name,
        url: `${base}/messages/count_tokens`,
        headers: { ...headersFor(input.key), ...native?.headers },
        body: t,
      }, input);
    },

    async listModels(signal: AbortSignal): Promise<ModelInfo[]> {
      const res = await fetch(`${base}/models?limit=1000`, {
        headers: headersFor(opts.keys[0]),
        signal,
        redirect: "manual",
      });
      const text = await readText(res, opts.client.maxBodyBytes);
      if (!res.ok) throw new Error(opts.scrub(`GET /models answered ${res.status}`));
      const json = JSON.parse(text) as { data?: { id?: unknown; created_at?: unknown }[] };
      if (!Array.isArray(json.data)) throw new Error("GET /models: no data array");
      return json.data.filter((m) => typeof m?.id === "string").map((m) => {
        const t = typeof m.created_at === "string" ? Date.parse(m.created_at) : NaN;
        return { id: m.id as string, created: Number.isFinite(t) ? Math.floor(t / 1000) : undefined };
      });
    },

    async attempt(input: AttemptInput): Promise<AttemptResult> {
      if (input.native?.protocol === "anthropic") return await passThrough(input, input.native);
      const t = translate(input.body);
      if (t instanceof AnthropicTranslationError) {
        return failure({
          action: "return",
          status: 400,
          type: "invalid_request_error",
          code: "invalid_request",
          message: `The ${opts.name} backend cannot send this request: ${t.message}`,
          outcome: "unsupported",
        });
      }
      const label = input.key?.label;
      const posted = await postUpstream(
        opts.client,
        opts.name,
        `${base}/messages`,
        headersFor(input.key),
        JSON.stringify({ model: input.model, ...t, ...(input.stream ? { stream: true } : {}) }),
        input.signal,
        input.timeoutMs,
      );
      if (!posted.ok) return failure(posted.failure);
      const { res, timer } = posted;
      const meta = newStreamMeta(input.model);
      const answer = await readAnswer(posted, input.stream, classifyStatus(label), opts.scrub);
      if (answer.kind === "failed") return failure(answer.failure);
      if (answer.kind === "not-json") return badAnswer("with a body that is not JSON");
      if (answer.kind === "json") {
        const json = answer.json as AnthropicResponse;
        const malformed = malformedResponse(json);
        if (malformed) return badAnswer(`with a malformed Messages response (${malformed})`);
        const completion = toOpenAICompletion(json, meta);
        return completionAnswer(completion);
      }
      const events = translateAnthropicSse(res.body!, meta, () => timer.touch(), opts.client.maxBodyBytes);
      return await commitTranslatedEvents(posted, events, meta, input, {
        name: opts.name,
        scrub: opts.scrub,
        maxBodyBytes: opts.client.maxBodyBytes,
        classifyInBand: (e) => classifyAnthropicInBand(e, label, opts.name),
      });
    },
  };
}
