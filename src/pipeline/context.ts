/** The running proxy's shared state, built once at start-up and handed to every request. */
import type { Settings } from "../config/options.ts";
import type { Registry } from "../runner/registry.ts";
import type { Authentication } from "../core/caller.ts";
import type { RouteStore } from "../state/routes.ts";
import type { Scrubber } from "../security/scrub.ts";
import type { UsageRecorder } from "../usage/recorder.ts";
import type { SessionStore } from "../sessions/store.ts";
import type { Deadlines } from "../core/deadlines.ts";
import type { SharedChange } from "../store/shared_state.ts";
import type { ResetResult } from "../store/key_states.ts";
import type { StopSwitch } from "../core/stop.ts";
import type { CommandContext } from "../commands/context.ts";
import type { SessionContext } from "../sessions/context.ts";
import type { Metrics } from "../telemetry/metrics.ts";

/**
 * Everything a request handler may read. Hot-path state lives here, in memory. Commands and the session step
 * see only their narrow views of it (`CommandContext`, `SessionContext`).
 */
export interface ProxyContext extends CommandContext, SessionContext {
  /** Runtime settings (global `set` commands change them). */
  settings: Settings;
  registry: Registry;
  /** Client authentication (the edge's Authenticator). */
  auth: Authentication;
  routes: RouteStore;
  /** The store (sessions, cool-downs, usage). */
  kv: Deno.Kv;
  /** The start-up value of a setting (what `unset` restores, SPEC §1.4). */
  chain: <K extends keyof Settings>(key: K) => Settings[K];
  /** Usage records and the audit trail (batched, off the hot path). */
  usage: UsageRecorder;
  /**
   * Save a route or global-setting change (admin commands only), then apply it to `settings`, `routes` and
   * `defaultBackend`; rejects with a SaveError (nothing changed) when it cannot be saved.
   */
  applyChange: (change: SharedChange) => Promise<void>;
  /** Clear cool-downs and disabled keys of these backends, in the store (every instance) and here. */
  resetCooldowns: (backends: string[]) => Promise<ResetResult[]>;
  aliases: Record<string, string>;
  /** Replaces configured secret values in text (prompts, errors, logs). */
  scrub: Scrubber;
  /** Resolved default backend name, if any backend is usable (`set(default-backend=…)` changes it). */
  defaultBackend: string | undefined;
  /** Sessions (SPEC §9), in memory with write-through to `kv`. */
  sessions: SessionStore;
  /** Per-request deadlines (the request-body timeout) on shared timers. */
  deadlines: Deadlines;
  /** Ends in-flight upstream work when the shutdown grace runs out. */
  stop: StopSwitch;
  /** Prometheus metrics (SPEC §18), in memory. */
  metrics: Metrics;
}
