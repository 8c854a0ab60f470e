/**
 * The attempt planner (SPEC §5.3, §6, §19): pure decisions of the attempt engine. Which elements can serve a
 * target, the order of (element, key) steps a policy gives, which step to try next given the pools' view of
 * cool-downs and turns, and — when nothing can be tried now — whether to wait and how long, or which error
 * to answer. No clock, no timers, no I/O: time comes in as `now`, pool state through {@link KeyStates}.
 * `dispatch.ts` runs what this decides.
 */
import type { Backend, UpstreamFailure } from "../runner/backend.ts";
import type { KeyEntry } from "../config/load.ts";
import type { ChatRequest } from "../model/request.ts";
import { ProxyError } from "../core/errors.ts";
import type { KeyBlock } from "../state/keys.ts";
import { type Element, parseElement, policyOrder, type Route } from "../state/routes.ts";
import type { Target } from "./target.ts";

/** How a step picks its key. */
export type KeyChoice =
  /** The backend has no keys: the attempt goes without one. */
  | { kind: "keyless" }
  /** The i-th key of this request's rotation order. */
  | { kind: "rotation"; index: number }
  /** The element's first key that is free now (policy `m`). */
  | { kind: "first-free" };

/** One step of the plan: an element (index into {@link Plan.elements}) and how it picks its key. */
export interface Step {
  element: number;
  key: KeyChoice;
}

/** An element with its backend's key rotation for this request (empty for a keyless backend). */
export interface PlannedElement extends Element {
  rotation: readonly KeyEntry[];
}

/** A request's attempt plan: the elements and the order of steps over them. */
export interface Plan {
  elements: readonly PlannedElement[];
  steps: readonly Step[];
}

/** What the planner reads of one backend's key pool (a {@link KeyPool} provides it). */
export interface KeyStates {
  /** What keeps the key from serving the model now, or undefined when it is free. */
  block(label: string, model: string): KeyBlock | undefined;
  /** Whether another attempt holds the turn on the key while it recovers (notes this caller as waiting). */
  busy(label: string, model: string): boolean;
}

/** The pools' view, by backend name (the backend registry provides it). */
export interface PoolsView {
  /** A backend's key pool. */
  pool(backend: string): KeyStates;
}

/** What the planner reads of the backends to choose elements (the backend registry provides it). */
export interface BackendsView {
  /** Every backend name, in registry order (a route's elements name them). */
  names(): readonly string[];
  /** A backend by name. */
  get(name: string): Pick<Backend, "functional" | "problem" | "unsupported"> | undefined;
}

/** The elements that can serve a target, or the error that ends the request before any attempt. */
export type Elements =
  | { ok: true; elements: Element[]; policy: Route["policy"]; route?: string }
  | { ok: false; error: ProxyError; route?: string };

/**
 * The elements of a target: a route's parsed elements in order (a plain model is one element with policy
 * `k`), without those whose backend is not functional or cannot serve this body. A route that does not
 * exist is 404; nothing left is 400 for a plain target its backend refuses, else 503.
 */
export function targetElements(
  target: Target,
  body: ChatRequest,
  backends: BackendsView,
  route: (name: string) => Route | undefined,
): Elements {
  let elements: Element[];
  let policy: Route["policy"] = "k";
  let routeName: string | undefined;
  if (target.kind === "route") {
    const r = route(target.name);
    if (!r) {
      return {
        ok: false,
        error: new ProxyError(
          404,
          "invalid_request_error",
          "model_not_found",
          `Route "${target.name}" does not exist.`,
        ),
      };
    }
    routeName = r.name;
    policy = r.policy;
    const names = backends.names();
    elements = r.elements.map((e) => parseElement(e, names)).filter((e): e is Element => !!e);
  } else {
    elements = [{ backend: target.backend, model: target.model }];
  }

  // Elements a backend cannot serve: a plain target is refused at once, a route skips them.
  const served: Element[] = [];
  let firstWhy: string | undefined;
  for (const el of elements) {
    const b = backends.get(el.backend)!;
    const why = !b.functional() ? `${el.backend} is not available: ${b.problem()}` : b.unsupported?.(body);
    if (!why) served.push(el);
    else firstWhy ??= why;
  }
  elements = served;
  if (!elements.length) {
    const why = firstWhy ?? `Route "${routeName}" has no elements. Add some with route-append.`;
    const unsupported = target.kind === "model" && backends.get(target.backend)!.functional();
    return {
      ok: false,
      route: routeName,
      error: unsupported
        ? new ProxyError(400, "invalid_request_error", "invalid_request", why)
        : new ProxyError(503, "server_error", "backend_unavailable", why),
    };
  }
  return { ok: true, elements, policy, route: routeName };
}

