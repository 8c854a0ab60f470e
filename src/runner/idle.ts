import { type LiveEntry, LiveList } from "../core/live_list.ts";

/**
 * A watchdog for "no byte for N ms" (SPEC §7 `--timeout`): `touch()` on the hot path costs one clock read, and
 * the watchdogs of one delay share one timer instead of a `setTimeout` each (every upstream attempt has one,
 * and a timer's objects and its clear were a visible share of a short request's own CPU under load; with no
 * other request in flight the shared timer is still armed and cleared once per request). The shared timer is
 * armed for the earliest moment a watchdog could be due; when it fires, the due ones fire and it is armed again
 * for the earliest of the rest, so each fires when its `ms` of silence have passed, as with a timer of its own.
 */
export class IdleTimer {
  /** When it was last touched (ms epoch). */
  last = Date.now();
  #fired = false;
  #onFire: (() => void)[] = [];
  #watch: Watch;
  #entry: LiveEntry<IdleTimer>;

  /** Start watching; `onIdle` runs once if `ms` pass without a `touch()`. */
  constructor(readonly ms: number, private readonly onIdle: () => void) {
    let watch = WATCHES.get(ms);
    if (!watch) WATCHES.set(ms, watch = new Watch(ms));
    this.#watch = watch;
    this.#entry = watch.add(this);
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
    this.last = Date.now();
  }

  /** Stop watching (idempotent). */
  stop(): void {
    this.#watch.delete(this.#entry);
  }

  /** Called by its watch once `ms` have passed since the last touch. */
  fire(): void {
    this.#fired = true;
    this.onIdle();
    for (const fn of this.#onFire) fn();
  }
}

/** Longest delay setTimeout honours (2^31 - 1 ms, about 24.8 days); longer ones fire at once. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** The running watchdogs of one delay and their one timer. */
class Watch {
  /** A {@link LiveList}, not a Set: every upstream attempt joins and leaves it. */
  #timers = new LiveList<IdleTimer>();
  #timer: ReturnType<typeof setTimeout> | undefined;
  /** When the armed timer fires (ms epoch). */
  #at = Infinity;

  constructor(private readonly ms: number) {}

  add(t: IdleTimer): LiveEntry<IdleTimer> {
    const entry = this.#timers.add(t);
    // A new watchdog is due no earlier than any running one could be, unless none is armed.
    if (this.#timer === undefined) this.#arm(t.last + this.ms);
    return entry;
  }

  delete(entry: LiveEntry<IdleTimer>): void {
    this.#timers.remove(entry);
    if (this.#timers.size === 0 && this.#timer !== undefined) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
      this.#at = Infinity;
    }
  }

  #arm(at: number): void {
    this.#at = at;
    this.#timer = setTimeout(() => this.#expire(), Math.min(Math.max(0, at - Date.now()), MAX_TIMER_MS));
  }

  #expire(): void {
    this.#timer = undefined;
    this.#at = Infinity;
    const now = Date.now();
    let next = Infinity;
    this.#timers.forEach((t, entry) => {
      const due = t.last + this.ms;
      if (due <= now) {
        this.#timers.remove(entry);
        t.fire();
      } else if (due < next) next = due;
    });
    // A watchdog added by a callback above armed the timer already (for no later than its own moment).
    if (next !== Infinity && (this.#timer === undefined || next < this.#at)) {
      if (this.#timer !== undefined) clearTimeout(this.#timer);
      this.#arm(next);
    }
  }
}

/** The watches by delay (a changed `--timeout` gets its own). */
const WATCHES = new Map<number, Watch>();
