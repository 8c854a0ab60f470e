/**
 * The `openai` provider: api.openai.com through the generic OpenAI-compatible backend
 * (`openai_compatible/backend.ts`, the generic rules of `openai_compatible/errors.ts`, none of OpenRouter's);
 * Responses clients pass through (`responses.ts`).
 */
import { defineProvider } from "../../runner/spec.ts";
import { createOpenAICompatible, openAICompatibleExchange } from "../openai_compatible/backend.ts";
import { responsesWay } from "./responses.ts";

/** The openai provider's spec. */
export const openai = defineProvider({
  name: "openai",
  type: "openai",
  title: "OpenAI API",
  keyEnv: "OPENAI_API_KEY",
  keySetting: "openaiApiKey",
  baseUrlSetting: "openaiApiBaseUrl",
  requestUsage: true,
  options: [
    {
      key: "openaiApiKey",
      flag: "openai-api-key",
      kind: "secret",
      env: [],
      config: null,
      default: undefined,
      arg: "KEY",
      help: "OpenAI API key; replaces the OPENAI_API_KEY[_N] pool (prefer env).",
    },
    {
      key: "openaiApiBaseUrl",
      flag: "openai-api-base-url",
      kind: "string",
      env: ["OPENAI_API_BASE_URL"],
      default: "https://api.openai.com/v1",
      arg: "URL",
      help: "OpenAI API base URL.",
    },
  ],
  example: { model: "gpt-4o-mini" },
  build: ({ name, settings, keys, keyEnv, requestUsage, scrub, client }) => {
    const opts = { name, baseUrl: settings.openaiApiBaseUrl, keys, keyEnv, requestUsage, scrub, client };
    return createOpenAICompatible(opts, {
      ...openAICompatibleExchange(opts),
      native: responsesWay(settings.openaiApiBaseUrl),
    });
  },
});
