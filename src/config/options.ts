/**
 * THE table of options. Every flag, environment variable, config-file key, type, default and help line is
 * written here once; a provider's rows are written in its own spec (providers/<name>/spec.ts) and joined in
 * by {@link optionTable}. `--help`, README's option table (checked by a test) and validation all come from it.
 */
import type { ProviderConfig } from "./providers.ts";

/** How an option's text value is read. */
export type OptionKind = "string" | "int" | "number" | "bool" | "list" | "enum" | "secret";

/** A setting's typed value, whatever its kind. */
export type OptionValue = string | number | boolean | readonly string[] | undefined;

/** Setting values by field name, as the loader made them (every row of the option table). */
export type OptionValueMap = Readonly<Record<string, OptionValue>>;

/** One row of the option table; `K` is its field name ({@link Settings}' for the core rows). */
export interface OptionSpec<K extends string = string> {
  /** Field name in the settings ({@link Settings}, or the provider's own settings). */
  key: K;
  /** Long flag without the dashes: `port` is `--port`. */
  flag: string;
  kind: OptionKind;
  /** Environment names, the first is documented; default `LLMPROXY_<FLAG>`. */
  env?: readonly string[];
  /** A `bool` whose env var has the opposite sense of the setting (`DISABLE_INTERACTIVE_MODE`). */
  envInverted?: boolean;
  /** Value a bare boolean flag sets (default `true`); `--disable-…` flags of positive settings set `false`. */
  flagSets?: boolean;
  /** Key in the `--config` JSON file; default: the flag with `_` for `-`. `null`: not settable there. */
  config?: string | null;
  /** Allowed values of an `enum`. */
  values?: readonly string[];
  /** Inclusive bounds of an `int`/`number`. */
  min?: number;
  max?: number;
  /** Placeholder shown in `--help`. */
  arg?: string;
  default: OptionValue;
  help: string;
}

/** The typed value of one option row, from its kind, its `values` and whether it has a default. */
export type ValueOf<R extends OptionSpec> = R["kind"] extends "bool" ? boolean
  : R["kind"] extends "int" | "number" ? number
  : R["kind"] extends "list" ? string[]
  : R["kind"] extends "enum" ? (R["values"] extends readonly (infer V extends string)[] ? V : string)
  : string | (undefined extends R["default"] ? undefined : never);

/** The settings a list of option rows makes: one typed field per row (a provider's own settings). */
export type OptionValues<R extends OptionSpec> = { readonly [Row in R as Row["key"]]: ValueOf<Row> };

/**
 * Effective settings after the precedence merge of SPEC §1.4: the core options. A provider's own settings
 * (its key, base URL, …) are typed from its spec's rows ({@link OptionValues}).
 */
export interface Settings {
  host: string;
  port: number;
  defaultBackend: string | undefined;
  timeout: number;
  commandPrefix: string;
  log: string | undefined;
  logLevel: "debug" | "info" | "warn" | "error";
  config: string | undefined;
  interactiveMode: boolean;
  redactApiKeysInPrompts: boolean;
  disableRedactSecretPatterns: boolean;
  disableAuth: boolean;
  forceSetProject: boolean;
  disableInteractiveCommands: boolean;
  dataDir: string | undefined;
  kv: string | undefined;
  forceModel: string | undefined;
  maxWait: number;
  shutdownGrace: number;
  workers: number;
  maxAttempts: number;
  keyStrategy: "round-robin" | "fill-first";
  maxBodyMb: number;
  maxUpstreamBodyMb: number;
  adminKeys: string[];
  allowOrigin: string[];
  auditContent: boolean;
  disableUsageLog: boolean;
  auditLog: string | undefined;
  usageRetentionDays: number;
  responsesRetentionDays: number;
}

