/**
 * Gemini `generationConfig` → the Chat request's sampling, limit, output-format and reasoning fields (SPEC
 * §17.3): `temperature`, `topP`, `topK` (as `top_k`), `maxOutputTokens`, `stopSequences`, `candidateCount`,
 * `seed`, penalties, logprobs, `responseMimeType`/`responseSchema`/`responseJsonSchema` and `thinkingConfig`
 * (as `reasoning_effort`, read from the gemini backend's own effort → budget table).
 */
import { BUDGET } from "../../providers/gemini/generation_config.ts";
import { invalid, list, num, type Obj, obj, str } from "./fields.ts";
import { toJsonSchema } from "./schema.ts";

/** The smallest `reasoning_effort` whose budget covers `budget` tokens (0: none; -1, dynamic: unset). */
function effortForBudget(budget: number): string | undefined {
  if (budget < 0) return undefined;
  const efforts = Object.entries(BUDGET).sort((a, b) => a[1] - b[1]);
  const most = efforts.at(-1)![1];
  // Over the largest budget: the first effort with it (`high`, which every reasoning provider knows).
  return (efforts.find(([, b]) => b >= Math.min(budget, most)))![0];
}

/** `generationConfig` → the Chat request's sampling, limits, output format and reasoning fields. */
export function generationFields(v: unknown): Obj {
  const g = obj(v, "generationConfig");
  if (!g) return {};
  const at = (k: string) => `generationConfig.${k}`;
  const out: Obj = {};
  const set = (k: string, value: unknown) => {
    if (value !== undefined) out[k] = value;
  };
  set("temperature", num(g.temperature, at("temperature")));
  set("top_p", num(g.topP, at("topP")));
  set("top_k", num(g.topK, at("topK")));
  set("max_tokens", num(g.maxOutputTokens, at("maxOutputTokens"), true));
  set("seed", num(g.seed, at("seed"), true));
  set("presence_penalty", num(g.presencePenalty, at("presencePenalty")));
  set("frequency_penalty", num(g.frequencyPenalty, at("frequencyPenalty")));
  const n = num(g.candidateCount, at("candidateCount"), true);
  if (n !== undefined && n !== 1) out.n = n;
  const stop = list(g.stopSequences, at("stopSequences"));
  if (stop?.length) out.stop = stop.map((s, i) => str(s, `${at("stopSequences")}[${i}]`));
  if (g.responseLogprobs === true) {
    out.logprobs = true;
    set("top_logprobs", num(g.logprobs, at("logprobs"), true));
  }
  const mime = str(g.responseMimeType, at("responseMimeType"));
  const jsonSchema = obj(g.responseJsonSchema, at("responseJsonSchema"));
  const schema = obj(g.responseSchema, at("responseSchema"));
  if (mime === "application/json" || jsonSchema || schema) {
    const s = jsonSchema ?? (schema ? toJsonSchema(schema) : undefined);
    out.response_format = s
      ? { type: "json_schema", json_schema: { name: "response", schema: s } }
      : { type: "json_object" };
  }
  const thinking = obj(g.thinkingConfig, at("thinkingConfig"));
  if (thinking) {
    const level = str(thinking.thinkingLevel, at("thinkingConfig.thinkingLevel"))?.toLowerCase();
    const budget = num(thinking.thinkingBudget, at("thinkingConfig.thinkingBudget"), true);
    if (level !== undefined && level !== "thinking_level_unspecified") {
      if (!Object.hasOwn(BUDGET, level) || level === "none") {
        invalid(at("thinkingConfig.thinkingLevel"), "must be MINIMAL, LOW, MEDIUM or HIGH");
      }
      out.reasoning_effort = level;
    } else if (budget !== undefined) set("reasoning_effort", effortForBudget(budget));
  }
  return out;
}
