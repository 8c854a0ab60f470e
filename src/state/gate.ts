/**
 * Herd control (SPEC §19): when a key's cool-down ends, the requests that waited for it must not all fire
 * in the same millisecond. While a key is recovering, one attempt at a time holds its turn; the others
 * wait for a release. A success that nobody else wanted opens the key to everyone again; a 429 cools it
 * again and the rest keep waiting. Ids are opaque strings (the pool's cool-down ids); no clock needed.
 */

/** Turns on recovering keys, and a wake-up for requests waiting for one. */
export class KeyGate {
  #busy = new Set<string>();
  /** Ids that someone wanted while they were busy: their next success does not open them yet. */
  #contended = new Set<string>();
  #wake = Promise.withResolvers<void>();

  /** Whether any of these ids is held by another attempt (and note that this caller is waiting for it). */
  busy(ids: readonly string[]): boolean {
    let busy = false;
    for (const id of ids) {
      if (!this.#busy.has(id)) continue;
      busy = true;
      this.#contended.add(id);
    }
    return busy;
  }

  /** Hold these ids for one attempt. */
  enter(ids: readonly string[]): void {
    for (const id of ids) this.#busy.add(id);
  }

  /**
   * The attempt ended: release its ids and wake the waiters. Returns the ids that may open (the attempt
   * succeeded and nobody asked for them meanwhile).
   */
  leave(ids: readonly string[], ok: boolean): string[] {
    const open: string[] = [];
    for (const id of ids) {
      this.#busy.delete(id);
      if (ok && !this.#contended.has(id)) open.push(id);
      this.#contended.delete(id);
    }
    this.wakeAll();
    return open;
  }

  /** Resolves at the next release (or reset): a waiter then looks again. */
  changed(): Promise<void> {
    return this.#wake.promise;
  }

  /** Wake every waiter. */
  wakeAll(): void {
    this.#wake.resolve();
    this.#wake = Promise.withResolvers<void>();
  }
}
