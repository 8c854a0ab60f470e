/**
 * How each provider of the one list (config/providers.ts) is built: one factory line per provider, then
 * the config file's extra OpenAI-compatible backends. The registry keeps this order (SPEC §4.2).
 */
import type { LoadedConfig } from "../config/load.ts";
import { providerBaseUrl, type ProviderName, PROVIDERS, type ProviderSpec } from "../config/providers.ts";
import type { Scrubber } from "../security/scrub.ts";
import type { Backend } from "./backend.ts";
import { createAnthropic } from "./anthropic/backend.ts";
import { createGemini } from "./gemini/client.ts";
import { createGeminiCli } from "./gemini_cli/backend.ts";
import { createOpenAICompatible } from "./openai_compatible.ts";
import { withResponsesPassThrough } from "./openai_responses.ts";
import { createOpenRouter } from "./openrouter/backend.ts";
import type { UpstreamClient } from "./upstream_client.ts";

/** What every factory gets besides the configuration. */
export interface BackendDeps {
  scrub: Scrubber;
  /** The proxy's upstream HTTP client. */
  client: UpstreamClient;
}

/** Builds one provider's backend from its list entry and the loaded configuration. */
type Factory = (spec: ProviderSpec, cfg: LoadedConfig, deps: BackendDeps) => Backend;

const baseUrl = (spec: ProviderSpec, cfg: LoadedConfig) => providerBaseUrl(spec, cfg.settings)!;
const keys = (spec: ProviderSpec, cfg: LoadedConfig) => cfg.pools[spec.name];

/** One line per provider; a provider in the list without a factory does not type-check. */
const FACTORIES: Record<ProviderName, Factory> = {
  openrouter: (spec, cfg, { scrub, client }) =>
    createOpenRouter({
      name: spec.name,
      baseUrl: baseUrl(spec, cfg),
      keys: keys(spec, cfg),
      requestUsage: spec.requestUsage,
      attribution: cfg.settings,
      scrub,
      client,
    }),
  gemini: (spec, cfg, { scrub, client }) =>
    createGemini({ name: spec.name, baseUrl: baseUrl(spec, cfg), keys: keys(spec, cfg), scrub, client }),
  "gemini-cli-direct": (_spec, cfg, { scrub }) =>
    createGeminiCli({
      path: cfg.settings.geminiCliPath,
      models: cfg.settings.geminiCliModels,
      concurrency: cfg.settings.geminiCliConcurrency,
      env: cfg.env,
      scrub,
    }),
  // Generic OpenAI-compatible rules (openai_errors.ts), none of OpenRouter's; Responses clients pass through.
  openai: (spec, cfg, { scrub, client }) =>
    withResponsesPassThrough(
      createOpenAICompatible({
        name: spec.name,
        baseUrl: baseUrl(spec, cfg),
        keys: keys(spec, cfg),
        requestUsage: spec.requestUsage,
        scrub,
        client,
      }),
      { name: spec.name, baseUrl: baseUrl(spec, cfg), scrub, client },
    ),
  anthropic: (spec, cfg, { scrub, client }) =>
    createAnthropic({ name: spec.name, baseUrl: baseUrl(spec, cfg), keys: keys(spec, cfg), scrub, client }),
};

/** Every backend in start-up order: the built-in providers, then the config file's extra backends. */
export function buildBackends(cfg: LoadedConfig, deps: BackendDeps): Backend[] {
  const builtIn = PROVIDERS.map((spec) => FACTORIES[spec.name](spec, cfg, deps));
  const extra = cfg.extraBackends.map((b) =>
    createOpenAICompatible({
      name: b.name,
      baseUrl: b.baseUrl,
      keys: cfg.pools[b.name],
      requestUsage: b.requestUsage,
      scrub: deps.scrub,
      client: deps.client,
    })
  );
  return [...builtIn, ...extra];
}
