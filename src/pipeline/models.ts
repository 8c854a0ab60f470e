/**
 * The proxy's model list (SPEC §4.4): every backend's models as `backend:model` ids and one entry per
 * failover route, in OpenAI's list-entry shape. `/v1/models` serves it as it is; a front end of another
 * protocol (Gemini's `/v1beta/models`) renders the same entries in its own shape.
 */
import type { ProxyContext } from "./context.ts";

const MODELS_WAIT_MS = 5_000;

/** One model entry as `/v1/models` shows it. */
export interface ModelEntry {
  id: string;
  object: "model";
  created: number;
  owned_by: string;
}

/** Every model and route the proxy offers (backends that do not answer within 5 s contribute nothing). */
export async function listModels(ctx: Pick<ProxyContext, "registry" | "routes">): Promise<ModelEntry[]> {
  const models = await ctx.registry.allModels(MODELS_WAIT_MS);
  const data: ModelEntry[] = models.map(({ backend, model }) => ({
    id: `${backend}:${model.id}`,
    object: "model",
    created: model.created ?? 0,
    owned_by: backend,
  }));
  for (const { name } of ctx.routes.list()) {
    data.push({ id: name, object: "model", created: 0, owned_by: "route" });
  }
  return data;
}
