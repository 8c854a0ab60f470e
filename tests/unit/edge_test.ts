import assert from "node:assert/strict";
import { serveEdge } from "../../src/server/edge.ts";

const opts = {
  hostname: "127.0.0.1",
  port: 0,
  headTimeoutMs: 60_000,
  onError: () => new Response("x", { status: 500 }),
};

for (const fallback of [false, true]) {
  Deno.test(`the edge serves and closes (${fallback ? "Deno.serve fallback" : "own accept loop"})`, async () => {
    const edge = serveEdge(opts, () => Promise.resolve(new Response("hello")), fallback ? null : undefined);
    try {
      const res = await fetch(`http://127.0.0.1:${edge.addr.port}/`);
      assert.equal(await res.text(), "hello");
    } finally {
      await edge.close(1_000);
    }
    await assert.rejects(fetch(`http://127.0.0.1:${edge.addr.port}/`), "no longer listening");
  });
}

Deno.test("close: a request still running after the grace triggers onExpired, and the answer it then gives is still sent", async () => {
  const { promise: started, resolve: onStart } = Promise.withResolvers<void>();
  const { promise: release, resolve: doRelease } = Promise.withResolvers<Response>();
  const edge = serveEdge(opts, () => {
    onStart();
    return release;
  });
  const res = fetch(`http://127.0.0.1:${edge.addr.port}/`).then((r) => r.text(), (e) => `error ${e.name}`);
  await started;
  let expired = false;
  await edge.close(50, () => {
    expired = true;
    doRelease(new Response("ended", { status: 503 }));
  });
  assert.ok(expired);
  assert.equal(await res, "ended");
});
