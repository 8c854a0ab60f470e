/**
 * The conversation pipeline (SPEC §2), the same for every front end: the front end has parsed its protocol
 * into the conversation model (a Chat Completions request, `model/request.ts`) and, for pass-through, kept its
 * own body; here come sessions, commands, the target, redaction and the attempt plan. The answer is an
 * {@link Outcome} — a local reply, or the upstream's JSON or committed stream in a named protocol — with the
 * `x-llmproxy-*` headers; the front end renders it in its protocol.
 */
import type { ChatRequest } from "../model/request.ts";
import type { NativeRequest, WireProtocol } from "../core/protocol.ts";
import type { ModelEvent, StreamMeta } from "../model/events.ts";
import type { ModelResult } from "../model/result.ts";
import { dispatch, type DispatchResult } from "../routing/dispatch.ts";
import { redactBody, type TextRedactor } from "../security/redact.ts";
import { ProxyError } from "../core/errors.ts";
import { headerText, headerValue } from "../core/headers.ts";
import type { Caller } from "../core/caller.ts";
import type { ProxyContext } from "./context.ts";
import { log as logger } from "../log/log.ts";
import { SHUTDOWN } from "../core/stop.ts";
import { recordDispatch, type RequestMeta } from "../usage/chat_records.ts";
import { auditCommands } from "../usage/command_audit.ts";
import { COMMANDS_HEADER, commandStep } from "../commands/step.ts";
import { applyChangeset } from "./apply.ts";
import { requestTarget } from "./target.ts";
import { promptRedactor, redactedHeaders, rejectSecrets } from "./redaction.ts";
import { loadSession, recordUpstream, requireProject } from "../sessions/load.ts";

/** A request as its front end parsed it. */
export interface Conversation {
  /** The client's protocol (named in usage records). */
  frontend: WireProtocol;
  /** The conversation in the model; `stream: true` asks for a stream. */
  body: ChatRequest;
  /** The client's own body, for a provider that speaks the front end's protocol (redacted like `body`). */
  native?: NativeRequest;
}

/**
 * What the pipeline answers; the front end renders it. `headers` are the `x-llmproxy-*` headers to send (a plain
 * record of lower-case names: a `Headers` object validates every name and value, and these are the proxy's own).
 */
export type Outcome =
  & { headers: Record<string, string> }
  & (
    /** A whole answer in the conversation model: a local reply (commands, zero usage) or a translated provider's. */
    | { kind: "result"; result: ModelResult }
    /** The upstream's JSON answer, in `protocol`. */
    | { kind: "json"; status: number; text: string; protocol: WireProtocol }
    /** The upstream's stream, past its commit, as SSE bytes in `protocol`. */
    | { kind: "stream"; stream: ReadableStream<Uint8Array>; protocol: WireProtocol }
    /** A translated upstream's stream, past its commit, as the conversation model's events (`meta` read as they come). */
    | { kind: "events"; events: ReadableStream<ModelEvent>; meta: StreamMeta }
  );

/** What the server logs about a chat request. */
export interface ChatLog {
  requestId: string;
  backend?: string;
  model?: string;
  key?: string;
  attempts?: number;
  /** The session id (SPEC §9). */
  session?: string;
  /** The coding agent that sent it, and the model it asked for (the console shows requests in flight). */
  agent?: string;
  requestedModel?: string;
  /** Time spent in the attempt engine (ms): upstream calls up to their commit, and waits for a key. */
  upstreamMs?: number;
  /** Settles when a streamed answer has ended (its last byte, an error event, or the client leaving). */
  streamDone?: Promise<unknown>;
}

/** A client-supplied text that will be stored, with key values removed. */
function scrubbed(text: string | undefined, ctx: ProxyContext): string | undefined {
  return text === undefined ? undefined : ctx.scrub(text);
}

/**
 * Run one parsed request through the pipeline (SPEC §2 steps 3–9). `started` is when the request arrived (ms
 * epoch). Failures are thrown as {@link ProxyError}s carrying the headers gathered so far.
 */
