import assert from "node:assert/strict";
import { ask, MODES, setup } from "./commands_helpers.ts";
import type { SettingsChange } from "../../src/state/settings.ts";

const ADMIN = "client-key-admin-0001";
const USER = "client-key-user-00002";
const AUTH_ENV = { LLM_INTERACTIVE_PROXY_API_KEY_1: ADMIN, LLM_INTERACTIVE_PROXY_API_KEY_2: USER };
const AUTH_ARGS = ["--admin-keys", "LLM_INTERACTIVE_PROXY_API_KEY_1"];

Deno.test("route commands: create, append, prepend, list, route-list, clear, delete (admin), both stream modes", async () => {
  const t = await setup(AUTH_ARGS, AUTH_ENV);
  try {
    for (const stream of MODES) {
      const r = `fast-${stream ? "s" : "j"}`;
      const o = { stream, key: ADMIN, session: r };
      const c = await ask(t.proxy, `!/create-failover-route(name=${r}, policy=KM)`, o);
      assert.match(c.content!, new RegExp(`route ${r} created \\(policy km\\)`));
      const a = await ask(
        t.proxy,
        `!/route-append(name=${r}, openrouter:openai/gpt-4o-mini, "openrouter:google/gemini-2.5-flash")`,
        o,
      );
      assert.match(
        a.content!,
        new RegExp(
          `route ${r} \\(policy km\\): openrouter:openai/gpt-4o-mini, openrouter:google/gemini-2.5-flash$`,
          "m",
        ),
      );
      await ask(t.proxy, `!/route-prepend(name=${r}, openrouter:meta-llama/llama-3.3-70b-instruct:free)`, o);
      const l = await ask(t.proxy, `!/route-list(name=${r})`, o);
      assert.match(
        l.content!,
        new RegExp(
          `^${r} \\(policy km\\): openrouter:meta-llama/llama-3.3-70b-instruct:free, openrouter:openai/gpt-4o-mini, openrouter:google/gemini-2.5-flash$`,
          "m",
        ),
      );
      const all = await ask(t.proxy, "!/list-failover-routes", o);
      assert.match(all.content!, new RegExp(`^${r} \\(policy km\\)`, "m"));
      // The route is a model: it appears in /v1/models and a request to it reaches its first element.
      const models = await t.proxy.client(ADMIN).models.list();
      assert.ok(models.data.some((m) => m.id === r && m.owned_by === "route"));
      await ask(t.proxy, "via route", { ...o, model: r });
      assert.equal(t.mock.chats.at(-1)!.body!.model, "meta-llama/llama-3.3-70b-instruct:free");
      const cl = await ask(t.proxy, `!/route-clear(name=${r})`, o);
      assert.match(cl.content!, /cleared/);
      assert.deepEqual(t.proxy.ctx.routes.get(r)!.elements, []);
      const d = await ask(t.proxy, `!/delete-failover-route(${r})`, o);
      assert.match(d.content!, /deleted/);
      assert.equal(t.proxy.ctx.routes.has(r), false);
    }
  } finally {
    await t.close();
  }
});

