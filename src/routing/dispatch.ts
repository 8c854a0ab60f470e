/**
 * The attempt engine (SPEC §5.3, §6): expands a target into (backend, model, key) attempts in policy and
 * rotation order, skips cooling pairs, applies what each failure teaches the pool, waits for a key up to
 * `--max-wait`, and stops at `--max-attempts` or the deadline.
 */
import type { AttemptResult, AttemptSuccess, Backend, UpstreamFailure } from "../backends/backend.ts";
import type { Registry } from "../backends/registry.ts";
import type { KeyEntry } from "../config/load.ts";
import type { ChatRequest } from "../openai/types.ts";
import { ProxyError } from "../core/errors.ts";
import { MAX_TIMER_MS } from "../backends/idle.ts";
import { type Element, parseElement, policyOrder, type Route } from "./routes.ts";
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

/** What the engine needs from the running proxy. */
export interface DispatchDeps {
  registry: Registry;
  route: (name: string) => Route | undefined;
  maxAttempts: number;
  maxWaitMs: number;
  timeoutMs: number;
}

/** The engine's answer. */
export type DispatchResult =
  & { attempts: AttemptRecord[]; route?: string }
  & (
    | { ok: true; value: AttemptSuccess; backend: string; model: string; key?: KeyEntry }
    | { ok: false; error: ProxyError }
  );

/** Sleep for `ms`, or less when the signal aborts or a `wake` promise settles (the caller looks again). */
function sleep(ms: number, signal: AbortSignal, wake: Promise<void>[] = []): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(done, Math.min(ms, MAX_TIMER_MS)); // the caller loops if it woke early
    function done() {
      clearTimeout(t);
      signal.removeEventListener("abort", done);
      resolve();
    }
    signal.addEventListener("abort", done, { once: true });
    for (const w of wake) w.then(done);
  });
}

function failureError(f: UpstreamFailure, extraHeaders: Record<string, string> = {}): ProxyError {
  return new ProxyError(f.status, f.type, f.code, f.message, null, { ...f.headers, ...extraHeaders });
}

function clientClosed(): ProxyError {
  return new ProxyError(499, "invalid_request_error", "client_closed", "The client closed the request.");
}