const KEYLESS: KeyChoice = { kind: "keyless" };
const FIRST_FREE: KeyChoice = { kind: "first-free" };

/** The plan of a policy over elements whose rotations are known (SPEC §6); a keyless element counts one key. */
export function planSteps(policy: Route["policy"], elements: readonly PlannedElement[]): Plan {
  const pairs = policyOrder(policy, elements.map((el) => el.rotation.length || 1));
  const steps = pairs.map(({ element, key }): Step => ({
    element,
    key: !elements[element].rotation.length
      ? KEYLESS
      : key === -1
      ? FIRST_FREE
      : { kind: "rotation", index: key },
  }));
  return { elements, steps };
}

/** A step to try now: where it sits in the plan, its element, and its key (undefined when keyless). */
export interface NextStep {
  index: number;
  element: number;
  key: KeyEntry | undefined;
}

/** Free now: not cooling, and not waiting its turn on a key that is recovering from a cool-down. */
function usable(states: KeyStates, key: KeyEntry, model: string): boolean {
  return states.block(key.label, model) === undefined && !states.busy(key.label, model);
}

/**
 * The first step from `from` on that can be tried now: its element is not skipped and its key is free
 * (a keyless step always is). Undefined when the pass has nothing left.
 */
export function nextStep(
  plan: Plan,
  from: number,
  skipped: ReadonlySet<number>,
  pools: PoolsView,
): NextStep | undefined {
  for (let index = from; index < plan.steps.length; index++) {
    const step = plan.steps[index];
    if (skipped.has(step.element)) continue;
    const el = plan.elements[step.element];
    const states = pools.pool(el.backend);
    let key: KeyEntry | undefined;
    if (step.key.kind === "rotation") {
      key = el.rotation[step.key.index];
      if (!usable(states, key, el.model)) continue;
    } else if (step.key.kind === "first-free") {
      key = el.rotation.find((k) => usable(states, k, el.model));
      if (!key) continue;
    }
    return { index, element: step.element, key };
  }
  return undefined;
}

/** The keys of the plan's live steps, as they stand now. */
export interface KeySurvey {
  /** Some key is free now (or a step is keyless). */
  free: boolean;
  /** Some key is recovering and another attempt holds its turn. */
  gated: boolean;
  /** Earliest end of any timed block (rate limit or auth-class cool-down); `Infinity` when none. */
  earliest: number;
  /** Earliest end of a rate-limit block; `Infinity` when none. */
  rateEarliest: number;
  /** Keys out for auth reasons: label → reason. */
  authOut: Map<string, string>;
}

/** Look at every key the plan's live steps could use (skipped elements do not count). */
export function surveyKeys(plan: Plan, skipped: ReadonlySet<number>, pools: PoolsView): KeySurvey {
  const survey: KeySurvey = {
    free: false,
    gated: false,
    earliest: Infinity,
    rateEarliest: Infinity,
    authOut: new Map(),
  };
  for (const step of plan.steps) {
    if (skipped.has(step.element)) continue;
    const el = plan.elements[step.element];
    if (step.key.kind === "keyless") {
      survey.free = true;
      continue;
    }
    const states = pools.pool(el.backend);
    const keys = step.key.kind === "first-free" ? el.rotation : [el.rotation[step.key.index]];
    for (const k of keys) {
      const block = states.block(k.label, el.model);
      if (!block && states.busy(k.label, el.model)) survey.gated = true;
      else if (!block) survey.free = true;
      else if (block.auth) survey.authOut.set(k.label, block.reason);
      else survey.rateEarliest = Math.min(survey.rateEarliest, block.until);
      if (block && block.until !== Infinity) survey.earliest = Math.min(survey.earliest, block.until);
    }
  }
  return survey;
}

