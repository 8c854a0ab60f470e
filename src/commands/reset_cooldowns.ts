/** `reset-cooldowns` (SPEC §19): forget cool-downs and disabled keys of every backend, or of one. */
import type { CommandArg } from "./parse.ts";
import { closest } from "../core/suggest.ts";
import { type CommandEnv, CommandError } from "./types.ts";

/** Validate the arguments, note the reset in the draft, and say what it will clear (labels, never values). */
export function runResetCooldowns(args: CommandArg[], env: CommandEnv): string[] {
  const names = env.ctx.registry.names();
  const bad = args.find((a) => a.key !== undefined && a.key !== "backend");
  if (bad) throw new CommandError(`reset-cooldowns: unknown argument "${bad.key}" (expected backend=NAME).`);
  if (args.length > 1) throw new CommandError("reset-cooldowns takes at most one backend=NAME.");
  const wanted = args[0]?.value;
  if (wanted !== undefined && !names.includes(wanted)) {
    const near = closest(wanted, names);
    throw new CommandError(
      `reset-cooldowns: unknown backend "${wanted}"; known: ${names.join(", ")}${
        near.length ? ` (did you mean ${near[0]}?)` : ""
      }.`,
    );
  }
  const backends = wanted === undefined ? names : [wanted];
  const draft = env.draft;
  draft.resetCooldowns = [...new Set([...(draft.resetCooldowns ?? []), ...backends])];
  return backends.map((b) => {
    const pool = env.ctx.registry.pool(b);
    const cooling = new Set(pool.active().map((r) => r.label)).size;
    const disabled = pool.disabledKeys().map((r) => r.label);
    const parts = [`${cooling} cooling key${cooling === 1 ? "" : "s"} cleared`];
    if (disabled.length) parts.push(`re-enabled ${disabled.join(", ")}`);
    return `${b}: cool-downs reset (${parts.join("; ")})`;
  });
}