/** Run the attempt plan for a target. */
export async function dispatch(
  target: Target,
  body: ChatRequest,
  stream: boolean,
  signal: AbortSignal,
  deps: DispatchDeps,
): Promise<DispatchResult> {
  const { registry } = deps;
  const names = registry.names();
  let elements: Element[];
  let policy: Route["policy"] = "k";
  let routeName: string | undefined;
  if (target.kind === "route") {
    const route = deps.route(target.name);
    if (!route) {
      return {
        ok: false,
        attempts: [],
        error: new ProxyError(
          404,
          "invalid_request_error",
          "model_not_found",
          `Route "${target.name}" does not exist.`,
        ),
      };
    }
    routeName = route.name;
    policy = route.policy;
    elements = route.elements.map((e) => parseElement(e, names)).filter((e): e is Element => !!e);
  } else {
    elements = [{ backend: target.backend, model: target.model }];
  }

  // Elements a backend cannot serve: a plain target is refused at once, a route skips them.
  const skipReasons: string[] = [];
  elements = elements.filter((el) => {
    const b = registry.get(el.backend)!;
    const why = !b.functional() ? `${el.backend} is not available: ${b.problem()}` : b.unsupported?.(body);
    if (why) skipReasons.push(why);
    return !why;
  });
  if (!elements.length) {
    const why = skipReasons[0] ?? `Route "${routeName}" has no elements. Add some with route-append.`;
    const unsupported = target.kind === "model" && registry.get(target.backend)!.functional();
    return {
      ok: false,
      attempts: [],
      route: routeName,
      error: unsupported
        ? new ProxyError(400, "invalid_request_error", "invalid_request", why)
        : new ProxyError(503, "server_error", "backend_unavailable", why),
    };
  }

  const rotations = new Map<string, (KeyEntry | undefined)[]>();
  for (const el of elements) {
    if (rotations.has(el.backend)) continue;
    const r = registry.pool(el.backend).rotation();
    rotations.set(el.backend, registry.get(el.backend)!.keys.length ? r : [undefined]);
  }
  const pairs = policyOrder(policy, elements.map((el) => rotations.get(el.backend)!.length));

  const attempts: AttemptRecord[] = [];
  const deadline = Date.now() + 3 * deps.timeoutMs + deps.maxWaitMs;
  const skipped = new Set<number>();
  let last: UpstreamFailure | undefined;

  const backendOf = (el: Element): Backend => registry.get(el.backend)!;
  const coolingUntil = (el: Element, key: KeyEntry | undefined) =>
    key ? registry.pool(el.backend).coolingUntil(key.label, el.model) : undefined;
  /** Free now: not cooling, and not waiting its turn on a key that is recovering from a cool-down. */
  const usable = (el: Element, key: KeyEntry | undefined) =>
    !key || (coolingUntil(el, key) === undefined && !registry.pool(el.backend).busy(key.label, el.model));
  const pools = [...new Set(elements.map((el) => el.backend))].map((b) => registry.pool(b));
  /** Since when this request has waited for a turn on a free key (bounded by --max-wait, like a cool-down). */
  let turnSince: number | undefined;

  for (;;) {
    let triedThisPass = 0;
    for (const pair of pairs) {
      if (skipped.has(pair.element)) continue;
      if (attempts.length >= deps.maxAttempts || Date.now() >= deadline) break;
      const el = elements[pair.element];
      const rot = rotations.get(el.backend)!;
      const key = pair.key === -1 ? rot.find((k) => usable(el, k)) : rot[pair.key];
      if (pair.key === -1 && rot.length && key === undefined && rot[0] !== undefined) continue;
      if (!usable(el, key)) continue;
      triedThisPass++;
      turnSince = undefined;
      const pool = registry.pool(el.backend);
      if (key) pool.reserve(key.label, el.model);
      const turnDone = key ? pool.take(key.label, el.model) : undefined;
      const started = Date.now();
      let result: AttemptResult | undefined;
      try {
        result = await backendOf(el).attempt({
          body,
          model: el.model,
          key,
          stream,
          signal,
          timeoutMs: deps.timeoutMs,
          deadline,
        });
      } finally {
        if (!result) turnDone?.(false);
      }
      const record: AttemptRecord = {
        attempt: attempts.length + 1,
        element: pair.element,
        backend: el.backend,
        model: el.model,
        keyLabel: key?.label,
        outcome: result.ok ? "ok" : result.failure.outcome,
        latencyMs: Date.now() - started,
      };
      attempts.push(record);
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
      if (last.cooldown && key) {
        if (last.cooldown.disable) {
          pool.disable(key.label, last.cooldown.reason);
          log.warn(
            "{backend} key {key} is disabled until its value changes or an admin runs reset-cooldowns ({reason})",
            { backend: el.backend, key: key.label, reason: last.cooldown.reason },
          );
        } else {
          const r = pool.cool(key.label, el.model, last.cooldown);
          const level = last.cooldown.scope === "key" || last.cooldown.auth ? "warn" : "info";
          log[level]("{backend} key {key} cools until {until} ({reason})", {
            backend: el.backend,
            key: key.label,
            until: new Date(r.until).toISOString(),
            reason: r.reason,
          });
        }
      }
      turnDone?.(false); // after any new cool-down, so the woken waiters see it
      if (last.action === "return") {
        return { ok: false, error: failureError(last), attempts, route: routeName };
      }
      if (last.action === "next-element") skipped.add(pair.element);
    }

    // Nothing left to try now. Wait for a cooling key when that is soon enough, or for a turn on a key
    // that is recovering; else answer.
    const now = Date.now();
    let earliest = Infinity;
    let rateEarliest = Infinity;
    let free = false;
    let gated = false;
    const authOut = new Map<string, string>();
    for (const pair of pairs) {
      if (skipped.has(pair.element)) continue;
      const el = elements[pair.element];
      const rot = rotations.get(el.backend)!;
      for (const k of pair.key === -1 ? rot : [rot[pair.key]]) {
        const block = k ? registry.pool(el.backend).block(k.label, el.model) : undefined;
        if (!block && k && registry.pool(el.backend).busy(k.label, el.model)) gated = true;
        else if (!block) free = true;
        else if (block.auth) authOut.set(k!.label, block.reason);
        else rateEarliest = Math.min(rateEarliest, block.until);
        if (block && block.until !== Infinity) earliest = Math.min(earliest, block.until);
      }
    }
    // A rejected key is out of the plan like a rate-limited one: the rest of the plan still counts.
    const movedOn = !last || last.status === 429 || last.code === "upstream_auth_failed";
    const rateLimited = (earliest !== Infinity || gated) && (movedOn || triedThisPass === 0);
    const budgetLeft = attempts.length < deps.maxAttempts;
    if (rateLimited && budgetLeft) {
      const coolWait = earliest - now <= deps.maxWaitMs && earliest < deadline
        ? Math.max(0, earliest - now) + 5
        : Infinity;
      turnSince = gated ? turnSince ?? now : undefined;
      const turnWait = turnSince !== undefined
        ? Math.min(turnSince + deps.maxWaitMs, deadline) - now
        : Infinity;
      if (coolWait !== Infinity || (gated && turnWait > 0)) {
        await sleep(Math.min(coolWait, turnWait), signal, gated ? pools.map((p) => p.changed()) : []);
        if (signal.aborted) return { ok: false, error: clientClosed(), attempts, route: routeName };
        continue;
      }
    }
    const what = target.kind === "route"
      ? `route "${routeName}"`
      : `${elements[0].backend}:${elements[0].model}`;
    const outText = [...authOut].map(([label, reason]) => `${label} (${reason})`).join(", ");
    if ((rateEarliest !== Infinity || gated) && (movedOn || triedThisPass === 0)) {
      const wait = rateEarliest === Infinity ? 1 : Math.max(1, Math.ceil((rateEarliest - now) / 1000));
      const headers: Record<string, string> = { "retry-after": String(wait) };
      if (wait > 60 || attempts.length > 1) headers["x-should-retry"] = "false";
      return {
        ok: false,
        attempts,
        route: routeName,
        error: new ProxyError(
          429,
          "rate_limit_error",
          "rate_limit_exceeded",
          `Every key for ${what} is rate-limited; the first frees in ${wait} s.${
            authOut.size ? ` Out for auth reasons: ${outText}.` : ""
          }${last ? ` Last upstream answer: ${last.message}` : ""}`,
          null,
          headers,
        ),
      };
    }
    if (!free && !gated && rateEarliest === Infinity && authOut.size) {
      return {
        ok: false,
        attempts,
        route: routeName,
        error: new ProxyError(
          502,
          "api_error",
          "upstream_auth_failed",
          `Every key for ${what} was rejected by the upstream: ${outText}. Replace the key value (env or .env) ` +
            `and restart, or have an admin run the reset-cooldowns command.${
              last ? ` Last upstream answer: ${last.message}` : ""
            }`,
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
    const headers: Record<string, string> = attempts.length > 1 ? { "x-should-retry": "false" } : {};
    return { ok: false, error: failureError(final, headers), attempts, route: routeName };
  }
}
