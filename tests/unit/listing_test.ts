/** The runner's model-listing GET (`getListing`), through a fake upstream client. */
import assert from "node:assert/strict";
import { getListing, listedEntries, ListingFailed } from "../../src/runner/listing.ts";
import type { UpstreamClient, UpstreamResponse } from "../../src/runner/upstream_client.ts";
import { createScrubber, REDACTED } from "../../src/security/scrub.ts";

const KEY = "list-secret-key-0123456789abcdef";

/** A client whose GET answers `status` with `text` (or throws `text` as an error when status is 0). */
function client(status: number, text: string, seen: string[] = []): UpstreamClient {
  return {
    maxBodyBytes: 1024,
    post: () => Promise.reject(new Error("no post here")),
    get(url, req) {
      seen.push(`${url} ${req.headers.authorization}`);
      if (status === 0) return Promise.reject(new TypeError(text));
      const res: UpstreamResponse = {
        status,
        ok: status >= 200 && status < 300,
        headers: new Headers({ "retry-after": "7" }),
        body: new ReadableStream({ start: (c) => c.close() }),
        text: () => Promise.resolve(text),
        discard: () => {},
      };
      return Promise.resolve(res);
    },
    close: () => {},
  };
}

const request = (c: UpstreamClient) => ({
  client: c,
  root: "https://up.test/v1",
  path: "/models?limit=5",
  headers: { authorization: `Bearer ${KEY}` },
  scrub: createScrubber([KEY]),
});
const signal = new AbortController().signal;

Deno.test("listing: a 2xx JSON answer is parsed, from root + path, with the request's headers", async () => {
  const seen: string[] = [];
  const json = await getListing(
    request(client(200, '{"data":[{"id":"a"},{"x":1},{"id":"b","created":3}]}', seen)),
    signal,
  );
  assert.deepEqual(seen, [`https://up.test/v1/models?limit=5 Bearer ${KEY}`]);
  assert.deepEqual(listedEntries(json), [{ id: "a" }, { id: "b", created: 3 }]);
  assert.throws(() => listedEntries({ models: [] }), /GET \/models: no data array/);
});

Deno.test("listing: an error status throws ListingFailed with its status, headers and scrubbed text", async () => {
  const e = await getListing(request(client(401, `{"error":"bad key ${KEY}"}`)), signal).catch((e) => e);
  assert.ok(e instanceof ListingFailed);
  assert.equal(e.message, "GET /models answered 401");
  assert.equal(e.status, 401);
  assert.equal(e.headers.get("retry-after"), "7");
  assert.equal(e.text, `{"error":"bad key ${REDACTED}"}`);
});

Deno.test("listing: a body that is not JSON and a transport failure throw messages without the key", async () => {
  await assert.rejects(
    getListing(request(client(200, `<html>${KEY}</html>`)), signal),
    (e: Error) => e.message === "GET /models answered 200 with a body that is not JSON",
  );
  await assert.rejects(
    getListing(request(client(0, `connection reset while sending ${KEY}`)), signal),
    (e: Error) => e.message === `GET /models failed: connection reset while sending ${REDACTED}`,
  );
});
