/**
 * The session step of the chat pipeline (SPEC §2 step 3, §9): find the request's session, note the agent
 * and an `X-Project` header, and drop overrides that name a backend that no longer exists (a session can
 * never get stuck). Also the `--force-set-project` check (step 6).
 */
import { headerText } from "../core/headers.ts";
import { aliasTarget } from "../config/aliases.ts";
import { type ChatRequest, contentText } from "../model/request.ts";
import type { SessionContext } from "./context.ts";
import type { Caller } from "../core/caller.ts";
import { ProxyError } from "../core/errors.ts";
import { type Agent, detectAgent } from "./agents.ts";
import { sessionIdentity } from "./identify.ts";
import type { HistoryRecord, Session } from "./store.ts";

/** Longest project name kept. */
const PROJECT_LIMIT = 200;

/** A request's session and the agent that sent it. */
export interface LoadedSession {
  session: Session;
  agent: Agent | undefined;
}

/**
 * Load the request's session and detect the agent that sent it: at once when the session is in memory (most
 * requests), else once the store has answered.
 */
export function loadSession(
  req: Request,
  body: ChatRequest,
  ctx: SessionContext,
  caller: Caller,
): LoadedSession | Promise<LoadedSession> {
  const id = sessionIdentity(req.headers, caller, ctx.auth.disabled);
  const session = ctx.sessions.get(id.owner, id.id);
  return session instanceof Promise
    ? session.then((s) => noteRequest(s, req, body, ctx))
    : noteRequest(session, req, body, ctx);
}

/** Note the request's agent and `X-Project` on its session, and drop overrides that name a backend gone. */
function noteRequest(session: Session, req: Request, body: ChatRequest, ctx: SessionContext): LoadedSession {
  const agent = detectAgent(body, req.headers);
  let changed = false;
  if (agent && session.agent !== agent) {
    session.agent = agent;
    changed = true;
  }
  const header = headerText(req.headers, "x-project");
  const project = header === undefined ? undefined : ctx.scrub(header).trim().slice(0, PROJECT_LIMIT);
  if (project && project !== session.project) {
    session.project = project;
    changed = true;
  }
  if (session.backend && !ctx.registry.get(session.backend)) {
    session.backend = undefined;
    changed = true;
  }
  const m = session.model;
  const stale = m &&
    (m.includes(":")
      ? !ctx.registry.get(m.slice(0, m.indexOf(":")))
      : !ctx.routes.has(m) && aliasTarget(ctx.aliases, m) === undefined);
  if (stale) {
    // The backend or route it named is gone (config changed, route deleted): drop it rather than fail.
    session.model = undefined;
    changed = true;
  }
  if (changed) ctx.sessions.save(session);
  return { session, agent };
}

/** `--force-set-project`: a request that goes upstream needs a project (400 says how to set one). */
export function requireProject(ctx: SessionContext, session: Session): void {
  if (!ctx.settings.forceSetProject || session.project) return;
  throw new ProxyError(
    400,
    "invalid_request_error",
    "project_required",
    `This proxy requires a project name. Type ${ctx.settings.commandPrefix}set(project=NAME) in the chat, or send the header X-Project: NAME.`,
    "X-Project",
  );
}

/** Add the history record of a request that went upstream (metadata; content only with --audit-content). */
export function recordUpstream(
  ctx: SessionContext,
  session: Session,
  body: ChatRequest,
  r: Pick<HistoryRecord, "backend" | "model" | "route" | "outcome">,
): void {
  ctx.sessions.record(session, {
    time: Date.now(),
    handler: "backend",
    backend: r.backend,
    model: r.model,
    route: r.route,
    outcome: r.outcome,
    project: session.project,
    stream: body.stream === true,
    content: ctx.settings.auditContent ? ctx.scrub(contentText(body.messages.at(-1)?.content)) : undefined,
  });
}
