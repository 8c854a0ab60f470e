/** The `status` command's lines: session overrides, project, mode, routes, key labels and cool-downs (never values). */
import { describeRoute } from "./route_commands.ts";
import { onOff } from "./checks.ts";
import type { CommandEnv } from "./types.ts";

function when(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d+Z$/, "Z");
}

/** The lines of `status`. */
export function statusLines(env: CommandEnv): string[] {
  const { ctx, draft, session } = env;
  const s = draft.session;
  const interactive = s.interactive ?? ctx.settings.interactiveMode;
  const lines = [
    `session: ${session.id} (client key ${env.caller.label}${env.caller.admin ? ", admin" : ""})${
      session.agent ? `, agent ${session.agent}` : ""
    }`,
    `model override: ${s.model ?? "none"}`,
    `backend override: ${s.backend ?? "none"}`,
    `project: ${s.project ?? "none"}`,
    `interactive mode: ${onOff(interactive)}${s.interactive === undefined ? " (default)" : ""}`,
    `default backend: ${draft.defaultBackend ?? "none"}; force model: ${
      ctx.settings.forceModel ?? "none"
    }; command prefix: ${draft.commandPrefix}; redact keys in prompts: ${
      onOff(draft.redactApiKeysInPrompts)
    }`,
  ];
  const routes = draft.routes.list();
  lines.push(`routes: ${routes.length ? routes.map(describeRoute).join("; ") : "none"}`);
  const health = ctx.registry.health();
  for (const name of ctx.registry.names()) {
    const h = health[name];
    const pool = ctx.registry.pool(name);
    const labels = pool.keys.map((k) => k.label);
    const cooling = pool.active().map((r) =>
      `${r.label} cooling${
        r.scope === "*" ? "" : r.scope === ":free" ? " for :free models" : ` for ${r.scope}`
      } until ${when(r.until)} (${r.reason})`
    );
    const disabled = pool.disabledKeys().map((r) => `${r.label} disabled (${r.reason})`);
    const states = [...disabled, ...cooling];
    lines.push(
      `${name}: ${h.functional ? "functional" : `off (${h.problem ?? "not configured"})`}; keys: ${
        labels.length ? labels.join(", ") : "none"
      }; models: ${h.models ?? "not listed yet"}${states.length ? `; ${states.join("; ")}` : ""}`,
    );
  }
  return lines;
}
