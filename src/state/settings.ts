/**
 * The running proxy's settings (SPEC §1.4): read by the hot path synchronously from memory, changed only
 * through {@link SettingsStore.set}, which emits one change event naming each key that changed with its value
 * before and after. Whoever must follow a change (the workers of one port, the console, tests) subscribes to
 * {@link SettingsStore.changed}; nobody writes the values from outside.
 */
import type { Settings } from "../config/options.ts";
import { Listeners } from "../core/listeners.ts";

/** The settings commands and the shared store may change while the proxy runs (SPEC §8, §19). */
export const RUNTIME_SETTINGS = [
  "defaultBackend",
  "redactApiKeysInPrompts",
  "commandPrefix",
  "interactiveMode",
] as const satisfies readonly (keyof Settings)[];

/** A setting that may change while the proxy runs. */
export type RuntimeSetting = typeof RUNTIME_SETTINGS[number];

/** New values of some runtime settings. */
export type RuntimeValues = Partial<Pick<Settings, RuntimeSetting>>;

/** One setting's value before and after a change. */
export interface ValueChange<T> {
  readonly before: T;
  readonly after: T;
}

/** What one {@link SettingsStore.set} changed: only the keys whose value differs. */
export type SettingsChange = { readonly [K in RuntimeSetting]?: ValueChange<Settings[K]> };

/** The settings in memory, with their start-up values and change events. */
export class SettingsStore {
  /** One event per {@link set} that changed at least one value. */
  readonly changed = new Listeners<SettingsChange>();
  #values: Readonly<Settings>;
  readonly #startValue: <K extends keyof Settings>(key: K) => Settings[K];

  /**
   * `initial`: the settings as loaded; `startValue`: the start-up precedence chain of a setting (flag, env,
   * config file, default), what `unset` restores.
   */
  constructor(initial: Settings, startValue: <K extends keyof Settings>(key: K) => Settings[K]) {
    this.#values = Object.freeze({ ...initial });
    this.#startValue = startValue;
  }

  /** The current settings (a frozen object: a change replaces it, so a reader's copy never shifts under it). */
  get values(): Readonly<Settings> {
    return this.#values;
  }

  /** The start-up value of a setting (what `unset` restores, SPEC §1.4). */
  startValue<K extends keyof Settings>(key: K): Settings[K] {
    return this.#startValue(key);
  }

  /**
   * Set runtime settings. Keys whose value is already that are left out; when any other changed, one
   * event with all of them is emitted. Returns what changed (empty when nothing did).
   */
  set(values: RuntimeValues): SettingsChange {
    const change: Record<string, ValueChange<unknown>> = {};
    for (const key of RUNTIME_SETTINGS) {
      if (!(key in values)) continue;
      const after = values[key];
      const before = this.#values[key];
      if (!Object.is(before, after)) change[key] = { before, after };
    }
    if (!Object.keys(change).length) return {};
    const next: Record<string, unknown> = { ...this.#values };
    for (const [key, { after }] of Object.entries(change)) next[key] = after;
    this.#values = Object.freeze(next as unknown as Settings);
    this.changed.emit(change);
    return change;
  }
}
