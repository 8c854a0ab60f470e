/**
 * Failover routes (SPEC §6): a name, a policy and ordered `backend:model` elements, and the exact
 * attempt order each policy produces over (element, key) pairs.
 */
import type { RoutePolicy } from "../config/file.ts";

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
