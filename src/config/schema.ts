/**
 * The zod schema of the `--config` file. Loaded only when a config file is read, so a run without one never
 * pays for zod's memory.
 */
import { z } from "zod";
import { configKey, type OptionSpec } from "./options.ts";
import { ROUTE_POLICIES } from "./file.ts";

const routeSchema = z.strictObject({
  policy: z.enum(ROUTE_POLICIES),
  elements: z.array(z.string().min(1)),
});

const backendSchema = z.strictObject({
  type: z.literal("openai"),
  base_url: z.url({ protocol: /^https?$/ }),
  api_key_env: z.string().regex(/^[A-Z_][A-Z0-9_]*$/, "an environment variable name like MY_API_KEY")
    .optional(),
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

const schemas = new WeakMap<readonly OptionSpec[], z.ZodType>();

/**
 * Schema of the whole config file for the option table `options`: its option keys, routes, aliases and
 * backends; nothing else. Built once per table.
 */
export function configFileSchema(options: readonly OptionSpec[]): z.ZodType {
  let schema = schemas.get(options);
  if (!schema) {
    const optionFields = Object.fromEntries(
      options.flatMap((o) => {
        const key = configKey(o);
        return key ? [[key, optionField(o.kind).optional()]] : [];
      }),
    );
    schema = z.strictObject({ ...optionFields, ...structural });
    schemas.set(options, schema);
  }
  return schema;
}

/** The field names the file allows in the object at `path` (the top level, a backend or a route). */
export function fieldsAt(options: readonly OptionSpec[], path: readonly PropertyKey[]): string[] {
  if (path.length === 0) {
    return [...options.flatMap((o) => configKey(o) ?? []), ...Object.keys(structural)];
  }
  if (path.length === 2 && path[0] === "backends") return Object.keys(backendSchema.shape);
  if (path.length === 2 && path[0] === "failover_routes") return Object.keys(routeSchema.shape);
  return [];
}