/** The core option table, in `--help` order (the providers' rows follow `--default-backend`: {@link optionTable}). */
export const OPTIONS: readonly OptionSpec<keyof Settings>[] = [
  {
    key: "host",
    flag: "host",
    kind: "string",
    env: ["PROXY_HOST"],
    default: "127.0.0.1",
    arg: "ADDR",
    help: "Address to listen on.",
  },
  {
    key: "port",
    flag: "port",
    kind: "int",
    env: ["PROXY_PORT"],
    min: 0,
    max: 65535,
    default: 8000,
    arg: "N",
    help: "Port to listen on (0 picks a free one).",
  },
  {
    key: "defaultBackend",
    flag: "default-backend",
    kind: "string",
    env: ["LLM_BACKEND"],
    default: undefined,
    arg: "NAME",
    help: "Backend for model names without a backend prefix (default: first with credentials).",
  },
  {
    key: "timeout",
    flag: "timeout",
    kind: "number",
    env: ["PROXY_TIMEOUT"],
    min: 0.001,
    default: 300,
    arg: "SECONDS",
    help: "Longest wait for an upstream's first byte and longest gap between chunks.",
  },
  {
    key: "commandPrefix",
    flag: "command-prefix",
    kind: "string",
    env: ["COMMAND_PREFIX"],
    default: "!/",
    arg: "PREFIX",
    help: "Prefix of in-chat commands (2-10 printable ASCII characters, no spaces).",
  },
  {
    key: "log",
    flag: "log",
    kind: "string",
    default: undefined,
    arg: "FILE",
    help: "Append logs to FILE instead of stderr.",
  },
  {
    key: "logLevel",
    flag: "log-level",
    kind: "enum",
    values: ["debug", "info", "warn", "error"],
    default: "info",
    arg: "LEVEL",
    help: "Lowest level logged: debug, info, warn or error.",
  },
  {
    key: "config",
    flag: "config",
    kind: "string",
    config: null,
    default: undefined,
    arg: "FILE",
    help: "JSON config file; when given it is the one store of routes and global settings.",
  },
  {
    key: "interactiveMode",
    flag: "disable-interactive-mode",
    kind: "bool",
    env: ["DISABLE_INTERACTIVE_MODE"],
    envInverted: true,
    flagSets: false,
    config: "interactive_mode",
    default: true,
    help: "Do not add the welcome banner to local replies.",
  },
  {
    key: "redactApiKeysInPrompts",
    flag: "disable-redact-api-keys-in-prompts",
    kind: "bool",
    env: ["REDACT_API_KEYS_IN_PROMPTS"],
    flagSets: false,
    config: "redact_api_keys_in_prompts",
    default: true,
    help: "Do not replace configured key values in outgoing prompts.",
  },
  {
    key: "disableRedactSecretPatterns",
    flag: "disable-redact-secret-patterns",
    kind: "bool",
    default: false,
    help: "Do not redact well-known secret shapes (sk-…, AIza…, ghp_…) in outgoing prompts.",
  },
  {
    key: "disableAuth",
    flag: "disable-auth",
    kind: "bool",
    env: ["DISABLE_AUTH"],
    default: false,
    help: "No client keys (only when bound to a loopback address).",
  },
  {
    key: "forceSetProject",
    flag: "force-set-project",
    kind: "bool",
    env: ["FORCE_SET_PROJECT"],
    default: false,
    help: "Refuse chat requests until the session has a project.",
  },
  {
    key: "disableInteractiveCommands",
    flag: "disable-interactive-commands",
    kind: "bool",
    env: ["DISABLE_INTERACTIVE_COMMANDS"],
    default: false,
    help: "Do not look for in-chat commands at all.",
  },
  {
    key: "dataDir",
    flag: "data-dir",
    kind: "string",
    default: undefined,
    arg: "DIR",
    help: "Where the store and the generated client key live (default: the user data dir).",
  },
  {
    key: "kv",
    flag: "kv",
    kind: "string",
    default: undefined,
    arg: "PATH|URL|:memory:",
    help: "Deno KV store: a file, a KV Connect URL, or :memory: (default: <data-dir>/llmproxy.kv).",
  },
  {
    key: "forceModel",
    flag: "force-model",
    kind: "string",
    default: undefined,
    arg: "BACKEND:MODEL|ROUTE",
    help: "Send every request to this model or route, whatever the client asks for.",
  },
  {
    key: "maxWait",
    flag: "max-wait",
    kind: "number",
    min: 0,
    default: 5,
    arg: "SECONDS",
    help: "Longest wait for a cooling key (or for its turn once it frees) before answering 429.",
  },
  {
    key: "shutdownGrace",
    flag: "shutdown-grace",
    kind: "number",
    min: 0,
    default: 10,
    arg: "SECONDS",
    help: "On SIGTERM/SIGINT, how long in-flight requests may finish before they are ended (503).",
  },
  {
    key: "workers",
    flag: "workers",
    kind: "int",
    min: 1,
    max: 64,
    default: 1,
    arg: "N",
    help: "Isolates serving the port (Web Workers sharing it with SO_REUSEPORT, Linux): every core.",
  },
  {
    key: "maxAttempts",
    flag: "max-attempts",
    kind: "int",
    min: 1,
    max: 1000,
    default: 10,
    arg: "N",
    help: "Most upstream attempts for one request.",
  },
  {
    key: "keyStrategy",
    flag: "key-strategy",
    kind: "enum",
    values: ["round-robin", "fill-first"],
    default: "round-robin",
    arg: "STRATEGY",
    help: "Key rotation: round-robin (start advances each request) or fill-first.",
  },
  {
    key: "maxBodyMb",
    flag: "max-body-mb",
    kind: "number",
    min: 0.001,
    default: 10,
    arg: "N",
    help: "Largest request body in MiB (larger: 413).",
  },
  {
    key: "maxUpstreamBodyMb",
    flag: "max-upstream-body-mb",
    kind: "number",
    min: 0.001,
    default: 64,
    arg: "N",
    help: "Largest upstream answer (or stream event) in MiB (larger: 502, the attempt fails).",
  },
  {
    key: "adminKeys",
    flag: "admin-keys",
    kind: "list",
    default: [],
    arg: "LABEL,…",
    help: "Client-key labels (e.g. LLM_INTERACTIVE_PROXY_API_KEY_2) allowed to run global commands.",
  },
  {
    key: "allowOrigin",
    flag: "allow-origin",
    kind: "list",
    default: [],
    arg: "ORIGIN,…",
    help: "Browser origins allowed to call the proxy (CORS).",
  },
  {
    key: "auditContent",
    flag: "audit-content",
    kind: "bool",
    default: false,
    help: "Also record prompt and response text (redacted, truncated) in the audit trail.",
  },
  {
    key: "disableUsageLog",
    flag: "disable-usage-log",
    kind: "bool",
    default: false,
    help: "Record no usage records or audit events at all (nothing is written to the store per request).",
  },
  {
    key: "auditLog",
    flag: "audit-log",
    kind: "string",
    default: undefined,
    arg: "FILE",
    help: "Mirror the audit trail to FILE as JSON lines.",
  },
  {
    key: "usageRetentionDays",
    flag: "usage-retention-days",
    kind: "int",
    min: 1,
    max: 3650,
    default: 30,
    arg: "N",
    help: "Days usage and audit records are kept.",
  },
  {
    key: "responsesRetentionDays",
    flag: "responses-retention-days",
    kind: "int",
    min: 1,
    max: 3650,
    default: 30,
    arg: "N",
    help: "Days stored Responses API responses (store not false) are kept.",
  },
];

