/**
 * Reading a Gemini request's JSON fields for the front end's parsers: each reader takes the value and its path
 * (`contents[0].parts[1].text`) and throws a 400 naming the path when the value has the wrong shape; absent
 * (undefined or null) reads as undefined.
 */
import { badRequest } from "../../core/errors.ts";

/** A JSON object. */
export type Obj = Record<string, unknown>;

/** True for a plain (non-array) object. */
export const isObj = (v: unknown): v is Obj => v !== null && typeof v === "object" && !Array.isArray(v);

/** A 400 naming the field. */
export function invalid(path: string, message: string): never {
  throw badRequest(`Invalid GenerateContentRequest: ${path}: ${message}.`, path);
}

/** A string, or undefined. */
export function str(v: unknown, path: string): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "string") invalid(path, "must be a string");
  return v;
}

/** A finite number (an integer when asked), or undefined. */
export function num(v: unknown, path: string, integer = false): number | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "number" || !Number.isFinite(v) || (integer && !Number.isInteger(v))) {
    invalid(path, integer ? "must be an integer" : "must be a number");
  }
  return v;
}

/** An object, or undefined. */
export function obj(v: unknown, path: string): Obj | undefined {
  if (v === undefined || v === null) return undefined;
  if (!isObj(v)) invalid(path, "must be an object");
  return v;
}

/** A list, or undefined. */
export function list(v: unknown, path: string): unknown[] | undefined {
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v)) invalid(path, "must be a list");
  return v;
}
