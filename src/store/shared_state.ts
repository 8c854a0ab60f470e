/**
 * State shared by every instance on one store (SPEC §5.4, §11, §15, §19): key cool-downs always, and routes
 * and runtime global settings when no `--config` file is given. Reads on the hot path come from memory and
 * every instance refreshes from the store about once a second. Cool-downs are written through
 * asynchronously, on the key pools' events; a route or setting change is applied to the *stored* value
 * (atomic check-and-set, retried on conflict) before the command answers, and memory follows the store. With
 * `--config`, routes and global settings live in that file instead: re-read (hand edits kept) and rewritten
 * atomically on each change. Memory is changed only through the stores' own setters (`RouteStore.replaceAll`,
 * `SettingsStore.set`), whose change events tell everyone else; a save that fails calls neither.
 */
import type { KeyPools } from "../state/keys.ts";
import { type Route, RouteError, type RouteOp, routesFromFile, RouteStore } from "../state/routes.ts";
import type { OptionSpec } from "../config/options.ts";
import type { RuntimeSetting, RuntimeValues, SettingsStore } from "../state/settings.ts";
import { type ConfigFile, parseConfigText, writeConfigFile } from "../config/file.ts";
import { ConfigError } from "../config/errors.ts";
import { withLockRetry } from "./kv.ts";
import { KeyStates, type ResetResult } from "./key_states.ts";
import { log } from "../log/log.ts";

/** Global settings that commands may change at run time, with their config-file keys. */
export const GLOBAL_SETTINGS = {
  defaultBackend: "default_backend",
  redactApiKeysInPrompts: "redact_api_keys_in_prompts",
  commandPrefix: "command_prefix",
  interactiveMode: "interactive_mode",
} as const satisfies Record<RuntimeSetting, string>;

/** A global setting commands may change. */
export type GlobalKey = keyof typeof GLOBAL_SETTINGS;
type Globals = Partial<Record<string, unknown>>;

/** What a command message changes in the shared state: route operations and new global setting values. */
export interface SharedChange {
  routeOps: readonly RouteOp[];
  globals: RuntimeValues;
}

/** A change that was not saved, so nothing changed; the message is shown to the user after `Error: `. */
export class SaveError extends Error {
  override name = "SaveError";
}

/** Without --config all routes are one store value (KV keeps at most 64 KiB): a change beyond this is refused. */
const MAX_ROUTES_BYTES = 60_000;
/** Check-and-set attempts before a change gives up (each conflict means another instance just saved one). */
const MAX_CAS_TRIES = 50;
const ROUTES_KEY = ["routes"];
const GLOBALS_KEY = ["globals"];

/** What the shared state needs from the running proxy. */
export interface SharedStateOptions {
  kv: Deno.Kv;
  /** The backends' key pools (the backend registry). */
  registry: KeyPools;
  /** The running routes: set from the store or the file, never written from elsewhere. */
  routes: RouteStore;
  /** The running settings; their start-up values are what a stored `null` ("not overridden") means. */
  settings: SettingsStore;
  /** Where each setting came from at start-up: a flag or env value is not overridden by stored globals. */
  fixed: (key: GlobalKey) => boolean;
  /** The `--config` file path, when routes and globals live there. */
  configPath?: string;
  /** The config file as read at start-up (what `unset` goes back to). */
  initialFile?: ConfigFile;
  /** The option table the config file is checked against when it is read again. */
  options: readonly OptionSpec[];
  refreshMs?: number;
}

/** Keeps cool-downs, routes and globals in step with the store. */
export class SharedState {
  #timer: ReturnType<typeof setInterval> | undefined;
  #routesStamp: string | null = null;
  #globalsStamp: string | null = null;
  #pending = new Set<Promise<unknown>>();
  #refreshing: Promise<void> | undefined;
  /** Changes of this instance, one at a time (the config file has no check-and-set; fewer KV conflicts). */
  #changes: Promise<unknown> = Promise.resolve();
  #keys: KeyStates;

