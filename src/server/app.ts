/**
 * The HTTP surface (SPEC §1.1): a route table → handlers, `x-request-id` on every response, CORS for
 * `--allow-origin`, one log line per request, and every thrown error turned into an OpenAI error here.
 */
import type { ChatLog } from "../pipeline/conversation.ts";
import { FRONT_ENDS } from "../frontends/list.ts";
import type { FrontEnd } from "../frontends/types.ts";
import type { ProxyContext } from "../pipeline/context.ts";
import { listModels } from "../pipeline/models.ts";
import { NAME, VERSION } from "../core/version.ts";
import { log, logRequest } from "../log/log.ts";
import type { Caller } from "../core/caller.ts";
import { badRequest, internalError, ProxyError, scrubError } from "../core/errors.ts";
import { errorResponse } from "../frontends/chat/errors.ts";
import { auditLogs, GROUP_BY, type GroupBy, parseTime, recentUsage, usageStats } from "../usage/query.ts";
import { consoleData, consolePage, isConsoleData } from "../console/routes.ts";
import type { RequestTracker } from "../telemetry/metrics.ts";

/** A request handler for Deno.serve. */
export type Handler = (req: Request, info?: Deno.ServeHandlerInfo<Deno.NetAddr>) => Promise<Response>;

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

/** Build the request handler. */
export function createHandler(ctx: ProxyContext): Handler {
  const allowed = new Set(ctx.settings.allowOrigin);

  /** The front end whose route serves a request, if any (its error shape renders the request's errors). */
  function frontEndOf(path: string): { frontEnd: FrontEnd; index: number; params: string[] } | undefined {
    for (const frontEnd of FRONT_ENDS) {
      for (const [index, r] of frontEnd.routes.entries()) {
        const m = r.pattern.exec(path);
        if (m) return { frontEnd, index, params: m.slice(1) };
      }
    }
    return undefined;
  }

  async function route(
    req: Request,
    url: URL,
    chatLog: ChatLog,
    served: ReturnType<typeof frontEndOf>,
    started: number,
  ): Promise<Response> {
    const path = url.pathname.replace(/\/+$/, "") || "/";
    // HEAD is answered like GET (the server sends no body for it).
    const method = req.method === "HEAD" ? "GET" : req.method;
    if (served) {
      const r = served.frontEnd.routes[served.index];
      if (!r.methods.includes(method)) throw methodNotAllowed(req.method, path, r.methods);
      const caller = ctx.auth.check(req, url, r.credential?.(req, url), served.frontEnd.keyHeader);
      return await r.handle(req, url, { ctx, caller, log: chatLog, started, params: served.params });
    }
    if (path === "/") {
      if (method !== "GET") throw methodNotAllowed(req.method, path);
      return new Response(`${NAME} ${VERSION}: OpenAI-compatible LLM proxy; see /health\n`, {
        headers: { "content-type": "text/plain; charset=utf-8" },
      });
    }
    if (path === "/health") {
      if (method !== "GET") throw methodNotAllowed(req.method, path);
      return json({ status: "ok", version: VERSION, backends: ctx.registry.health() });
    }
    if (path === "/ui" || path.startsWith("/ui/assets/")) {
      if (method !== "GET") throw methodNotAllowed(req.method, path);
      const page = consolePage(path, !ctx.settings.disableAuth);
      if (page) return page;
      throw notFound(url.pathname);
    }
    const caller: Caller = ctx.auth.check(req, url);
    if (
      path === "/usage/stats" || path === "/usage/recent" || path === "/audit/logs" || isConsoleData(path)
    ) {
      if (method !== "GET") throw methodNotAllowed(req.method, path);
      if (!caller.admin) {
        throw new ProxyError(
          403,
          "permission_error",
          "admin_required",
          `${path} needs an admin key (the single-form LLM_INTERACTIVE_PROXY_API_KEY or a label in --admin-keys).`,
        );
      }
      if (isConsoleData(path)) return await consoleData(ctx, path);
      return json(await usageEndpoint(ctx, path, url.searchParams));
    }
    if (path === "/v1/models" || path === "/models") {
      if (method !== "GET") throw methodNotAllowed(req.method, path);
      return json({ object: "list", data: await listModels(ctx) });
    }
    const m = /^\/(?:v1\/)?models\/(.+)$/.exec(url.pathname);
    if (m) {
      if (method !== "GET") throw methodNotAllowed(req.method, path);
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

  return async function handler(req: Request, info?: Deno.ServeHandlerInfo<Deno.NetAddr>): Promise<Response> {
    const started = performance.now();
    const arrived = Date.now();
    const requestId = `req_${crypto.randomUUID().replaceAll("-", "")}`;
    const chatLog: ChatLog = { requestId };
    let tracked: { tracker: RequestTracker; frontend: string } | undefined;
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
      const served = frontEndOf(url.pathname.replace(/\/+$/, "") || "/");
      const render = served ? served.frontEnd.errorResponse : errorResponse;
      if (served) {
        const frontend = served.frontEnd.name;
        tracked = {
          tracker: ctx.metrics.begin({ requestId, started: arrived, frontend, log: chatLog }),
          frontend,
        };
      }
      try {
        res = await route(req, url, chatLog, served, arrived);
      } catch (e) {
        if (e instanceof ProxyError) {
          res = render(scrubError(e, ctx.scrub));
          if (e.status === 401) {
            const source = `${info?.remoteAddr.hostname ?? "unknown"} ${req.headers.get("user-agent") ?? ""}`
              .trim();
            ctx.usage.authFailure(source.slice(0, 200), e.message);
          }
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
          res = render(internalError(requestId));
        }
      }
    }
    res.headers.set("x-request-id", requestId);
    if (tracked) observeProxied(res, tracked.tracker, tracked.frontend, chatLog, started);
    if (cors) {
      res.headers.set("access-control-allow-origin", origin);
      res.headers.set("vary", "Origin");
      res.headers.set(
        "access-control-expose-headers",
        "x-request-id, x-llmproxy-backend, x-llmproxy-model, x-llmproxy-key, x-llmproxy-attempts, x-llmproxy-commands, x-llmproxy-route, x-llmproxy-redactions, x-llmproxy-overhead-ms, x-llmproxy-dropped-tools, x-llmproxy-isolate, retry-after, x-should-retry",
      );
    }
    logRequest({
      time: Date.now(),
      requestId,
      method: req.method,
      path: url.pathname,
      status: res.status,
      backend: chatLog.backend ?? "-",
      model: chatLog.model ?? "-",
      key: chatLog.key ?? "-",
      attempts: chatLog.attempts ?? 0,
      ms: Math.round(performance.now() - started),
    });
    return res;
  };
}

/**
 * A proxied request's answer: `x-llmproxy-overhead-ms` (SPEC §18: the time to this answer's headers minus the
 * time in the attempt engine) and its metrics: counted now, its duration when its body has ended.
 */
function observeProxied(
  res: Response,
  tracker: RequestTracker,
  frontend: string,
  chatLog: ChatLog,
  started: number,
): void {
  const overhead = performance.now() - started - (chatLog.upstreamMs ?? 0);
  res.headers.set("x-llmproxy-overhead-ms", String(Math.max(0, Math.round(overhead))));
  const seen = { frontend, backend: chatLog.backend, status: res.status };
  tracker.answered(seen);
  const end = () => tracker.ended(seen, performance.now() - started);
  if (chatLog.streamDone) chatLog.streamDone.then(end, end);
  else end();
}

function timeParam(params: URLSearchParams, name: string, fallback: number): number {
  const raw = params.get(name);
  if (raw === null || raw === "") return fallback;
  const t = parseTime(raw);
  if (t === undefined) {
    throw badRequest(`${name}=${raw} is not a time: use 24h, 30m, 7d, an ISO date or ms.`, name);
  }
  return t;
}

function limitParam(params: URLSearchParams, fallback: number): number {
  const raw = params.get("limit");
  if (raw === null) return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > 1000) {
    throw badRequest("limit must be an integer from 1 to 1000.", "limit");
  }
  return n;
}