Deno.test("route validation: policy, duplicate name, malformed and unknown elements; nothing half-applied", async () => {
  const t = await setup(AUTH_ARGS, AUTH_ENV);
  try {
    const o = { key: ADMIN };
    assert.match(
      (await ask(t.proxy, "!/create-failover-route(name=r1, policy=x)", o)).content!,
      /^Error: policy "x" is not one of k, m, km, mk/,
    );
    assert.match(
      (await ask(t.proxy, "!/create-failover-route(name=r1)", o)).content!,
      /^Error: create-failover-route needs name=ROUTE and policy/,
    );
    assert.match((await ask(t.proxy, "!/create-failover-route(name=r1, policy=k)", o)).content!, /created/);
    assert.match(
      (await ask(t.proxy, "!/create-failover-route(name=r1, policy=m)", o)).content!,
      /^Error: Route "r1" already exists/,
    );
    assert.match(
      (await ask(t.proxy, "!/route-append(name=r1, gpt-4o)", o)).content!,
      /^Error: "gpt-4o" is not backend:model with a known backend/,
    );
    assert.match(
      (await ask(t.proxy, "!/route-append(name=r1, nope:model)", o)).content!,
      /^Error: "nope:model" is not backend:model/,
    );
    assert.match(
      (await ask(t.proxy, "!/route-append(name=r1, openrouter:openai/gpt-4o-mimi)", o)).content!,
      /closest: openrouter:openai\/gpt-4o-mini/,
    );
    assert.match(
      (await ask(t.proxy, "!/route-append(name=r1)", o)).content!,
      /^Error: route-append: give at least one/,
    );
    assert.match(
      (await ask(t.proxy, "!/route-append(name=zz, openrouter:openai/gpt-4o-mini)", o)).content!,
      /^Error: Route "zz" does not exist/,
    );
    // Create + append in one message where the append fails: the create is not kept either.
    const r = await ask(
      t.proxy,
      "!/create-failover-route(name=r2, policy=k) !/route-append(name=r2, bad)",
      o,
    );
    assert.match(r.content!, /^Error: "bad" is not backend:model/);
    assert.equal(t.proxy.ctx.routes.has("r2"), false);
    assert.deepEqual(t.proxy.ctx.routes.get("r1")!.elements, []);
  } finally {
    await t.close();
  }
});

Deno.test("non-admin keys may use session commands but not global ones or route mutations (SPEC §12)", async () => {
  const t = await setup(AUTH_ARGS, AUTH_ENV);
  try {
    for (const stream of MODES) {
      const o = { stream, key: USER };
      for (
        const cmd of [
          "!/create-failover-route(name=x, policy=k)",
          "!/route-clear(name=x)",
          "!/set(command-prefix=$/)",
          "!/set(default-backend=openrouter)",
          "!/unset(redact-api-keys-in-prompts)",
        ]
      ) {
        const r = await ask(t.proxy, cmd, o);
        assert.match(
          r.content!,
          /^Error: .*only admin keys may do that.*this key is LLM_INTERACTIVE_PROXY_API_KEY_2\./,
          cmd,
        );
      }
      assert.equal(t.proxy.ctx.settings.commandPrefix, "!/");
      assert.match((await ask(t.proxy, "!/set(project=mine)", o)).content!, /project set to mine/);
      assert.match((await ask(t.proxy, "!/list-failover-routes", o)).content!, /no failover routes/);
      const st = await ask(t.proxy, "!/status", o);
      assert.match(st.content!, /client key LLM_INTERACTIVE_PROXY_API_KEY_2\)/);
      assert.match(st.content!, /keys: OPENROUTER_API_KEY/);
      assert.doesNotMatch(st.content!, /sk-or-v1-/, "never a key value");
    }
    // The two keys' default sessions are separate.
    const admin = await ask(t.proxy, "!/status", { key: ADMIN });
    assert.match(admin.content!, /^project: none$/m);
    assert.match(admin.content!, /client key LLM_INTERACTIVE_PROXY_API_KEY_1, admin\)/);
  } finally {
    await t.close();
  }
});

