/**
 * The `--config` JSON file: read and validate it (errors name the field), and rewrite it atomically
 * (temp file + rename) when a command changes routes or global settings.
 */
import { ConfigError } from "./errors.ts";
import { nearName } from "../core/suggest.ts";
import type { OptionSpec } from "./options.ts";

/** Route policies of SPEC §6. */
export const ROUTE_POLICIES = ["k", "m", "km", "mk"] as const;
/** A failover route's policy. */
export type RoutePolicy = typeof ROUTE_POLICIES[number];

/** A parsed config file. Option values are still raw (validated again by the option table). */
export interface ConfigFile {
  failover_routes?: Record<string, { policy: RoutePolicy; elements: string[] }>;
  model_aliases?: Record<string, string>;
  backends?: Record<
    string,
    /** Without `api_key_env` the upstream needs no key (a local server such as Ollama). */
    { type: "openai"; base_url: string; api_key_env?: string; request_usage?: boolean }
  >;
  [option: string]: unknown;
}

/**
 * Read and validate a config file against the option table `options`; a missing, unreadable or invalid file
 * is a {@link ConfigError}.
 */
export async function readConfigFile(path: string, options: readonly OptionSpec[]): Promise<ConfigFile> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    throw new ConfigError(`config file ${path}: cannot read it (${(e as Error).name})`);
  }
  return await parseConfigText(text, path, options);
}

/** Validate config text against the option table `options`; errors name the file and the field. */
export async function parseConfigText(
  text: string,
  path: string,
  options: readonly OptionSpec[],
): Promise<ConfigFile> {
  const { configFileSchema, fieldsAt } = await import("./schema.ts");
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new ConfigError(`config file ${path}: not valid JSON (${(e as Error).message})`);
  }
  const parsed = configFileSchema(options).safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const field = issue.path.length ? issue.path.join(".") : "(top level)";
    const what = issue.code === "unrecognized_keys"
      ? `unknown field(s) ${issue.keys.join(", ")}${didYouMean(issue.keys, fieldsAt(options, issue.path))}`
      : issue.message;
    throw new ConfigError(`config file ${path}: field ${field}: ${what}`);
  }
  return parsed.data as ConfigFile;
}

/** " (did you mean x?)" for the first unknown field that is a typo of an allowed one. */
function didYouMean(keys: readonly string[], allowed: readonly string[]): string {
  for (const k of keys) {
    const near = nearName(k, allowed);
    if (near) return ` (did you mean ${near}?)`;
  }
  return "";
}

/** Write the config file atomically: a temp file beside it, then rename over it. */
export async function writeConfigFile(path: string, data: ConfigFile): Promise<void> {
  const tmp = `${path}.${crypto.randomUUID()}.tmp`;
  try {
    await Deno.writeTextFile(tmp, JSON.stringify(data, null, 2) + "\n");
    await Deno.rename(tmp, path);
  } catch (e) {
    await Deno.remove(tmp).catch(() => {});
    throw e;
  }
}
