/**
 * The `gemini` backend (SPEC §3.2): Google Generative Language REST with the key in `x-goog-api-key` (never in
 * a URL). The thin I/O edge around the pure translators in request.ts, response.ts, stream.ts and errors.ts.
 */
import { missingKeyProblem } from "../../config/providers.ts";
import type { KeyEntry } from "../../config/load.ts";
import type { ChatRequest } from "../../openai/types.ts";
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
import { postUpstream, readAnswer } from "../../runner/http.ts";
import { readText, type UpstreamClient } from "../../runner/upstream_client.ts";
import type { Scrubber } from "../../security/scrub.ts";
import { classifyGeminiFailure, classifyGeminiInBand } from "./errors.ts";
import { forModel, translateRequest, type Translation, TranslationError } from "./request.ts";
import { newStreamMeta } from "../../model/ids.ts";
import { malformedResponse, toOpenAICompletion } from "./response.ts";
import { translateGeminiSse } from "./stream.ts";
import { countGeminiTokens } from "./count_tokens.ts";
import type { GeminiResponse } from "./types.ts";
import { GEMINI_DIALECT } from "./dialect.ts";
import { nativeAnswer, nativeStream } from "./native.ts";

/** Settings of the Gemini backend. */
export interface GeminiOptions {
  name: string;
  /** `--gemini-api-base-url`: the host root (`/v1beta` is added) or a URL already ending in `/v1beta` or `/v1`. */
  baseUrl: string;
  keys: KeyEntry[];
  /** Where its keys come from, named when none is set. */
  keyEnv?: string;
  scrub: Scrubber;
  /** The proxy's upstream HTTP client. */
  client: UpstreamClient;
}

/** The API root (`…/v1beta`) for a configured base URL. */
export function apiRoot(baseUrl: string): string {
  const base = baseUrl.replace(/\/+$/, "");
  return /\/v1(beta\d*)?$/.test(base) ? base : `${base}/v1beta`;
}

