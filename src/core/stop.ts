/**
 * Ending in-flight upstream work at shutdown (SPEC §19): each chat request links its client's abort signal
 * here for as long as its upstream work runs; {@link StopSwitch.stop} aborts every linked request with
 * {@link SHUTDOWN}, so waits end, streams end with an error event and records are written before the flush.
 * A link is an AbortController and a Set entry, not `AbortSignal.any` (measured ~0.4 µs against ~3 µs).
 */

/** The abort reason of work ended by shutdown. */
export const SHUTDOWN = new DOMException("The proxy is shutting down.", "AbortError");

/** A request's link: the signal its upstream work watches, and the call that ends the link. */
export interface StopLink {
  signal: AbortSignal;
  release: () => void;
}

/** Aborts every linked request at once (shutdown after the grace period). */
export class StopSwitch {
  #live = new Set<AbortController>();
  #stopped = false;

  /** A signal that aborts when `client` does or when the proxy stops; `release` it when the work is over. */
  link(client: AbortSignal): StopLink {
    const ctl = new AbortController();
    if (this.#stopped) ctl.abort(SHUTDOWN);
    else if (client.aborted) ctl.abort(client.reason);
    const onAbort = () => ctl.abort(client.reason);
    client.addEventListener("abort", onAbort, { once: true });
    this.#live.add(ctl);
    return {
      signal: ctl.signal,
      release: () => {
        this.#live.delete(ctl);
        client.removeEventListener("abort", onAbort);
      },
    };
  }

  /** True once {@link stop} ran. */
  get stopped(): boolean {
    return this.#stopped;
  }

  /** Requests still linked. */
  get size(): number {
    return this.#live.size;
  }

  /** Abort every linked request (and any linked later) with {@link SHUTDOWN}. */
  stop(): void {
    this.#stopped = true;
    for (const ctl of this.#live) ctl.abort(SHUTDOWN);
  }
}
