/**
 * The running proxy as every request sees it: a read-only composition of its stores and services, built
 * once at start-up (`proxyContext`) and handed to every request. Nothing is assigned to it afterwards: state
 * changes inside the stores (`SettingsStore`, `RouteStore`, `SessionStore`, the key pools), which emit change
 * events, and the values derived from them (the current settings, the default backend) are getters.
 */
import type { Settings } from "../config/options.ts";
import type { Registry } from "../runner/registry.ts";
import type { Authentication } from "../core/caller.ts";
import type { RouteStore } from "../state/routes.ts";
import type { SettingsStore } from "../state/settings.ts";
import type { Scrubber } from "../security/scrub.ts";
import type { UsageRecorder } from "../usage/recorder.ts";
import type { SessionStore } from "../sessions/store.ts";
import type { Deadlines } from "../core/deadlines.ts";
import type { SharedChange, SharedState } from "../store/shared_state.ts";
import type { StopSwitch } from "../core/stop.ts";
import type { CommandContext } from "../commands/context.ts";
import type { SessionContext } from "../sessions/context.ts";
import type { Metrics } from "../telemetry/metrics.ts";
import type { ApplyTarget } from "./apply.ts";

/** The other isolates serving this proxy's port (`--workers N`), asked for what only each of them holds. */
export interface IsolatePeers {
  /**
   * Each other isolate's own part of the console's data (its requests in flight and the sessions in its
   * memory, as `console/state.ts` makes it), from those that answered in time.
   */
  consoleViews(): Promise<unknown[]>;
}

/** The stores and services a proxy is made of (what `proxyContext` composes). */
export interface ProxyParts {
  /** The runtime settings and their start-up values. */
  settings: SettingsStore;
  registry: Registry;
  /** Client authentication (the edge's Authenticator). */
  auth: Authentication;
  routes: RouteStore;
  /** The store (sessions, cool-downs, usage). */
  kv: Deno.Kv;
  /** Usage records and the audit trail (batched, off the hot path). */
  usage: UsageRecorder;
  /**
   * Saves a route or global-setting change first (the store, or the `--config` file), then applies it to the
   * stores; resets cool-downs in the store and here.
   */
  persistence: Pick<SharedState, "apply" | "resetCooldowns">;
  aliases: Readonly<Record<string, string>>;
  /** Replaces configured secret values in text (prompts, errors, logs). */
  scrub: Scrubber;
  /** Sessions (SPEC §9), in memory with write-through to `kv`. */
  sessions: SessionStore;
  /** Per-request deadlines (the request-body timeout) on shared timers. */
  deadlines: Deadlines;
  /** Ends in-flight upstream work when the shutdown grace runs out. */
  stop: StopSwitch;
  /** Prometheus metrics (SPEC §18), in memory. */
  metrics: Metrics;
  /** The other isolates of the process, with `--workers` above 1. */
  peers?: IsolatePeers;
}

/**
 * Everything a request handler may read. Hot-path state lives here, in memory. Commands and the session step
 * see only their narrow views of it (`CommandContext`, `SessionContext`); the applier of their changes takes
 * it as its `ApplyTarget`.
 */
export interface ProxyContext extends CommandContext, SessionContext, ApplyTarget {
  /** The current runtime settings (the settings store's values: global `set` commands change them). */
  readonly settings: Readonly<Settings>;
  /** The settings store: current and start-up values, and the change events. */
  readonly settingsStore: SettingsStore;
  readonly registry: Registry;
  /** Client authentication (the edge's Authenticator). */
  readonly auth: Authentication;
  readonly routes: RouteStore;
  /** The store (sessions, cool-downs, usage). */
  readonly kv: Deno.Kv;
  /** Usage records and the audit trail (batched, off the hot path). */
  readonly usage: UsageRecorder;
  /** Sessions (SPEC §9), in memory with write-through to `kv`. */
  readonly sessions: SessionStore;
  /** Per-request deadlines (the request-body timeout) on shared timers. */
  readonly deadlines: Deadlines;
  /** Ends in-flight upstream work when the shutdown grace runs out. */
  readonly stop: StopSwitch;
  /** Prometheus metrics (SPEC §18), in memory. */
  readonly metrics: Metrics;
  /** The other isolates of the process, with `--workers` above 1. */
  readonly peers?: IsolatePeers;
}

/** The context of a proxy made of these parts: built once, frozen; settings and default backend are read live. */
export function proxyContext(parts: ProxyParts): ProxyContext {
  const { settings, registry, persistence } = parts;
  return Object.freeze({
    settingsStore: settings,
    registry,
    auth: parts.auth,
    routes: parts.routes,
    kv: parts.kv,
    usage: parts.usage,
    aliases: parts.aliases,
    scrub: parts.scrub,
    sessions: parts.sessions,
    deadlines: parts.deadlines,
    stop: parts.stop,
    metrics: parts.metrics,
    peers: parts.peers,
    get settings() {
      return settings.values;
    },
    /** The backend of a model name without a prefix: the one set, else the first functional (SPEC §4.2). */
    get defaultBackend() {
      return settings.values.defaultBackend ?? registry.firstFunctional();
    },
    chain: <K extends keyof Settings>(key: K) => settings.startValue(key),
    applyChange: (change: SharedChange) => persistence.apply(change),
    resetCooldowns: (backends: string[]) => persistence.resetCooldowns(backends),
  });
}
