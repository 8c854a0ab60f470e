/**
 * The attempt executor (SPEC §5.3, §6, §19): runs the plan of `planner.ts` — one attempt at a time, with
 * the key's turn held while it recovers — applies what each failure teaches the pool, and waits through an
 * injected {@link Clock} when the planner says so, up to `--max-attempts` and the request's deadline.
 */
import type { AttemptResult, AttemptSuccess, UpstreamFailure } from "../runner/backend.ts";
import type { Registry } from "../runner/registry.ts";
import type { KeyEntry } from "../config/load.ts";
import type { ChatRequest } from "../model/request.ts";
import type { NativeRequest } from "../core/protocol.ts";
import { ProxyError } from "../core/errors.ts";
import { type Clock, realClock } from "./clock.ts";
import type { KeyPool } from "../state/keys.ts";
import {
  decide,
  failureError,
  nextStep,
  type Plan,
  type PlannedElement,
  planSteps,
  surveyKeys,
  targetElements,
} from "./planner.ts";
import type { Route } from "../state/routes.ts";
import type { Target } from "./target.ts";
import { log } from "../log/log.ts";

/** One upstream attempt, for usage records and logs. */
export interface AttemptRecord {
  attempt: number;
  element: number;
  backend: string;
  model: string;
  keyLabel?: string;
  /** "ok", an upstream status, or an error class. */
  outcome: string;
  latencyMs: number;
}

/** What the engine reads of the backend registry (a {@link Registry} provides it). */
export type DispatchRegistry = Pick<Registry, "names" | "get" | "pool">;

/** What the engine needs from the running proxy. */
export interface DispatchDeps {
  registry: DispatchRegistry;
  route: (name: string) => Route | undefined;
  maxAttempts: number;
  maxWaitMs: number;
  timeoutMs: number;
  /** Time and sleeping (default: real time). */
  clock?: Clock;
}

/** The engine's answer. */
export type DispatchResult =
  & { attempts: AttemptRecord[]; route?: string }
  & (
    | { ok: true; value: AttemptSuccess; backend: string; model: string; key?: KeyEntry }
    | { ok: false; error: ProxyError }
  );

/** No element skipped (the usual case: a set is made at the first skip). */
const NONE_SKIPPED: ReadonlySet<number> = new Set();

function clientClosed(): ProxyError {
  return new ProxyError(499, "invalid_request_error", "client_closed", "The client closed the request.");
}

/** Sleep for `ms`, or less when the signal aborts or a `wake` promise settles (the caller looks again). */
async function wait(clock: Clock, ms: number, signal: AbortSignal, wake: Promise<void>[]): Promise<void> {
  if (!wake.length) return await clock.sleep(ms, signal);
  const early = new AbortController();
  const stop = () => early.abort();
  signal.addEventListener("abort", stop, { once: true });
  for (const w of wake) w.then(stop);
  try {
    await clock.sleep(ms, early.signal);
  } finally {
    signal.removeEventListener("abort", stop);
  }
}

/** Apply what a failure teaches the pool: a rejected key is disabled, a limited one cools (SPEC §5.2). */
function learn(pool: KeyPool, backend: string, model: string, key: KeyEntry, failure: UpstreamFailure): void {
  const c = failure.cooldown;
  if (!c) return;
  if (c.disable) {
    pool.disable(key.label, c.reason);
    log.warn(
      "{backend} key {key} is disabled until its value changes or an admin runs reset-cooldowns ({reason})",
      { backend, key: key.label, reason: c.reason },
    );
  } else {
    const r = pool.cool(key.label, model, c);
    const level = c.scope === "key" || c.auth ? "warn" : "info";
    log[level]("{backend} key {key} cools until {until} ({reason})", {
      backend,
      key: key.label,
      until: new Date(r.until).toISOString(),
      reason: r.reason,
    });
  }
}

/**
 * The attempt plan of a target for this request (or the error that ends it before any attempt): its elements,
 * each with this request's key rotation — one per backend, so round-robin advances once and the elements of
 * a backend share it.
 */
function planRequest(
  target: Target,
  body: ChatRequest,
  deps: DispatchDeps,
): { ok: true; plan: Plan; route?: string } | { ok: false; error: ProxyError; route?: string } {
  const chosen = targetElements(target, body, deps.registry, deps.route);
  if (!chosen.ok) return chosen;
  const planned: PlannedElement[] = [];
  for (const { backend, model } of chosen.elements) {
    const rotation = planned.find((p) => p.backend === backend)?.rotation ??
      deps.registry.pool(backend).rotation();
    planned.push({ backend, model, rotation });
  }
  return { ok: true, plan: planSteps(chosen.policy, planned), route: chosen.route };
}