/** The core row the providers' rows follow in `--help` order. */
const PROVIDER_ROWS_AFTER: keyof Settings = "defaultBackend";

/**
 * The whole option table for a provider list: the core rows with each provider's rows, in list order, after
 * `--default-backend`. Two rows with one field name, flag or environment name are a programming error.
 */
export function optionTable(providers: readonly ProviderConfig[]): readonly OptionSpec[] {
  const at = OPTIONS.findIndex((o) => o.key === PROVIDER_ROWS_AFTER) + 1;
  const rows: readonly OptionSpec[] = [
    ...OPTIONS.slice(0, at),
    ...providers.flatMap((p) => p.options),
    ...OPTIONS.slice(at),
  ];
  const seen = new Set<string>();
  for (const o of rows) {
    for (const name of [`key ${o.key}`, `--${o.flag}`, ...envNames(o).map((e) => `env ${e}`)]) {
      if (seen.has(name)) throw new Error(`option table: ${name} is used by two rows`);
      seen.add(name);
    }
  }
  return rows;
}

/** Environment names of an option (its own list, or `LLMPROXY_<FLAG>`). */
export function envNames(spec: OptionSpec): readonly string[] {
  return spec.env ?? [`LLMPROXY_${spec.flag.toUpperCase().replaceAll("-", "_")}`];
}

/** Config-file key of an option, or `null` when the file may not set it. */
export function configKey(spec: OptionSpec): string | null {
  if (spec.config !== undefined) return spec.config;
  return spec.kind === "secret" ? null : spec.flag.replaceAll("-", "_");
}

/** Environment name of the client keys (`…_KEY` or `…_KEY_1..N`); a provider's key name is in its spec. */
export const CLIENT_KEY_ENV = "LLM_INTERACTIVE_PROXY_API_KEY";
