/**
 * Builds the effective configuration: command line > environment (incl. `.env`) > `--config` file > default
 * (SPEC §1.4), numbered key discovery, and every start-up validation. Problems are {@link ConfigError}s.
 */
import { parseArgs } from "node:util";
import {
  CLIENT_KEY_ENV,
  configKey,
  envNames,
  type OptionSpec,
  optionTable,
  type OptionValue,
  type OptionValueMap,
  type Settings,
} from "./options.ts";
import { isProviderName, providerBaseUrl, type ProviderConfig, providerKeyFlag } from "./providers.ts";
import { type ConfigFile, readConfigFile } from "./file.ts";
import { nearName } from "../core/suggest.ts";
import { ConfigError } from "./errors.ts";

/** One secret with the name it is shown as (its env var name); the value is never logged. */
export interface KeyEntry {
  label: string;
  value: string;
}

/** Where a setting's value came from. */
export type Source = "flag" | "env" | "config" | "default";

/** An OpenAI-compatible backend declared by the config file (or the built-in openrouter). */
export interface ExtraBackend {
  name: string;
  baseUrl: string;
  /** Prefix of its key pool; undefined: the upstream needs no key (a local server such as Ollama). */
  keyEnv: string | undefined;
  requestUsage: boolean;
}

/** The result of {@link loadConfig}; `P` is the type of the provider list it was loaded for. */
export interface LoadedConfig<P extends ProviderConfig = ProviderConfig> {
  /** What to do: run the server, print help or version, or run a sub-command. */
  command: "serve" | "help" | "version" | "usage";
  /** Arguments after a sub-command name. */
  subArgs: string[];
  settings: Settings;
  /** Every setting by field name, the providers' own included (the same values as `settings`). */
  values: OptionValueMap;
  /** Where each setting (by field name) came from. */
  sources: Record<string, Source>;
  /**
   * Where a setting's value came from, as a message names it: `--port`, `environment variable PROXY_PORT`,
   * `config file c.json: field port`, or `--port (default)`.
   */
  where: (key: string) => string;
  /** The provider list the configuration was read for (SPEC §4.2 order). */
  providers: readonly P[];
  /** The whole option table: the core rows and the providers' rows. */
  options: readonly OptionSpec[];
  /** Value of a setting from the start-up precedence chain (what `unset` restores). */
  chain: <K extends keyof Settings>(key: K) => Settings[K];
  file: ConfigFile | undefined;
  /** Client keys, labelled by env var name. */
  clientKeys: KeyEntry[];
  /** Whether the single-form client key (an admin key) is in use. */
  singleClientKey: boolean;
  /** Key pools per backend name. */
  pools: Record<string, KeyEntry[]>;
  extraBackends: ExtraBackend[];
  /** The data directory (resolved default when not given). */
  dataDir: string;
  /** Merged environment (real env over `.env`). */
  env: Record<string, string>;
  /** The command line and directory it was read from (what a `--workers` isolate reads again). */
  argv: readonly string[];
  cwd: string;
}

const BOOL_TRUE = new Set(["true", "1", "yes", "on"]);
const BOOL_FALSE = new Set(["false", "0", "no", "off"]);

/** Read a boolean word (true/false/1/0/yes/no/on/off, any case). */
export function parseBool(text: string): boolean | undefined {
  const t = text.trim().toLowerCase();
  if (BOOL_TRUE.has(t)) return true;
  if (BOOL_FALSE.has(t)) return false;
  return undefined;
}

/** Convert one raw value of an option to its typed value, or throw a ConfigError naming `where`. */
export function parseOptionValue(spec: OptionSpec, raw: unknown, where: string): OptionValue {
  const show = (v: unknown) => JSON.stringify(typeof v === "string" && spec.kind === "secret" ? "…" : v);
  const fail = (expected: string): never => {
    throw new ConfigError(`${where}: expected ${expected}, got ${show(raw)}`);
  };
  switch (spec.kind) {
    case "bool": {
      if (typeof raw === "boolean") return raw;
      const b = typeof raw === "string" ? parseBool(raw) : undefined;
      return b ?? fail("true/false/1/0/yes/no/on/off");
    }
    case "int":
    case "number": {
      const n = typeof raw === "number"
        ? raw
        : typeof raw === "string" && raw.trim() !== ""
        ? Number(raw)
        : NaN;
      const range = `${spec.min ?? "-∞"} to ${spec.max ?? "∞"}`;
      const what = spec.kind === "int" ? `an integer from ${range}` : `a number from ${range}`;
      if (!Number.isFinite(n) || (spec.kind === "int" && !Number.isInteger(n))) return fail(what);
      if ((spec.min !== undefined && n < spec.min) || (spec.max !== undefined && n > spec.max)) {
        return fail(what);
      }
      return n;
    }
    case "enum": {
      if (typeof raw === "string" && spec.values!.includes(raw)) return raw;
      return fail(`one of ${spec.values!.join(", ")}`);
    }
    case "list": {
      const items = Array.isArray(raw)
        ? raw
        : typeof raw === "string"
        ? raw.split(",")
        : fail("a comma list");
      return items.map((s) => String(s).trim()).filter((s) => s !== "");
    }
    default: {
      if (typeof raw !== "string") return fail("text");
      if (raw.trim() === "") return fail("a non-empty value");
      return raw;
    }
  }
}

