/**
 * The state stores in memory: a settings change or a route change emits one event with the values before and
 * after, a change that changes nothing emits none, and a refused change emits nothing and changes nothing.
 * And the persistence that keeps them in step with the store: a change is saved before the stores change, a
 * save that fails changes nothing and emits nothing, and an instance on the same store hears the change.
 */
import assert from "node:assert/strict";
import { OPTIONS, type Settings } from "../../src/config/options.ts";
import { type SettingsChange, SettingsStore } from "../../src/state/settings.ts";
import { RouteError, type RoutesChange, RouteStore } from "../../src/state/routes.ts";
import { KeyPool, type KeyPools } from "../../src/state/keys.ts";
import { SaveError, type SharedChange, SharedState } from "../../src/store/shared_state.ts";

/** The option table's defaults: the settings of a proxy started with no flag, env or file. */
function defaultSettings(): Settings {
  return Object.fromEntries(OPTIONS.map((o) => [o.key, o.default])) as unknown as Settings;
}

function settingsStore(overrides: Partial<Settings> = {}): SettingsStore {
  const start = { ...defaultSettings(), ...overrides };
  return new SettingsStore(start, (key) => start[key]);
}

Deno.test("settings: one event per set, naming each key that changed with its value before and after", () => {
  const store = settingsStore();
  const events: SettingsChange[] = [];
  store.changed.subscribe((c) => events.push(c));
  const before = store.values;
  const change = store.set({ commandPrefix: "#/", redactApiKeysInPrompts: true, defaultBackend: "gemini" });
  const expected = {
    commandPrefix: { before: "!/", after: "#/" },
    defaultBackend: { before: undefined, after: "gemini" },
  };
  assert.deepEqual(change, expected, "redactApiKeysInPrompts was already true: not a change");
  assert.deepEqual(events, [expected]);
  assert.equal(store.values.commandPrefix, "#/");
  assert.equal(store.values.defaultBackend, "gemini");
  assert.equal(before.commandPrefix, "!/", "a reader's copy does not shift under it");
  assert.ok(Object.isFrozen(store.values), "nobody writes the values from outside");
  assert.throws(() => ((store.values as Settings).commandPrefix = "x"), TypeError);
});

Deno.test("settings: a set to the values held emits nothing; the start-up values stay what unset restores", () => {
  const store = settingsStore({ commandPrefix: "%/" });
  let events = 0;
  const unsubscribe = store.changed.subscribe(() => events++);
  assert.deepEqual(store.set({ commandPrefix: "%/", interactiveMode: true }), {});
  assert.deepEqual(store.set({}), {});
  assert.equal(events, 0);
  store.set({ commandPrefix: "$/" });
  assert.equal(events, 1);
  assert.equal(store.startValue("commandPrefix"), "%/", "the start-up value, not the current one");
  unsubscribe();
  store.set({ commandPrefix: "&/" });
  assert.equal(events, 1, "an unsubscribed listener hears nothing");
});

Deno.test("settings: two subscribers both hear every change (neither replaces the other)", () => {
  const store = settingsStore();
  const a: SettingsChange[] = [];
  const b: SettingsChange[] = [];
  store.changed.subscribe((c) => a.push(c));
  store.changed.subscribe((c) => b.push(c));
  store.set({ interactiveMode: false });
  assert.deepEqual(a, [{ interactiveMode: { before: true, after: false } }]);
  assert.deepEqual(b, a);
});

Deno.test("routes: each change emits one event with all routes before and after", () => {
  const store = new RouteStore([{ name: "r", policy: "k", elements: ["a:1"] }]);
  const events: RoutesChange[] = [];
  store.changed.subscribe((c) => events.push(c));
  store.create("s", "m");
  store.add("r", ["a:2"], "append");
  store.clear("s");
  store.delete("r");
  assert.deepEqual(events, [
    {
      before: [{ name: "r", policy: "k", elements: ["a:1"] }],
      after: [{ name: "r", policy: "k", elements: ["a:1"] }, { name: "s", policy: "m", elements: [] }],
    },
    {
      before: [{ name: "r", policy: "k", elements: ["a:1"] }, { name: "s", policy: "m", elements: [] }],
      after: [{ name: "r", policy: "k", elements: ["a:1", "a:2"] }, { name: "s", policy: "m", elements: [] }],
    },
    // clear("s") of an empty route changed nothing.
    {
      before: [{ name: "r", policy: "k", elements: ["a:1", "a:2"] }, {
        name: "s",
        policy: "m",
        elements: [],
      }],
      after: [{ name: "s", policy: "m", elements: [] }],
    },
  ]);
});

