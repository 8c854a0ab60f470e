/**
 * Change events without a slot to overwrite: an object that changes state emits to whoever subscribed (the
 * store writes a cool-down through, the metrics count a record), and a second subscriber never silently
 * replaces the first, as a single `onX = …` callback field let it.
 */

/** Subscribers of one kind of event with values of type `T`. */
export class Listeners<T> {
  #fns = new Set<(value: T) => void>();

  /** Call `fn` with every value emitted from now on; returns the unsubscribe function. */
  subscribe(fn: (value: T) => void): () => void {
    this.#fns.add(fn);
    return () => void this.#fns.delete(fn);
  }

  /** Hand `value` to every subscriber, in subscription order. */
  emit(value: T): void {
    for (const fn of this.#fns) fn(value);
  }
}
