/**
 * A provider that exists only for tests: its folder (this file) and its line in {@link DEMO_PROVIDERS} are all
 * it takes for config, `--help`, README's tables, key pools, the config file and the running proxy to know it.
 * It talks to an OpenAI-compatible upstream and sends its `--demo-tenant` setting as a header.
 */
import { defineProvider } from "../../../src/runner/spec.ts";
import { createOpenAICompatible } from "../../../src/providers/openai_compatible/backend.ts";
import { PROVIDERS } from "../../../src/providers/list.ts";

/** The demo provider's spec. */
export const demo = defineProvider({
  name: "demo",
  type: "openai",
  title: "Demo API",
  keyEnv: "DEMO_API_KEY",
  keySetting: "demoApiKey",
  baseUrlSetting: "demoApiBaseUrl",
  requestUsage: false,
  options: [
    {
      key: "demoApiKey",
      flag: "demo-api-key",
      kind: "secret",
      env: [],
      config: null,
      default: undefined,
      arg: "KEY",
      help: "Demo API key; replaces the DEMO_API_KEY[_N] pool.",
    },
    {
      key: "demoApiBaseUrl",
      flag: "demo-api-base-url",
      kind: "string",
      env: ["DEMO_API_BASE_URL"],
      default: "https://demo.invalid/v1",
      arg: "URL",
      help: "Demo API base URL.",
    },
    {
      key: "demoTenant",
      flag: "demo-tenant",
      kind: "enum",
      values: ["acme", "globex"],
      default: "acme",
      arg: "TENANT",
      help: "Tenant sent to the demo upstream.",
    },
  ],
  example: { model: "demo-model" },
  build: ({ name, settings, keys, keyEnv, requestUsage, scrub, client }) =>
    createOpenAICompatible({
      name,
      baseUrl: settings.demoApiBaseUrl,
      keys,
      keyEnv,
      requestUsage,
      // Typed from the rows above: "acme" | "globex".
      headers: { "x-demo-tenant": settings.demoTenant },
      scrub,
      client,
    }),
});

/** A provider list with the demo provider's one line added after the built-in ones. */
export const DEMO_PROVIDERS = [...PROVIDERS, demo] as const;
