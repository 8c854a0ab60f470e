/**
 * The HTTP surface (SPEC §1.1): a route table → handlers, `x-request-id` on every response, CORS for
 * `--allow-origin`, one log line per request, and every thrown error turned into an OpenAI error here.
 */
import { handleChat } from "../pipeline/chat.ts";
import type { ChatLog } from "../pipeline/chat.ts";
import type { ProxyContext } from "../pipeline/context.ts";
import { NAME, VERSION } from "../version.ts";
import { log } from "../log.ts";
import type { Caller } from "./auth.ts";
import { errorResponse, internalError, ProxyError } from "./errors.ts";

const MODELS_WAIT_MS = 5_000;

/** A request handler for Deno.serve. */
export type Handler = (req: Request) => Promise<Response>;

function json(data: unknown, status = 200): Response {
  return new Response(JSON.stringify(data), { status, headers: { "content-type": "application/json" } });
}

function notFound(path: string): ProxyError {
  return new ProxyError(
    404,
    "invalid_request_error",
    "not_found",
    `No such endpoint: ${path}. See GET /health.`,
  );
}

async function listModels(ctx: ProxyContext) {
  const models = await ctx.registry.allModels(MODELS_WAIT_MS);
  const data = models.map(({ backend, model }) => ({
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

/** Build the request handler. */
export function createHandler(ctx: ProxyContext): Handler {
  const allowed = new Set(ctx.settings.allowOrigin);

  async function route(req: Request, url: URL, chatLog: ChatLog): Promise<Response> {
    const path = url.pathname.replace(/\/+$/, "") || "/";
    const method = req.method;
    if (path === "/") {
      if (method !== "GET") throw methodNotAllowed(method, path);
      return new Response(`${NAME} ${VERSION}: OpenAI-compatible LLM proxy; see /health\n`, {
        headers: { "content-type": "text/plain; charset=utf-8" },
      });
    }
    if (path === "/health") {
      if (method !== "GET") throw methodNotAllowed(method, path);
      return json({ status: "ok", version: VERSION, backends: ctx.registry.health() });
    }
    const caller: Caller = ctx.auth.check(req, url);
    if (path === "/v1/chat/completions" || path === "/chat/completions") {
      if (method !== "POST") throw methodNotAllowed(method, path);
      return await handleChat(req, ctx, caller, chatLog);
    }
    if (path === "/v1/models" || path === "/models") {
      if (method !== "GET") throw methodNotAllowed(method, path);
      return json({ object: "list", data: await listModels(ctx) });
    }
    const m = /^\/(?:v1\/)?models\/(.+)$/.exec(url.pathname);
    if (m) {
      if (method !== "GET") throw methodNotAllowed(method, path);
      let id: string;
      try {
        id = decodeURIComponent(m[1]);
      } catch {
        throw new ProxyError(
          400,
          "invalid_request_error",
          "invalid_request",
          "Model id is not valid percent-encoding.",
        );
      }
      const found = (await listModels(ctx)).find((x) => x.id === id);
      if (!found) {
        throw new ProxyError(
          404,
          "invalid_request_error",
          "model_not_found",
          `Model "${id}" is not offered. GET /v1/models lists the ids (backend:model or a route name).`,
          "model",
        );
      }
      return json(found);
    }
    throw notFound(url.pathname);
  }

  return async function handler(req: Request): Promise<Response> {
    const started = performance.now();
    const requestId = `req_${crypto.randomUUID().replaceAll("-", "")}`;
    const chatLog: ChatLog = {};
    let url: URL;
    let res: Response;
    try {
      url = new URL(req.url);
    } catch {
      url = new URL("http://invalid/");
    }
    const origin = req.headers.get("origin");
    const cors = origin && allowed.has(origin);
    if (req.method === "OPTIONS" && cors) {
      res = new Response(null, { status: 204 });
      res.headers.set("access-control-allow-methods", "GET, POST, OPTIONS");
      res.headers.set(
        "access-control-allow-headers",
        req.headers.get("access-control-request-headers") ?? "authorization, content-type",
      );
      res.headers.set("access-control-max-age", "600");
    } else {
      try {
        res = await route(req, url, chatLog);
      } catch (e) {
        if (e instanceof ProxyError) {
          res = errorResponse(e);
          if (e.status >= 400) {
            log.warn("{requestId} {method} {path} → {status} {code}: {message}", {
              requestId,
              method: req.method,
              path: url.pathname,
              status: e.status,
              code: e.code,
              message: ctx.scrub(e.message),
            });
          }
        } else {
          log.error("{requestId} unexpected error: {error}", {
            requestId,
            error: ctx.scrub((e as Error)?.stack ?? String(e)),
          });
          res = errorResponse(internalError(requestId));
        }
      }
    }
    res.headers.set("x-request-id", requestId);
    if (cors) {
      res.headers.set("access-control-allow-origin", origin);
      res.headers.set("vary", "Origin");
      res.headers.set(
        "access-control-expose-headers",
        "x-request-id, x-llmproxy-backend, x-llmproxy-model, x-llmproxy-key, x-llmproxy-attempts, x-llmproxy-commands",
      );
    }
    log.info(
      "{requestId} {method} {path} {status} backend={backend} model={model} key={key} attempts={attempts} {ms}ms",
      {
        requestId,
        method: req.method,
        path: url.pathname,
        status: res.status,
        backend: chatLog.backend ?? "-",
        model: chatLog.model ?? "-",
        key: chatLog.key ?? "-",
        attempts: chatLog.attempts ?? 0,
        ms: Math.round(performance.now() - started),
      },
    );
    return res;
  };
}

function methodNotAllowed(method: string, path: string): ProxyError {
  return new ProxyError(
    405,
    "invalid_request_error",
    "method_not_allowed",
    `${method} is not allowed on ${path}.`,
  );
}
