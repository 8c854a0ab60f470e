/**
 * Where a request goes (SPEC §4): the session's overrides and `--force-model` over the client's model (§4.3),
 * then aliases, `backend:model`, routes and the default backend (§4.1). One function for every step that
 * needs the target: the attempt plan, and a token count asked of the backend.
 */
import { effectiveModelString, resolveModel, type Target } from "../routing/target.ts";
import { badRequest } from "../core/errors.ts";
import type { Session } from "../sessions/store.ts";
import type { ProxyContext } from "./context.ts";

/** The target for a request naming `model` in `session`; a 400 when there is no model or it cannot resolve. */
export function requestTarget(model: string | undefined, session: Session, ctx: ProxyContext): Target {
  const backends = ctx.registry.names();
  const modelString = effectiveModelString(model, {
    sessionModel: session.model,
    sessionBackend: session.backend,
    forceModel: ctx.settings.forceModel,
  }, backends);
  if (!modelString) {
    throw badRequest("Request has no 'model'. Name one, e.g. openrouter:openai/gpt-4o-mini.", "model");
  }
  return resolveModel(modelString, {
    aliases: ctx.aliases,
    backends,
    isRoute: (n) => ctx.routes.has(n),
    defaultBackend: ctx.defaultBackend,
    knownModels: (b) => ctx.registry.knownModels(b),
  });
}
