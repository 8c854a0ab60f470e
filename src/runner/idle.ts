/**
 * A watchdog for "no byte for N ms" (SPEC §7 `--timeout`): one lazily re-armed timer per stream instead
 * of a timer per chunk, so `touch()` on the hot path costs one clock read.
 */
export class IdleTimer {
  #last = Date.now();
  #timer: ReturnType<typeof setTimeout> | undefined;
  #fired = false;
  #onFire: (() => void)[] = [];

  /** Start watching; `onIdle` runs once if `ms` pass without a `touch()`. */
  constructor(private readonly ms: number, private readonly onIdle: () => void) {
    this.#arm(ms);
  }

  /** True once the timer has fired. */
  get fired(): boolean {
    return this.#fired;
  }

  /** Also run `fn` when the timer fires (e.g. cancel a read that an aborted fetch might never end). */
  onFire(fn: () => void): void {
    this.#onFire.push(fn);
  }

  /** Record activity. */
  touch(): void {
    this.#last = Date.now();
  }

  /** Stop watching (idempotent). */
  stop(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #arm(delay: number): void {
    this.#timer = setTimeout(() => {
      const idle = Date.now() - this.#last;
      if (idle >= this.ms) {
        this.#timer = undefined;
        this.#fired = true;
        this.onIdle();
        for (const fn of this.#onFire) fn();
      } else this.#arm(this.ms - idle);
    }, Math.min(delay, MAX_TIMER_MS));
  }
}

/** Longest delay setTimeout honours (2^31 - 1 ms, about 24.8 days); longer ones fire at once. */
export const MAX_TIMER_MS = 2 ** 31 - 1;
