/**
 * `GET /v1beta/models` and `GET /v1beta/models/{model}` (SPEC §17.3): the proxy's models (`backend:model`
 * ids and route names, as `/v1/models` lists them) in Gemini's `Model` shape with the `models/` prefix.
 */
import { ProxyError } from "../../core/errors.ts";
import { listModels, type ModelEntry } from "../../pipeline/models.ts";
import type { ProxyContext } from "../../pipeline/context.ts";

/** Methods every model the proxy lists can take through this front end. */
const METHODS = ["generateContent", "streamGenerateContent", "countTokens"];

/** One entry in Gemini's `Model` shape, named `models/<name>`. */
function geminiModel(entry: ModelEntry, name = entry.id): Record<string, unknown> {
  return {
    name: `models/${name}`,
    version: "llmproxy",
    displayName: entry.id,
    description: entry.owned_by === "route"
      ? `llmproxy failover route ${entry.id}`
      : `${entry.id} through llmproxy (backend ${entry.owned_by})`,
    supportedGenerationMethods: METHODS,
  };
}

/** The model list. */
export async function geminiModels(ctx: ProxyContext): Promise<Response> {
  const models = (await listModels(ctx)).map((e) => geminiModel(e));
  return Response.json({ models });
}

/**
 * One model: by its id (`gemini:gemini-2.5-flash`, a route name) or, when exactly one backend lists it, by
 * the backend's own model id (`gemini-2.5-flash`). Unknown → 404 NOT_FOUND.
 */
export async function geminiModelEntry(ctx: ProxyContext, raw: string): Promise<Response> {
  const name = raw.replace(/^models\//, "");
  const all = await listModels(ctx);
  const exact = all.find((e) => e.id === name);
  const bare = all.filter((e) => e.owned_by !== "route" && e.id === `${e.owned_by}:${name}`);
  const found = exact ?? (bare.length === 1 ? bare[0] : undefined);
  if (!found) {
    throw new ProxyError(
      404,
      "invalid_request_error",
      "model_not_found",
      `models/${name} is not offered. GET /v1beta/models lists the models (backend:model or a route name).`,
      "model",
    );
  }
  return Response.json(geminiModel(found, name));
}
