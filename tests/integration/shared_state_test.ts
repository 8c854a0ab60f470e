/**
 * SPEC §19 "Shared state": route and setting changes from several instances are never lost (check-and-set),
 * and with --config a hand edit is read before a change, and a change that cannot be saved answers `Error:`
 * and changes nothing.
 */
import assert from "node:assert/strict";
import { MockOpenAI } from "../mocks/openai_upstream.ts";
import { startTestProxy, type TestProxy } from "../helpers.ts";
import { ask } from "./commands_helpers.ts";

const KEY = "sk-or-v1-" + "1".repeat(64);
const MODELS = Array.from({ length: 40 }, (_, i) => `m/${i}`);

function mockWithModels(): MockOpenAI {
  const mock = MockOpenAI.start();
  mock.models = MODELS.map((id) => ({ id }));
  return mock;
}

async function proxy(mock: MockOpenAI, args: string[]): Promise<TestProxy> {
  const p = await startTestProxy(["--disable-auth", "--openrouter-api-base-url", mock.url, ...args], {
    OPENROUTER_API_KEY: KEY,
  });
  await p.ctx.registry.refresh("openrouter");
  return p;
}

Deno.test("two instances on one KV file: concurrent route-appends are all kept", async () => {
  const mock = mockWithModels();
  const dir = await Deno.makeTempDir();
  const kv = ["--kv", `${dir}/s.kv`];
  const a = await proxy(mock, kv);
  let b: TestProxy | undefined;
  try {
    assert.match((await ask(a, "!/create-failover-route(name=r, policy=m)")).content!, /created/);
    b = await proxy(mock, kv); // reads the route at start
    const n = 20;
    const replies = await Promise.all(
      Array.from({ length: n }, (_, i) => ask(i % 2 ? a : b!, `!/route-append(name=r, openrouter:m/${i})`)),
    );
    for (const r of replies) assert.match(r.content!, /^route r \(policy m\)/m, r.content!);
    await b.close();
    await a.close();
    const store = await Deno.openKv(`${dir}/s.kv`);
    try {
      const routes = (await store.get<{ name: string; elements: string[] }[]>(["routes"])).value!;
      const elements = routes.find((r) => r.name === "r")!.elements;
      assert.deepEqual(
        [...elements].sort(),
        Array.from({ length: n }, (_, i) => `openrouter:m/${i}`).sort(),
        "every appended element is stored",
      );
    } finally {
      store.close();
    }
  } finally {
    await b?.close();
    await a.close();
    await mock.close();
    await Deno.remove(dir, { recursive: true });
  }
});

/** The next value `listeners` emit, or a failure after `ms` (a bound, not a pause: the event ends it). */
function next<T>(listeners: { subscribe(fn: (v: T) => void): () => void }, ms = 5000): Promise<T> {
  const { promise, resolve, reject } = Promise.withResolvers<T>();
  const timer = setTimeout(() => reject(new Error(`no change event within ${ms} ms`)), ms);
  const off = listeners.subscribe((v) => {
    clearTimeout(timer);
    off();
    resolve(v);
  });
  return promise;
}

