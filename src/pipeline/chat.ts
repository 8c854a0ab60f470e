/**
 * The chat pipeline (SPEC §2), top to bottom: parse and validate the body, resolve the target, redact,
 * run the attempt plan, and shape the response (JSON or SSE) with the `x-llmproxy-*` headers.
 */
import { checkChatRequest } from "../openai/types.ts";
import type { ChatRequest } from "../openai/types.ts";
import { completionToSse } from "../openai/convert.ts";
import { SSE_HEADERS } from "../openai/sse.ts";
import { dispatch, type DispatchResult } from "../routing/dispatch.ts";
import { effectiveModelString, resolveModel } from "../routing/target.ts";
import { redactBody } from "../security/redact.ts";
import { redactPatterns } from "../security/patterns.ts";
import { REDACTED } from "../security/scrub.ts";
import { badRequest, ProxyError } from "../core/errors.ts";
import { headerText, headerValue } from "../core/headers.ts";
import type { Caller } from "../core/caller.ts";
import type { ProxyContext } from "./context.ts";
import type { Deadlines } from "../core/deadlines.ts";
import { log as logger } from "../log/log.ts";
import { SHUTDOWN } from "../core/stop.ts";
import { readCappedText } from "../core/capped_text.ts";
import { recordDispatch, type RequestMeta } from "../usage/chat_records.ts";
import { auditCommands } from "../usage/command_audit.ts";
import { COMMANDS_HEADER, commandStep } from "../commands/step.ts";
import { applyChangeset } from "./apply.ts";
import { loadSession, recordUpstream, requireProject } from "../sessions/load.ts";

/** What the server logs about a chat request. */
export interface ChatLog {
  requestId: string;
  backend?: string;
  model?: string;
  key?: string;
  attempts?: number;
  /** The session id (SPEC §9). */
  session?: string;
}

/**
 * Read the body with the size limit (413 beyond it); a body cut short by the client is a 400, one that does
 * not arrive within `timeoutMs` a 408 (the read itself is left to fail later).
 */
export function readLimitedBody(
  req: Request,
  maxBytes: number,
  timeoutMs: number,
  deadlines: Deadlines,
): Promise<string> {
  return new Promise((resolve, reject) => {
    const deadline = deadlines.add(timeoutMs, () => {
      reject(
        new ProxyError(
          408,
          "invalid_request_error",
          "request_timeout",
          "The request body did not arrive within --timeout; send the whole body (check Content-Length).",
        ),
      );
    });
    readBodyUpTo(req, maxBytes).then((text) => {
      deadlines.settle(deadline);
      resolve(text);
    }, (e) => {
      deadlines.settle(deadline);
      reject(
        e instanceof ProxyError ? e : badRequest(
          `The request body could not be read to its end (${
            (e as Error)?.name ?? "error"
          }); did the client hang up?`,
        ),
      );
    });
  });
}

/** Read the body with the size limit, without trusting Content-Length alone. */
async function readBodyUpTo(req: Request, maxBytes: number): Promise<string> {
  const tooLarge = () =>
    new ProxyError(
      413,
      "invalid_request_error",
      "request_too_large",
      `Request body is larger than ${maxBytes} bytes; raise --max-body-mb to allow it.`,
    );
  const declared = Number(req.headers.get("content-length") ?? NaN);
  if (Number.isFinite(declared) && declared > maxBytes) {
    await req.body?.cancel().catch(() => {});
    throw tooLarge();
  }
  if (!req.body) return "";
  // Fast path: a declared length within the limit lets the runtime read the body natively.
  if (Number.isFinite(declared)) return await req.text();
  const text = await readCappedText(req.body, maxBytes);
  if (text === undefined) throw tooLarge();
  return text;
}

