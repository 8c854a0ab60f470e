/**
 * A concurrency limiter with a bounded FIFO queue (SPEC §3.3: `--gemini-cli-concurrency` running at once,
 * at most 32 waiting). A full queue is answered at once; a waiter whose request is aborted leaves the queue.
 */

/** Gives a running slot back (idempotent). */
export type Release = () => void;

/** Outcome of {@link Limiter.acquire}. */
export type Acquired = { ok: true; release: Release } | { ok: false; reason: "full" | "aborted" };

/** At most `limit` holders at once, `maxWaiting` more in line. */
export class Limiter {
  #running = 0;
  #queue: { grant: () => void }[] = [];

  constructor(readonly limit: number, readonly maxWaiting: number) {}

  /** Holders right now. */
  get running(): number {
    return this.#running;
  }

  /** Waiters right now. */
  get waiting(): number {
    return this.#queue.length;
  }

  #release(): Release {
    let done = false;
    return () => {
      if (done) return;
      done = true;
      const next = this.#queue.shift();
      if (next) next.grant();
      else this.#running--;
    };
  }

  /** Wait for a slot; fails at once when the queue is full, or when `signal` aborts while waiting. */
  acquire(signal: AbortSignal): Promise<Acquired> {
    if (signal.aborted) return Promise.resolve({ ok: false, reason: "aborted" });
    if (this.#running < this.limit) {
      this.#running++;
      return Promise.resolve({ ok: true, release: this.#release() });
    }
    if (this.#queue.length >= this.maxWaiting) return Promise.resolve({ ok: false, reason: "full" });
    return new Promise((resolve) => {
      const entry = {
        grant: () => {
          signal.removeEventListener("abort", onAbort);
          resolve({ ok: true, release: this.#release() });
        },
      };
      const onAbort = () => {
        const i = this.#queue.indexOf(entry);
        if (i >= 0) this.#queue.splice(i, 1);
        resolve({ ok: false, reason: "aborted" });
      };
      signal.addEventListener("abort", onAbort, { once: true });
      this.#queue.push(entry);
    });
  }
}
