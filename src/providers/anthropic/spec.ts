/** The `anthropic` provider: the Anthropic Messages API, translated from and to Chat Completions (backend.ts). */
import { defineProvider } from "../../runner/spec.ts";
import { createAnthropic } from "./backend.ts";

/** The anthropic provider's spec. */
export const anthropic = defineProvider({
  name: "anthropic",
  type: "anthropic",
  title: "Anthropic API",
  keyEnv: "ANTHROPIC_API_KEY",
  keySetting: "anthropicApiKey",
  baseUrlSetting: "anthropicApiBaseUrl",
  requestUsage: false,
  options: [
    {
      key: "anthropicApiKey",
      flag: "anthropic-api-key",
      kind: "secret",
      env: [],
      config: null,
      default: undefined,
      arg: "KEY",
      help: "Anthropic API key; replaces the ANTHROPIC_API_KEY[_N] pool (prefer env).",
    },
    {
      key: "anthropicApiBaseUrl",
      flag: "anthropic-api-base-url",
      kind: "string",
      env: ["ANTHROPIC_API_BASE_URL"],
      default: "https://api.anthropic.com/v1",
      arg: "URL",
      help: "Anthropic API base URL.",
    },
  ],
  example: { model: "claude-sonnet-4-5", see: "[Anthropic backend](#anthropic-backend-anthropic)" },
  build: ({ name, settings, keys, keyEnv, scrub, client }) =>
    createAnthropic({ name, baseUrl: settings.anthropicApiBaseUrl, keys, keyEnv, scrub, client }),
});
