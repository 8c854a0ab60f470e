/**
 * THE list of built-in providers (SPEC §3, §1.2, §1.3): name, type, key variables, option rows, start-up
 * order. Config, `--help`, README's backend table, model resolution and the backend registry all read it.
 * Pure data, low enough for `config/` to read; how each provider is built lives with the backends
 * (`backends/providers.ts`, one line per provider).
 */
import type { OptionSpec, Settings } from "./options.ts";

/** How a provider talks to its upstream. */
export type ProviderType = "openai" | "gemini" | "gemini-cli" | "anthropic";

/** One built-in provider. */
export interface ProviderSpec {
  /** Backend name: the `backend:` prefix of model names. */
  readonly name: string;
  readonly type: ProviderType;
  /** What it is called in prose (`--help`). */
  readonly title: string;
  /** Prefix of its key pool in the environment (`PREFIX` or `PREFIX_1..N`); absent: it needs no key. */
  readonly keyEnv?: string;
  /** The secret setting whose value replaces the environment pool (its flag labels the key). */
  readonly keySetting?: keyof Settings;
  /** The setting holding its base URL (checked to be http(s) at start-up). */
  readonly baseUrlSetting?: keyof Settings;
  /** Ask for usage in streams (`stream_options.include_usage`, SPEC §10.1). */
  readonly requestUsage: boolean;
  /** Its rows of the option table, in `--help` order. */
  readonly options: readonly OptionSpec[];
  /** What it needs when that is not a key: README's wording and the wording of the "no backend" error. */
  readonly needs?: { readonly readme: string; readonly hint: string };
  /** README's example model name (without the backend prefix) and the section that says more. */
  readonly example: { readonly model: string; readonly see?: string };
}

const LIST = [
  {
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
    ],
    example: { model: "meta-llama/llama-3.3-70b-instruct:free" },
  },
  {
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
  },
  {
    name: "gemini-cli-direct",
    type: "gemini-cli",
    title: "Gemini CLI",
    requestUsage: false,
    // Its rows (--gemini-cli-path, --gemini-cli-models, --gemini-cli-concurrency) keep their place in the
    // option table's --help order.
    options: [],
    needs: {
      readme: "the `gemini` program on `PATH` (or `--gemini-cli-path`), logged in",
      hint: "install the gemini CLI",
    },
    example: {
      model: "gemini-2.5-flash",
      see: "[Gemini CLI backend](#gemini-cli-backend-gemini-cli-direct)",
    },
  },
  {
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
  },
  {
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
  },
] as const satisfies readonly ProviderSpec[];

/** Name of a built-in provider. */
export type ProviderName = (typeof LIST)[number]["name"];

/** The built-in providers in start-up order (SPEC §4.2: the default backend is the first functional one). */
export const PROVIDERS: readonly (ProviderSpec & { readonly name: ProviderName })[] = LIST;

/** Whether `name` is a built-in provider's (config-file backends may not take it). */
export function isProviderName(name: string): name is ProviderName {
  return PROVIDERS.some((p) => p.name === name);
}

/** A provider's base URL from the effective settings, or undefined when it has none. */
export function providerBaseUrl(spec: ProviderSpec, settings: Settings): string | undefined {
  return spec.baseUrlSetting ? settings[spec.baseUrlSetting] as string : undefined;
}

/** The flag whose value replaces a provider's key pool (`--openrouter-api-key`), or undefined. */
export function providerKeyFlag(spec: ProviderSpec): string | undefined {
  const row = spec.options.find((o) => o.key === spec.keySetting);
  return row ? `--${row.flag}` : undefined;
}

/** What to do when no backend can serve a request: "Set A or B (or install …)". */
export function credentialsHint(): string {
  const keys = PROVIDERS.flatMap((p) => p.keyEnv ? [p.keyEnv] : []);
  const other = PROVIDERS.flatMap((p) => p.needs ? [p.needs.hint] : []);
  return `Set ${keys.join(" or ")}${other.length ? ` (or ${other.join(" or ")})` : ""}`;
}
