/**
 * Gemini `tools` and `toolConfig` → the Chat request's `tools` and `tool_choice` (SPEC §17.3): function
 * declarations become function tools (`parameters` in Gemini's Schema become JSON Schema,
 * `parametersJsonSchema` goes as it is); other tool kinds (`googleSearch`, `codeExecution`, …) are named as
 * dropped; the calling mode and allowed names become the tool choice and narrow the tools offered.
 */
import { invalid, list, type Obj, obj, str } from "./fields.ts";
import { toJsonSchema } from "./schema.ts";

/** `tools` → Chat function tools; other tool kinds are named in `dropped`. */
export function functionTools(v: unknown): { tools: Obj[]; dropped: string[] } {
  const tools: Obj[] = [];
  const dropped = new Set<string>();
  (list(v, "tools") ?? []).forEach((t, i) => {
    const tool = obj(t, `tools[${i}]`);
    if (!tool) invalid(`tools[${i}]`, "must be an object");
    for (const key of Object.keys(tool)) if (key !== "functionDeclarations") dropped.add(key);
    (list(tool.functionDeclarations, `tools[${i}].functionDeclarations`) ?? []).forEach((d, j) => {
      const at = `tools[${i}].functionDeclarations[${j}]`;
      const decl = obj(d, at);
      if (!decl) invalid(at, "must be an object");
      const name = str(decl.name, `${at}.name`);
      if (!name) invalid(`${at}.name`, "must be a non-empty string");
      const description = str(decl.description, `${at}.description`);
      const json = obj(decl.parametersJsonSchema, `${at}.parametersJsonSchema`);
      const schema = obj(decl.parameters, `${at}.parameters`);
      tools.push({
        type: "function",
        function: {
          name,
          ...(description !== undefined ? { description } : {}),
          parameters: json ?? (schema ? toJsonSchema(schema) : { type: "object", properties: {} }),
        },
      });
    });
  });
  return { tools, dropped: [...dropped] };
}

/** `toolConfig.functionCallingConfig` → `tool_choice`; allowed names narrow the tools offered. */
export function toolChoice(v: unknown, tools: Obj[]): { tools: Obj[]; choice?: unknown } {
  const cfg = obj(obj(v, "toolConfig")?.functionCallingConfig, "toolConfig.functionCallingConfig");
  if (!cfg) return { tools };
  const path = "toolConfig.functionCallingConfig";
  const mode = str(cfg.mode, `${path}.mode`) ?? "AUTO";
  const names = (list(cfg.allowedFunctionNames, `${path}.allowedFunctionNames`) ?? [])
    .map((n, i) => str(n, `${path}.allowedFunctionNames[${i}]`)!);
  const nameOf = (t: Obj) => (t.function as { name: string }).name;
  for (const n of names) {
    if (!tools.some((t) => nameOf(t) === n)) {
      invalid(
        `${path}.allowedFunctionNames`,
        `names ${JSON.stringify(n.slice(0, 80))}, which is not declared`,
      );
    }
  }
  const allowed = names.length ? tools.filter((t) => names.includes(nameOf(t))) : tools;
  switch (mode) {
    case "NONE":
      return { tools, choice: "none" };
    case "ANY":
      return names.length === 1
        ? { tools: allowed, choice: { type: "function", function: { name: names[0] } } }
        : { tools: allowed, choice: "required" };
    case "AUTO":
    case "VALIDATED":
    case "MODE_UNSPECIFIED":
      return { tools: allowed, choice: "auto" };
    default:
      invalid(`${path}.mode`, "must be AUTO, ANY, NONE or VALIDATED");
  }
}
