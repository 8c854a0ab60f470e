/**
 * Reading an upstream byte stream in chunks that own exactly their bytes. Deno's fetch body is a byte stream
 * whose default reader hands out views of a fresh 64 KiB buffer per read: an SSE event of 150 bytes kept (held
 * before the commit, queued for the client, pending as half an event) pinned 64 KiB off the JS heap until a
 * full GC, which took the process from ~100 MB to ~300 MB RSS under 200 streams (scripts/bench/RESULTS.md).
 * Here a byte stream is read through a BYOB reader into one reused buffer per stream and each chunk is copied
 * out at its own size; another stream (a translation's output) is read as it is.
 */

/** The reader {@link readChunks} returns: `read` and `cancel` as a stream reader's. */
export interface ChunkReader {
  read(): Promise<ReadableStreamReadResult<Uint8Array>>;
  cancel(reason?: unknown): Promise<void>;
}

/** Size of the one buffer a byte stream is read into (the runtime's own read size). */
export const READ_BUFFER_BYTES = 64 * 1024;

/** A reader of `body` whose chunks do not share a larger buffer (see the module doc). */
export function readChunks(body: ReadableStream<Uint8Array>): ChunkReader {
  let byob: ReadableStreamBYOBReader | undefined;
  try {
    byob = body.getReader({ mode: "byob" });
  } catch {
    return body.getReader(); // not a byte stream: its chunks are its own
  }
  const reader = byob;
  let buffer: ArrayBuffer | undefined = new ArrayBuffer(READ_BUFFER_BYTES);
  return {
    async read() {
      // A read cancelled while pending resolves done without handing the buffer back.
      const r = await reader.read(new Uint8Array(buffer ?? new ArrayBuffer(READ_BUFFER_BYTES)));
      buffer = r.value?.buffer as ArrayBuffer | undefined;
      if (r.done) return { done: true, value: undefined };
      return { done: false, value: r.value.slice() };
    },
    cancel: (reason) => reader.cancel(reason),
  };
}