export async function runConversation(
  req: Request,
  conversation: Conversation,
  ctx: ProxyContext,
  caller: Caller,
  log: ChatLog,
  started: number,
): Promise<Outcome> {
  let body = conversation.body;
  let native = conversation.native;
  const stream = body.stream === true;
  rejectSecrets(body.model, req.headers.get("x-session-id"), ctx);

  const { session, agent } = await loadSession(req, body, ctx, caller);
  log.session = session.id;
  log.agent = agent;
  log.requestedModel = body.model;
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
    frontend: conversation.frontend,
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
    return { kind: "result", result: step.result, headers: step.headers };
  }
  const headers: Record<string, string> = {};
  if (step.kind === "forward") {
    body = step.body;
    // The command tokens were cut from the model's copy; the client's own body still has them, so this
    // request is rebuilt for every provider instead of passed through.
    native = undefined;
    if (step.confirmations.length) headers[COMMANDS_HEADER] = headerValue(step.confirmations.join("; "));
  }
  requireProject(ctx, session);

  const target = requestTarget(body.model, session, ctx);

  const redactor = promptRedactor(ctx);
  /** Secrets replaced in what went upstream (the model's copy, or the client's own body once a provider took it). */
  let redactions = 0;
  if (redactor) {
    const r = redactBody(body, redactor);
    body = r.body;
    redactions = r.n;
    if (native) native = lazilyRedacted(native, redactor, (n) => (redactions = Math.max(redactions, n)));
  }
  const noteRedactions = () => {
    if (redactions) headers["x-llmproxy-redactions"] = String(redactions);
  };

  // The upstream work watches the client and the shutdown switch; the link lasts until a stream ends.
  const link = ctx.stop.link(req.signal);
  let result: DispatchResult;
  const dispatched = performance.now();
  try {
    result = await dispatch(target, body, stream, link.signal, {
      registry: ctx.registry,
      route: (n) => ctx.routes.get(n),
      maxAttempts: ctx.settings.maxAttempts,
      maxWaitMs: ctx.settings.maxWait * 1000,
      timeoutMs: ctx.settings.timeout * 1000,
    }, native);
  } catch (e) {
    link.release();
    throw e;
  } finally {
    log.upstreamMs = performance.now() - dispatched;
  }
  if (result.ok && "done" in result.value) result.value.done.then(link.release, link.release);
  else link.release();
  if (!result.ok && link.signal.reason === SHUTDOWN) result = { ...result, error: shuttingDown() };
  noteRedactions();
  headers["x-llmproxy-attempts"] = String(result.attempts.length);
  log.attempts = result.attempts.length;
  const lastAttempt = result.attempts.at(-1);
  if (lastAttempt) {
    log.backend = lastAttempt.backend;
    log.model = lastAttempt.model;
    log.key = lastAttempt.keyLabel;
  }
  meta.project = session.project; // as it is now: a command of another request may have changed it meanwhile
  const recorded = recordDispatch(
    ctx.usage,
    meta,
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

  headers["x-llmproxy-backend"] = headerValue(result.backend);
  headers["x-llmproxy-model"] = headerValue(`${result.backend}:${result.model}`);
  if (result.key) headers["x-llmproxy-key"] = headerValue(result.key.label);
  if (result.route) headers["x-llmproxy-route"] = headerValue(result.route);

  const value = result.value;
  if (value.kind === "result") return { kind: "result", result: value.result, headers };
  const protocol = value.protocol ?? "chat";
  if (value.kind !== "json") {
    log.streamDone = value.done;
    value.done.then((s) => {
      if (s.error && s.error !== "client disconnected") {
        logger.warn("{requestId} stream ended with an error event: {message}", {
          requestId: meta.requestId,
          message: s.error,
        });
      }
    });
    if (value.kind === "events") {
      return {
        kind: "events",
        events: (recorded as ReadableStream<ModelEvent>) ?? value.events,
        meta: value.meta,
        headers,
      };
    }
    return {
      kind: "stream",
      stream: (recorded as ReadableStream<Uint8Array>) ?? value.stream,
      protocol,
      headers,
    };
  }
  return { kind: "json", status: value.status, text: value.text, protocol, headers };
}

/**
 * The client's own body, redacted only when a provider of its protocol reads it: the model's copy is always
 * redacted, and most requests never use the client's body (a second walk of a 40 KB agent body is not free).
 */
function lazilyRedacted(
  native: NativeRequest,
  redactor: TextRedactor,
  counted: (n: number) => void,
): NativeRequest {
  let redacted: Record<string, unknown> | undefined;
  const headers = redactedHeaders(native.headers, redactor);
  return {
    protocol: native.protocol,
    headers: headers.headers,
    get body() {
      if (!redacted) {
        const r = redactBody(native.body, redactor);
        redacted = r.body;
        counted(r.n + headers.n);
      }
      return redacted;
    },
  };
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

function withHeaders(err: ProxyError, headers: Record<string, string>): ProxyError {
  return new ProxyError(err.status, err.type, err.code, err.message, err.param, {
    ...err.headers,
    ...headers,
  });
}
