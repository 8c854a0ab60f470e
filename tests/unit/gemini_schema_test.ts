/**
 * Tool schemas cleaned for Gemini (SPEC §17.1): only the keywords Gemini's function declarations read, with
 * close rewrites where one exists — checked on Claude Code's real tool schemas and on the hard cases.
 */
import assert from "node:assert/strict";
import { cleanSchema } from "../../src/providers/gemini/schema.ts";
import { translateRequest } from "../../src/providers/gemini/request.ts";

/** Keywords Gemini refuses in a function declaration's schema (what the real API answers 400 for). */
const REFUSED =
  /"(\$schema|\$id|\$ref|\$defs|additionalProperties|propertyNames|uniqueItems|exclusiveMinimum|exclusiveMaximum|const|oneOf|allOf|not|patternProperties)":/;

Deno.test("gemini schema: Claude Code's Write tool keeps its shape without $schema and additionalProperties", () => {
  const write = {
    $schema: "https://json-schema.org/draft/2020-12/schema",
    type: "object",
    properties: {
      file_path: { description: "The absolute path", type: "string" },
      content: { description: "The content", type: "string" },
    },
    required: ["file_path", "content"],
    additionalProperties: false,
  };
  const before = structuredClone(write);
  assert.deepEqual(cleanSchema(write), {
    type: "object",
    properties: {
      file_path: { description: "The absolute path", type: "string" },
      content: { description: "The content", type: "string" },
    },
    required: ["file_path", "content"],
  });
  assert.deepEqual(write, before, "the client's schema is not changed");
});

Deno.test("gemini schema: rewrites where Gemini has a close form, drops the rest", () => {
  const cleaned = cleanSchema({
    type: "object",
    $defs: { Level: { type: "string", enum: ["low", "high"] } },
    properties: {
      level: { $ref: "#/$defs/Level", description: "how much" },
      mode: { const: "fast" },
      count: { type: "integer", exclusiveMinimum: 0, maximum: 10, format: "uint8" },
      size: { type: "number", enum: [1, 2, 4] },
      maybe: { type: ["string", "null"], format: "uri" },
      either: { oneOf: [{ type: "string" }, { type: "number" }] },
      tags: { type: "array", items: { type: "string" }, uniqueItems: true, maxItems: 5 },
      map: {
        type: "object",
        propertyNames: { pattern: "^[a-z]+$" },
        additionalProperties: { type: "string" },
      },
      both: {
        allOf: [{ properties: { a: { type: "string" } }, required: ["a"] }, {
          properties: { b: { type: "number" } },
        }],
      },
    },
    required: ["level", "ghost"],
  });
  assert.doesNotMatch(JSON.stringify(cleaned), REFUSED);
  const p = cleaned.properties as Record<string, Record<string, unknown>>;
  assert.deepEqual(p.level, { type: "string", enum: ["low", "high"], description: "how much" });
  assert.deepEqual(p.mode, { enum: ["fast"], type: "string" });
  assert.deepEqual(p.count, { type: "integer", maximum: 10, description: "Must be greater than 0." });
  assert.deepEqual(p.size, { type: "number", description: "Allowed values: 1, 2, 4." });
  assert.deepEqual(p.maybe, { type: "string", nullable: true });
  assert.deepEqual(p.either, { anyOf: [{ type: "string" }, { type: "number" }] });
  assert.deepEqual(p.tags, { type: "array", items: { type: "string" }, maxItems: 5 });
  assert.deepEqual(p.map, { type: "object" });
  assert.deepEqual(p.both, { properties: { a: { type: "string" }, b: { type: "number" } }, required: ["a"] });
  assert.deepEqual(cleaned.required, ["level"], "required names only what properties declare");
});

Deno.test("gemini schema: a recursive $ref stops at a plain object; the request's tools are cleaned", () => {
  const node = {
    $defs: { Node: { type: "object", properties: { child: { $ref: "#/$defs/Node" } } } },
    $ref: "#/$defs/Node",
  };
  assert.doesNotMatch(JSON.stringify(cleanSchema(node)), REFUSED);
  const t = translateRequest({
    messages: [{ role: "user", content: "x" }],
    tools: [{
      type: "function",
      function: {
        name: "Read",
        parameters: { $schema: "x", type: "object", properties: {}, additionalProperties: false },
      },
    }],
  });
  assert.deepEqual(t.request.tools, [{
    functionDeclarations: [{ name: "Read", parametersJsonSchema: { type: "object", properties: {} } }],
  }]);
});
