/**
 * Audit events for in-chat commands (SPEC §10.2): every command message with what it answered, and
 * separate events for changes of global settings and routes, with the values before and after.
 */
import { GLOBAL_SETTINGS, type GlobalKey } from "../store/shared_state.ts";
import type { RequestMeta } from "./chat_records.ts";
import type { UsageRecorder } from "./recorder.ts";

/** What the audit reads of the running proxy (a `ProxyContext` is one). */
export interface AuditedState {
  usage: UsageRecorder;
}

/** What a command message changed, as audited (the commands' `Changeset` is one). */
export interface AuditedChange {
  /** Global settings set, with the value before and the new one. */
  globals: { readonly [K in GlobalKey]?: { readonly from: unknown; readonly to: unknown } };
  /** All routes before and after. */
  routes: { readonly before: readonly unknown[]; readonly after: readonly unknown[] };
}

/** What a command message ran, as audited (the commands step's `CommandsRun` is one). */
export interface CommandLog {
  /** The command names. */
  commands: string[];
  /** Their confirmations. */
  lines: string[];
  /** The error that stopped them, if any. */
  error?: string;
  /** What they changed, when it was applied. */
  change?: AuditedChange;
}

/** Record a command message, and what it changed globally: the settings whose value changed, the routes. */
export function auditCommands(ctx: AuditedState, meta: RequestMeta, ran: CommandLog): void {
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
  if (!ran.change) return;
  const { globals, routes } = ran.change;
  const changed = Object.fromEntries(
    (Object.keys(GLOBAL_SETTINGS) as GlobalKey[]).flatMap((k) => {
      const g = globals[k];
      return g && g.from !== g.to ? [[GLOBAL_SETTINGS[k], { from: g.from ?? null, to: g.to ?? null }]] : [];
    }),
  );
  if (Object.keys(changed).length) ctx.usage.audit({ ...base, kind: "setting_change", detail: changed });
  const before = JSON.stringify(routes.before);
  const after = JSON.stringify(routes.after);
  if (after !== before) {
    ctx.usage.audit({
      ...base,
      kind: "route_change",
      detail: { before: JSON.parse(before), after: JSON.parse(after) },
    });
  }
}
