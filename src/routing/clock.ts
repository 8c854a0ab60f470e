/**
 * Time as the attempt engine sees it: injected so tests drive waits and deadlines without sleeping.
 */
import { MAX_TIMER_MS } from "../runner/idle.ts";

/** A clock: the time now (ms epoch) and a sleep that ends early when the signal aborts. */
export interface Clock {
  now(): number;
  /** Resolve after `ms`, or as soon as `signal` aborts (never rejects). */
  sleep(ms: number, signal: AbortSignal): Promise<void>;
}

/** Real time: `Date.now` and `setTimeout` (a sleep longer than a timer allows ends at the cap). */
export const realClock: Clock = {
  now: () => Date.now(),
  sleep(ms, signal) {
    return new Promise((resolve) => {
      if (signal.aborted) return resolve();
      const t = setTimeout(done, Math.min(ms, MAX_TIMER_MS)); // the caller loops if it woke early
      function done() {
        clearTimeout(t);
        signal.removeEventListener("abort", done);
        resolve();
      }
      signal.addEventListener("abort", done, { once: true });
    });
  },
};
