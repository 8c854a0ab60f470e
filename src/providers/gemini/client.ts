/**
 * The `gemini` backend (SPEC §3.2): Google Generative Language REST with the key in `x-goog-api-key` (never in
 * a URL). Its exchange is declared here over the pure translators in request.ts, response.ts, stream.ts and
 * errors.ts; the runner (`runner/exchange.ts`) makes the attempt. A Gemini client's own body passes through
 * (native.ts reads its answer, dialect.ts its stream).
 */
import { type HttpBackendOptions, keyReadiness } from "../../runner/spec.ts";
import type { KeyEntry } from "../../config/load.ts";
import type { AttemptInput, Backend, CountInput, ModelInfo } from "../../runner/backend.ts";
import {
  type AnswerReading,
  type CallRefused,
  type HttpExchange,
  runExchange,
} from "../../runner/exchange.ts";
import { getListing, ListingFailed } from "../../runner/listing.ts";
import { classifyGeminiFailure, classifyGeminiInBand } from "./errors.ts";
import { forModel, translateRequest, type Translation, TranslationError } from "./request.ts";
import { newStreamMeta } from "../../model/ids.ts";
import { malformedResponse, toModelResult } from "./response.ts";
import { translateGeminiSse } from "./stream.ts";
import { countGeminiTokens } from "./count_tokens.ts";
import type { GeminiResponse } from "./types.ts";
import { GEMINI_DIALECT } from "./dialect.ts";
import { nativeAnswer } from "./native.ts";

/**
 * Settings of the Gemini backend (`baseUrl`: `--gemini-api-base-url`, the host root — `/v1beta` is added — or
 * a URL already ending in `/v1beta` or `/v1`).
 */
export type GeminiOptions = HttpBackendOptions;

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

/** The headers of every Gemini request: JSON, SSE, the key in `x-goog-api-key` (never in a URL). */
function headersFor(key: KeyEntry | undefined): Record<string, string> {
  return {
    "content-type": "application/json",
    accept: "application/json, text/event-stream",
    ...(key ? { "x-goog-api-key": key.value } : {}),
  };
}

/** The `generateContent` (or streamed) call of `input.model` with `payload`, or why the model cannot be named. */
function generateCall(root: string, input: AttemptInput, payload: unknown) {
  const badModel = modelPathProblem(input.model);
  if (badModel) return { refused: badModel, outcome: "bad_model" } satisfies CallRefused;
  const method = input.stream ? "streamGenerateContent?alt=sse" : "generateContent";
  return {
    url: `${root}/models/${modelPath(input.model)}:${method}`,
    headers: headersFor(input.key),
    body: payload,
  };
}

/**
 * A 200 body checked the same way on both ways: an object, no in-band error, well-formed; `ok` reads what
 * passed the checks.
 */
function readResponse(json: unknown, ok: (r: GeminiResponse) => AnswerReading): AnswerReading {
  if (json === null || typeof json !== "object" || Array.isArray(json)) {
    return { kind: "bad", what: "with a body that is not a GenerateContentResponse" };
  }
  const r = json as GeminiResponse;
  if (r.error) return { kind: "error", error: r.error };
  const malformed = malformedResponse(r);
  if (malformed) return { kind: "bad", what: `with a malformed GenerateContentResponse (${malformed})` };
  return ok(r);
}

/** A checked answer translated into the conversation model. */
function translatedAnswer(r: GeminiResponse, input: AttemptInput): AnswerReading {
  let result;
  try {
    result = toModelResult(r, newStreamMeta(input.model));
  } catch (e) { // a shape no check foresaw
    return {
      kind: "bad",
      what: `with a GenerateContentResponse that could not be read (${(e as Error)?.name})`,
    };
  }
  if (!result.choices.length) return { kind: "bad", what: "without candidates" };
  return { kind: "result", result };
}

/** The Gemini exchange: translated, or a Gemini client's own body passed through (SPEC §17.3). */
function geminiExchange(opts: GeminiOptions, root: string): HttpExchange<Translation> {
  return {
    name: opts.name,
    // The translation depends on the body alone ({@link forModel} adds the model).
    translate: translateRequest,
    refusal: TranslationError,
    chat: {
      call: (input, t) => generateCall(root, input, forModel(t, input.model)),
      answer: (json, input) => readResponse(json, (r) => translatedAnswer(r, input)),
      stream: {
        translate: translateGeminiSse,
      },
    },
    native: {
      protocol: "gemini",
      call: (input, native) => generateCall(root, input, native.body),
      answer: (json) => readResponse(json, nativeAnswer),
      stream: { dialect: GEMINI_DIALECT },
    },
    classifyStatus: (status, headers, text, label) =>
      classifyGeminiFailure(status, headers, text, label, opts.name),
    classifyInBand: (error, label) => classifyGeminiInBand(error, label, opts.name, opts.scrub),
  };
}

/** Create the Gemini backend. */
export function createGemini(opts: GeminiOptions): Backend {
  const root = apiRoot(opts.baseUrl);
  const run = runExchange(geminiExchange(opts, root), opts);

  /** Every page of models.list with one key; only generateContent models, ids without `models/`. */
  const listAllModels = async (key: KeyEntry | undefined, signal: AbortSignal): Promise<ModelInfo[]> => {
    const out: ModelInfo[] = [];
    let pageToken: string | undefined;
    for (let page = 0; page < MAX_MODEL_PAGES; page++) {
      const q = new URLSearchParams({ pageSize: "1000" });
      if (pageToken) q.set("pageToken", pageToken);
      let json;
      try {
        json = await getListing(
          { client: opts.client, root, path: `/models?${q}`, headers: headersFor(key), scrub: opts.scrub },
          signal,
        ) as { models?: { name?: unknown; supportedGenerationMethods?: unknown }[]; nextPageToken?: unknown };
      } catch (e) {
        if (!(e instanceof ListingFailed)) throw e;
        const f = classifyGeminiFailure(e.status, e.headers, e.text, key?.label, opts.name);
        const message = opts.scrub(`${e.message}: ${f.message}`);
        throw f.code === "upstream_auth_failed" ? new KeyRejected(message) : new Error(message);
      }
      for (const m of Array.isArray(json?.models) ? json.models : []) {
        const methods = Array.isArray(m?.supportedGenerationMethods) ? m.supportedGenerationMethods : [];
        if (typeof m?.name === "string" && methods.includes("generateContent")) {
          out.push({ id: m.name.replace(/^models\//, "") });
        }
      }
      pageToken = typeof json?.nextPageToken === "string" && json.nextPageToken
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
    ...keyReadiness(opts.keys, opts.keyEnv),
    unsupported: run.unsupported,
    attempt: run.attempt,

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
      const translation = run.translation(input.body);
      if (!translation || modelPathProblem(input.model)) return Promise.resolve(undefined);
      return countGeminiTokens({
        client: opts.client,
        backend: opts.name,
        url: `${root}/models/${modelPath(input.model)}:countTokens`,
        headers: headersFor(input.key),
        request: forModel(translation, input.model),
      }, input);
    },
  };
}