Deno.test("two instances on one KV file: a change one saves reaches the other's stores as one change event", async () => {
  const mock = mockWithModels();
  const dir = await Deno.makeTempDir();
  const kv = ["--kv", `${dir}/s.kv`];
  const a = await proxy(mock, kv);
  const b = await proxy(mock, kv);
  try {
    const routes = next(b.ctx.routes.changed);
    const settings = next(b.ctx.settingsStore.changed);
    assert.match((await ask(a, "!/create-failover-route(name=r, policy=m)")).content!, /created/);
    assert.match((await ask(a, "!/set(command-prefix=#/)")).content!, /command prefix set to #\//);
    assert.deepEqual(await routes, { before: [], after: [{ name: "r", policy: "m", elements: [] }] });
    // b's refresh (about once a second) finds the two changes in one read or in two.
    assert.deepEqual(await settings, { commandPrefix: { before: "!/", after: "#/" } });
    assert.equal(b.ctx.settings.commandPrefix, "#/");
    const r = await ask(b, "#/list-failover-routes");
    assert.match(r.content!, /^r \(policy m\)/m, "b serves the new prefix and the new route");
  } finally {
    await b.close();
    await a.close();
    await mock.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a command checked against a stale copy is applied to the stored value, or refused with Error:", async () => {
  const mock = mockWithModels();
  const dir = await Deno.makeTempDir();
  const kv = ["--kv", `${dir}/s.kv`];
  const a = await proxy(mock, kv);
  let b: TestProxy | undefined;
  try {
    await ask(a, "!/create-failover-route(name=r, policy=m)");
    await ask(a, "!/create-failover-route(name=gone, policy=m)");
    b = await proxy(mock, kv);
    await ask(b, "!/route-append(name=r, openrouter:m/1)");
    await ask(b, "!/delete-failover-route(name=gone)");
    // `a` has not refreshed yet: its copy still has "gone" and an empty "r".
    const stale = await ask(a, "!/route-append(name=gone, openrouter:m/2)");
    assert.match(stale.content!, /^Error: Route "gone" does not exist\./m);
    await ask(a, "!/route-append(name=r, openrouter:m/3)");
    assert.deepEqual(a.ctx.routes.get("r")?.elements, ["openrouter:m/1", "openrouter:m/3"]);
    assert.equal(a.ctx.routes.has("gone"), false, "memory follows the store");
  } finally {
    await b?.close();
    await a.close();
    await mock.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a route command answers only after the store has it; a failed store write answers Error: and changes nothing", async () => {
  const mock = mockWithModels();
  const a = await proxy(mock, []);
  try {
    let events = 0;
    a.ctx.routes.changed.subscribe(() => events++);
    a.ctx.settingsStore.changed.subscribe(() => events++);
    const atomic = a.kv.atomic.bind(a.kv);
    a.kv.atomic = () => {
      const op = atomic();
      op.commit = () => Promise.reject(new Error("disk I/O error"));
      return op;
    };
    const r = await ask(a, "!/create-failover-route(name=r, policy=k)");
    assert.match(
      r.content!,
      /^Error: the change could not be saved to the store \(disk I\/O error\); nothing was changed/,
    );
    assert.equal(a.ctx.routes.has("r"), false, "memory unchanged");
    const g = await ask(a, "!/set(command-prefix=#/)");
    assert.match(g.content!, /^Error: .*nothing was changed/);
    assert.equal(a.ctx.settings.commandPrefix, "!/", "setting unchanged");
    assert.equal(events, 0, "no change event");
    a.kv.atomic = atomic;
    assert.match((await ask(a, "!/create-failover-route(name=r, policy=k)")).content!, /created/);
    assert.equal(events, 1, "one change event");
    assert.equal((await a.kv.get<unknown[]>(["routes"])).value?.length, 1, "stored before the answer");
  } finally {
    await a.close();
    await mock.close();
  }
  assert.match(await a.logText(), /saving a route\/setting change to the store failed: disk I\/O error/);
});

Deno.test("--config: a route added by hand while running survives the next route command", async () => {
  const mock = mockWithModels();
  const dir = await Deno.makeTempDir();
  const path = `${dir}/c.json`;
  await Deno.writeTextFile(path, JSON.stringify({ failover_routes: { r: { policy: "k", elements: [] } } }));
  const a = await proxy(mock, ["--config", path]);
  try {
    const file = JSON.parse(await Deno.readTextFile(path));
    file.failover_routes.byhand = { policy: "m", elements: ["openrouter:m/9"] };
    file.timeout = 77;
    await Deno.writeTextFile(path, JSON.stringify(file));
    const r = await ask(a, "!/route-append(name=r, openrouter:m/1)");
    assert.match(r.content!, /^route r \(policy k\): openrouter:m\/1$/m);
    const saved = JSON.parse(await Deno.readTextFile(path));
    assert.deepEqual(saved.failover_routes, {
      r: { policy: "k", elements: ["openrouter:m/1"] },
      byhand: { policy: "m", elements: ["openrouter:m/9"] },
    });
    assert.equal(saved.timeout, 77, "the hand-edited setting is kept");
    assert.deepEqual(a.ctx.routes.get("byhand")?.elements, ["openrouter:m/9"], "memory follows the file");
  } finally {
    await a.close();
    await mock.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("--config: a corrupt file or one that cannot be written makes the command answer Error: and change nothing", async () => {
  const mock = mockWithModels();
  const dir = await Deno.makeTempDir();
  // A name the file system takes, but with no room left for the temp file beside it (`<name>.<uuid>.tmp`
  // exceeds 255 bytes): the save fails for any user, root included.
  const path = `${dir}/${"c".repeat(220)}.json`;
  const good = JSON.stringify({ failover_routes: { r: { policy: "k", elements: [] } } });
  await Deno.writeTextFile(path, good);
  const a = await proxy(mock, ["--config", path]);
  let events = 0;
  a.ctx.routes.changed.subscribe(() => events++);
  a.ctx.settingsStore.changed.subscribe(() => events++);
  try {
    // Cannot be written.
    const w = await ask(a, "!/route-append(name=r, openrouter:m/1)");
    assert.match(
      w.content!,
      /^Error: config file .*c\.json: cannot save the change \(.*\); nothing was changed\.$/,
    );
    assert.deepEqual(a.ctx.routes.get("r")?.elements, [], "memory unchanged");
    assert.equal(await Deno.readTextFile(path), good, "file unchanged");
    const g = await ask(a, "!/set(default-backend=openrouter, redact-api-keys-in-prompts=off)");
    assert.match(g.content!, /^Error: config file .*cannot save/);
    assert.equal(a.ctx.settings.redactApiKeysInPrompts, true, "setting unchanged");
    // Corrupt: not JSON, then JSON with a bad field.
    await Deno.writeTextFile(path, '{"failover_routes": {"r": ');
    const c = await ask(a, "!/create-failover-route(name=x, policy=k)");
    assert.match(c.content!, /^Error: config file .*c\.json: not valid JSON .*nothing was changed\.$/);
    assert.equal(a.ctx.routes.has("x"), false, "memory unchanged");
    await Deno.writeTextFile(
      path,
      JSON.stringify({ failover_routes: { r: { policy: "zz", elements: [] } } }),
    );
    const f = await ask(a, "!/create-failover-route(name=x, policy=k)");
    assert.match(f.content!, /^Error: config file .*c\.json: field failover_routes\.r\.policy: /);
    await Deno.writeTextFile(
      path,
      JSON.stringify({ failover_routes: { r: { policy: "k", elements: ["no:pe"] } } }),
    );
    const e = await ask(a, "!/create-failover-route(name=x, policy=k)");
    assert.match(
      e.content!,
      /^Error: config file .*: field failover_routes\.r\.elements\.0: "no:pe" is not backend:model/,
    );
    assert.equal(a.ctx.routes.has("x"), false, "memory unchanged");
    assert.deepEqual(a.ctx.routes.list(), [{ name: "r", policy: "k", elements: [] }]);
    assert.equal(events, 0, "no change event");
  } finally {
    await a.close();
    await mock.close();
    await Deno.remove(dir, { recursive: true });
  }
});
