import assert from "node:assert/strict";
import { type Changeset, changesetOf, sharedChange } from "../../src/commands/changeset.ts";
import type { Draft } from "../../src/commands/types.ts";
import { applyChangeset, type ApplyTarget } from "../../src/pipeline/apply.ts";
import type { Session } from "../../src/sessions/store.ts";
import { type Route, RouteStore } from "../../src/state/routes.ts";
import { SaveError, type SharedChange } from "../../src/store/shared_state.ts";
import { auditCommands } from "../../src/usage/command_audit.ts";
import type { AuditEvent, UsageRecorder } from "../../src/usage/recorder.ts";

const ROUTES: Route[] = [{ name: "r1", policy: "k", elements: ["a:m1"] }];

function draft(): Draft {
  return {
    session: { model: "m", backend: undefined, project: undefined, interactive: undefined },
    defaultBackend: "a",
    redactApiKeysInPrompts: true,
    commandPrefix: "!/",
    globals: new Set(),
    routes: new RouteStore(ROUTES.map((r) => ({ ...r, elements: [...r.elements] }))),
    routeOps: [],
    banner: false,
    start: {
      globals: { defaultBackend: undefined, redactApiKeysInPrompts: true, commandPrefix: "!/" },
      routes: ROUTES.map((r) => ({ ...r, elements: [...r.elements] })),
    },
  };
}

Deno.test("an untouched draft is an empty changeset: the same overrides, no globals, route ops or resets", () => {
  const c = changesetOf(draft());
  assert.deepEqual(c, {
    session: { model: "m", backend: undefined, project: undefined, interactive: undefined },
    globals: {},
    routeOps: [],
    routes: { before: ROUTES, after: ROUTES },
  });
  assert.equal(sharedChange(c), undefined);
});

Deno.test("a changeset carries the new session overrides, settings set (from/to) and the routes before and after", () => {
  const d = draft();
  d.session.project = "p";
  d.commandPrefix = "##";
  d.globals.add("commandPrefix");
  d.globals.add("redactApiKeysInPrompts"); // set to its current value: still saved, not a change
  d.routes.add("r1", ["b:m2"], "append");
  d.routeOps.push({ op: "add", name: "r1", elements: ["b:m2"], where: "append" });
  d.resetCooldowns = ["a"];
  const c = changesetOf(d);
  assert.deepEqual(c.session, { model: "m", backend: undefined, project: "p", interactive: undefined });
  assert.deepEqual(c.globals, {
    commandPrefix: { from: "!/", to: "##" },
    redactApiKeysInPrompts: { from: true, to: true },
  });
  assert.deepEqual(c.routes.before, ROUTES);
  assert.deepEqual(c.routes.after, [{ name: "r1", policy: "k", elements: ["a:m1", "b:m2"] }]);
  assert.deepEqual(c.resetCooldowns, ["a"]);
  // Pure data: later changes of the draft do not reach it.
  d.routes.add("r1", ["c:m3"], "append");
  d.session.model = "x";
  assert.equal(c.routes.after[0].elements.length, 2);
  assert.equal(c.session?.model, "m");
  assert.deepEqual(sharedChange(c), {
    routeOps: [{ op: "add", name: "r1", elements: ["b:m2"], where: "append" }],
    globals: { commandPrefix: "##", redactApiKeysInPrompts: true },
  });
});

function target(calls: string[], fail: { reset?: Error; save?: Error } = {}): ApplyTarget {
  return {
    resetCooldowns: (
      b,
    ) => (calls.push(`reset ${b.join(",")}`), fail.reset ? Promise.reject(fail.reset) : Promise.resolve([])),
    applyChange: (c: SharedChange) => (
      calls.push(`change ${JSON.stringify(c.globals)}`),
        fail.save ? Promise.reject(fail.save) : Promise.resolve()
    ),
    sessions: { save: (s: Session) => void calls.push(`save ${s.project}`) },
  };
}

function changed(): Changeset {
  const d = draft();
  d.session.project = "p";
  d.commandPrefix = "##";
  d.globals.add("commandPrefix");
  d.resetCooldowns = ["a", "b"];
  return changesetOf(d);
}

Deno.test("the applier resets cool-downs, then saves routes and settings, then the session", async () => {
  const calls: string[] = [];
  const session = { project: undefined } as Session;
  assert.deepEqual(await applyChangeset(target(calls), changed(), session), { ok: true });
  assert.deepEqual(calls, ["reset a,b", 'change {"commandPrefix":"##"}', "save p"]);
  assert.equal(session.project, "p");
  // Overrides the session already has: nothing to save.
  calls.length = 0;
  const same = { ...changesetOf(draft()), session: { ...session } };
  assert.deepEqual(await applyChangeset(target(calls), same, session), { ok: true });
  assert.deepEqual(calls, []);
});

Deno.test("a failed reset or an unsaved change is the reply's error, and nothing after it is applied", async () => {
  let calls: string[] = [];
  const session = { project: undefined } as Session;
  assert.deepEqual(await applyChangeset(target(calls, { reset: new Error("kv down") }), changed(), session), {
    ok: false,
    error: "the store could not be updated (kv down); cool-downs were not reset. Try again.",
  });
  assert.deepEqual(calls, ["reset a,b"]);
  calls = [];
  assert.deepEqual(
    await applyChangeset(
      target(calls, { save: new SaveError("the change was not saved") }),
      changed(),
      session,
    ),
    { ok: false, error: "the change was not saved" },
  );
  assert.deepEqual(calls, ["reset a,b", 'change {"commandPrefix":"##"}']);
  assert.equal(session.project, undefined);
  await assert.rejects(
    applyChangeset(target([], { save: new TypeError("bug") }), changed(), session),
    TypeError,
  );
});

Deno.test("the audit reads the changeset: settings whose value changed, and the routes when they differ", () => {
  const events: AuditEvent[] = [];
  const usage = { audit: (e: AuditEvent) => void events.push(e) } as unknown as UsageRecorder;
  const meta = { requestId: "r", clientKey: "k", session: "s", stream: false, started: 0 };
  const d = draft();
  d.redactApiKeysInPrompts = false;
  d.commandPrefix = "!/";
  d.globals.add("commandPrefix"); // set to the same value: no setting change
  d.globals.add("redactApiKeysInPrompts");
  auditCommands({ usage }, meta, { commands: ["set"], lines: ["ok"], change: changesetOf(d) });
  assert.deepEqual(events.map((e) => [e.kind, e.detail]), [
    ["command", { commands: ["set"], result: ["ok"] }],
    ["setting_change", { redact_api_keys_in_prompts: { from: true, to: false } }],
  ]);
  events.length = 0;
  d.routes.create("r2", "m");
  auditCommands({ usage }, meta, { commands: ["create-failover-route"], lines: [], change: changesetOf(d) });
  assert.deepEqual(events.map((e) => e.kind), ["command", "setting_change", "route_change"]);
  assert.deepEqual(events[2].detail, {
    before: ROUTES,
    after: [...ROUTES, { name: "r2", policy: "m", elements: [] }],
  });
  events.length = 0;
  auditCommands({ usage }, meta, { commands: ["set"], lines: [], error: "nope" });
  assert.deepEqual(events.map((e) => [e.kind, e.detail]), [["command", {
    commands: ["set"],
    result: "Error: nope",
  }]]);
});