/** Discover a key pool: `PREFIX` alone or `PREFIX_1..N` (gaps allowed, no cap), never both. */
export function discoverKeys(env: Record<string, string>, prefix: string): KeyEntry[] {
  const numbered = Object.keys(env)
    .map((name) => ({
      name,
      m: name.startsWith(prefix + "_") ? /^\d+$/.exec(name.slice(prefix.length + 1)) : null,
    }))
    .filter((x) => x.m && env[x.name].trim() !== "")
    .map((x) => ({ name: x.name, n: Number(x.m![0]) }))
    .sort((a, b) => a.n - b.n);
  const single = env[prefix]?.trim();
  if (single && numbered.length) {
    const used = new Set(numbered.map((x) => x.n));
    let free = 1;
    while (used.has(free)) free++;
    throw new ConfigError(
      `both ${prefix} and ${numbered[0].name} are set: a key pool is either the single key ${prefix} or ` +
        `numbered keys ${prefix}_1, ${prefix}_2, …; to keep both, rename ${prefix} to ${prefix}_${free}`,
    );
  }
  const entries = single ? [{ label: prefix, value: single }] : numbered.map((x) => ({
    label: x.name,
    value: env[x.name].trim(),
  }));
  const seen = new Set<string>();
  return entries.filter((e) => !seen.has(e.value) && seen.add(e.value));
}

/** The platform's user data directory for llmproxy. */
export function defaultDataDir(env: Record<string, string>, os = Deno.build.os): string {
  const home = env.HOME ?? env.USERPROFILE ?? ".";
  if (os === "windows") return `${env.LOCALAPPDATA ?? `${home}\\AppData\\Local`}\\llmproxy`;
  if (os === "darwin") return `${home}/Library/Application Support/llmproxy`;
  return `${env.XDG_DATA_HOME || `${home}/.local/share`}/llmproxy`;
}

/** Read `.env` from `dir` (absent is fine); real environment values win over it. */
export async function mergedEnv(real: Record<string, string>, dir = "."): Promise<Record<string, string>> {
  let text = "";
  try {
    text = await Deno.readTextFile(`${dir}/.env`);
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) {
      throw new ConfigError(`.env: cannot read it (${(e as Error).name})`);
    }
  }
  if (!text.trim()) return { ...real };
  // Loaded only when there is a .env file: most runs never pay for the parser.
  const { parse } = await import("dotenv");
  return { ...parse(text), ...real };
}

/** Names of loopback hosts accepted with `--disable-auth`. */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, "").toLowerCase();
  return h === "localhost" || h === "::1" || /^127(\.\d{1,3}){3}$/.test(h);
}

/** Check a command prefix against SPEC §8.2; returns the problem or undefined. */
export function prefixProblem(prefix: string): string | undefined {
  if (prefix.length < 2 || prefix.length > 10) return "must be 2 to 10 characters";
  if (!/^[\x21-\x7e]+$/.test(prefix)) return "must be printable ASCII without whitespace";
  if (prefix.length === 2 && prefix[0] === prefix[1]) {
    return "a 2-character prefix may not repeat a character";
  }
  return undefined;
}

/**
 * Where a value of option `o` came from, as messages name it: `--port`, `environment variable PROXY_PORT`,
 * `config file c.json: field port`, or `--port (default)`.
 */
function origin(o: OptionSpec, source: Source, envName?: string, configPath?: string): string {
  switch (source) {
    case "flag":
      return `--${o.flag}`;
    case "env":
      return `environment variable ${envName}`;
    case "config":
      return `config file ${configPath}: field ${configKey(o)}`;
    default:
      return `--${o.flag} (default)`;
  }
}

