/**
 * Audit events for in-chat commands (SPEC §10.2): every command message with what it answered, and
 * separate events for changes of global settings and routes, with the values before and after.
 */
import type { Settings } from "../config/options.ts";
import type { RouteStore } from "../state/routes.ts";
import { GLOBAL_SETTINGS } from "../store/shared_state.ts";
import type { RequestMeta } from "./chat_records.ts";
import type { UsageRecorder } from "./recorder.ts";

/** What the audit reads of the running proxy (a `ProxyContext` is one). */
export interface AuditedState {
  settings: Settings;
  routes: Pick<RouteStore, "list">;
  usage: UsageRecorder;
}

/** What a command message ran, as audited (the commands step's `CommandsRun` is one). */
export interface CommandLog {
  /** The command names. */
  commands: string[];
  /** Their confirmations. */
  lines: string[];
  /** The error that stopped them, if any. */
  error?: string;
}

/** The global settings commands may change, as they are now. */
export function globalSnapshot(ctx: Pick<AuditedState, "settings">): Record<string, unknown> {
  const s = ctx.settings as unknown as Record<string, unknown>;
  return Object.fromEntries(Object.keys(GLOBAL_SETTINGS).map((k) => [k, s[k]]));
}

/** Record a command message, and what it changed globally. */
export function auditCommands(
  ctx: AuditedState,
  meta: RequestMeta,
  ran: CommandLog,
  globalsBefore: Record<string, unknown>,
  routesBefore: string,
): void {
  const base = {
    time: Date.now(),
    requestId: meta.requestId,
    session: meta.session,
    clientKey: meta.clientKey,
  };
  ctx.usage.audit({
    ...base,
    kind: "command",
    detail: { commands: ran.commands, result: ran.error ? `Error: ${ran.error}` : ran.lines },
  });
  const after = globalSnapshot(ctx);
  const changed = Object.fromEntries(
    Object.keys(after).filter((k) => after[k] !== globalsBefore[k]).map((k) => [
      GLOBAL_SETTINGS[k as keyof typeof GLOBAL_SETTINGS],
      { from: globalsBefore[k] ?? null, to: after[k] ?? null },
    ]),
  );
  if (Object.keys(changed).length) ctx.usage.audit({ ...base, kind: "setting_change", detail: changed });
  const routesAfter = JSON.stringify(ctx.routes.list());
  if (routesAfter !== routesBefore) {
    ctx.usage.audit({
      ...base,
      kind: "route_change",
      detail: { before: JSON.parse(routesBefore), after: JSON.parse(routesAfter) },
    });
  }
}
