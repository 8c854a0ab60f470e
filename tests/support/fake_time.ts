/**
 * A fake clock for code that reads `Date.now()` and arms `setTimeout`: while installed, time moves only by
 * {@link FakeTime.tick}, which runs the due timers in order (synchronously) as it passes their times.
 */
export class FakeTime {
  now = 0;
  #timers = new Map<number, { at: number; fn: () => void }>();
  #next = 1;
  #real = { setTimeout, clearTimeout, now: Date.now };

  constructor(start = 1_700_000_000_000) {
    this.now = start;
    globalThis.setTimeout = ((fn: () => void, ms = 0) => {
      const id = this.#next++;
      this.#timers.set(id, { at: this.now + Math.max(0, ms), fn });
      return id;
    }) as unknown as typeof setTimeout;
    globalThis.clearTimeout =
      ((id?: number) => void this.#timers.delete(id!)) as unknown as typeof clearTimeout;
    Date.now = () => this.now;
  }

  /** Timers armed and not yet fired or cleared. */
  get pending(): number {
    return this.#timers.size;
  }

  /** Move time forward by `ms`, firing each timer at its own time. */
  tick(ms: number): void {
    const end = this.now + ms;
    for (;;) {
      const due = [...this.#timers].filter(([, t]) =>
        t.at <= end
      ).sort(([a, x], [b, y]) => x.at - y.at || a - b)[0];
      if (!due) break;
      this.#timers.delete(due[0]);
      this.now = Math.max(this.now, due[1].at);
      due[1].fn();
    }
    this.now = end;
  }

  /** Put the real timers and clock back. */
  restore(): void {
    globalThis.setTimeout = this.#real.setTimeout;
    globalThis.clearTimeout = this.#real.clearTimeout;
    Date.now = this.#real.now;
  }
}