/** Run the attempt plan for a target (`native`: the client's own body, for a provider of its protocol). */
export async function dispatch(
  target: Target,
  body: ChatRequest,
  stream: boolean,
  signal: AbortSignal,
  deps: DispatchDeps,
  native?: NativeRequest,
): Promise<DispatchResult> {
  const { registry } = deps;
  const clock = deps.clock ?? realClock;
  const planned = planRequest(target, body, deps);
  if (!planned.ok) return { ok: false, attempts: [], route: planned.route, error: planned.error };
  const { plan, route: routeName } = planned;

  const attempts: AttemptRecord[] = [];
  const deadline = clock.now() + 3 * deps.timeoutMs + deps.maxWaitMs;
  /** Elements out of this request (a failure that moves on to the next element); made at the first. */
  let skipped: Set<number> | undefined;
  let last: UpstreamFailure | undefined;
  /** Since when this request has waited for a turn on a free key (bounded by --max-wait, like a cool-down). */
  let turnSince: number | undefined;

  for (;;) {
    let triedThisPass = 0;
    for (let from = 0;;) {
      if (attempts.length >= deps.maxAttempts || clock.now() >= deadline) break;
      const step = nextStep(plan, from, skipped ?? NONE_SKIPPED, registry);
      if (!step) break;
      from = step.index + 1;
      const el = plan.elements[step.element];
      const key = step.key;
      triedThisPass++;
      turnSince = undefined;
      const pool = registry.pool(el.backend);
      if (key) pool.reserve(key.label, el.model);
      const turnDone = key ? pool.take(key.label, el.model) : undefined;
      const started = clock.now();
      let result: AttemptResult | undefined;
      try {
        result = await registry.get(el.backend)!.attempt({
          body,
          model: el.model,
          key,
          stream,
          signal,
          timeoutMs: deps.timeoutMs,
          deadline,
          native,
        });
      } finally {
        if (!result) turnDone?.(false);
      }
      attempts.push({
        attempt: attempts.length + 1,
        element: step.element,
        backend: el.backend,
        model: el.model,
        keyLabel: key?.label,
        outcome: result.ok ? "ok" : result.failure.outcome,
        latencyMs: clock.now() - started,
      });
      if (result.ok) {
        if (key) {
          pool.succeeded(key.label, el.model);
          const rl = result.value.rateLimit;
          if (rl) pool.note(key.label, el.model, rl.remaining, rl.resetMs);
        }
        turnDone?.(true);
        return {
          ok: true,
          value: result.value,
          backend: el.backend,
          model: el.model,
          key,
          attempts,
          route: routeName,
        };
      }
      if (signal.aborted) {
        turnDone?.(false);
        return { ok: false, error: clientClosed(), attempts, route: routeName };
      }
      last = result.failure;
      if (key) learn(pool, el.backend, el.model, key, last);
      turnDone?.(false); // after any new cool-down, so the woken waiters see it
      if (last.action === "return") {
        return { ok: false, error: failureError(last), attempts, route: routeName };
      }
      if (last.action === "next-element") (skipped ??= new Set()).add(step.element);
    }

    // Nothing left to try now: the planner says wait (for a cooling key, or a turn on a recovering one) or
    // answer.
    const decision = decide(surveyKeys(plan, skipped ?? NONE_SKIPPED, registry), {
      now: clock.now(),
      deadline,
      maxWaitMs: deps.maxWaitMs,
      maxAttempts: deps.maxAttempts,
      attempts: attempts.length,
      triedThisPass,
      last,
      turnSince,
      what: target.kind === "route"
        ? `route "${routeName}"`
        : `${plan.elements[0].backend}:${plan.elements[0].model}`,
    });
    if (decision.kind === "fail") return { ok: false, error: decision.error, attempts, route: routeName };
    turnSince = decision.turnSince;
    const wake = decision.onRelease
      ? [...new Set(plan.elements.map((el) => el.backend))].map((b) => registry.pool(b).changed())
      : [];
    await wait(clock, decision.ms, signal, wake);
    if (signal.aborted) return { ok: false, error: clientClosed(), attempts, route: routeName };
  }
}
