import assert from "node:assert/strict";
import { readChunks } from "../../src/runner/chunk_reader.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

/** A local server whose answer is the stream `body()` makes; `fetch` its answer. */
async function withServer(
  body: () => ReadableStream<Uint8Array>,
  fn: (res: Response) => Promise<void>,
): Promise<void> {
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    () => new Response(body()),
  );
  try {
    await fn(await fetch(`http://127.0.0.1:${server.addr.port}/`));
  } finally {
    await server.shutdown();
  }
}

Deno.test("readChunks: a fetch body's chunks own exactly their bytes (no 64 KiB buffer pinned per event)", async () => {
  const events = ['data: {"n":1}\n\n', 'data: {"n":2}\n\n', "data: [DONE]\n\n"];
  let sent = 0;
  await withServer(
    () =>
      new ReadableStream({
        pull(c) {
          if (sent === events.length) return c.close();
          c.enqueue(enc.encode(events[sent++]));
        },
      }),
    async (res) => {
      const reader = readChunks(res.body!);
      const got: string[] = [];
      for (;;) {
        const r = await reader.read();
        if (r.done) break;
        assert.equal(
          r.value.buffer.byteLength,
          r.value.byteLength,
          "the chunk is not a view of a larger buffer",
        );
        got.push(dec.decode(r.value));
      }
      assert.equal(got.join(""), events.join(""));
    },
  );
});

Deno.test("readChunks: a cancel ends a pending read", async () => {
  const { promise: reading, resolve } = Promise.withResolvers<void>();
  await withServer(
    () =>
      new ReadableStream({
        start(c) {
          c.enqueue(enc.encode("data: {}\n\n"));
        },
        pull: () => reading, // nothing more until the client has cancelled
      }),
    async (res) => {
      const reader = readChunks(res.body!);
      assert.equal(dec.decode((await reader.read()).value), "data: {}\n\n");
      const pending = reader.read();
      await reader.cancel();
      assert.equal((await pending).done, true);
      resolve();
    },
  );
});

Deno.test("readChunks: a stream that is not a byte stream is read as it is", async () => {
  const chunk = new Uint8Array(new ArrayBuffer(16), 4, 4);
  const reader = readChunks(new ReadableStream({ start: (c) => (c.enqueue(chunk), c.close()) }));
  assert.equal((await reader.read()).value, chunk);
  assert.equal((await reader.read()).done, true);
});

Deno.test("readChunks: a fetch answer is read through its resource on this Deno (not the stream machinery)", async () => {
  await withServer(
    () => new ReadableStream({ start: (c) => (c.enqueue(enc.encode("x")), c.close()) }),
    async (res) => {
      const reader = readChunks(res.body!);
      assert.equal(reader.via, "resource", "Deno's internals changed: the BYOB fallback is in use");
      assert.equal(res.body!.locked, true, "nobody else may read the stream");
      assert.equal(dec.decode((await reader.read()).value), "x");
      assert.equal((await reader.read()).done, true);
      assert.equal((await reader.read()).done, true, "reading past the end stays done");
    },
  );
});

Deno.test("readChunks: a fetch aborted with a reason rejects a pending read with that reason", async () => {
  const { promise: reading, resolve } = Promise.withResolvers<void>();
  await withServer(
    () =>
      new ReadableStream({
        start: (c) => c.enqueue(enc.encode("a")),
        pull: () => reading,
      }),
    async (res0) => {
      res0.body!.cancel();
      const ctl = new AbortController();
      const res = await fetch(res0.url, { signal: ctl.signal });
      const reader = readChunks(res.body!);
      assert.equal(dec.decode((await reader.read()).value), "a");
      const pending = reader.read();
      ctl.abort(new DOMException("the proxy is shutting down", "AbortError"));
      await assert.rejects(pending, (e: Error) => e.name === "AbortError" && /shutting down/.test(e.message));
      resolve();
    },
  );
});

Deno.test("readChunks: a body someone already read from is read through its stream", async () => {
  await withServer(
    () => new ReadableStream({ start: (c) => (c.enqueue(enc.encode("abc")), c.close()) }),
    async (res) => {
      const first = res.body!.getReader();
      await first.read();
      first.releaseLock();
      const reader = readChunks(res.body!);
      assert.notEqual(reader.via, "resource");
      await reader.cancel();
    },
  );
});

Deno.test("readChunks: a byte stream without a runtime resource (the fallback) is read through BYOB, each chunk its own bytes, a cancel ending a pending read", async () => {
  const { promise: held, resolve } = Promise.withResolvers<void>();
  let sent = 0;
  const body = new ReadableStream({
    type: "bytes",
    async pull(c: ReadableByteStreamController) {
      if (sent++ === 0) return c.enqueue(enc.encode("data: {}\n\n"));
      await held; // nothing more until the reader has cancelled
      c.close();
      c.byobRequest?.respond(0);
    },
  });
  const reader = readChunks(body);
  assert.equal(reader.via, "byob");
  const first = await reader.read();
  assert.equal(dec.decode(first.value), "data: {}\n\n");
  assert.equal(first.value!.buffer.byteLength, first.value!.byteLength, "not a view of the read buffer");
  const pending = reader.read();
  await reader.cancel();
  assert.equal((await pending).done, true);
  resolve();
});
