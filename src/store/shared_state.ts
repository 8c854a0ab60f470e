/**
 * State shared by every instance on one store (SPEC §5.4, §11, §15): key cool-downs always, and routes and
 * runtime global settings when no `--config` file is given. Reads on the hot path come from memory; changes
 * are written through asynchronously and every instance refreshes from the store about once a second.
 * With `--config`, routes and global settings live in that file instead (rewritten atomically).
 */
import type { Registry } from "../backends/registry.ts";
import type { Route, RouteStore } from "../routing/routes.ts";
import type { Settings } from "../config/options.ts";
import { type ConfigFile, writeConfigFile } from "../config/file.ts";
import { withLockRetry } from "./kv.ts";
import { KeyStates, type ResetResult } from "./key_states.ts";
import { log } from "../log.ts";

/** Global settings that commands may change at run time, with their config-file keys. */
export const GLOBAL_SETTINGS = {
  defaultBackend: "default_backend",
  redactApiKeysInPrompts: "redact_api_keys_in_prompts",
  commandPrefix: "command_prefix",
  interactiveMode: "interactive_mode",
} as const satisfies Partial<Record<keyof Settings, string>>;

type GlobalKey = keyof typeof GLOBAL_SETTINGS;
type Globals = Partial<Record<string, unknown>>;

const ROUTES_KEY = ["routes"];
const GLOBALS_KEY = ["globals"];

/** What the shared state needs from the running proxy. */
export interface SharedStateOptions {
  kv: Deno.Kv;
  registry: Registry;
  routes: RouteStore;
  settings: Settings;
  /** Where each setting came from at start-up: a flag or env value is not overridden by stored globals. */
  fixed: (key: GlobalKey) => boolean;
  /** The start-up value of a setting (what a stored `null` — "not overridden" — means). */
  chain: <K extends keyof Settings>(key: K) => Settings[K];
  /** The `--config` file path, when routes and globals live there. */
  configPath?: string;
  /** The config file as read at start-up (what `unset` goes back to). */
  initialFile?: ConfigFile;
  /** Called after globals were applied from the store (to recompute derived values). */
  onGlobalsApplied?: () => void;
  refreshMs?: number;
}

/** Keeps cool-downs, routes and globals in step with the store. */
export class SharedState {
  #timer: ReturnType<typeof setInterval> | undefined;
  #routesStamp: string | null = null;
  #globalsStamp: string | null = null;
  #pending = new Set<Promise<unknown>>();
  #refreshing: Promise<void> | undefined;
  #keys: KeyStates;

  constructor(private readonly o: SharedStateOptions) {
    this.#keys = new KeyStates(o.kv, o.registry, (p) => this.#track(p));
    o.routes.onChange = () => this.globalsChanged();
  }

  /** Load what the store holds, then refresh about once a second. */
  async start(): Promise<void> {
    await this.#keys.start();
    if (!this.o.configPath) {
      // First start on an empty store: the start-up routes become the stored ones.
      const routes = await this.o.kv.get<Route[]>(ROUTES_KEY);
      if (routes.value === null && this.o.routes.list().length) await this.saveRoutesAndGlobals();
    }
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
    if (routes.versionstamp && routes.versionstamp !== this.#routesStamp) {
      this.#routesStamp = routes.versionstamp;
      this.o.routes.replaceAll(routes.value);
    }
    if (globals.versionstamp && globals.versionstamp !== this.#globalsStamp) {
      this.#globalsStamp = globals.versionstamp;
      this.#applyGlobals(globals.value);
    }
  }

  #applyGlobals(g: Globals): void {
    const s = this.o.settings as unknown as Record<string, unknown>;
    for (const [key, fileKey] of Object.entries(GLOBAL_SETTINGS) as [GlobalKey, string][]) {
      if (!(fileKey in g) || this.o.fixed(key)) continue;
      s[key] = g[fileKey] === null ? this.o.chain(key) : g[fileKey];
    }
    this.o.onGlobalsApplied?.();
  }

  /** Each global setting changed at run time, or null where it is the start-up value. */
  #globalsFromSettings(): Globals {
    const s = this.o.settings as unknown as Record<string, unknown>;
    const g: Globals = {};
    for (const [key, fileKey] of Object.entries(GLOBAL_SETTINGS) as [GlobalKey, string][]) {
      g[fileKey] = s[key] === this.o.chain(key) ? null : s[key] ?? null;
    }
    return g;
  }

  #saves: Promise<unknown> = Promise.resolve();

  /** Routes or a global setting changed in memory: write them through in the background, one save at a time. */
  globalsChanged(): void {
    const next = this.#saves.then(() => this.saveRoutesAndGlobals());
    this.#saves = next.catch(() => {});
    this.#track(next);
  }

  /** Persist routes and global settings: to the --config file when given, else to the store. */
  async saveRoutesAndGlobals(): Promise<void> {
    const routes = this.o.routes.list();
    const globals = this.#globalsFromSettings();
    if (this.o.configPath) {
      const path = this.o.configPath;
      const file = await readFileForUpdate(path);
      // A setting back at its start-up value goes back to what the file said at start-up.
      const next: Record<string, unknown> = { ...file };
      const initial = (this.o.initialFile ?? {}) as Record<string, unknown>;
      for (const [fileKey, value] of Object.entries(globals)) {
        if (value !== null) next[fileKey] = value;
        else if (fileKey in initial) next[fileKey] = initial[fileKey];
        else delete next[fileKey];
      }
      next.failover_routes = Object.fromEntries(
        routes.map((r) => [r.name, { policy: r.policy, elements: r.elements }]),
      );
      await writeConfigFile(path, next as ConfigFile);
      return;
    }
    await withLockRetry(() => this.o.kv.atomic().set(ROUTES_KEY, routes).set(GLOBALS_KEY, globals).commit());
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

/**
 * The config file as it is now, to merge a change into: fields the schema does not know yet (a hand edit in
 * progress) are kept. A file that is not a JSON object is never overwritten: the change stays in memory.
 */
async function readFileForUpdate(path: string): Promise<Record<string, unknown>> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return {};
    throw new Error(`config file ${path}: cannot read it (${(e as Error).name}); the change was not written`);
  }
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    v = undefined;
  }
  if (v === null || typeof v !== "object" || Array.isArray(v)) {
    throw new Error(`config file ${path} is not a JSON object (edited by hand?); the change was not written`);
  }
  return v as Record<string, unknown>;
}