Deno.test("routes: a refused change emits nothing and changes nothing; replaceAll emits only a difference", () => {
  const store = new RouteStore([{ name: "r", policy: "k", elements: ["a:1"] }]);
  const events: RoutesChange[] = [];
  store.changed.subscribe((c) => events.push(c));
  assert.throws(() => store.create("r", "k"), RouteError);
  assert.throws(() => store.delete("nope"), RouteError);
  assert.throws(
    () => store.apply({ op: "add", name: "nope", elements: ["a:2"], where: "append" }),
    RouteError,
  );
  assert.throws(() => store.create("a:b", "k"), RouteError);
  store.replaceAll([{ name: "r", policy: "k", elements: ["a:1"] }]);
  assert.deepEqual(events, []);
  assert.deepEqual(store.list(), [{ name: "r", policy: "k", elements: ["a:1"] }]);
  store.replaceAll([{ name: "r", policy: "m", elements: ["a:1"] }]);
  assert.deepEqual(events, [{
    before: [{ name: "r", policy: "k", elements: ["a:1"] }],
    after: [{ name: "r", policy: "m", elements: ["a:1"] }],
  }]);
});

/** One instance's stores and their persistence on `kv` (or the config file at `configPath`). */
function instance(kv: Deno.Kv, configPath?: string) {
  const settings = settingsStore();
  const routes = new RouteStore();
  const pool = new KeyPool("openrouter", [], "round-robin");
  const pools: KeyPools = { names: () => ["openrouter"], pool: () => pool, pools: () => [pool] };
  const shared = new SharedState({
    kv,
    registry: pools,
    routes,
    settings,
    fixed: () => false,
    configPath,
    options: OPTIONS,
  });
  const events: (SettingsChange | RoutesChange)[] = [];
  settings.changed.subscribe((c) => events.push(c));
  routes.changed.subscribe((c) => events.push(c));
  return { settings, routes, shared, events };
}

const CHANGE: SharedChange = {
  routeOps: [
    { op: "create", name: "r", policy: "k" },
    { op: "add", name: "r", elements: ["openrouter:m"], where: "append" },
  ],
  globals: { commandPrefix: "#/" },
};

Deno.test("persistence: a change is saved before the stores change; a failed save changes and emits nothing", async () => {
  const kv = await Deno.openKv(":memory:");
  const a = instance(kv);
  try {
    const atomic = kv.atomic.bind(kv);
    kv.atomic = () => {
      const op = atomic();
      op.commit = () => Promise.reject(new Error("disk I/O error"));
      return op;
    };
    await assert.rejects(a.shared.apply(CHANGE), SaveError);
    assert.deepEqual(a.events, [], "nothing emitted");
    assert.deepEqual(a.routes.list(), []);
    assert.equal(a.settings.values.commandPrefix, "!/");
    kv.atomic = atomic;

    // What the store holds when the stores announce the change.
    const stored: Promise<unknown>[] = [];
    a.routes.changed.subscribe(() => stored.push(kv.get(["routes"]).then((e) => e.value)));
    await a.shared.apply(CHANGE);
    assert.deepEqual(await Promise.all(stored), [[{ name: "r", policy: "k", elements: ["openrouter:m"] }]]);
    assert.deepEqual(a.events, [
      { before: [], after: [{ name: "r", policy: "k", elements: ["openrouter:m"] }] },
      { commandPrefix: { before: "!/", after: "#/" } },
    ]);
  } finally {
    await a.shared.close();
    kv.close();
  }
});

Deno.test("persistence: two instances on one store; each hears the other's change once, on its refresh", async () => {
  const kv = await Deno.openKv(":memory:");
  const a = instance(kv);
  const b = instance(kv);
  try {
    await a.shared.apply(CHANGE);
    await b.shared.refresh();
    assert.deepEqual(b.events, [
      { before: [], after: [{ name: "r", policy: "k", elements: ["openrouter:m"] }] },
      { commandPrefix: { before: "!/", after: "#/" } },
    ]);
    assert.equal(b.settings.values.commandPrefix, "#/");
    await b.shared.refresh();
    assert.equal(b.events.length, 2, "a refresh that finds nothing new emits nothing");
    // Back to the start-up value: stored as "not overridden", which the other instance reads as its own.
    await b.shared.apply({ routeOps: [{ op: "delete", name: "r" }], globals: { commandPrefix: "!/" } });
    a.events.length = 0;
    await a.shared.refresh();
    assert.deepEqual(a.events, [
      { before: [{ name: "r", policy: "k", elements: ["openrouter:m"] }], after: [] },
      { commandPrefix: { before: "#/", after: "!/" } },
    ]);
    assert.deepEqual((await kv.get(["globals"])).value, { command_prefix: null });
  } finally {
    await a.shared.close();
    await b.shared.close();
    kv.close();
  }
});

Deno.test("persistence, --config: a change the file cannot take changes and emits nothing", async () => {
  const dir = await Deno.makeTempDir();
  // No room beside this name for the temp file of an atomic write: the save fails for any user, root included.
  const path = `${dir}/${"c".repeat(220)}.json`;
  const text = JSON.stringify({ timeout: 60 });
  await Deno.writeTextFile(path, text);
  const kv = await Deno.openKv(":memory:");
  const a = instance(kv, path);
  try {
    await assert.rejects(a.shared.apply(CHANGE), /cannot save the change.*nothing was changed/);
    assert.deepEqual(a.events, []);
    assert.equal(a.settings.values.commandPrefix, "!/");
    assert.equal(await Deno.readTextFile(path), text);
  } finally {
    await a.shared.close();
    kv.close();
    await Deno.remove(dir, { recursive: true });
  }
});