/** The path segment of a model (`models/` prefix removed, each segment URL-encoded). */
function modelPath(model: string): string {
  return model.replace(/^models\//, "").split("/").map(encodeURIComponent).join("/");
}

/**
 * Why a model name cannot go into the URL path: `.`, `..` or empty segments would leave `/models/`, and a
 * lone surrogate cannot be URL-encoded.
 */
function modelPathProblem(model: string): string | undefined {
  const segments = model.replace(/^models\//, "").split("/");
  if (segments.some((s) => s === "" || s === "." || s === "..")) {
    return `The model name "${model}" has an empty, "." or ".." path segment; use a Gemini model id such as gemini-2.5-flash.`;
  }
  if (!model.isWellFormed()) return "The model name is not valid Unicode (it has a lone surrogate).";
  return undefined;
}

const MAX_MODEL_PAGES = 50;

/** models.list failed because the key was rejected (another key may work). */
class KeyRejected extends Error {}

/** Create the Gemini backend. */
export function createGemini(opts: GeminiOptions): Backend {
  const root = apiRoot(opts.baseUrl);
  const headersFor = (key: KeyEntry | undefined): Record<string, string> => ({
    "content-type": "application/json",
    accept: "application/json, text/event-stream",
    ...(key ? { "x-goog-api-key": key.value } : {}),
  });
  const failure = (f: UpstreamFailure): AttemptResult => scrubbedFailure(f, opts.scrub);
  const badAnswer = (what: string): AttemptResult => badAnswerOf(opts.name, what, opts.scrub);
  /**
   * Each request body is translated once: the check (`unsupported`) and every attempt of the request (keys,
   * route elements) share the result, which depends on the body alone ({@link forModel} adds the model).
   */
  const translate = translatedOncePerBody<ChatRequest, Translation, TranslationError>(
    translateRequest,
    TranslationError,
  );

  /** Every page of models.list with one key; only generateContent models, ids without `models/`. */
  const listAllModels = async (key: KeyEntry | undefined, signal: AbortSignal): Promise<ModelInfo[]> => {
    const out: ModelInfo[] = [];
    let pageToken: string | undefined;
    for (let page = 0; page < MAX_MODEL_PAGES; page++) {
      const q = new URLSearchParams({ pageSize: "1000" });
      if (pageToken) q.set("pageToken", pageToken);
      const res = await fetch(`${root}/models?${q}`, {
        headers: headersFor(key),
        signal,
        redirect: "manual",
      });
      const text = await readText(res, opts.client.maxBodyBytes); // a listing is an answer too
      if (!res.ok) {
        const f = classifyGeminiFailure(res.status, res.headers, opts.scrub(text), key?.label, opts.name);
        const message = opts.scrub(`GET /models answered ${res.status}: ${f.message}`);
        throw f.code === "upstream_auth_failed" ? new KeyRejected(message) : new Error(message);
      }
      const json = JSON.parse(text) as {
        models?: { name?: unknown; supportedGenerationMethods?: unknown }[];
        nextPageToken?: unknown;
      };
      for (const m of Array.isArray(json.models) ? json.models : []) {
        const methods = Array.isArray(m?.supportedGenerationMethods) ? m.supportedGenerationMethods : [];
        if (typeof m?.name === "string" && methods.includes("generateContent")) {
          out.push({ id: m.name.replace(/^models\//, "") });
        }
      }
      pageToken = typeof json.nextPageToken === "string" && json.nextPageToken
        ? json.nextPageToken
        : undefined;
      if (!pageToken) return out;
    }
    return out;
  };

  return {
    name: opts.name,
    type: "gemini",
    keys: opts.keys,
    functional: () => opts.keys.length > 0,
    problem: () => (opts.keys.length ? undefined : missingKeyProblem(opts.keyEnv)),

    unsupported(body: ChatRequest): string | undefined {
      const r = translate(body);
      return r instanceof TranslationError
        ? `The gemini backend cannot send this request: ${r.message}`
        : undefined;
    },

    async listModels(signal: AbortSignal): Promise<ModelInfo[]> {
      // A rejected key (bad, revoked, wrong project) must not hide the list: try the next one.
      let lastError: Error | undefined;
      for (const key of opts.keys.length ? opts.keys : [undefined]) {
        try {
          return await listAllModels(key, signal);
        } catch (e) {
          lastError = e as Error;
          if (!(e instanceof KeyRejected)) throw e;
        }
      }
      throw lastError;
    },

    countTokens(input: CountInput): Promise<number | undefined> {
      const translation = translate(input.body);
      if (translation instanceof TranslationError || modelPathProblem(input.model)) {
        return Promise.resolve(undefined);
      }
      return countGeminiTokens({
        client: opts.client,
        backend: opts.name,
        url: `${root}/models/${modelPath(input.model)}:countTokens`,
        headers: headersFor(input.key),
        request: forModel(translation, input.model),
      }, input);
    },

    async attempt(input: AttemptInput): Promise<AttemptResult> {
      const badModel = modelPathProblem(input.model);
      if (badModel) {
        return failure({
          action: "return",
          status: 400,
          type: "invalid_request_error",
          code: "invalid_request",
          message: badModel,
          outcome: "bad_model",
        });
      }
      // A Gemini client's own body passes through (SPEC §17.3); any other is translated.
      const native = input.native?.protocol === "gemini" ? input.native.body : undefined;
      let payload: unknown = native;
      if (!native) {
        const translation = translate(input.body);
        if (translation instanceof TranslationError) {
          return failure({
            action: "return",
            status: 400,
            type: "invalid_request_error",
            code: "invalid_request",
            message: `The gemini backend cannot send this request: ${translation.message}`,
            outcome: "unsupported",
          });
        }
        payload = forModel(translation, input.model);
      }
      const label = input.key?.label;
      const method = input.stream ? "streamGenerateContent?alt=sse" : "generateContent";
      const posted = await postUpstream(
        opts.client,
        opts.name,
        `${root}/models/${modelPath(input.model)}:${method}`,
        headersFor(input.key),
        JSON.stringify(payload),
        input.signal,
        input.timeoutMs,
      );
      if (!posted.ok) return failure(posted.failure);
      const { res, timer } = posted;
      const meta = newStreamMeta(input.model);
      const answer = await readAnswer(
        posted,
        input.stream,
        (status, headers, text) => classifyGeminiFailure(status, headers, text, label, opts.name),
        opts.scrub,
      );
      if (answer.kind === "failed") return failure(answer.failure);
      if (answer.kind === "not-json") return badAnswer("with a body that is not JSON");
      if (answer.kind === "json") {
        const { text } = answer;
        const json = answer.json as GeminiResponse;
        if (json === null || typeof json !== "object" || Array.isArray(json)) {
          return badAnswer("with a body that is not a GenerateContentResponse");
        }
        if (json.error) return failure(classifyGeminiInBand(json.error, label, opts.name, opts.scrub));
        const malformed = malformedResponse(json);
        if (malformed) return badAnswer(`with a malformed GenerateContentResponse (${malformed})`);
        if (native) return nativeAnswer(json, text, badAnswer);
        let completion;
        try {
          completion = toOpenAICompletion(json, meta);
        } catch (e) { // a shape no check foresaw
          return badAnswer(`with a GenerateContentResponse that could not be read (${(e as Error)?.name})`);
        }
        if (!completion.choices.length) return badAnswer("without candidates");
        return completionAnswer(completion);
      }
      const inBand = (e: unknown) => classifyGeminiInBand(e, label, opts.name, opts.scrub);
      const streamOptions = { name: opts.name, scrub: opts.scrub, maxBodyBytes: opts.client.maxBodyBytes };
      if (native) {
        return nativeStream(
          await commitTranslated(posted, res.body!, input, {
            ...streamOptions,
            classifyInBand: inBand,
            dialect: GEMINI_DIALECT,
          }),
        );
      }
      const events = translateGeminiSse(res.body!, meta, () => timer.touch(), opts.client.maxBodyBytes);
      return await commitTranslatedEvents(posted, events, meta, input, {
        ...streamOptions,
        classifyInBand: inBand,
      });
    },
  };
}
