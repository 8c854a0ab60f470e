/**
 * Any OpenAI-compatible upstream (SPEC §3.1; OpenRouter adds its quirks in openrouter/): the client's body goes upstream unchanged
 * except `model`, the (redacted) messages and, when `requestUsage` is on, `stream_options.include_usage`.
 * Streams pass through as bytes (see commit.ts).
 */
import type { KeyEntry } from "../../config/load.ts";
import { missingKeyProblem } from "../../config/providers.ts";
import type {
  AttemptInput,
  AttemptResult,
  Backend,
  ModelInfo,
  UpstreamFailure,
} from "../../runner/backend.ts";
import { commitPosted } from "../../runner/commit.ts";
import { postUpstream, readAnswer } from "../../runner/http.ts";
import { readText, type UpstreamClient } from "../../runner/upstream_client.ts";
import { rateLimitInfo } from "../../core/cooldown.ts";
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

/** Create an OpenAI-compatible backend. */
export function createOpenAICompatible(opts: OpenAICompatibleOptions): Backend {
  const base = opts.baseUrl.replace(/\/+$/, "");
  const classify = opts.classify ?? classifyOpenAIFailure;
  const headersFor = (key: KeyEntry | undefined): Record<string, string> => ({
    "content-type": "application/json",
    accept: "application/json, text/event-stream",
    ...(key ? { authorization: `Bearer ${key.value}` } : {}),
    ...opts.headers,
  });

  const failure = (f: UpstreamFailure): AttemptResult => ({
    ok: false,
    failure: { ...f, message: opts.scrub(f.message) },
  });

  return {
    name: opts.name,
    type: "openai",
    keys: opts.keys,
    functional: () => opts.keys.length > 0 || opts.keyEnv === undefined,
    problem:
      () => (opts.keys.length || opts.keyEnv === undefined ? undefined : missingKeyProblem(opts.keyEnv)),

    async listModels(signal: AbortSignal): Promise<ModelInfo[]> {
      const res = await fetch(`${base}/models`, {
        headers: headersFor(opts.keys[0]),
        signal,
        redirect: "manual",
      });
      const text = await readText(res, opts.client.maxBodyBytes); // a listing is an answer too
      if (!res.ok) throw new Error(`GET /models answered ${res.status}`);
      const json = JSON.parse(text) as { data?: { id?: unknown; created?: unknown }[] };
      if (!Array.isArray(json.data)) throw new Error("GET /models: no data array");
      return json.data
        .filter((m) => typeof m?.id === "string")
        .map((m) => ({ id: m.id as string, created: typeof m.created === "number" ? m.created : undefined }));
    },

    async attempt(input: AttemptInput): Promise<AttemptResult> {
      const body: Record<string, unknown> = { ...input.body, model: input.model };
      const clientWantsUsage = input.body.stream_options?.include_usage === true;
      const askUsage = input.stream && opts.requestUsage && !clientWantsUsage;
      if (askUsage) body.stream_options = { ...(input.body.stream_options ?? {}), include_usage: true };
      const label = input.key?.label;
      const posted = await postUpstream(
        opts.client,
        opts.name,
        `${base}/chat/completions`,
        headersFor(input.key),
        JSON.stringify(body),
        input.signal,
        input.timeoutMs,
      );
      if (!posted.ok) return failure(posted.failure);
      const { res } = posted;
      const answer = await readAnswer(
        posted,
        input.stream,
        (status, headers, text) => classify(status, headers, text, label, opts.name),
        opts.scrub,
      );
      if (answer.kind === "failed") return failure(answer.failure);
      if (answer.kind === "not-json") {
        return failure({
          action: "next-key",
          status: 502,
          type: "api_error",
          code: "upstream_error",
          message: `${opts.name} answered 200 with a body that is not JSON.`,
          outcome: "bad_answer",
        });
      }
      if (answer.kind === "json") {
        const { text } = answer;
        const json = answer.json as { error?: unknown; choices?: unknown; usage?: unknown; model?: unknown };
        if (json?.error) {
          return failure(classifyInBandError(json.error, label, opts.name, opts.scrub, classify));
        }
        const choices = json?.choices;
        if (!Array.isArray(choices) || choices.some((c) => c === null || typeof c !== "object")) {
          return failure({
            action: "next-key",
            status: 502,
            type: "api_error",
            code: "upstream_error",
            message: `${opts.name} answered 200 without a list of choice objects.`,
            outcome: "bad_answer",
          });
        }
        // A JSON answer to `stream: true` (the upstream ignored it) is turned into SSE by the pipeline.
        return {
          ok: true,
          value: {
            kind: "json",
            status: 200,
            text,
            usage: json.usage as never,
            model: typeof json.model === "string" ? json.model : undefined,
            rateLimit: rateLimitInfo(res.headers, Date.now()),
          },
        };
      }
      const result = await commitPosted(posted, res.body!, input, {
        classifyInBand: (e) => classifyInBandError(e, label, opts.name, opts.scrub, classify),
        dropUsageChunks: askUsage,
        scrub: opts.scrub,
        bodyLimit: { bytes: opts.client.maxBodyBytes, backend: opts.name },
      });
      if (!result.ok) return failure(result.failure);
      result.value.rateLimit = rateLimitInfo(res.headers, Date.now());
      return result;
    },
  };
}
