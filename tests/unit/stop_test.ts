import assert from "node:assert/strict";
import { SHUTDOWN, StopSwitch } from "../../src/core/stop.ts";

Deno.test("a link aborts with the client's reason while linked, and not after release", () => {
  const stop = new StopSwitch();
  const a = new AbortController();
  const link = stop.link(a.signal);
  assert.equal(stop.size, 1);
  a.abort(new Error("client left"));
  assert.equal(link.signal.aborted, true);
  assert.equal((link.signal.reason as Error).message, "client left");

  const b = new AbortController();
  const released = stop.link(b.signal);
  const { release } = released; // callers pass release around unbound
  release();
  assert.equal(stop.size, 1, "only the first link is live");
  b.abort();
  assert.equal(released.signal.aborted, false);
  link.release();
  assert.equal(stop.size, 0);
});

Deno.test("stop aborts every live link with SHUTDOWN, and every later link at once", () => {
  const stop = new StopSwitch();
  const links = [stop.link(new AbortController().signal), stop.link(new AbortController().signal)];
  const done = stop.link(new AbortController().signal);
  done.release();
  stop.stop();
  assert.equal(stop.stopped, true);
  for (const l of links) assert.equal(l.signal.reason, SHUTDOWN);
  assert.equal(done.signal.aborted, false, "a released link is left alone");
  assert.equal(stop.link(new AbortController().signal).signal.reason, SHUTDOWN);
});

Deno.test("a client that already left gives an aborted link", () => {
  const a = new AbortController();
  a.abort("gone");
  const link = new StopSwitch().link(a.signal);
  assert.equal(link.signal.reason, "gone");
  link.release();
});
