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
