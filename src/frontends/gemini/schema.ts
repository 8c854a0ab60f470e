/**
 * Gemini's `Schema` (an OpenAPI 3.0 subset with upper-case type names, `nullable`, `propertyOrdering`) →
 * JSON Schema, for `functionDeclarations[].parameters` and `generationConfig.responseSchema` sent to a
 * provider that takes JSON Schema. Pure; nesting deeper than 64 levels is cut.
 */
import { isObj, type Obj } from "./fields.ts";

/** Keys of Gemini's Schema that JSON Schema does not have. */
const GEMINI_ONLY = new Set(["nullable", "propertyOrdering"]);

/** One Gemini Schema as JSON Schema (unknown keys kept; nested schemas converted). */
export function toJsonSchema(schema: Obj, depth = 0): Obj {
  if (depth > 64) return {};
  const out: Obj = {};
  for (const [k, v] of Object.entries(schema)) {
    if (GEMINI_ONLY.has(k)) continue;
    if (k === "type" && typeof v === "string") out.type = v.toLowerCase();
    else if (k === "properties" && isObj(v)) {
      out.properties = Object.fromEntries(
        Object.entries(v).map(([name, s]) => [name, isObj(s) ? toJsonSchema(s, depth + 1) : s]),
      );
    } else if ((k === "items" || k === "additionalProperties") && isObj(v)) {
      out[k] = toJsonSchema(v, depth + 1);
    } else if ((k === "anyOf" || k === "oneOf" || k === "allOf") && Array.isArray(v)) {
      out[k] = v.map((s) => (isObj(s) ? toJsonSchema(s, depth + 1) : s));
    } else out[k] = v;
  }
  if (schema.nullable === true && typeof out.type === "string") out.type = [out.type, "null"];
  return out;
}
