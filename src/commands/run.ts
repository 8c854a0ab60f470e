/**
 * Runs a message's commands left to right on a draft of the state (SPEC §8.2): the draft is kept only when
 * every command succeeded, and then handed back as a changeset; otherwise the first error is reported.
 */
import type { CommandContext } from "./context.ts";
import { RouteStore } from "../state/routes.ts";
import type { Caller } from "../core/caller.ts";
import type { Session } from "../sessions/store.ts";
import { CATALOGUE, type CommandEnv, CommandError, type Draft, findCommand } from "./catalogue.ts";
import { nearName } from "../core/suggest.ts";
import type { ParsedCommand } from "./parse.ts";
import { adminMessage } from "./checks.ts";
import { type Changeset, changesetOf, copyRoutes } from "./changeset.ts";

/** The result of running a message's commands: on success, the changes to apply. */
export type RunResult =
  | { ok: true; lines: string[]; banner: boolean; changeset: Changeset }
  | { ok: false; error: string };

/** Most commands one message may run (a message of 100 000 `help`s would block the server for seconds). */
export const MAX_COMMANDS = 20;

/** A fresh draft from the session and the running state. */
export function makeDraft(ctx: CommandContext, session: Session): Draft {
  const routes = ctx.routes.list();
  const s = ctx.settings;
  return {
    session: {
      model: session.model,
      backend: session.backend,
      project: session.project,
      interactive: session.interactive,
    },
    defaultBackend: ctx.defaultBackend,
    redactApiKeysInPrompts: s.redactApiKeysInPrompts,
    commandPrefix: s.commandPrefix,
    globals: new Set(),
    routes: new RouteStore(copyRoutes(routes)),
    routeOps: [],
    banner: false,
    start: {
      globals: {
        defaultBackend: s.defaultBackend,
        redactApiKeysInPrompts: s.redactApiKeysInPrompts,
        commandPrefix: s.commandPrefix,
      },
      routes: copyRoutes(routes),
    },
  };
}

/**
 * Run the commands on a draft. Nothing changes here: when every command succeeded, the kept draft comes back
 * as a changeset for the pipeline to apply.
 */
export async function runCommands(
  commands: readonly ParsedCommand[],
  ctx: CommandContext,
  caller: Caller,
  session: Session,
): Promise<RunResult> {
  if (commands.length > MAX_COMMANDS) {
    return {
      ok: false,
      error:
        `this message has ${commands.length} commands; at most ${MAX_COMMANDS} run at once. Send them in several messages.`,
    };
  }
  const draft = makeDraft(ctx, session);
  const env: CommandEnv = { ctx, caller, session, draft };
  const lines: string[] = [];
  for (const c of commands) {
    const p = draft.commandPrefix;
    const spec = findCommand(c.name);
    if (!spec) {
      const near = nearName(c.name, CATALOGUE.map((x) => x.name));
      const hint = near ? ` (did you mean ${p}${near}?)` : "";
      return { ok: false, error: `${c.error}${hint}; type ${p}help for the list of commands.` };
    }
    if (c.error) {
      return { ok: false, error: `${p}${c.name}: ${c.error}; type ${p}help(${c.name}) for its arguments.` };
    }
    if (spec.admin && !caller.admin) {
      return { ok: false, error: adminMessage(`${p}${c.name}`, caller) };
    }
    try {
      lines.push(...await spec.run(c.args, env));
    } catch (e) {
      if (e instanceof CommandError) return { ok: false, error: e.message };
      throw e;
    }
  }
  return { ok: true, lines, banner: draft.banner, changeset: changesetOf(draft) };
}
