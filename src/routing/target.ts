/**
 * Model string + overrides → target (SPEC §4): aliases first (exact, then `prefix*`), then `backend:model`, then a route name,
 * then the default backend with the whole string (names containing `:` work) — or the one other backend that
 * lists the name when the default backend's known list lacks it.
 */
import { ProxyError } from "../core/errors.ts";
import { credentialsHint } from "../config/providers.ts";
import { aliasTarget } from "../config/aliases.ts";
import { PROVIDERS } from "../providers/list.ts";

/** Where a request goes: one backend and model, or a failover route. */
export type Target =
  | { kind: "model"; backend: string; model: string }
  | { kind: "route"; name: string };

/** What resolution needs to know about the running proxy. */
export interface ResolveContext {
  aliases: Record<string, string>;
  /** Registered backend names. */
  backends: readonly string[];
  isRoute: (name: string) => boolean;
  defaultBackend: string | undefined;
  /** The backend's model ids when its list is known, else undefined. */
  knownModels: (backend: string) => readonly string[] | undefined;
}

const BACKEND_LIKE = /^[a-z][a-z0-9-]*$/;

/**
 * Why a `model_aliases` target can never be served, or undefined when it can: `backend:model` needs a known
 * backend and a model; a name like `nosuch:model` (a backend-like prefix that is not a backend) is refused.
 * A route name, or any other model name, goes to that route or to the default backend.
 */
export function aliasTargetProblem(target: string, backends: readonly string[]): string | undefined {
  const colon = target.indexOf(":");
  if (colon <= 0) return undefined;
  const prefix = target.slice(0, colon);
  if (backends.includes(prefix)) {
    return colon === target.length - 1 ? `"${target}" names no model after "${prefix}:"` : undefined;
  }
  if (!BACKEND_LIKE.test(prefix)) return undefined;
  return `"${target}": "${prefix}" is not a backend (known backends: ${backends.join(", ")})`;
}

/** Resolve a model string to a target, or throw a 400 ProxyError. */
export function resolveModel(input: string, ctx: ResolveContext): Target {
  const model = aliasTarget(ctx.aliases, input) ?? input;
  const colon = model.indexOf(":");
  if (colon > 0) {
    const prefix = model.slice(0, colon);
    const rest = model.slice(colon + 1);
    if (ctx.backends.includes(prefix)) {
      if (!rest) {
        throw new ProxyError(
          400,
          "invalid_request_error",
          "invalid_request",
          `Model "${model}" names no model after "${prefix}:".`,
          "model",
        );
      }
      return { kind: "model", backend: prefix, model: rest };
    }
  } else if (ctx.isRoute(model)) {
    return { kind: "route", name: model };
  }
  if (!ctx.defaultBackend) {
    throw new ProxyError(
      400,
      "invalid_request_error",
      "no_backend",
      `No backend can serve "${model}": none has credentials. ${
        credentialsHint(PROVIDERS)
      }, or name a backend as backend:model.`,
      "model",
    );
  }
  const known = ctx.knownModels(ctx.defaultBackend);
  if (known && !known.includes(model)) {
    // The default backend does not list it and exactly one other backend does: that one serves it.
    const listing = ctx.backends.filter((b) =>
      b !== ctx.defaultBackend && ctx.knownModels(b)?.includes(model)
    );
    if (listing.length === 1) return { kind: "model", backend: listing[0], model };
  }
  if (colon > 0 && BACKEND_LIKE.test(model.slice(0, colon))) {
    if (known && !known.includes(model)) {
      throw new ProxyError(
        400,
        "invalid_request_error",
        "unknown_backend",
        `Unknown backend "${model.slice(0, colon)}" in model "${model}". Known backends: ${
          ctx.backends.join(", ")
        }. Use backend:model, e.g. ${ctx.defaultBackend}:${known[0] ?? "MODEL"}.`,
        "model",
      );
    }
  }
  return { kind: "model", backend: ctx.defaultBackend, model };
}

/** Overrides in force for one request, in SPEC §4.3 order. */
export interface Overrides {
  sessionModel?: string;
  sessionBackend?: string;
  forceModel?: string;
}

/** The model string to resolve: session model > session backend (+ client model) > --force-model > client. */
export function effectiveModelString(
  client: string | undefined,
  o: Overrides,
  backends: readonly string[],
): string | undefined {
  if (o.sessionModel) return o.sessionModel;
  if (o.sessionBackend && client) {
    const colon = client.indexOf(":");
    const bare = colon > 0 && backends.includes(client.slice(0, colon)) ? client.slice(colon + 1) : client;
    return `${o.sessionBackend}:${bare}`;
  }
  if (o.forceModel) return o.forceModel;
  return client;
}
