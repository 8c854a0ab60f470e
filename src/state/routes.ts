/**
 * Failover routes (SPEC §6): a name, a policy and ordered `backend:model` elements, and the exact
 * attempt order each policy produces over (element, key) pairs.
 */
import type { ConfigFile, RoutePolicy } from "../config/file.ts";
import { ConfigError } from "../config/errors.ts";
import { Listeners } from "../core/listeners.ts";

/** A failover route. */
export interface Route {
  name: string;
  policy: RoutePolicy;
  elements: string[];
}

/** One element split into backend and model. */
export interface Element {
  backend: string;
  model: string;
}

/** Split `backend:model`; undefined when malformed or the backend is unknown. */
export function parseElement(text: string, backends: readonly string[]): Element | undefined {
  const i = text.indexOf(":");
  if (i <= 0 || i === text.length - 1) return undefined;
  const backend = text.slice(0, i);
  if (!backends.includes(backend)) return undefined;
  return { backend, model: text.slice(i + 1) };
}

/** A (element index, key index) pair; key index `i` is the i-th key of the element's rotation order. */
export interface Pair {
  element: number;
  key: number;
}

/**
 * The attempt order of a policy. `keyCounts[e]` is how many keys element e's backend has (1 for a keyless
 * backend). `m` yields each element once with key index -1: "its first available key".
 */
export function policyOrder(policy: RoutePolicy, keyCounts: readonly number[]): Pair[] {
  const out: Pair[] = [];
  const n = keyCounts.length;
  switch (policy) {
    case "k":
      if (n) { for (let k = 0; k < keyCounts[0]; k++) out.push({ element: 0, key: k }); }
      break;
    case "m":
      for (let e = 0; e < n; e++) out.push({ element: e, key: -1 });
      break;
    case "km":
      for (let e = 0; e < n; e++) for (let k = 0; k < keyCounts[e]; k++) out.push({ element: e, key: k });
      break;
    case "mk": {
      const most = Math.max(0, ...keyCounts);
      for (let k = 0; k < most; k++) {
        for (let e = 0; e < n; e++) if (k < keyCounts[e]) out.push({ element: e, key: k });
      }
      break;
    }
  }
  return out;
}

/**
 * The routes of a config file, checked against the known backends: a route named like a backend or an
 * element that is not `backend:model` with a known backend is a {@link ConfigError} naming the field.
 */
export function routesFromFile(file: ConfigFile, path: string, backends: readonly string[]): Route[] {
  const routes: Route[] = [];
  for (const [name, r] of Object.entries(file.failover_routes ?? {})) {
    if (backends.includes(name)) {
      throw new ConfigError(
        `config file ${path}: field failover_routes.${name}: "${name}" is a backend name; a route needs another`,
      );
    }
    for (const [i, el] of r.elements.entries()) {
      if (!parseElement(el, backends)) {
        throw new ConfigError(
          `config file ${path}: field failover_routes.${name}.elements.${i}: "${el}" is not backend:model with a known backend (${
            backends.join(", ")
          })`,
        );
      }
    }
    routes.push({ name, policy: r.policy, elements: [...r.elements] });
  }
  return routes;
}

/** A route change, replayed on the stored routes when a command's draft is kept. */
export type RouteOp =
  | { op: "create"; name: string; policy: RoutePolicy }
  | { op: "delete"; name: string }
  | { op: "add"; name: string; elements: string[]; where: "append" | "prepend" }
  | { op: "clear"; name: string };

/** Why a route change was refused (the message is shown to the user as is). */
export class RouteError extends Error {
  override name = "RouteError";
}

/** What one change of a {@link RouteStore} did: all routes before and after it. */
export interface RoutesChange {
  readonly before: readonly Route[];
  readonly after: readonly Route[];
}

/**
 * The failover routes in memory (the hot path reads them here). Every change goes through its methods and
 * emits one {@link RouteStore.changed} event; a change that changes nothing emits none. Commands change a
 * scratch copy; the running proxy's copy follows what was saved (`replaceAll`, see SharedState).
 */
export class RouteStore {
  /** One event per change that made the routes differ. */
  readonly changed = new Listeners<RoutesChange>();
  #routes: Map<string, Route>;

  constructor(initial: Iterable<Route> = []) {
    this.#routes = byName(initial);
  }

  /** A route by name. */
  get(name: string): Route | undefined {
    return this.#routes.get(name);
  }

  /** True when a route of that name exists. */
  has(name: string): boolean {
    return this.#routes.has(name);
  }

  /** All routes, in creation order. */
  list(): Route[] {
    return [...this.#routes.values()];
  }

  /** Replace every route (e.g. with what the store or the config file holds). */
  replaceAll(routes: Iterable<Route>): void {
    this.#commit(byName(routes));
  }

  /** Create an empty route; an existing name is an error. */
  create(name: string, policy: Route["policy"]): Route {
    if (this.#routes.has(name)) throw new RouteError(`Route "${name}" already exists.`);
    if (!/^[^:\s]+$/.test(name)) throw new RouteError(`Route name "${name}" may not contain ':' or spaces.`);
    // A --config file keeps routes as object keys, and "__proto__" does not survive being read back as one.
    if (name === "__proto__") throw new RouteError(`Route name "__proto__" is reserved; choose another.`);
    const r = { name, policy, elements: [] };
    this.#commit(new Map(this.#routes).set(name, r));
    return r;
  }

  /** Delete a route. */
  delete(name: string): void {
    this.#mustGet(name);
    const next = new Map(this.#routes);
    next.delete(name);
    this.#commit(next);
  }

  /** Add elements at the end (`append`) or the start (`prepend`). Elements are validated by the caller. */
  add(name: string, elements: string[], where: "append" | "prepend"): Route {
    const r = this.#mustGet(name);
    const next = where === "append" ? [...r.elements, ...elements] : [...elements, ...r.elements];
    const updated = { ...r, elements: next };
    this.#commit(new Map(this.#routes).set(name, updated));
    return updated;
  }

  /** Remove all elements of a route. */
  clear(name: string): void {
    this.#commit(new Map(this.#routes).set(name, { ...this.#mustGet(name), elements: [] }));
  }

  /** Apply one recorded change (a RouteError when it no longer fits, e.g. the route was deleted meanwhile). */
  apply(op: RouteOp): void {
    if (op.op === "create") this.create(op.name, op.policy);
    else if (op.op === "delete") this.delete(op.name);
    else if (op.op === "add") this.add(op.name, op.elements, op.where);
    else this.clear(op.name);
  }

  /** Hold `next` and tell the subscribers, when it differs from what is held. */
  #commit(next: Map<string, Route>): void {
    const before = this.list();
    const after = [...next.values()];
    this.#routes = next;
    if (!sameRoutes(before, after)) this.changed.emit({ before, after });
  }

  #mustGet(name: string): Route {
    const r = this.#routes.get(name);
    if (!r) throw new RouteError(`Route "${name}" does not exist.`);
    return r;
  }
}

/** Routes keyed by name, in order. */
function byName(routes: Iterable<Route>): Map<string, Route> {
  return new Map([...routes].map((r) => [r.name, r]));
}

/** Whether two route lists are equal: the same names, policies and elements, in the same order. */
export function sameRoutes(a: readonly Route[], b: readonly Route[]): boolean {
  return a.length === b.length &&
    a.every((r, i) =>
      r.name === b[i].name && r.policy === b[i].policy && r.elements.length === b[i].elements.length &&
      r.elements.every((e, j) => e === b[i].elements[j])
    );
}
