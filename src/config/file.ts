/**
 * The `--config` JSON file: read and validate it (errors name the field), and rewrite it atomically
 * (temp file + rename) when a command changes routes or global settings.
 */
import { z } from "zod";
import { configKey, OPTIONS } from "./options.ts";
import { ConfigError } from "./errors.ts";

/** Route policies of SPEC §6. */
export const ROUTE_POLICIES = ["k", "m", "km", "mk"] as const;
/** A failover route's policy. */
export type RoutePolicy = typeof ROUTE_POLICIES[number];

const routeSchema = z.strictObject({
  policy: z.enum(ROUTE_POLICIES),
  elements: z.array(z.string().min(1)),
});

const backendSchema = z.strictObject({
  type: z.literal("openai"),
  base_url: z.url({ protocol: /^https?$/ }),
  api_key_env: z.string().regex(/^[A-Z_][A-Z0-9_]*$/, "an environment variable name like MY_API_KEY"),
  request_usage: z.boolean().optional(),
});

/** Routes, aliases and extra backends: the parts of the file that are not plain options. */
const structural = {
  failover_routes: z.record(
    z.string().regex(/^[^:\s]+$/, "route names may not contain ':' or spaces"),
    routeSchema,
  )
    .optional(),
  model_aliases: z.record(z.string().min(1), z.string().min(1)).optional(),
  backends: z.record(z.string().regex(/^[a-z][a-z0-9-]*$/, "a name like my-backend"), backendSchema)
    .optional(),
};

function optionField(kind: string): z.ZodType {
  switch (kind) {
    case "bool":
      return z.boolean();
    case "int":
      return z.number().int();
    case "number":
      return z.number();
    case "list":
      return z.union([z.array(z.string()), z.string()]);
    default:
      return z.string();
  }
}

const optionFields = Object.fromEntries(
  OPTIONS.flatMap((o) => {
    const key = configKey(o);
    return key ? [[key, optionField(o.kind).optional()]] : [];
  }),
);

/** Schema of the whole config file: known option keys, routes, aliases and backends; nothing else. */
export const configFileSchema = z.strictObject({ ...optionFields, ...structural });

/** A parsed config file. Option values are still raw (validated again by the option table). */
export type ConfigFile = z.infer<typeof configFileSchema> & {
  failover_routes?: Record<string, { policy: RoutePolicy; elements: string[] }>;
  model_aliases?: Record<string, string>;
  backends?: Record<
    string,
    { type: "openai"; base_url: string; api_key_env: string; request_usage?: boolean }
  >;
};

/** Read and validate a config file; a missing, unreadable or invalid file is a {@link ConfigError}. */
export async function readConfigFile(path: string): Promise<ConfigFile> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    throw new ConfigError(`config file ${path}: cannot read it (${(e as Error).name})`);
  }
  return parseConfigText(text, path);
}

/** Validate config text; errors name the file and the field. */
export function parseConfigText(text: string, path: string): ConfigFile {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new ConfigError(`config file ${path}: not valid JSON (${(e as Error).message})`);
  }
  const parsed = configFileSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const field = issue.path.length ? issue.path.join(".") : "(top level)";
    const what = issue.code === "unrecognized_keys"
      ? `unknown field(s) ${issue.keys.join(", ")}`
      : issue.message;
    throw new ConfigError(`config file ${path}: field ${field}: ${what}`);
  }
  return parsed.data as ConfigFile;
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
