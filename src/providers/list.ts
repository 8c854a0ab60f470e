/**
 * THE list of built-in providers (SPEC §3), in start-up order (SPEC §4.2: the default backend is the first
 * functional one; config-file backends follow). Each line names one provider's spec, written in its own
 * folder (`<name>/spec.ts`: name, type, key variable, option rows, capabilities, factory). Config, the option
 * table, `--help`, README's tables, model resolution's "no backend" hint and the registry's order all read
 * this list; nothing else names a provider.
 */
import type { LoadedConfig } from "../config/load.ts";
import type { Backend } from "../runner/backend.ts";
import { createOpenAICompatible } from "./openai_compatible/backend.ts";
import type { BackendDeps, ProviderSpec } from "../runner/spec.ts";
import { anthropic } from "./anthropic/spec.ts";
import { gemini } from "./gemini/spec.ts";
import { geminiCliDirect } from "./gemini_cli/spec.ts";
import { openai } from "./openai/spec.ts";
import { openrouter } from "./openrouter/spec.ts";

/** The built-in providers in start-up order. */
export const PROVIDERS = [
  openrouter,
  gemini,
  geminiCliDirect,
  openai,
  anthropic,
] as const satisfies readonly ProviderSpec[];

/** Name of a built-in provider. */
export type ProviderName = (typeof PROVIDERS)[number]["name"];

/**
 * Every backend in start-up order: the providers of the list the configuration was loaded for, then the
 * config file's extra OpenAI-compatible backends.
 */
export function buildBackends(cfg: LoadedConfig<ProviderSpec>, deps: BackendDeps): Backend[] {
  const builtIn = cfg.providers.map((spec) => spec.create(cfg, deps));
  const extra = cfg.extraBackends.map((b) =>
    createOpenAICompatible({
      name: b.name,
      baseUrl: b.baseUrl,
      keys: cfg.pools[b.name],
      keyEnv: b.keyEnv,
      requestUsage: b.requestUsage,
      scrub: deps.scrub,
      client: deps.client,
    })
  );
  return [...builtIn, ...extra];
}
