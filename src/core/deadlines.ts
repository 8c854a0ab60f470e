/**
 * Per-request deadlines without a timer per request. Deadlines with the same delay expire in the order they
 * were added, so one timer, armed for the oldest, serves them all: adding and settling one is a Map write,
 * where a setTimeout/clearTimeout pair per request measurably added to each request's latency
 * (scripts/bench/RESULTS.md).
 */

interface Entry {
  at: number;
  fire: () => void;
}

/** Deadlines that all share one delay (ms). */
class DeadlineQueue {
  #entries = new Map<number, Entry>();
  #next = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;

  constructor(private readonly ms: number) {}

  /** Call `fire` once `ms` from now unless the returned id is settled first. */
  add(fire: () => void): number {
    const id = this.#next++;
    this.#entries.set(id, { at: Date.now() + this.ms, fire });
    // An armed timer fires no later than this entry's deadline (entries only get later), and re-arms.
    if (this.#timer === undefined) this.#arm(this.ms);
    return id;
  }

  /** The deadline no longer matters. */
  settle(id: number): void {
    this.#entries.delete(id);
  }

  /** Drop every deadline and the timer (shutdown). */
  close(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#entries.clear();
  }

  #arm(delay: number): void {
    this.#timer = setTimeout(() => this.#expire(), Math.min(Math.max(0, delay), 2 ** 31 - 1));
  }

  #expire(): void {
    this.#timer = undefined;
    const now = Date.now();
    for (const [id, e] of this.#entries) {
      if (e.at > now) return this.#arm(e.at - now);
      this.#entries.delete(id);
      e.fire();
    }
  }
}

/** Deadline queues by delay (a changed `--timeout` gets a queue of its own, so each stays in order). */
export class Deadlines {
  #queues = new Map<number, DeadlineQueue>();

  /** Call `fire` once `ms` from now unless {@link settle}d first; returns what `settle` needs. */
  add(ms: number, fire: () => void): { ms: number; id: number } {
    let q = this.#queues.get(ms);
    if (!q) this.#queues.set(ms, q = new DeadlineQueue(ms));
    return { ms, id: q.add(fire) };
  }

  /** The deadline no longer matters. */
  settle(d: { ms: number; id: number }): void {
    this.#queues.get(d.ms)?.settle(d.id);
  }

  /** Stop every timer (shutdown). */
  close(): void {
    for (const q of this.#queues.values()) q.close();
    this.#queues.clear();
  }
}
