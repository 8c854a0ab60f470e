/**
 * Change events without a slot to overwrite: an object that changes state emits to whoever subscribed (the
 * store writes a cool-down through, the metrics count a record), and a second subscriber never silently
 * replaces the first, as a single `onX = …` callback field let it.
 */

/** Subscribers of one kind of event with values of type `T`. */
export class Listeners<T> {
  /**
   * The subscribers in subscription order; replaced, never changed in place, so an `emit` in progress calls
   * those subscribed when it began, and walks a plain array (no iterator per event).
   */
  #fns: readonly ((value: T) => void)[] = [];

  /** Call `fn` with every value emitted from now on (once, however often subscribed); returns the unsubscribe function. */
  subscribe(fn: (value: T) => void): () => void {
    if (!this.#fns.includes(fn)) this.#fns = [...this.#fns, fn];
    return () => void (this.#fns = this.#fns.filter((f) => f !== fn));
  }

  /** Hand `value` to every subscriber, in subscription order. */
  emit(value: T): void {
    const fns = this.#fns;
    for (let i = 0; i < fns.length; i++) fns[i](value);
  }
}
