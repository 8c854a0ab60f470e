/** The `set` / `unset` keys of SPEC §8.5 (session and global scope, §4.3 override semantics) and their handlers. */
import { prefixProblem } from "../config/load.ts";
import type { CommandArg } from "./parse.ts";
import { closest } from "../core/suggest.ts";
import { adminOnly, boolValue, checkBackend, checkModelValue, onOff } from "./checks.ts";
import { type CommandEnv, CommandError } from "./types.ts";

/** A `set`/`unset` key. */
interface SettingKey {
  names: string[];
  global: boolean;
  help: string;
  set: (value: string, env: CommandEnv) => Promise<string> | string;
  unset: (env: CommandEnv) => string;
}

/** The `set`/`unset` keys of SPEC §8.5. */
export const SETTING_KEYS: readonly SettingKey[] = [
  {
    names: ["model"],
    global: false,
    help: "this session's model: backend:model or a route name (wins over backend=)",
    async set(value, env) {
      await checkModelValue(env, value);
      env.draft.session.model = value;
      env.draft.session.backend = undefined;
      return `model set to ${value} for this session`;
    },
    unset(env) {
      env.draft.session.model = undefined;
      return "model override removed for this session";
    },
  },
  {
    names: ["backend"],
    global: false,
    help: "send the client's model (minus any backend prefix) to this backend; clears a model override",
    set(value, env) {
      checkBackend(env.ctx, value, "backend");
      env.draft.session.backend = value;
      env.draft.session.model = undefined;
      return `backend set to ${value} for this session`;
    },
    unset(env) {
      env.draft.session.backend = undefined;
      return "backend override removed for this session";
    },
  },
  {
    names: ["project", "project-name"],
    global: false,
    help: "this session's project name (recorded with usage)",
    set(value, env) {
      if (!value.trim()) throw new CommandError("project: the name may not be empty.");
      if (value.length > 200) throw new CommandError("project: the name may be at most 200 characters.");
      env.draft.session.project = value;
      return `project set to ${value}`;
    },
    unset(env) {
      env.draft.session.project = undefined;
      return "project unset";
    },
  },
  {
    names: ["interactive", "interactive-mode"],
    global: false,
    help: "interactive mode for this session (the banner on the first local reply)",
    set(value, env) {
      const b = boolValue("interactive", value);
      env.draft.session.interactive = b;
      return `interactive mode ${onOff(b)} for this session`;
    },
    unset(env) {
      env.draft.session.interactive = undefined;
      return `interactive mode back to the default (${onOff(env.ctx.settings.interactiveMode)})`;
    },
  },
  {
    names: ["default-backend"],
    global: true,
    help: "backend for model names without a backend prefix (all sessions)",
    set(value, env) {
      checkBackend(env.ctx, value, "default-backend");
      env.draft.defaultBackend = value;
      env.draft.globals.add("defaultBackend");
      return `default backend set to ${value}`;
    },
    unset(env) {
      const v = env.ctx.chain("defaultBackend") ?? env.ctx.registry.firstFunctional();
      env.draft.defaultBackend = v;
      env.draft.globals.add("defaultBackend");
      return `default backend back to ${v ?? "none"}`;
    },
  },
  {
    names: ["redact-api-keys-in-prompts"],
    global: true,
    help: "replace key values in outgoing prompts (all sessions)",
    set(value, env) {
      const b = boolValue("redact-api-keys-in-prompts", value);
      env.draft.redactApiKeysInPrompts = b;
      env.draft.globals.add("redactApiKeysInPrompts");
      return `redact-api-keys-in-prompts ${onOff(b)}`;
    },
    unset(env) {
      const v = env.ctx.chain("redactApiKeysInPrompts");
      env.draft.redactApiKeysInPrompts = v;
      env.draft.globals.add("redactApiKeysInPrompts");
      return `redact-api-keys-in-prompts back to ${onOff(v)}`;
    },
  },
  {
    names: ["command-prefix"],
    global: true,
    help: "the prefix of in-chat commands (all sessions): 2-10 printable characters",
    set(value, env) {
      const problem = prefixProblem(value);
      if (problem) throw new CommandError(`command-prefix "${value}": ${problem}.`);
      env.draft.commandPrefix = value;
      env.draft.globals.add("commandPrefix");
      return `command prefix set to ${value}`;
    },
    unset(env) {
      const v = env.ctx.chain("commandPrefix");
      env.draft.commandPrefix = v;
      env.draft.globals.add("commandPrefix");
      return `command prefix back to ${v}`;
    },
  },
];

function settingKey(name: string): SettingKey {
  const k = SETTING_KEYS.find((s) => s.names.includes(name));
  if (!k) {
    const all = SETTING_KEYS.flatMap((s) => s.names);
    const near = closest(name, all, 1);
    throw new CommandError(
      `unknown setting "${name}"${near.length ? ` (did you mean ${near[0]}?)` : ""}; settings: ${
        all.join(", ")
      }.`,
    );
  }
  return k;
}

function checkAdminKey(k: SettingKey, name: string, env: CommandEnv): void {
  if (k.global) adminOnly(env, `${name}`);
}

/** `set(KEY=VALUE, …)`: validate every key first (admin for global ones), then apply in order. */
export async function runSet(args: CommandArg[], env: CommandEnv): Promise<string[]> {
  if (!args.length) throw new CommandError("set needs key=value, e.g. set(model=backend:model).");
  const seen = new Map<SettingKey, CommandArg>();
  for (const a of args) {
    if (a.key === undefined) throw new CommandError(`set: "${a.value}" needs a key, e.g. model=${a.value}.`);
    const k = settingKey(a.key);
    if (seen.has(k)) throw new CommandError(`set: ${k.names[0]} given twice.`);
    checkAdminKey(k, a.key, env);
    seen.set(k, a);
  }
  const model = [...seen.entries()].find(([k]) => k.names[0] === "model");
  const backend = [...seen.entries()].find(([k]) => k.names[0] === "backend");
  const lines: string[] = [];
  if (model && backend) {
    // SPEC §4.3: both in one set — the model wins, and its backend must be the named one.
    const b = backend[1].value;
    checkBackend(env.ctx, b, "backend");
    if (!model[1].value.startsWith(`${b}:`)) {
      throw new CommandError(
        `set: model ${model[1].value} is not on backend ${b}; give model=${b}:MODEL or only one of them.`,
      );
    }
    seen.delete(backend[0]);
  }
  for (const [k, a] of seen) lines.push(await k.set(a.value, env));
  return lines;
}

/** `unset(KEY, …)`: restore each setting to its default (SPEC §1.4). */
export function runUnset(args: CommandArg[], env: CommandEnv): string[] {
  if (!args.length) throw new CommandError("unset needs the setting names, e.g. unset(model).");
  const lines: string[] = [];
  for (const a of args) {
    const name = a.key ?? a.value;
    if (a.key !== undefined && a.value !== "") {
      throw new CommandError(`unset takes setting names only, e.g. unset(${a.key}).`);
    }
    const k = settingKey(name);
    checkAdminKey(k, name, env);
    lines.push(k.unset(env));
  }
  return lines;
}
