/**
 * What a message's commands change, as data (ARCHITECTURE.md "State"): the commands step runs the commands
 * on a draft and hands back the kept draft as a `Changeset`; the pipeline applies it and the audit reads it.
 * Nothing here touches the running proxy.
 */
import type { Settings } from "../config/options.ts";
import type { Route, RouteOp } from "../state/routes.ts";
import type { SharedChange } from "../store/shared_state.ts";
import type { Draft, DraftGlobal, SessionOverrides } from "./types.ts";

/** A global setting a command set: its running value when the commands began, and the value it gets. */
export type GlobalChange<K extends DraftGlobal> = { readonly from: Settings[K]; readonly to: Settings[K] };

/** A message's kept changes: all of them are applied, or none. */
export interface Changeset {
  /** The session's overrides after the commands (the applier saves the session when they differ from it). */
  readonly session: Readonly<SessionOverrides>;
  /** Global settings the commands set (also to their current value), in the order first set. */
  readonly globals: { readonly [K in DraftGlobal]?: GlobalChange<K> };
  /** Route operations, in order. */
  readonly routeOps: readonly RouteOp[];
  /** All routes before and after the route operations (the same when there are none). */
  readonly routes: { readonly before: readonly Route[]; readonly after: readonly Route[] };
  /** Backends whose cool-downs and disabled keys are cleared, when `reset-cooldowns` ran. */
  readonly resetCooldowns?: readonly string[];
}

/** The kept draft as a changeset. */
export function changesetOf(draft: Draft): Changeset {
  const globals: Record<string, GlobalChange<DraftGlobal>> = {};
  for (const k of draft.globals) globals[k] = { from: draft.start.globals[k], to: draft[k] };
  return {
    session: { ...draft.session },
    globals: globals as Changeset["globals"],
    routeOps: [...draft.routeOps],
    routes: { before: draft.start.routes, after: copyRoutes(draft.routes.list()) },
    ...(draft.resetCooldowns ? { resetCooldowns: [...draft.resetCooldowns] } : {}),
  };
}

/** Whether a session's overrides differ from these. */
export function overridesDiffer(a: Readonly<SessionOverrides>, b: Readonly<SessionOverrides>): boolean {
  return a.model !== b.model || a.backend !== b.backend || a.project !== b.project ||
    a.interactive !== b.interactive;
}

/** The part of a changeset that is saved for every instance (routes, global settings); none when empty. */
export function sharedChange(c: Changeset): SharedChange | undefined {
  const keys = Object.keys(c.globals) as DraftGlobal[];
  if (!c.routeOps.length && !keys.length) return undefined;
  return { routeOps: c.routeOps, globals: Object.fromEntries(keys.map((k) => [k, c.globals[k]!.to])) };
}

/** A deep copy of routes (a draft's scratch store must not share element lists with the running one). */
export function copyRoutes(routes: readonly Route[]): Route[] {
  return routes.map((r) => ({ ...r, elements: [...r.elements] }));
}
