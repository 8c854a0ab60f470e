/** The `openrouter` provider (SPEC §3.1): OpenAI-compatible with OpenRouter's quirks (backend.ts, errors.ts). */
import { defineProvider } from "../../runner/spec.ts";
import { createOpenRouter } from "./backend.ts";

/** The openrouter provider's spec. */
export const openrouter = defineProvider({
  name: "openrouter",
  type: "openai",
  title: "OpenRouter",
  keyEnv: "OPENROUTER_API_KEY",
  keySetting: "openrouterApiKey",
  baseUrlSetting: "openrouterApiBaseUrl",
  requestUsage: true,
  options: [
    {
      key: "openrouterApiKey",
      flag: "openrouter-api-key",
      kind: "secret",
      env: [],
      config: null,
      default: undefined,
      arg: "KEY",
      help: "OpenRouter key; replaces the OPENROUTER_API_KEY[_N] pool (prefer env: flags show in ps).",
    },
    {
      key: "openrouterApiBaseUrl",
      flag: "openrouter-api-base-url",
      kind: "string",
      env: ["OPENROUTER_API_BASE_URL"],
      default: "https://openrouter.ai/api/v1",
      arg: "URL",
      help: "OpenRouter API base URL.",
    },
    {
      key: "appSiteUrl",
      flag: "app-site-url",
      kind: "string",
      env: ["APP_SITE_URL"],
      default: undefined,
      arg: "URL",
      help: "HTTP-Referer sent to OpenRouter (app attribution).",
    },
    {
      key: "appXTitle",
      flag: "app-x-title",
      kind: "string",
      env: ["APP_X_TITLE"],
      default: undefined,
      arg: "TEXT",
      help: "X-Title sent to OpenRouter (app attribution).",
    },
  ],
  example: { model: "meta-llama/llama-3.3-70b-instruct:free" },
  build: ({ name, settings, keys, keyEnv, requestUsage, scrub, client }) =>
    createOpenRouter({
      name,
      baseUrl: settings.openrouterApiBaseUrl,
      keys,
      keyEnv,
      requestUsage,
      attribution: settings,
      scrub,
      client,
    }),
});