/** Parse and validate a chat request body (400s name the offending field). */
export function parseChatBody(text: string): ChatRequest {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw badRequest(`Request body is not valid JSON (${(e as Error).message}).`);
  }
  if (json === null || typeof json !== "object" || Array.isArray(json)) {
    throw badRequest("Request body must be a JSON object with 'model' and 'messages'.");
  }
  if (!("messages" in json)) throw badRequest("Request body has no 'messages' array.", "messages");
  const problem = checkChatRequest(json as Record<string, unknown>);
  if (problem) throw badRequest(`Invalid request: ${problem.param}: ${problem.message}.`, problem.param);
  return json as ChatRequest;
}

/**
 * A model name or session id holding a configured key value (or, unless the shapes are off, a secret shape) is
 * refused before it is used for anything: it would otherwise be stored in usage and session history (the
 * session id is part of a store key) and echoed in headers, replies and errors (SPEC §19). The 400 does not
 * repeat the value.
 */
function rejectSecrets(model: string | undefined, sessionId: string | null, ctx: ProxyContext): void {
  const holds = (v: string) =>
    ctx.scrub.has(v) || (!ctx.settings.disableRedactSecretPatterns && redactPatterns(v, REDACTED).n > 0);
  if (model !== undefined && holds(model)) {
    throw badRequest(
      "'model' contains an API key or another secret (not repeated here); it was not used. Send a model name, e.g. openrouter:openai/gpt-4o-mini.",
      "model",
    );
  }
  if (sessionId && holds(sessionId)) {
    throw badRequest(
      "X-Session-ID contains an API key or another secret (not repeated here); it was not used. Send a random id, e.g. a UUID.",
      "X-Session-ID",
    );
  }
}

/** A client-supplied text that will be stored, with key values removed. */
function scrubbed(text: string | undefined, ctx: ProxyContext): string | undefined {
  return text === undefined ? undefined : ctx.scrub(text);
}

