/**
 * OpenAI sampling and output parameters → Gemini `generationConfig` (SPEC §3.2, §3.3): one mapping and one
 * validation for both Gemini backends. A value of the wrong type is a {@link TranslationError} naming the
 * field (the client gets a 400), never dropped in silence. The REST backend sends {@link generationConfig};
 * the CLI's settings take only {@link samplingConfig}, the part SPEC §3.3 lists.
 */
import { isObj, type Obj, TranslationError } from "./parts.ts";
import type { GeminiGenerationConfig } from "./types.ts";

/** The sampling fields the Gemini CLI's `generateContentConfig` override takes (SPEC §3.3). */
export type SamplingConfig = Pick<
  GeminiGenerationConfig,
  "temperature" | "topP" | "maxOutputTokens" | "stopSequences"
>;

function num(body: Obj, field: string): number | undefined {
  const v = body[field];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "number" || !Number.isFinite(v)) {
    throw new TranslationError(`${field} must be a number.`, field);
  }
  return v;
}

/** Thinking budget (tokens) per `reasoning_effort`, the one table both directions read. */
export const BUDGET: Readonly<Record<string, number>> = {
  none: 0,
  minimal: 512,
  low: 1024,
  medium: 8192,
  high: 24576,
  xhigh: 24576,
  max: 24576,
};

/** temperature, top_p, max_completion_tokens (else max_tokens) and stop. Throws {@link TranslationError}. */
export function samplingConfig(body: Obj): SamplingConfig {
  const g: SamplingConfig = {};
  const temperature = num(body, "temperature");
  if (temperature !== undefined) g.temperature = temperature;
  const topP = num(body, "top_p");
  if (topP !== undefined) g.topP = topP;
  const maxTokens = num(body, "max_completion_tokens") ?? num(body, "max_tokens");
  if (maxTokens !== undefined) g.maxOutputTokens = maxTokens;
  const stop = body.stop;
  if (typeof stop === "string") g.stopSequences = [stop];
  else if (Array.isArray(stop) && stop.length) {
    if (stop.some((s) => typeof s !== "string")) {
      throw new TranslationError("stop must be a string or an array of strings.", "stop");
    }
    g.stopSequences = stop as string[];
  } else if (stop !== undefined && stop !== null && !Array.isArray(stop)) {
    throw new TranslationError("stop must be a string or an array of strings.", "stop");
  }
  return g;
}

/**
 * Sampling, limits, stop, seed, n, logprobs, response_format and reasoning_effort → generationConfig (the
 * thinking config as a budget; request.ts's `forModel` makes it a level for Gemini 3), or undefined when
 * the body sets none of them. Throws {@link TranslationError}.
 */
export function generationConfig(body: Obj): GeminiGenerationConfig | undefined {
  const g: GeminiGenerationConfig = samplingConfig(body);
  const set = <K extends keyof GeminiGenerationConfig>(k: K, v: GeminiGenerationConfig[K] | undefined) => {
    if (v !== undefined) g[k] = v;
  };
  const n = num(body, "n");
  if (n !== undefined && n !== 1) g.candidateCount = n;
  set("seed", num(body, "seed"));
  set("presencePenalty", num(body, "presence_penalty"));
  set("frequencyPenalty", num(body, "frequency_penalty"));
  if (body.logprobs === true) {
    g.responseLogprobs = true;
    set("logprobs", num(body, "top_logprobs"));
  }
  const rf = body.response_format;
  if (rf !== undefined && rf !== null) {
    const type = isObj(rf) ? rf.type : undefined;
    if (type === "json_object") g.responseMimeType = "application/json";
    else if (type === "json_schema") {
      const js = isObj(rf) && isObj(rf.json_schema) ? rf.json_schema : undefined;
      if (!js || !isObj(js.schema)) {
        throw new TranslationError(
          "response_format.json_schema.schema must be an object.",
          "response_format",
        );
      }
      g.responseMimeType = "application/json";
      g.responseJsonSchema = js.schema;
    } else if (type !== "text") {
      throw new TranslationError(
        'response_format.type must be "text", "json_object" or "json_schema".',
        "response_format",
      );
    }
  }
  const effort = body.reasoning_effort;
  if (effort !== undefined && effort !== null) {
    // Own keys only: `"__proto__" in BUDGET` is true and gave an empty thinkingConfig.
    if (typeof effort !== "string" || !Object.hasOwn(BUDGET, effort)) {
      throw new TranslationError(
        `reasoning_effort must be one of ${Object.keys(BUDGET).join(", ")}.`,
        "reasoning_effort",
      );
    }
    g.thinkingConfig = { thinkingBudget: BUDGET[effort] };
  }
  return Object.keys(g).length ? g : undefined;
}
