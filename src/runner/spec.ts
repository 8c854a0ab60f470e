/**
 * What a provider is: one spec, exported by its folder (`providers/<name>/spec.ts`) and named once in the
 * provider list (`providers/list.ts`). The spec is the provider's configuration side (name, type, key
 * variable, option rows, README wording: `ProviderConfig`, which config, `--help` and README read), its
 * capabilities and its factory. The factory gets the provider's own settings typed from its own option rows.
 */
import type { KeyEntry, LoadedConfig } from "../config/load.ts";
import type { OptionSpec, OptionValues } from "../config/options.ts";
import { missingKeyProblem, type ProviderConfig } from "../config/providers.ts";
import type { Scrubber } from "../security/scrub.ts";
import type { Backend } from "./backend.ts";
import type { UpstreamClient } from "./upstream_client.ts";

/** What every factory gets besides the configuration. */
export interface BackendDeps {
  scrub: Scrubber;
  /** The proxy's upstream HTTP client. */
  client: UpstreamClient;
}

/** What an HTTP backend is built from besides the shared services: its name, base URL and key pool. */
export interface HttpBackendOptions extends BackendDeps {
  name: string;
  /** Its `--…-api-base-url`. */
  baseUrl: string;
  keys: KeyEntry[];
  /** Where its keys come from, named when none is set. */
  keyEnv?: string;
}

/**
 * A keyed backend's readiness (`Backend.functional` and `problem`): usable with a key (or `keyless`, an upstream
 * that needs none); otherwise the problem names where its keys come from.
 */
export function keyReadiness(
  keys: readonly KeyEntry[],
  keyEnv: string | undefined,
  keyless = false,
): Pick<Backend, "functional" | "problem"> {
  const ready = () => keys.length > 0 || keyless;
  return { functional: ready, problem: () => (ready() ? undefined : missingKeyProblem(keyEnv)) };
}

/** What a provider's factory gets: its own typed settings, its key pool and the shared services. */
export interface ProviderBuild<R extends OptionSpec> extends BackendDeps {
  /** Its backend name. */
  name: string;
  /** Its own settings: one typed field per row of its `options`. */
  settings: OptionValues<R>;
  /** Its key pool (empty for a provider without `keyEnv`). */
  keys: KeyEntry[];
  /** Its spec's `keyEnv`: where its keys come from (named when none is set); undefined: it needs none. */
  keyEnv: string | undefined;
  /** Its spec's `requestUsage`. */
  requestUsage: boolean;
  /** The merged environment (real environment over `.env`). */
  env: Record<string, string>;
}

/** A provider as its folder defines it: configuration side, capabilities and factory. */
export interface ProviderDefinition<R extends OptionSpec, N extends string> extends ProviderConfig<R> {
  readonly name: N;
  /** Ask for usage in streams (`stream_options.include_usage`, SPEC §10.1). */
  readonly requestUsage: boolean;
  /** Builds its backend. */
  build(input: ProviderBuild<R>): Backend;
}

/** One provider of the list: its configuration side and capabilities, and how to build it from a configuration. */
export interface ProviderSpec<R extends OptionSpec = OptionSpec, N extends string = string>
  extends ProviderConfig<R> {
  readonly name: N;
  /** Ask for usage in streams (`stream_options.include_usage`, SPEC §10.1). */
  readonly requestUsage: boolean;
  /** Builds its backend from a configuration loaded for a list that holds it. */
  readonly create: (cfg: LoadedConfig, deps: BackendDeps) => Backend;
}

/**
 * A provider spec from its definition. Its rows keep their literal types (`const`), so the factory's
 * `settings` are typed from them and the list's {@link ProviderSettings} is derived from every spec's rows.
 */
export function defineProvider<const R extends OptionSpec, const N extends string>(
  def: ProviderDefinition<R, N>,
): ProviderSpec<R, N> {
  const { build, ...config } = def;
  return {
    ...config,
    create: (cfg, deps) =>
      build({
        ...deps,
        name: def.name,
        settings: ownSettings(def.options, cfg),
        keys: cfg.pools[def.name] ?? [],
        keyEnv: def.keyEnv,
        requestUsage: def.requestUsage,
        env: cfg.env,
      }),
  };
}

/** A provider's own settings out of the loaded values: the loader typed each value by its row's kind. */
function ownSettings<R extends OptionSpec>(rows: readonly R[], cfg: LoadedConfig): OptionValues<R> {
  return Object.fromEntries(rows.map((o) => [o.key, cfg.values[o.key]])) as OptionValues<R>;
}

/** The settings of every provider in a list: one typed field per option row of each spec. */
export type ProviderSettings<L extends readonly ProviderSpec[]> = OptionValues<L[number]["options"][number]>;
