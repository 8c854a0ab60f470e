/**
 * What in-chat commands read of the running proxy, and the two ways they change it: the narrow view the
 * commands step, its checks and handlers take. The pipeline's `ProxyContext` is one; commands import nothing
 * above them. Commands never write a field: global settings and routes change through `applyChange`,
 * key states through `resetCooldowns`, the session through its store.
 */
import type { Settings } from "../config/options.ts";
import type { Registry } from "../backends/registry.ts";
import type { RouteStore } from "../state/routes.ts";
import type { Scrubber } from "../security/scrub.ts";
import type { SessionStore } from "../sessions/store.ts";
import type { SharedChange } from "../store/shared_state.ts";
import type { ResetResult } from "../store/key_states.ts";

/** The settings commands read (they change global ones only through `applyChange`). */
export type CommandSettings = Readonly<
  Pick<
    Settings,
    | "auditContent"
    | "commandPrefix"
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

/** What commands read, and the explicit methods through which they change global state. */
export interface CommandContext {
  readonly settings: CommandSettings;
  readonly registry: CommandRegistry;
  /** The routes a draft starts from. */
  readonly routes: Pick<RouteStore, "list">;
  /** The start-up value of a setting (what `unset` restores, SPEC §1.4). */
  readonly chain: <K extends keyof Settings>(key: K) => Settings[K];
  /**
   * Save a route or global-setting change, then apply it to the running proxy; rejects with a SaveError
   * (nothing changed) when it cannot be saved.
   */
  readonly applyChange: (change: SharedChange) => Promise<void>;
  /** Clear cool-downs and disabled keys of these backends, in the store (every instance) and here. */
  readonly resetCooldowns: (backends: string[]) => Promise<ResetResult[]>;
  readonly aliases: Readonly<Record<string, string>>;
  /** Replaces configured secret values in text (arguments, audited content). */
  readonly scrub: Scrubber;
  /** Resolved default backend name, if any (changed only through `applyChange`). */
  readonly defaultBackend: string | undefined;
  /** Sessions: commands save overrides and add history records. */
  readonly sessions: Pick<SessionStore, "save" | "record">;
}
