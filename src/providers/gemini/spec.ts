/** The `gemini` provider (SPEC §3.2): the Gemini API, translated from and to Chat Completions (client.ts). */
import { defineProvider } from "../../runner/spec.ts";
import { createGemini } from "./client.ts";

/** The gemini provider's spec. */
export const gemini = defineProvider({
  name: "gemini",
  type: "gemini",
  title: "Gemini API",
  keyEnv: "GEMINI_API_KEY",
  keySetting: "geminiApiKey",
  baseUrlSetting: "geminiApiBaseUrl",
  requestUsage: false,
  options: [
    {
      key: "geminiApiKey",
      flag: "gemini-api-key",
      kind: "secret",
      env: [],
      config: null,
      default: undefined,
      arg: "KEY",
      help: "Gemini API key; replaces the GEMINI_API_KEY[_N] pool (prefer env).",
    },
    {
      key: "geminiApiBaseUrl",
      flag: "gemini-api-base-url",
      kind: "string",
      env: ["GEMINI_API_BASE_URL"],
      default: "https://generativelanguage.googleapis.com",
      arg: "URL",
      help: "Gemini API base URL.",
    },
  ],
  example: { model: "gemini-2.5-flash", see: "[Gemini backend](#gemini-backend)" },
  build: ({ name, settings, keys, keyEnv, scrub, client }) =>
    createGemini({ name, baseUrl: settings.geminiApiBaseUrl, keys, keyEnv, scrub, client }),
});
