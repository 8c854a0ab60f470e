/** The `gemini-cli-direct` provider (SPEC §3.3): the logged-in `gemini` program, one process per request. */
import { defineProvider } from "../../runner/spec.ts";
import { createGeminiCli } from "./backend.ts";

/** Models offered by `gemini-cli-direct` unless `--gemini-cli-models` says otherwise. */
const DEFAULT_GEMINI_CLI_MODELS = ["gemini-2.5-pro", "gemini-2.5-flash", "gemini-2.5-flash-lite"];

/** The gemini-cli-direct provider's spec. */
export const geminiCliDirect = defineProvider({
  name: "gemini-cli-direct",
  type: "gemini-cli",
  title: "Gemini CLI",
  requestUsage: false,
  options: [
    {
      key: "geminiCliPath",
      flag: "gemini-cli-path",
      kind: "string",
      env: ["GEMINI_CLI_PATH"],
      default: "gemini",
      arg: "PATH",
      help: "The gemini program for the gemini-cli-direct backend.",
    },
    {
      key: "geminiCliModels",
      flag: "gemini-cli-models",
      kind: "list",
      default: DEFAULT_GEMINI_CLI_MODELS,
      arg: "M,…",
      help: "Models offered by gemini-cli-direct.",
    },
    {
      key: "geminiCliConcurrency",
      flag: "gemini-cli-concurrency",
      kind: "int",
      min: 1,
      max: 64,
      default: 4,
      arg: "N",
      help: "gemini processes running at once (32 more may wait).",
    },
  ],
  needs: {
    readme: "the `gemini` program on `PATH` (or `--gemini-cli-path`), logged in",
    hint: "install the gemini CLI",
  },
  example: {
    model: "gemini-2.5-flash",
    see: "[Gemini CLI backend](#gemini-cli-backend-gemini-cli-direct)",
  },
  build: ({ settings, env, scrub }) =>
    createGeminiCli({
      path: settings.geminiCliPath,
      models: settings.geminiCliModels,
      concurrency: settings.geminiCliConcurrency,
      env,
      scrub,
    }),
});
