/** Validation shared by command handlers: admin checks, argument shapes, backends, models, booleans. */
import { parseBool } from "../config/load.ts";
import { aliasTarget } from "../config/aliases.ts";
import type { CommandContext } from "./context.ts";
import { parseElement } from "../state/routes.ts";
import type { Caller } from "../core/caller.ts";
import type { CommandArg } from "./parse.ts";
import { closest } from "../core/suggest.ts";
import { type CommandEnv, CommandError } from "./types.ts";

/** How long a command waits for a backend's model list before accepting an unchecked model. */
const MODEL_LIST_WAIT_MS = 3_000;

/** The refusal of a global change from a non-admin key (SPEC §12). */
export function adminMessage(what: string, caller: Caller): string {
  return `${what} changes global state: only admin keys may do that (the single LLM_INTERACTIVE_PROXY_API_KEY or a label in --admin-keys); this key is ${caller.label}.`;
}

/** Refuse a global change from a non-admin key. */
export function adminOnly(env: CommandEnv, what: string): void {
  if (!env.caller.admin) throw new CommandError(adminMessage(what, env.caller));
}

/** Refuse arguments to a command that takes none. */
export function noArgs(name: string, args: CommandArg[]): void {
  if (args.length) throw new CommandError(`${name} takes no arguments.`);
}

async function knownModels(ctx: CommandContext, backend: string): Promise<readonly string[] | undefined> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([
    ctx.registry.refresh(backend),
    new Promise((r) => (timer = setTimeout(r, MODEL_LIST_WAIT_MS))),
  ]);
  clearTimeout(timer);
  return ctx.registry.knownModels(backend);
}

/** Check `backend:model` (known backend; model in the list when the list is known). */
export async function checkElement(ctx: CommandContext, text: string): Promise<void> {
  const names = ctx.registry.names();
  const el = parseElement(text, names);
  if (!el) {
    throw new CommandError(
      `"${text}" is not backend:model with a known backend (${names.join(", ")}).`,
    );
  }
  const known = await knownModels(ctx, el.backend);
  if (known && !known.includes(el.model)) {
    const near = closest(el.model, known).map((m) => `${el.backend}:${m}`);
    throw new CommandError(
      `${el.backend} does not list model "${el.model}"${near.length ? `; closest: ${near.join(", ")}` : ""}.`,
    );
  }
}

/** A registered, functional backend, or a CommandError naming the known ones. */
export function checkBackend(ctx: CommandContext, name: string, key: string): void {
  const names = ctx.registry.names();
  const b = ctx.registry.get(name);
  if (!b) {
    const near = closest(name, names);
    throw new CommandError(
      `${key}: unknown backend "${name}"; known: ${names.join(", ")}${
        near.length ? ` (did you mean ${near[0]}?)` : ""
      }.`,
    );
  }
  if (!b.functional()) {
    throw new CommandError(
      `${key}: backend "${name}" is not functional (${b.problem() ?? "no credentials"}).`,
    );
  }
}

/** Validate a model override value: `backend:model`, a route name, or a model alias. */
export async function checkModelValue(env: CommandEnv, value: string): Promise<void> {
  const { ctx, draft } = env;
  if (!value) throw new CommandError("model= needs a value (backend:model or a route name).");
  if (draft.routes.has(value) || aliasTarget(ctx.aliases, value) !== undefined) return;
  const colon = value.indexOf(":");
  if (colon <= 0) {
    const routes = draft.routes.list().map((r) => r.name);
    throw new CommandError(
      `model "${value}" is neither backend:model nor a route name (backends: ${
        ctx.registry.names().join(", ")
      }; routes: ${routes.length ? routes.join(", ") : "none"}).`,
    );
  }
  await checkElement(ctx, value);
}

/** A boolean word (true/false/1/0/yes/no/on/off), or a CommandError. */
export function boolValue(key: string, value: string): boolean {
  const b = parseBool(value);
  if (b === undefined) {
    throw new CommandError(`${key}: expected true/false/1/0/yes/no/on/off, got "${value}".`);
  }
  return b;
}

/** "on" / "off". */
export const onOff = (b: boolean): string => (b ? "on" : "off");
