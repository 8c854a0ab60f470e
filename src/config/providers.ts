/**
 * What config reads of a provider (SPEC §3, §1.2, §1.3): name, type, key variables, option rows, README
 * wording. The providers themselves are specs in their own folders (`providers/<name>/spec.ts`), listed once
 * in `providers/list.ts`; config, `--help` and README's tables take that list as a parameter, so this layer
 * never imports the providers.
 */
import type { OptionSpec, OptionValueMap } from "./options.ts";

/** The configuration side of one provider; `R` are its option rows. */
export interface ProviderConfig<R extends OptionSpec = OptionSpec> {
  /** Backend name: the `backend:` prefix of model names. */
  readonly name: string;
  /** How it talks to its upstream (`openai`, `gemini`, `gemini-cli`, `anthropic`, …); a new kind is a new word. */
  readonly type: string;
  /** What it is called in prose (`--help`). */
  readonly title: string;
  /** Prefix of its key pool in the environment (`PREFIX` or `PREFIX_1..N`); absent: it needs no key. */
  readonly keyEnv?: string;
  /** Its secret setting whose value replaces the environment pool (its flag labels the key). */
  readonly keySetting?: R["key"];
  /** Its setting holding its base URL (checked to be http(s) at start-up). */
  readonly baseUrlSetting?: R["key"];
  /** Its rows of the option table, in `--help` order. */
  readonly options: readonly R[];
  /** What it needs when that is not a key: README's wording and the wording of the "no backend" error. */
  readonly needs?: { readonly readme: string; readonly hint: string };
  /** README's example model name (without the backend prefix) and the section that says more. */
  readonly example: { readonly model: string; readonly see?: string };
}

/** Whether `name` is the name of a provider in `providers` (config-file backends may not take it). */
export function isProviderName(providers: readonly ProviderConfig[], name: string): boolean {
  return providers.some((p) => p.name === name);
}

/** A provider's base URL from the effective settings, or undefined when it has none. */
export function providerBaseUrl(spec: ProviderConfig, values: OptionValueMap): string | undefined {
  return spec.baseUrlSetting ? values[spec.baseUrlSetting] as string : undefined;
}

/** The flag whose value replaces a provider's key pool (`--openrouter-api-key`), or undefined. */
export function providerKeyFlag(spec: ProviderConfig): string | undefined {
  const row = spec.options.find((o) => o.key === spec.keySetting);
  return row ? `--${row.flag}` : undefined;
}

/** A key pool's two forms as `--help` and messages name them: `PREFIX or PREFIX_1..N`. */
export function keyPoolText(keyEnv: string): string {
  return `${keyEnv} or ${keyEnv}_1..N`;
}

/** Why a backend whose keys come from `keyEnv` is off when its pool is empty (start-up line, /health, errors). */
export function missingKeyProblem(keyEnv: string | undefined): string {
  return `no API key configured${keyEnv ? ` (set ${keyPoolText(keyEnv)})` : ""}`;
}

/** What to do when no backend can serve a request: "Set A or B (or install …)". */
export function credentialsHint(providers: readonly ProviderConfig[]): string {
  const keys = providers.flatMap((p) => p.keyEnv ? [p.keyEnv] : []);
  const other = providers.flatMap((p) => p.needs ? [p.needs.hint] : []);
  return `Set ${keys.join(" or ")}${other.length ? ` (or ${other.join(" or ")})` : ""}`;
}
