/**
 * Entries that come and go with requests (requests in flight, upstream watchdogs, shutdown links): O(1) add and
 * remove through the handle {@link LiveList.add} returns, visits in order of addition, and nothing kept of a
 * removed entry.
 *
 * Not a `Set`: V8 rebuilds a Set's hash table as entries are added and deleted, and the table it leaves behind
 * keeps the entries it held and a link to its successor. Once such a table is in the old generation, the
 * entries it points to stay reachable through the next young-generation collections, so the objects of
 * finished requests were promoted instead of dying young (2.2 KB a request for the watchdogs' Set alone;
 * scripts/bench/RESULTS.md, "Set churn"). A removed entry here has its links and value cleared.
 */
export class LiveList<T> {
  #head: LiveEntry<T> | undefined;
  #tail: LiveEntry<T> | undefined;
  #size = 0;

  /** Entries in the list. */
  get size(): number {
    return this.#size;
  }

  /** Add `value` at the end; the entry is the handle to {@link remove} it with. */
  add(value: T): LiveEntry<T> {
    const e = new LiveEntry(value, this.#tail);
    if (this.#tail) this.#tail.next = e;
    else this.#head = e;
    this.#tail = e;
    this.#size++;
    return e;
  }

  /** Remove `e` (a no-op once removed) and clear it. */
  remove(e: LiveEntry<T>): void {
    if (!e.live) return;
    const { prev, next } = e;
    if (prev) prev.next = next;
    else this.#head = next;
    if (next) next.prev = prev;
    else this.#tail = prev;
    e.prev = e.next = e.value = undefined;
    e.live = false;
    this.#size--;
  }

  /** The values, in order of addition. */
  values(): T[] {
    const out: T[] = [];
    for (let e = this.#head; e; e = e.next) out.push(e.value!);
    return out;
  }

  /**
   * Call `fn` with each entry present now, in order of addition, skipping one removed before its turn (as a
   * Set's iteration would); `fn` may add and remove entries (one added meanwhile is not visited).
   */
  forEach(fn: (value: T, entry: LiveEntry<T>) => void): void {
    const entries: LiveEntry<T>[] = [];
    for (let e = this.#head; e; e = e.next) entries.push(e);
    for (const e of entries) if (e.live) fn(e.value!, e);
  }
}

/** One entry of a {@link LiveList}: its handle for removal. */
export class LiveEntry<T> {
  /** False once removed. */
  live = true;
  /** The following entry (undefined at the end and once removed). */
  next: LiveEntry<T> | undefined;

  /** `value`: what the entry holds; `prev`: the entry before it (both cleared on removal). */
  constructor(public value: T | undefined, public prev: LiveEntry<T> | undefined) {}
}
