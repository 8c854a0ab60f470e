/**
 * What is left of an upstream's stream after its answer ended (Chat's `[DONE]`, Anthropic's `message_stop`):
 * read to its end rather than cancelled, since cancelling aborts the upstream request and costs its kept-alive
 * connection — but only for a short grace, so an upstream that goes on sending keep-alives after its answer
 * cannot hold its request, and the proxy's record of it, open for ever.
 */

/** How long an upstream may go on after the answer's end before its stream is cancelled. */
export const PAST_END_GRACE_MS = 1000;

/** What {@link readPastEnd} reads: a stream reader's `read` and `cancel`. */
export interface PastEndReader {
  read(): Promise<{ done: boolean }>;
  cancel(reason?: unknown): Promise<void>;
}

/** Read `reader` to its end, ignoring what it says; cancel it if it has not ended within `graceMs`. */
export async function readPastEnd(
  reader: PastEndReader,
  graceMs = PAST_END_GRACE_MS,
): Promise<void> {
  const timer = setTimeout(() => void reader.cancel().catch(() => {}), graceMs);
  try {
    while (!(await reader.read()).done) { /* past the answer's end */ }
  } catch {
    /* the upstream failed after the answer ended: nothing to tell */
  } finally {
    clearTimeout(timer);
  }
}