/** Handle POST /v1/chat/completions. */
export async function handleChat(
  req: Request,
  ctx: ProxyContext,
  caller: Caller,
  log: ChatLog,
): Promise<Response> {
  const started = Date.now();
  const text = await readLimitedBody(
    req,
    Math.floor(ctx.settings.maxBodyMb * 1024 * 1024),
    ctx.settings.timeout * 1000,
    ctx.deadlines,
  );
  let body = parseChatBody(text);
  const stream = body.stream === true;
  rejectSecrets(body.model, req.headers.get("x-session-id"), ctx);

  const { session, agent } = await loadSession(req, body, ctx, caller);
  log.session = session.id;
  const step = await commandStep(
    body,
    ctx,
    caller,
    session,
    agent,
    (change) => applyChangeset(ctx, change, session),
  );
  const meta: RequestMeta = {
    requestId: log.requestId,
    clientKey: caller.label,
    session: session.id,
    project: session.project,
    user: scrubbed(headerText(req.headers, "x-user-id"), ctx),
    agent,
    requestedModel: body.model,
    stream,
    started,
  };
  if (step.kind !== "none") auditCommands(ctx, meta, step.ran);
  if (step.kind === "local") {
    ctx.usage.add({
      ...meta,
      time: started,
      model: step.ran.model,
      attempt: 0,
      outcome: step.ran.error ? "command_error" : "local",
      latencyMs: Date.now() - started,
      local: true,
    });
    return step.response;
  }
  const headers = new Headers();
  if (step.kind === "forward") {
    body = step.body;
    if (step.confirmations.length) headers.set(COMMANDS_HEADER, headerValue(step.confirmations.join("; ")));
  }
  requireProject(ctx, session);

  const backends = ctx.registry.names();
  const modelString = effectiveModelString(body.model, {
    sessionModel: session.model,
    sessionBackend: session.backend,
    forceModel: ctx.settings.forceModel,
  }, backends);
  if (!modelString) {
    throw badRequest("Request has no 'model'. Name one, e.g. openrouter:openai/gpt-4o-mini.", "model");
  }
  const target = resolveModel(modelString, {
    aliases: ctx.aliases,
    backends,
    isRoute: (n) => ctx.routes.has(n),
    defaultBackend: ctx.defaultBackend,
    knownModels: (b) => ctx.registry.knownModels(b),
  });

  if (ctx.settings.redactApiKeysInPrompts) {
    const patterns = !ctx.settings.disableRedactSecretPatterns;
    const r = redactBody(body, (text, binary) => {
      const exact = ctx.scrub.count(text);
      if (!patterns || binary) return exact;
      const shaped = redactPatterns(exact.text, REDACTED);
      return { text: shaped.text, n: exact.n + shaped.n };
    });
    body = r.body;
    if (r.n) headers.set("x-llmproxy-redactions", String(r.n));
  }

  // The upstream work watches the client and the shutdown switch; the link lasts until a stream ends.
  const link = ctx.stop.link(req.signal);
  let result: DispatchResult;
  try {
    result = await dispatch(target, body, stream, link.signal, {
      registry: ctx.registry,
      route: (n) => ctx.routes.get(n),
      maxAttempts: ctx.settings.maxAttempts,
      maxWaitMs: ctx.settings.maxWait * 1000,
      timeoutMs: ctx.settings.timeout * 1000,
    });
  } catch (e) {
    link.release();
    throw e;
  }
  if (result.ok && result.value.kind === "stream") result.value.done.then(link.release, link.release);
  else link.release();
  if (!result.ok && link.signal.reason === SHUTDOWN) result = { ...result, error: shuttingDown() };
  headers.set("x-llmproxy-attempts", String(result.attempts.length));
  log.attempts = result.attempts.length;
  const lastAttempt = result.attempts.at(-1);
  if (lastAttempt) {
    log.backend = lastAttempt.backend;
    log.model = lastAttempt.model;
    log.key = lastAttempt.keyLabel;
  }
  const recorded = recordDispatch(
    ctx.usage,
    { ...meta, project: session.project },
    body,
    result,
    ctx.settings.auditContent,
    ctx.scrub,
  );
  recordUpstream(ctx, session, body, {
    backend: lastAttempt?.backend,
    model: lastAttempt?.model,
    route: target.kind === "route" ? target.name : undefined,
    outcome: result.ok ? "ok" : String(result.error.status),
  });
  if (!result.ok) throw withHeaders(result.error, headers);

  headers.set("x-llmproxy-backend", headerValue(result.backend));
  headers.set("x-llmproxy-model", headerValue(`${result.backend}:${result.model}`));
  if (result.key) headers.set("x-llmproxy-key", headerValue(result.key.label));
  if (result.route) headers.set("x-llmproxy-route", headerValue(result.route));

  const value = result.value;
  if (value.kind === "stream") {
    value.done.then((s) => {
      if (s.error && s.error !== "client disconnected") {
        logger.warn("{requestId} stream ended with an error event: {message}", {
          requestId: meta.requestId,
          message: s.error,
        });
      }
    });
    for (const [k, v] of Object.entries(SSE_HEADERS)) headers.set(k, v);
    return new Response(recorded ?? value.stream, { status: 200, headers });
  }
  if (stream) {
    for (const [k, v] of Object.entries(SSE_HEADERS)) headers.set(k, v);
    const sse = completionToSse(JSON.parse(value.text), body.stream_options?.include_usage === true);
    return new Response(sse, { status: 200, headers });
  }
  headers.set("content-type", "application/json");
  return new Response(value.text, { status: value.status, headers });
}

/** The answer to a request that shutdown ended before its answer was ready. */
function shuttingDown(): ProxyError {
  return new ProxyError(
    503,
    "server_error",
    "shutting_down",
    "The proxy is shutting down and ended this request before the upstream answered; send it again.",
    null,
    { "retry-after": "1" },
  );
}

function withHeaders(err: ProxyError, headers: Headers): ProxyError {
  const extra: Record<string, string> = { ...err.headers };
  headers.forEach((v, k) => (extra[k] = v));
  return new ProxyError(err.status, err.type, err.code, err.message, err.param, extra);
}
