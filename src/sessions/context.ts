/**
 * What the session step reads of the running proxy (SPEC §9): the narrow view `loadSession`, `requireProject`
 * and `recordUpstream` take. The pipeline's `ProxyContext` is one; sessions import nothing above them.
 */
import type { Settings } from "../config/options.ts";
import type { Registry } from "../runner/registry.ts";
import type { Authentication } from "../core/caller.ts";
import type { RouteStore } from "../state/routes.ts";
import type { Scrubber } from "../security/scrub.ts";
import type { SessionStore } from "./store.ts";

/** The settings the session step reads. */
export type SessionSettings = Readonly<Pick<Settings, "auditContent" | "commandPrefix" | "forceSetProject">>;

/** What the session step reads: sessions, and what tells a stale override (backends, routes, aliases). */
export interface SessionContext {
  readonly settings: SessionSettings;
  /** Whether client authentication is off (sessions are then keyed by the header alone). */
  readonly auth: Pick<Authentication, "disabled">;
  /** The backends an override may name. */
  readonly registry: Pick<Registry, "get">;
  /** The routes a model override may name. */
  readonly routes: Pick<RouteStore, "has">;
  readonly aliases: Readonly<Record<string, string>>;
  /** Replaces configured secret values in text (the `X-Project` header, audited content). */
  readonly scrub: Scrubber;
  readonly sessions: SessionStore;
}
