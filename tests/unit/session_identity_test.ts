import assert from "node:assert/strict";
import { sessionIdentity } from "../../src/sessions/identify.ts";

const caller = { label: "anonymous", admin: true };
const idOf = (ua: string | undefined) =>
  sessionIdentity(new Headers(ua === undefined ? {} : { "user-agent": ua }), caller, true).id;

Deno.test("without auth, the default session id is ua- and the User-Agent's 64-bit FNV-1a (stored ids stay valid)", () => {
  // Reference values of 64-bit FNV-1a: a changed hash would orphan every stored per-User-Agent session.
  assert.equal(idOf(undefined), "ua-cbf29ce484222325");
  assert.equal(idOf(""), "ua-cbf29ce484222325");
  assert.equal(idOf("a"), "ua-af63dc4c8601ec8c");
  assert.equal(idOf("foobar"), "ua-85944171f73967e8");
  assert.equal(idOf("a"), "ua-af63dc4c8601ec8c", "the remembered id is the same");
});

Deno.test("many User-Agents: each keeps its own id past the remembered ones' limit", () => {
  const first = new Map<string, string>();
  for (let i = 0; i < 2500; i++) first.set(`client/${i}`, idOf(`client/${i}`));
  assert.equal(new Set(first.values()).size, 2500);
  for (const [ua, id] of first) assert.equal(idOf(ua), id, ua);
  assert.equal(idOf("foobar"), "ua-85944171f73967e8");
});

Deno.test("with auth, the session is the client key's default or its X-Session-ID", () => {
  assert.deepEqual(sessionIdentity(new Headers({ "user-agent": "a" }), caller, false), {
    owner: "anonymous",
    id: "default",
  });
  assert.deepEqual(sessionIdentity(new Headers({ "x-session-id": " s-1 " }), caller, false), {
    owner: "anonymous",
    id: "s-1",
  });
  assert.throws(() => sessionIdentity(new Headers({ "x-session-id": "a b" }), caller, true), /X-Session-ID/);
});
