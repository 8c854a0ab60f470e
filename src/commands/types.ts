/** Types shared by the command catalogue and its handlers: the draft state, the handler environment, one row. */
import type { CommandContext } from "./context.ts";
import type { Settings } from "../config/options.ts";
import type { Route, RouteOp, RouteStore } from "../state/routes.ts";
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

/** The global settings commands set (all sessions, admin only). */
export type DraftGlobal = "defaultBackend" | "redactApiKeysInPrompts" | "commandPrefix";

/** The state commands work on; kept only if every command of the message succeeds. */
export interface Draft {
  session: SessionOverrides;
  defaultBackend: string | undefined;
  redactApiKeysInPrompts: boolean;
  commandPrefix: string;
  /** Which global settings were set. */
  globals: Set<DraftGlobal>;
  /** A scratch copy of the routes (validates like the real store). */
  routes: RouteStore;
  routeOps: RouteOp[];
  /** `hello` asked for the banner. */
  banner: boolean;
  /** Backends whose cool-downs and disabled keys `reset-cooldowns` clears when the draft is kept. */
  resetCooldowns?: string[];
  /** What the draft started from: the running global settings and routes. */
  readonly start: {
    readonly globals: Readonly<Pick<Settings, DraftGlobal>>;
    readonly routes: readonly Route[];
  };
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
