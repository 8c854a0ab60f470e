/**
 * An abort controller that also aborts, with its source's reason, when the source signal does: the object
 * itself is the source's listener (`handleEvent`), so following a signal costs no closure or options object per
 * request (the chat request's link to its client, each upstream attempt's link to the request).
 */
export class AbortFollower {
  readonly #ctl = new AbortController();
  /** Aborts when {@link abort} is called or the source aborts (with the source's reason). */
  readonly signal: AbortSignal = this.#ctl.signal;

  /** Follow `source`; aborted at once with `reason` when given, else with the source's if it already aborted. */
  constructor(private readonly source: AbortSignal, reason?: unknown) {
    if (reason !== undefined) this.#ctl.abort(reason);
    else if (source.aborted) this.#ctl.abort(source.reason);
    source.addEventListener("abort", this);
  }

  /** The source aborted. */
  handleEvent(): void {
    this.#ctl.abort(this.source.reason);
  }

  /** Abort now (a no-op once aborted). */
  abort(reason?: unknown): void {
    this.#ctl.abort(reason);
  }

  /** Stop following the source (idempotent). */
  unlink(): void {
    this.source.removeEventListener("abort", this);
  }
}
