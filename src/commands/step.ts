/**
 * The commands step of the chat pipeline (SPEC §2 steps 4–5): find commands in the latest user message,
 * run them, have the pipeline apply what they changed, and either answer locally (a pure-command message or
 * a command error) or hand back the body with exactly the command tokens removed and the confirmations for
 * the `x-llmproxy-commands` header.
 */
import type { ChatRequest } from "../model/request.ts";
import type { ModelResult } from "../model/result.ts";
import { contentText } from "../model/request.ts";
import type { CommandContext } from "./context.ts";
import { effectiveModelString } from "../routing/target.ts";
import type { Caller } from "../core/caller.ts";
import { headerValue } from "../core/headers.ts";
import type { Agent } from "../sessions/agents.ts";
import type { Session } from "../sessions/store.ts";
import type { CommandArg } from "./parse.ts";
import { isCommandName } from "./catalogue.ts";
import { type MessageScan, scanLatestUserMessage } from "./message.ts";
import { bannerLines, localResult } from "./reply.ts";
import { runCommands } from "./run.ts";
import type { Changeset } from "./changeset.ts";

/** What the pipeline does next. */
export type CommandStep =
  | { kind: "none" }
  /** A local reply: the answer (zero usage) the front end renders, and the commands header. */
  | { kind: "local"; result: ModelResult; headers: Record<string, string>; ran: CommandsRun }
  | { kind: "forward"; body: ChatRequest; confirmations: string[]; ran: CommandsRun };

/** What ran, for the audit trail: command names and their confirmations, or the error. */
export interface CommandsRun {
  commands: string[];
  lines: string[];
  error?: string;
  model: string;
  /** What changed (only when the commands succeeded and their changes were applied). */
  change?: Changeset;
}

/**
 * Applies a kept changeset to the running proxy (the pipeline's applier): all of it, or — with the error to
 * show after `Error: ` — nothing.
 */
export type ApplyChangeset = (change: Changeset) => Promise<{ ok: true } | { ok: false; error: string }>;

/** The header carrying confirmations of commands in a forwarded message. */
export const COMMANDS_HEADER = "x-llmproxy-commands";

/** The model a local reply names: the session's overrides applied to the client's model. */
function replyModel(ctx: CommandContext, session: Session, body: ChatRequest): string {
  return effectiveModelString(body.model, {
    sessionModel: session.model,
    sessionBackend: session.backend,
    forceModel: ctx.settings.forceModel,
  }, ctx.registry.names()) ?? "llmproxy";
}

/** The step of a request without commands (one object for all of them). */
const NONE: CommandStep = Object.freeze({ kind: "none" });

/**
 * Run the commands of this request, if any. A message without the command prefix (most requests) is answered
 * at once, not in a promise, after one scan for the prefix.
 */
export function commandStep(
  body: ChatRequest,
  ctx: CommandContext,
  caller: Caller,
  session: Session,
  agent: Agent | undefined,
  apply: ApplyChangeset,
): CommandStep | Promise<CommandStep> {
  if (ctx.settings.disableInteractiveCommands) return NONE;
  const scan = scanLatestUserMessage(body.messages, ctx.settings.commandPrefix, isCommandName, agent);
  if (!scan) return NONE;
  return runStep(scan, body, ctx, caller, session, apply);
}

/** Run the commands found by `scan` and decide: a local reply, or the body forwarded without them. */
async function runStep(
  scan: MessageScan,
  body: ChatRequest,
  ctx: CommandContext,
  caller: Caller,
  session: Session,
  apply: ApplyChangeset,
): Promise<CommandStep> {
  const names = scan.commands.map((c) => c.name);
  // Key values typed into a command (as an argument's value or its name) never reach a header, a reply, the
  // session or the store.
  const scrubArg = (a: CommandArg): CommandArg => ({
    ...a,
    value: ctx.scrub(a.value),
    ...(a.key !== undefined ? { key: ctx.scrub(a.key) } : {}),
  });
  const commands = scan.commands.map((c) => ({
    ...c,
    args: c.args.map((a) => (ctx.scrub.has(a.value) || (a.key && ctx.scrub.has(a.key)) ? scrubArg(a) : a)),
  }));
  let result = await runCommands(commands, ctx, caller, session);
  if (result.ok) {
    const applied = await apply(result.changeset);
    if (!applied.ok) result = applied;
  }
  const headers: Record<string, string> = {};
  const content = ctx.settings.auditContent
    ? ctx.scrub(contentText(body.messages[scan.index].content))
    : undefined;
  const history = {
    time: Date.now(),
    commands: names,
    project: session.project,
    stream: body.stream === true,
    content,
  };

  if (!result.ok) {
    const text = `Error: ${result.error}`;
    headers[COMMANDS_HEADER] = headerValue(text);
    ctx.sessions.record(session, { ...history, handler: "proxy", outcome: "command-error" });
    const model = replyModel(ctx, session, body);
    return {
      kind: "local",
      result: localResult(body, text, model),
      headers,
      ran: { commands: names, lines: [], error: result.error, model },
    };
  }
  if (result.lines.length) headers[COMMANDS_HEADER] = headerValue(result.lines.join("; "));
  if (!scan.pure) {
    const messages = body.messages.with(scan.index, scan.message);
    return {
      kind: "forward",
      body: { ...body, messages },
      confirmations: result.lines,
      ran: {
        commands: names,
        lines: result.lines,
        model: replyModel(ctx, session, body),
        change: result.changeset,
      },
    };
  }
  const interactive = session.interactive ?? ctx.settings.interactiveMode;
  const banner = result.banner || (interactive && !session.bannerShown);
  const lines = banner
    ? [...bannerLines(ctx, session.id, ctx.settings.commandPrefix), ...result.lines]
    : result.lines;
  if (banner) session.bannerShown = true;
  ctx.sessions.record(session, { ...history, handler: "proxy", outcome: "ok" });
  const text = lines.length ? lines.join("\n") : "OK";
  const model = replyModel(ctx, session, body);
  return {
    kind: "local",
    result: localResult(body, text, model),
    headers,
    ran: { commands: names, lines: result.lines, model, change: result.changeset },
  };
}