/** GET /usage/stats, /usage/recent, /audit/logs (admin only). */
async function usageEndpoint(ctx: ProxyContext, path: string, params: URLSearchParams): Promise<unknown> {
  await ctx.usage.flush(); // what this instance recorded so far is visible at once
  const now = Date.now();
  if (path === "/usage/stats") {
    const since = timeParam(params, "since", now - 24 * 3_600_000);
    const until = timeParam(params, "until", now);
    const groupBy = (params.get("group_by") ?? "model") as GroupBy;
    if (!GROUP_BY.includes(groupBy)) {
      throw badRequest(`group_by must be one of ${GROUP_BY.join(", ")}.`, "group_by");
    }
    const rows = await usageStats(ctx.kv, since, until, groupBy);
    return {
      object: "usage.stats",
      since: new Date(since).toISOString(),
      until: new Date(until).toISOString(),
      group_by: groupBy,
      data: rows,
    };
  }
  if (path === "/usage/recent") {
    const data = await recentUsage(ctx.kv, {
      limit: limitParam(params, 50),
      session: params.get("session") ?? undefined,
    });
    return { object: "list", data: data.map((r) => ({ ...r, time: new Date(r.time).toISOString() })) };
  }
  const data = await auditLogs(ctx.kv, {
    limit: limitParam(params, 100),
    since: timeParam(params, "since", 0),
    until: timeParam(params, "until", now),
    session: params.get("session") ?? undefined,
  });
  return { object: "list", data: data.map((e) => ({ ...e, time: new Date(e.time).toISOString() })) };
}

function methodNotAllowed(method: string, path: string, allowed: readonly string[] = ["GET"]): ProxyError {
  const allow = allowed.flatMap((m) => (m === "GET" ? ["GET", "HEAD"] : [m])).join(", ");
  return new ProxyError(
    405,
    "invalid_request_error",
    "method_not_allowed",
    `${method} is not allowed on ${path}.`,
    null,
    { allow },
  );
}
