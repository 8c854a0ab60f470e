/**
 * Reading an upstream byte stream in chunks that own exactly their bytes, as cheaply as the runtime allows.
 *
 * Deno's fetch body is a byte stream whose default reader hands out views of a fresh 64 KiB buffer per read:
 * an SSE event of 150 bytes kept (held before the commit, queued for the client, pending as half an event)
 * pinned 64 KiB off the JS heap until a full GC, which took the process from ~100 MB to ~300 MB RSS under 200
 * streams (scripts/bench/RESULTS.md). So each chunk is copied out at its own size from one reused buffer.
 *
 * Where the body is backed by a runtime resource (a fetch answer), the resource is read directly, one read op
 * per chunk, without the Web-stream byte-controller machinery in between (BYOB pull-into, respond, the
 * descriptor queue): the stream stays locked by us, so nothing else reads it, and cancelling it closes the
 * resource as before. That machinery was the largest JS cost of a post-commit pass-through (issue 19; in the
 * bench's JS-hop floor it halved a new stream's first byte under 200 running ones). It rests on two runtime
 * internals — `Deno[Deno.internal].core.read` and the stream's `[[resourceBacking]]` slot — and falls back
 * to a BYOB reader when either is missing; `tests/unit/chunk_reader_test.ts` says which path this Deno takes.
 * Another stream (a translation's output) is read as it is.
 */

/** The reader {@link readChunks} returns: `read` and `cancel` as a stream reader's. */
export interface ChunkReader {
  read(): Promise<ReadableStreamReadResult<Uint8Array>>;
  cancel(reason?: unknown): Promise<void>;
  /** How the stream is read: its runtime resource directly, a BYOB reader, or its own reader. */
  readonly via: "resource" | "byob" | "stream";
}

/** Size of the one buffer a byte stream is read into through a BYOB reader (the runtime's own read size). */
export const READ_BUFFER_BYTES = 64 * 1024;

/**
 * Size of a buffer a resource is read into. A read returns what has arrived, up to this; a larger SSE event
 * simply takes several reads (the event buffer joins them), and 200 pending reads hold 3 MiB, not 12.
 */
export const RESOURCE_BUFFER_BYTES = 16 * 1024;

const DONE: ReadableStreamReadResult<Uint8Array> = { done: true, value: undefined };

/**
 * Read buffers not in use: a buffer is needed only while a read is pending, so streams take one per read and
 * give it back when the read settles, instead of each stream allocating its own (off-heap memory V8's GC
 * heuristics count). At most {@link SPARE_BUFFERS} are kept.
 */
const spare: Uint8Array[] = [];
const SPARE_BUFFERS = 256;

/** The runtime's read op on a resource id, if this Deno exposes it. */
type ReadOp = (rid: number, buf: Uint8Array) => Promise<number>;

const readOp: ReadOp | undefined = (() => {
  const d = Deno as unknown as
    & { internal?: symbol }
    & Record<symbol, { core?: { read?: unknown } } | undefined>;
  const read = d.internal ? d[d.internal]?.core?.read : undefined;
  return typeof read === "function" ? read as ReadOp : undefined;
})();

/** The runtime resource behind `body` (a fetch answer's), if it has one and nothing has read it yet. */
function resourceOf(body: ReadableStream<Uint8Array>): number | undefined {
  if (!readOp || body.locked) return undefined;
  const slots = body as unknown as Record<symbol, unknown>;
  let rid: number | undefined;
  let disturbed = true;
  for (const s of Object.getOwnPropertySymbols(body)) {
    if (s.description === "[[resourceBacking]]") {
      const backing = slots[s] as { rid?: unknown } | undefined;
      if (typeof backing?.rid === "number") rid = backing.rid;
    } else if (s.description === "[[disturbed]]") disturbed = slots[s] !== false;
  }
  return disturbed ? undefined : rid;
}

/** A reader of `body` whose chunks do not share a larger buffer (see the module doc). */
export function readChunks(body: ReadableStream<Uint8Array>): ChunkReader {
  const rid = resourceOf(body);
  if (rid !== undefined) return readResource(body, rid, readOp!);
  let byob: ReadableStreamBYOBReader | undefined;
  try {
    byob = body.getReader({ mode: "byob" });
  } catch {
    const own = body.getReader(); // not a byte stream: its chunks are its own
    return { read: () => own.read(), cancel: (reason) => own.cancel(reason), via: "stream" };
  }
  const reader = byob;
  let buffer: ArrayBuffer | undefined = new ArrayBuffer(READ_BUFFER_BYTES);
  return {
    async read() {
      // A read cancelled while pending resolves done without handing the buffer back.
      const r = await reader.read(new Uint8Array(buffer ?? new ArrayBuffer(READ_BUFFER_BYTES)));
      buffer = r.value?.buffer as ArrayBuffer | undefined;
      if (r.done) return DONE;
      return { done: false, value: r.value.slice() };
    },
    cancel: (reason) => reader.cancel(reason),
    via: "byob",
  };
}

/**
 * Read the resource `rid` behind `body` directly. The stream is locked by us (nobody else reads it) and kept
 * reachable through its reader (its finalizer would close the resource under us); cancelling it closes the resource, which ends a pending
 * read. Behaves as the BYOB reader does: a read pending when we cancel resolves done; when the stream was
 * errored (the fetch aborted with a reason), a read rejects with that reason; a read that fails (the
 * connection broke) closes the resource, as the stream's own pull does.
 */
function readResource(body: ReadableStream<Uint8Array>, rid: number, read: ReadOp): ChunkReader {
  const reader = body.getReader();
  let stored: unknown;
  reader.closed.catch((e) => (stored = e));
  let ended = false;
  return {
    async read() {
      if (ended) return DONE;
      const buffer = spare.pop() ?? new Uint8Array(RESOURCE_BUFFER_BYTES);
      let n: number;
      try {
        n = await read(rid, buffer);
      } catch (e) {
        if (ended) return DONE;
        ended = true;
        // As the stream itself does on a failed read: release the resource now (nobody reads it after this,
        // and a caller that sees the read fail need not cancel), not at the next GC.
        reader.cancel().catch(() => {});
        throw stored ?? e;
      } finally {
        // The read has settled, so nothing writes the buffer now; its bytes are copied out below, before
        // anything else can run and take it.
        if (spare.length < SPARE_BUFFERS) spare.push(buffer);
      }
      if (ended) return DONE;
      if (n === 0) {
        ended = true;
        reader.cancel().catch(() => {}); // the resource is at its end: release it now, not at the next GC
        return DONE;
      }
      return { done: false, value: buffer.slice(0, n) };
    },
    cancel(reason) {
      ended = true;
      return reader.cancel(reason);
    },
    via: "resource",
  };
}
