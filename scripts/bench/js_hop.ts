/**
 * The JS stream hop the benchmarks compare llmproxy with: every chunk of `reader` read into JavaScript and
 * enqueued into one stream of ours, pulled one at a time (what any proxy that looks at a stream after its
 * commit pays at the least; `floor.ts js`, `commit_cost.ts`, `stream_handler_cost.ts`).
 */
export function jsHop(reader: {
  read(): Promise<ReadableStreamReadResult<Uint8Array>>;
  cancel(reason?: unknown): Promise<void>;
}): ReadableStream<Uint8Array> {
  return new ReadableStream<Uint8Array>({
    async pull(c) {
      const r = await reader.read();
      if (r.done) c.close();
      else c.enqueue(r.value);
    },
    cancel: (reason) => reader.cancel(reason),
  }, { highWaterMark: 0 });
}