/** Where the request stands when a pass has nothing left to try. */
export interface PassEnd {
  now: number;
  /** The request's overall deadline (ms epoch). */
  deadline: number;
  maxWaitMs: number;
  maxAttempts: number;
  /** Attempts made so far. */
  attempts: number;
  /** Attempts made in the pass that just ended. */
  triedThisPass: number;
  /** The last upstream failure, if any. */
  last: UpstreamFailure | undefined;
  /** Since when the request has waited for a turn on a recovering key (undefined: not waiting for one). */
  turnSince: number | undefined;
  /** The target as error messages name it: `route "x"` or `backend:model`. */
  what: string;
}

/** What to do when nothing can be tried now. */
export type Decision =
  /** Sleep up to `ms` (waking early on a turn release when `onRelease`), then plan a new pass. */
  | { kind: "wait"; ms: number; onRelease: boolean; turnSince: number | undefined }
  /** Answer the client with this error. */
  | { kind: "fail"; error: ProxyError };

/** The error of a classified upstream failure, with extra headers. */
export function failureError(f: UpstreamFailure, extraHeaders: Record<string, string> = {}): ProxyError {
  return new ProxyError(f.status, f.type, f.code, f.message, null, { ...f.headers, ...extraHeaders });
}

/** Margin added to a wait for a cool-down, so the key is free when the request looks again. */
export const WAKE_MARGIN_MS = 5;

/**
 * Decide after a pass (SPEC §5.3, §19): wait for a cooling key that frees within `--max-wait` and before the
 * deadline, or for a turn on a recovering key up to `--max-wait`; else 429 `rate_limit_exceeded` with
 * `retry-after` when keys are rate-limited, 502 `upstream_auth_failed` when every key was rejected, or the
 * last failure (502 `upstream_error` when no attempt was made).
 */
export function decide(survey: KeySurvey, end: PassEnd): Decision {
  const { earliest, rateEarliest, free, gated, authOut } = survey;
  const { now, deadline, last, attempts } = end;
  // A rejected key is out of the plan like a rate-limited one: the rest of the plan still counts.
  const movedOn = !last || last.status === 429 || last.code === "upstream_auth_failed";
  const outOfPlan = movedOn || end.triedThisPass === 0;
  const rateLimited = (earliest !== Infinity || gated) && outOfPlan;
  if (rateLimited && attempts < end.maxAttempts) {
    const coolWait = earliest - now <= end.maxWaitMs && earliest < deadline
      ? Math.max(0, earliest - now) + WAKE_MARGIN_MS
      : Infinity;
    const turnSince = gated ? end.turnSince ?? now : undefined;
    const turnWait = turnSince !== undefined ? Math.min(turnSince + end.maxWaitMs, deadline) - now : Infinity;
    if (coolWait !== Infinity || (gated && turnWait > 0)) {
      return { kind: "wait", ms: Math.min(coolWait, turnWait), onRelease: gated, turnSince };
    }
  }
  const outText = [...authOut].map(([label, reason]) => `${label} (${reason})`).join(", ");
  const lastText = last ? ` Last upstream answer: ${last.message}` : "";
  if ((rateEarliest !== Infinity || gated) && outOfPlan) {
    const wait = rateEarliest === Infinity ? 1 : Math.max(1, Math.ceil((rateEarliest - now) / 1000));
    const headers: Record<string, string> = { "retry-after": String(wait) };
    if (wait > 60 || attempts > 1) headers["x-should-retry"] = "false";
    return {
      kind: "fail",
      error: new ProxyError(
        429,
        "rate_limit_error",
        "rate_limit_exceeded",
        `Every key for ${end.what} is rate-limited; the first frees in ${wait} s.${
          authOut.size ? ` Out for auth reasons: ${outText}.` : ""
        }${lastText}`,
        null,
        headers,
      ),
    };
  }
  if (!free && !gated && rateEarliest === Infinity && authOut.size) {
    return {
      kind: "fail",
      error: new ProxyError(
        502,
        "api_error",
        "upstream_auth_failed",
        `Every key for ${end.what} was rejected by the upstream: ${outText}. Replace the key value (env or .env) ` +
          `and restart, or have an admin run the reset-cooldowns command.${lastText}`,
        null,
        { "x-should-retry": "false" },
      ),
    };
  }
  const final = last ?? {
    action: "return",
    status: 502,
    type: "api_error",
    code: "upstream_error",
    message: "No attempt could be made.",
    outcome: "none",
  } satisfies UpstreamFailure;
  return { kind: "fail", error: failureError(final, attempts > 1 ? { "x-should-retry": "false" } : {}) };
}