Deno.test("global settings: command-prefix, default-backend, redact; unset restores the start-up value", async () => {
  const t = await setup(AUTH_ARGS, AUTH_ENV);
  // What the settings store saw change: a refused command changes nothing, each kept one once.
  const changes: SettingsChange[] = [];
  t.proxy.ctx.settingsStore.changed.subscribe((c) => changes.push(c));
  try {
    const o = { key: ADMIN };
    assert.match(
      (await ask(t.proxy, "!/set(command-prefix=!!)", o)).content!,
      /^Error: command-prefix "!!": a 2-character prefix may not repeat/,
    );
    assert.match(
      (await ask(t.proxy, "!/set(command-prefix=a b)", o)).content!,
      /^Error: command-prefix "a b"/,
    );
    assert.match((await ask(t.proxy, "!/set(command-prefix=$/)", o)).content!, /command prefix set to \$\//);
    assert.deepEqual(changes, [{ commandPrefix: { before: "!/", after: "$/" } }]);
    const n = t.mock.chats.length;
    await ask(t.proxy, "!/hello", o);
    assert.equal(t.mock.chats.length, n + 1, "the old prefix is plain text now");
    const h = await ask(t.proxy, "$/help(unset)", o);
    assert.match(h.content!, /Examples: \$\/unset\(model\)/);
    assert.match((await ask(t.proxy, "$/unset(command-prefix)", o)).content!, /command prefix back to !\//);
    assert.equal(t.proxy.ctx.settings.commandPrefix, "!/");

    assert.match(
      (await ask(t.proxy, "!/set(redact-api-keys-in-prompts=off)", o)).content!,
      /redact-api-keys-in-prompts off/,
    );
    assert.equal(t.proxy.ctx.settings.redactApiKeysInPrompts, false);
    await ask(t.proxy, `my key is ${"sk-or-v1-" + "1".repeat(64)}`, o);
    assert.match(JSON.stringify(t.mock.chats.at(-1)!.body), /sk-or-v1-1111/, "redaction off");
    await ask(t.proxy, "!/unset(redact-api-keys-in-prompts)", o);
    assert.equal(t.proxy.ctx.settings.redactApiKeysInPrompts, true);

    assert.match(
      (await ask(t.proxy, "!/set(default-backend=nope)", o)).content!,
      /^Error: default-backend: unknown backend "nope"/,
    );
    assert.match(
      (await ask(t.proxy, "!/set(default-backend=openrouter)", o)).content!,
      /default backend set to openrouter/,
    );
    assert.match(
      (await ask(t.proxy, "!/unset(default-backend)", o)).content!,
      /default backend back to openrouter/,
    );
    assert.deepEqual(changes.slice(1), [
      { commandPrefix: { before: "$/", after: "!/" } },
      { redactApiKeysInPrompts: { before: true, after: false } },
      { redactApiKeysInPrompts: { before: false, after: true } },
      { defaultBackend: { before: undefined, after: "openrouter" } },
      // unset(default-backend) resolves to openrouter, the value it already has: no change.
    ]);
  } finally {
    await t.close();
  }
});

Deno.test("a session whose model override names a deleted route is never stuck", async () => {
  const t = await setup(AUTH_ARGS, AUTH_ENV);
  try {
    const o = { key: ADMIN, session: "stuck" };
    await ask(
      t.proxy,
      "!/create-failover-route(name=gone, policy=m) !/route-append(name=gone, openrouter:openai/gpt-4o-mini)",
      o,
    );
    assert.match((await ask(t.proxy, "!/set(model=gone)", o)).content!, /model set to gone/);
    await ask(t.proxy, "via route", o);
    assert.equal(t.mock.chats.at(-1)!.body!.model, "openai/gpt-4o-mini");
    await ask(t.proxy, "!/delete-failover-route(name=gone)", o);
    const r = await ask(t.proxy, "still works", { ...o, model: "openrouter:google/gemini-2.5-flash" });
    assert.match(r.content!, /^Echo from google\/gemini-2\.5-flash: still works/);
    assert.match((await ask(t.proxy, "!/status", o)).content!, /^model override: none$/m);
  } finally {
    await t.close();
  }
});

Deno.test("a route change too big for the store is refused, so the stored routes never go stale", async () => {
  const t = await setup(AUTH_ARGS, AUTH_ENV);
  try {
    const o = { key: ADMIN, session: "big" };
    await ask(t.proxy, "!/create-failover-route(name=small, policy=k)", o);
    const many = Array(3000).fill("openrouter:openai/gpt-4o-mini").join(", ");
    const r = await ask(
      t.proxy,
      `!/create-failover-route(name=big, policy=k) !/route-append(name=big, ${many})`,
      o,
    );
    assert.match(r.content!, /^Error: .*routes would take \d+ bytes/);
    const all = await ask(t.proxy, "!/list-failover-routes", o);
    assert.doesNotMatch(all.content!, /^big /m, "nothing changed");
    await ask(t.proxy, "!/route-append(name=small, openrouter:openai/gpt-4o-mini)", o);
    await t.proxy.close();
    assert.doesNotMatch(await t.proxy.logText(), /store write failed/);
  } finally {
    await t.close();
  }
});