/** Parse argv + environment + config file into a {@link LoadedConfig}, for the providers of `providers`. */
export async function loadConfig<P extends ProviderConfig>(
  providers: readonly P[],
  argv: string[],
  realEnv: Record<string, string>,
  cwd = ".",
): Promise<LoadedConfig<P>> {
  const options = optionTable(providers);
  let command: LoadedConfig["command"] = "serve";
  let args = argv;
  if (argv[0] === "usage") {
    command = "usage";
    args = [];
  }
  const parseOptions: Record<string, { type: "string" | "boolean"; short?: string }> = {
    help: { type: "boolean", short: "h" },
    version: { type: "boolean", short: "v" },
  };
  for (const o of options) parseOptions[o.flag] = { type: o.kind === "bool" ? "boolean" : "string" };
  let parsed;
  try {
    parsed = parseArgs({ args, options: parseOptions, strict: true, allowPositionals: false });
  } catch (e) {
    const message = (e as Error).message.split("\n")[0];
    // "Unknown option '--prot'": name the closest real flag.
    const unknown = /^Unknown option '--([^'=]+)'/.exec(message)?.[1];
    const near = unknown ? nearName(unknown, options.map((o) => o.flag)) : undefined;
    throw new ConfigError(`${message}${near ? ` (did you mean --${near}?)` : ""} (see --help)`);
  }
  const flags = parsed.values as Record<string, string | boolean | undefined>;
  if (flags.help) command = "help";
  else if (flags.version) command = "version";

  const env = await mergedEnv(realEnv, cwd);
  const flagLayer: Record<string, OptionValue> = {};
  const envLayer: Record<string, OptionValue> = {};
  const fileLayer: Record<string, OptionValue> = {};
  /** The environment name each environment value was read from. */
  const envUsed: Record<string, string> = {};
  for (const o of options) {
    const f = flags[o.flag];
    if (f !== undefined) {
      flagLayer[o.key] = o.kind === "bool" ? (o.flagSets ?? true) : parseOptionValue(o, f, origin(o, "flag"));
    }
    for (const name of envNames(o)) {
      const v = env[name];
      if (v === undefined || v === "") continue;
      const val = parseOptionValue(o, v, origin(o, "env", name));
      envLayer[o.key] = o.envInverted ? !val : val;
      envUsed[o.key] = name;
      break;
    }
  }
  const configPath = (flagLayer.config ?? envLayer.config) as string | undefined;
  const file = configPath && command === "serve" ? await readConfigFile(configPath, options) : undefined;
  if (file) {
    for (const o of options) {
      const k = configKey(o);
      const v = k ? (file as Record<string, unknown>)[k] : undefined;
      if (v !== undefined) {
        fileLayer[o.key] = parseOptionValue(o, v, origin(o, "config", undefined, configPath));
      }
    }
  }

  const sources: Record<string, Source> = {};
  const settings: Record<string, OptionValue> = {};
  const chainValue = (key: string) => {
    if (key in envLayer) return envLayer[key];
    if (key in fileLayer) return fileLayer[key];
    return options.find((o) => o.key === key)!.default;
  };
  for (const o of options) {
    if (o.key in flagLayer) {
      settings[o.key] = flagLayer[o.key];
      sources[o.key] = "flag";
    } else {
      settings[o.key] = chainValue(o.key);
      sources[o.key] = o.key in envLayer ? "env" : o.key in fileLayer ? "config" : "default";
    }
  }
  const s = settings as unknown as Settings;
  const initial: Settings = { ...s };
  const where = (key: string): string => {
    const o = options.find((o) => o.key === key);
    return o ? origin(o, sources[key], envUsed[key], configPath) : key;
  };

  const prefixIssue = prefixProblem(s.commandPrefix);
  if (prefixIssue) {
    throw new ConfigError(
      `${where("commandPrefix")}: command prefix ${JSON.stringify(s.commandPrefix)}: ${prefixIssue}`,
    );
  }
  if (s.disableAuth && !isLoopbackHost(s.host) && command === "serve") {
    throw new ConfigError(
      `${
        where("disableAuth")
      }: auth may only be disabled on a loopback address (127.0.0.1, ::1, localhost), ` +
        `not ${s.host} (from ${where("host")})`,
    );
  }
  for (const p of providers) {
    const url = providerBaseUrl(p, settings);
    if (url !== undefined && (!URL.canParse(url) || !/^https?:$/.test(new URL(url).protocol))) {
      throw new ConfigError(
        `${where(p.baseUrlSetting!)}: expected an http(s) URL, got ${JSON.stringify(url)}`,
      );
    }
  }

  const extraBackends: ExtraBackend[] = Object.entries(file?.backends ?? {}).map(([name, b]) => {
    if (isProviderName(providers, name)) {
      throw new ConfigError(
        `config file ${configPath}: field backends.${name}: '${name}' is a built-in backend name`,
      );
    }
    return { name, baseUrl: b.base_url, keyEnv: b.api_key_env, requestUsage: b.request_usage ?? false };
  });

  const pools: Record<string, KeyEntry[]> = {};
  for (const p of providers) {
    if (!p.keyEnv) continue;
    const flagKey = p.keySetting ? settings[p.keySetting] as string | undefined : undefined;
    pools[p.name] = flagKey ? [{ label: providerKeyFlag(p)!, value: flagKey }] : discoverKeys(env, p.keyEnv);
  }
  for (const b of extraBackends) pools[b.name] = b.keyEnv ? discoverKeys(env, b.keyEnv) : [];
  const clientKeys = discoverKeys(env, CLIENT_KEY_ENV);

  return {
    command,
    subArgs: argv[0] === "usage" ? argv.slice(1) : [],
    settings: s,
    values: settings,
    sources,
    where,
    providers,
    options,
    chain: <K extends keyof Settings>(key: K) => initial[key],
    file,
    clientKeys,
    singleClientKey: clientKeys.length === 1 && clientKeys[0].label === CLIENT_KEY_ENV,
    pools,
    extraBackends,
    dataDir: s.dataDir ?? defaultDataDir(env),
    env,
    argv,
    cwd,
  };
}
