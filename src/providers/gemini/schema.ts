/**
 * Tool parameter schemas cleaned for Gemini (SPEC §17.1): Gemini takes a subset of JSON Schema for function
 * declarations and refuses a request whose schema carries anything else — and coding agents' tool lists
 * (Claude Code's: `$schema`, `additionalProperties`, `propertyNames`, `exclusiveMinimum`, numeric enums, …)
 * do. Each schema keeps only the keywords Gemini reads; what it cannot express is rewritten where a close form
 * exists (`oneOf` → `anyOf`, `const` → `enum`, `["string","null"]` → `string` + `nullable`, `allOf` merged,
 * numeric enums and dropped bounds named in the description) and dropped otherwise. Pure; the client's
 * schema is never changed.
 */

type Obj = Record<string, unknown>;

const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);

/** The keywords Gemini's function-declaration schema reads (its OpenAPI-style `Schema`). */
const KEPT = new Set([
  "type",
  "format",
  "title",
  "description",
  "nullable",
  "enum",
  "maxItems",
  "minItems",
  "properties",
  "required",
  "minProperties",
  "maxProperties",
  "minLength",
  "maxLength",
  "pattern",
  "example",
  "anyOf",
  "propertyOrdering",
  "default",
  "items",
  "minimum",
  "maximum",
]);

/** String formats Gemini accepts; numeric ones are `float`, `double`, `int32`, `int64`. */
const FORMATS: Record<string, ReadonlySet<string>> = {
  string: new Set(["enum", "date-time"]),
  number: new Set(["float", "double"]),
  integer: new Set(["int32", "int64"]),
};

/** Add a sentence to a schema's description. */
function note(out: Obj, text: string): void {
  out.description = typeof out.description === "string" && out.description
    ? `${out.description} ${text}`
    : text;
}

/** `allOf` members merged into one schema (properties and required lists joined, other keywords: first wins). */
function mergeAllOf(schema: Obj, ctx: Defs): Obj {
  const { allOf, ...rest } = schema;
  if (!Array.isArray(allOf)) return schema;
  const merged: Obj = { ...rest };
  for (const member of allOf) {
    if (!isObj(member)) continue;
    const part = resolveRef(member, ctx).schema;
    for (const [k, v] of Object.entries(part)) {
      if (k === "properties" && isObj(v)) merged.properties = { ...(merged.properties as Obj ?? {}), ...v };
      else if (k === "required" && Array.isArray(v)) {
        merged.required = [...new Set([...(merged.required as unknown[] ?? []), ...v])];
      } else if (!(k in merged)) merged[k] = v;
    }
  }
  return merged;
}

/** Definitions a `$ref` may point at (`#/$defs/…`, `#/definitions/…`), and how deep refs are followed. */
interface Defs {
  defs: Obj;
  depth: number;
}

/** How many `$ref`s deep a schema is inlined (a recursive schema stops there as a plain object). */
const MAX_REF_DEPTH = 8;

/** A `$ref` to a local definition, inlined (its siblings win), or an untyped object past the depth limit. */
function resolveRef(schema: Obj, ctx: Defs): { schema: Obj; ctx: Defs } {
  const ref = schema.$ref;
  if (typeof ref !== "string") return { schema, ctx };
  const { $ref: _, ...siblings } = schema;
  const m = /^#\/(?:\$defs|definitions)\/(.+)$/.exec(ref);
  const target = m ? ctx.defs[decodeURIComponent(m[1])] : undefined;
  if (!isObj(target) || ctx.depth >= MAX_REF_DEPTH) return { schema: { type: "object", ...siblings }, ctx };
  return { schema: { ...target, ...siblings }, ctx: { ...ctx, depth: ctx.depth + 1 } };
}

/** One schema (and everything inside it) as Gemini takes it. */
export function cleanSchema(input: unknown): Obj {
  if (!isObj(input)) return {};
  const defs = {
    ...(isObj(input.definitions) ? input.definitions : {}),
    ...(isObj(input.$defs) ? input.$defs : {}),
  };
  return clean(input, { defs, depth: 0 });
}

function clean(input: unknown, outer: Defs): Obj {
  if (!isObj(input)) return {};
  const { schema: resolved, ctx } = resolveRef(input, outer);
  const schema = mergeAllOf(resolved, ctx);
  const out: Obj = {};
  for (const [k, v] of Object.entries(schema)) if (KEPT.has(k)) out[k] = v;

  if (Array.isArray(schema.type)) {
    const types = schema.type.filter((t) => typeof t === "string" && t !== "null") as string[];
    if (types.length !== schema.type.length) out.nullable = true;
    if (types.length <= 1) out.type = types[0] ?? "string";
    else {
      delete out.type;
      out.anyOf = types.map((t) => ({ type: t }));
    }
  }
  if (!("anyOf" in out) && Array.isArray(schema.oneOf)) out.anyOf = schema.oneOf;
  if (schema.const !== undefined && out.enum === undefined) out.enum = [schema.const];
  if (Array.isArray(out.enum)) {
    if (out.enum.every((e) => typeof e === "string")) {
      if (out.type === undefined) out.type = "string";
    } else {
      note(out, `Allowed values: ${out.enum.map((e) => JSON.stringify(e)).join(", ")}.`);
      delete out.enum;
    }
  }
  for (
    const [k, word] of [["exclusiveMinimum", "greater than"], ["exclusiveMaximum", "less than"]] as const
  ) {
    if (typeof schema[k] === "number") note(out, `Must be ${word} ${schema[k]}.`);
  }
  if (typeof out.format === "string") {
    const allowed = FORMATS[String(out.type)];
    if (!allowed?.has(out.format)) delete out.format;
  }
  if (isObj(out.properties)) {
    const props: Obj = {};
    for (const [name, s] of Object.entries(out.properties)) props[name] = clean(s, ctx);
    out.properties = props;
    if (Array.isArray(out.required)) {
      out.required = out.required.filter((r) => typeof r === "string" && Object.hasOwn(props, r));
      if (!(out.required as unknown[]).length) delete out.required;
    }
  } else {
    delete out.properties;
    delete out.required;
  }
  if (out.items !== undefined) out.items = clean(Array.isArray(out.items) ? out.items[0] : out.items, ctx);
  if (Array.isArray(out.anyOf)) out.anyOf = out.anyOf.map((s) => clean(s, ctx));
  return out;
}
