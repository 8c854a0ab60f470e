/**
 * What in-chat commands read of the running proxy: the narrow, read-only view the commands step, its checks
 * and handlers take. The pipeline's `ProxyContext` is one; commands import nothing above them. Commands
 * change nothing themselves: they hand back a `Changeset` (changeset.ts) and the pipeline applies it.
 */
import type { Settings } from "../config/options.ts";
import type { Registry } from "../runner/registry.ts";
import type { RouteStore } from "../state/routes.ts";
import type { Scrubber } from "../security/scrub.ts";
import type { SessionStore } from "../sessions/store.ts";

/** The settings commands read (`defaultBackend` as set, not resolved: see `CommandContext.defaultBackend`). */
export type CommandSettings = Readonly<
  Pick<
    Settings,
    | "auditContent"
    | "commandPrefix"
    | "defaultBackend"
    | "disableInteractiveCommands"
    | "forceModel"
    | "interactiveMode"
    | "redactApiKeysInPrompts"
  >
>;

/** The backend registry as commands use it: names, checks, model lists, key pools and health. */
export type CommandRegistry = Pick<
  Registry,
  "names" | "get" | "firstFunctional" | "health" | "pool" | "knownModels" | "refresh"
>;

/** What commands read. */
export interface CommandContext {
  readonly settings: CommandSettings;
  readonly registry: CommandRegistry;
  /** The routes a draft starts from. */
  readonly routes: Pick<RouteStore, "list">;
  /** The start-up value of a setting (what `unset` restores, SPEC §1.4). */
  readonly chain: <K extends keyof Settings>(key: K) => Settings[K];
  readonly aliases: Readonly<Record<string, string>>;
  /** Replaces configured secret values in text (arguments, audited content). */
  readonly scrub: Scrubber;
  /** Resolved default backend name, if any. */
  readonly defaultBackend: string | undefined;
  /** Sessions: the commands step adds history records (overrides are saved by the pipeline's applier). */
  readonly sessions: Pick<SessionStore, "record">;
}