  constructor(private readonly o: SharedStateOptions) {
    this.#keys = new KeyStates(o.kv, o.registry, (p) => this.#track(p));
  }

  /** Load what the store holds, then refresh about once a second. */
  async start(): Promise<void> {
    await this.#keys.start();
    await this.refresh();
    this.#timer = setInterval(() => {
      this.#refreshing ??= this.refresh().catch((e) => {
        log.warn("store refresh failed: {error}", { error: (e as Error).message });
      }).finally(() => (this.#refreshing = undefined));
    }, this.o.refreshMs ?? 1000);
  }

  /** Read cool-downs (and routes/globals without --config) from the store into memory. */
  async refresh(): Promise<void> {
    await this.#keys.refresh();
    if (this.o.configPath) return;
    const [routes, globals] = await this.o.kv.getMany<[Route[], Globals]>([ROUTES_KEY, GLOBALS_KEY]);
    // Only newer values: a refresh that read before this instance's own change committed must not undo it.
    if (newer(routes.versionstamp, this.#routesStamp)) {
      this.#routesStamp = routes.versionstamp;
      this.o.routes.replaceAll(routes.value!);
    }
    if (newer(globals.versionstamp, this.#globalsStamp)) {
      this.#globalsStamp = globals.versionstamp;
      this.o.settings.set(this.#fromStored(globals.value!));
    }
  }

  /** The settings a stored globals value gives (a flag or env value stays; `null` is the start-up value). */
  #fromStored(g: Globals): RuntimeValues {
    const values: Record<string, unknown> = {};
    for (const [key, fileKey] of Object.entries(GLOBAL_SETTINGS) as [GlobalKey, string][]) {
      if (!(fileKey in g) || this.o.fixed(key)) continue;
      values[key] = g[fileKey] === null ? this.o.settings.startValue(key) : g[fileKey];
    }
    return values as RuntimeValues;
  }

  /**
   * Apply a command's change to the stored routes and settings (the `--config` file, else the store), then
   * to memory. Resolves once the change is durable; a {@link SaveError} means nothing changed.
   */
  apply(change: SharedChange): Promise<void> {
    const run = this.#changes.then(() =>
      this.o.configPath ? this.#applyToFile(this.o.configPath, change) : this.#applyToStore(change)
    );
    this.#changes = run.catch(() => {});
    return run;
  }

  /** The stored value of each changed setting: null where it is back at this instance's start-up value. */
  #storedGlobals(change: SharedChange): Globals {
    const g: Globals = {};
    for (const [key, value] of Object.entries(change.globals) as [GlobalKey, unknown][]) {
      g[GLOBAL_SETTINGS[key]] = value === this.o.settings.startValue(key) ? null : value ?? null;
    }
    return g;
  }

  /**
   * Memory follows what was saved: all routes, the stored settings, and this change's settings as given (one
   * change event each, at most).
   */
  #adopt(routes: Route[], stored: Globals | undefined, change: SharedChange): void {
    this.o.routes.replaceAll(routes);
    this.o.settings.set({ ...(stored ? this.#fromStored(stored) : {}), ...change.globals });
  }

  async #applyToStore(change: SharedChange): Promise<void> {
    const kv = this.o.kv;
    for (let attempt = 1;; attempt++) {
      let res: Deno.KvCommitResult | Deno.KvCommitError;
      let routes: Route[];
      let globals: Globals;
      try {
        const [r, g] = await withLockRetry(() => kv.getMany<[Route[], Globals]>([ROUTES_KEY, GLOBALS_KEY]));
        routes = replay(r.value ?? this.o.routes.list(), change.routeOps);
        globals = { ...g.value, ...this.#storedGlobals(change) };
        const size = new TextEncoder().encode(JSON.stringify(routes)).length;
        if (size > MAX_ROUTES_BYTES) {
          throw new SaveError(
            `the routes would take ${size} bytes, more than the store keeps (${MAX_ROUTES_BYTES}); remove elements or routes, or keep the routes in a --config file.`,
          );
        }
        res = await withLockRetry(() =>
          kv.atomic().check(r, g).set(ROUTES_KEY, routes).set(GLOBALS_KEY, globals).commit()
        );
      } catch (e) {
        if (e instanceof SaveError) throw e;
        log.warn("saving a route/setting change to the store failed: {error}", {
          error: (e as Error).message,
        });
        throw new SaveError(
          `the change could not be saved to the store (${
            (e as Error).message.split("\n")[0]
          }); nothing was changed, try again.`,
        );
      }
      if (res.ok) {
        this.#routesStamp = this.#globalsStamp = res.versionstamp;
        this.#adopt(routes, globals, change);
        return;
      }
      if (attempt >= MAX_CAS_TRIES) {
        log.warn("a route/setting change lost {n} check-and-set races in a row", { n: attempt });
        throw new SaveError(
          "other instances kept changing the routes and settings; nothing was changed, try again.",
        );
      }
      // Another instance saved in between: read its value and apply this change on top of it.
      await new Promise((r) => setTimeout(r, Math.random() * 5 * Math.min(attempt, 10)));
    }
  }

  async #applyToFile(path: string, change: SharedChange): Promise<void> {
    const fail = (why: string): never => {
      log.warn("config file {path}: a route/setting change was not saved: {why}", { path, why });
      throw new SaveError(`${why}; nothing was changed.`);
    };
    let text = "";
    try {
      text = await Deno.readTextFile(path);
    } catch (e) {
      fail(`config file ${path}: cannot read it (${(e as Error).name})`);
    }
    let file: ConfigFile = {};
    let routes: Route[] = [];
    try {
      file = await parseConfigText(text, path, this.o.options);
      routes = routesFromFile(file, path, this.o.registry.names());
    } catch (e) {
      if (!(e instanceof ConfigError)) throw e;
      fail(`${e.message} (edited by hand? fix the file, then try again)`);
    }
    routes = replay(routes, change.routeOps);
    // Only this change's settings are written; a setting back at its start-up value gets the start-up text.
    const next: Record<string, unknown> = { ...file };
    const initial = (this.o.initialFile ?? {}) as Record<string, unknown>;
    for (const [fileKey, value] of Object.entries(this.#storedGlobals(change))) {
      if (value !== null) next[fileKey] = value;
      else if (fileKey in initial) next[fileKey] = initial[fileKey];
      else delete next[fileKey];
    }
    if (change.routeOps.length) {
      next.failover_routes = Object.fromEntries(
        routes.map((r) => [r.name, { policy: r.policy, elements: r.elements }]),
      );
    }
    try {
      await writeConfigFile(path, next as ConfigFile);
    } catch (e) {
      fail(
        `config file ${path}: cannot save the change (${(e as Error).name}: ${
          (e as Error).message.split("\n")[0]
        })`,
      );
    }
    this.#adopt(routes, undefined, change);
  }

  /** Clear cool-downs and disabled keys of these backends for every instance (SPEC §19). */
  resetCooldowns(backends: string[]): Promise<ResetResult[]> {
    return this.#keys.reset(backends);
  }

  #track(p: Promise<unknown>): void {
    const t = p.catch((e) => log.warn("store write failed: {error}", { error: (e as Error).message }))
      .finally(() => this.#pending.delete(t));
    this.#pending.add(t);
  }

  /** Stop refreshing and wait for pending writes. */
  async close(): Promise<void> {
    clearInterval(this.#timer);
    await this.#refreshing;
    await Promise.all(this.#pending);
  }
}

/** True when a stored value's versionstamp is newer than the one memory holds (stamps sort by time). */
function newer(stamp: string | null, held: string | null): boolean {
  return stamp !== null && (held === null || stamp > held);
}

/** The routes after a change's operations, or a SaveError when one no longer fits (changed meanwhile). */
function replay(routes: Route[], ops: readonly RouteOp[]): Route[] {
  const store = new RouteStore(routes);
  try {
    for (const op of ops) store.apply(op);
  } catch (e) {
    if (e instanceof RouteError) throw new SaveError(e.message);
    throw e;
  }
  return store.list();
}
