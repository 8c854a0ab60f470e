/** Types shared by the command catalogue and its handlers: the draft state, the handler environment, one row. */
import type { CommandContext } from "./context.ts";
import type { RouteOp, RouteStore } from "../state/routes.ts";
import type { Caller } from "../core/caller.ts";
import type { Session } from "../sessions/store.ts";
import type { CommandArg } from "./parse.ts";

/** A command failed; the message is shown to the user after `Error: `. */
export class CommandError extends Error {
  override name = "CommandError";
}

/** Session fields a command may change. */
export type SessionOverrides = Pick<Session, "model" | "backend" | "project" | "interactive">;

export type { RouteOp };

/** The state commands work on; kept only if every command of the message succeeds. */
export interface Draft {
  session: SessionOverrides;
  defaultBackend: string | undefined;
  redactApiKeysInPrompts: boolean;
  commandPrefix: string;
  /** Which global settings changed. */
  globals: Set<"defaultBackend" | "redactApiKeysInPrompts" | "commandPrefix">;
  /** A scratch copy of the routes (validates like the real store). */
  routes: RouteStore;
  routeOps: RouteOp[];
  /** `hello` asked for the banner. */
  banner: boolean;
  /** Backends whose cool-downs and disabled keys `reset-cooldowns` clears when the draft is kept. */
  resetCooldowns?: string[];
}

/** What a handler may read. */
export interface CommandEnv {
  ctx: CommandContext;
  caller: Caller;
  session: Session;
  draft: Draft;
}

/** One row of the catalogue. */
export interface CommandSpec {
  name: string;
  /** Argument synopsis, e.g. `(name=ROUTE, policy=k|m|km|mk)`; empty for none. */
  args: string;
  help: string;
  /** Examples without the prefix. */
  examples: string[];
  /** Only admin keys may run it (SPEC §12). */
  admin?: boolean;
  /** Returns the confirmation lines. */
  run: (args: CommandArg[], env: CommandEnv) => Promise<string[]> | string[];
}
