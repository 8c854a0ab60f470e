/**
 * Runs a message's commands left to right on a draft of the state (SPEC §8.2): the draft is kept only when
 * every command succeeded; otherwise nothing changes and the first error is reported.
 */
import type { CommandContext } from "./context.ts";
import { RouteStore } from "../state/routes.ts";
import type { Caller } from "../core/caller.ts";
import type { Session } from "../sessions/store.ts";
import { type CommandEnv, CommandError, type Draft, findCommand } from "./catalogue.ts";
import type { ParsedCommand } from "./parse.ts";
import { adminMessage } from "./checks.ts";
import { SaveError } from "../store/shared_state.ts";

/** The result of running a message's commands. */
export type RunResult =
  | { ok: true; lines: string[]; banner: boolean }
  | { ok: false; error: string };

/** Most commands one message may run (a message of 100 000 `help`s would block the server for seconds). */
export const MAX_COMMANDS = 20;

/** A fresh draft from the session and the running state. */
export function makeDraft(ctx: CommandContext, session: Session): Draft {
  return {
    session: {
      model: session.model,
      backend: session.backend,
      project: session.project,
      interactive: session.interactive,
    },
    defaultBackend: ctx.defaultBackend,
    redactApiKeysInPrompts: ctx.settings.redactApiKeysInPrompts,
    commandPrefix: ctx.settings.commandPrefix,
    globals: new Set(),
    routes: new RouteStore(ctx.routes.list().map((r) => ({ ...r, elements: [...r.elements] }))),
    routeOps: [],
    banner: false,
  };
}

/** Run the commands; on success the draft is committed to the session, settings and routes. */
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
    if (!spec) return { ok: false, error: `${c.error}; type ${p}help for the list of commands.` };
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
  if (draft.resetCooldowns) {
    try {
      await ctx.resetCooldowns(draft.resetCooldowns);
    } catch (e) {
      return {
        ok: false,
        error: `the store could not be updated (${
          (e as Error).message
        }); cool-downs were not reset. Try again.`,
      };
    }
  }
  try {
    await commit(draft, ctx, session);
  } catch (e) {
    if (e instanceof SaveError) return { ok: false, error: e.message };
    throw e;
  }
  return { ok: true, lines, banner: draft.banner };
}

/** Keep the draft: routes and global settings are saved first (nothing changes if that fails), then the session. */
async function commit(draft: Draft, ctx: CommandContext, session: Session): Promise<void> {
  if (draft.routeOps.length || draft.globals.size) {
    const globals = Object.fromEntries([...draft.globals].map((k) => [k, draft[k]]));
    await ctx.applyChange({ routeOps: draft.routeOps, globals });
  }
  const s = draft.session;
  const changed = s.model !== session.model || s.backend !== session.backend ||
    s.project !== session.project || s.interactive !== session.interactive;
  Object.assign(session, s);
  if (changed) ctx.sessions.save(session);
}
