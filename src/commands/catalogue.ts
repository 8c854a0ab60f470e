/**
 * THE command catalogue (SPEC §8.4–8.5): one table of every in-chat command with its arguments, help,
 * examples (rendered with the current prefix), admin flag and handler. Handlers change only a draft of the
 * state; `run.ts` keeps the draft when every command of a message succeeded.
 */
import { parseBool, prefixProblem } from "../config/load.ts";
import type { ProxyContext } from "../pipeline/context.ts";
import { parseElement, type Route, RouteError, type RouteStore } from "../routing/routes.ts";
import type { RoutePolicy } from "../config/file.ts";
import type { Caller } from "../server/auth.ts";
import type { Session } from "../sessions/store.ts";
import type { CommandArg } from "./parse.ts";
import { closest } from "./suggest.ts";

/** A command failed; the message is shown to the user after `Error: `. */
export class CommandError extends Error {
  override name = "CommandError";
}

/** Session fields a command may change. */
export type SessionOverrides = Pick<Session, "model" | "backend" | "project" | "interactive">;

/** A route change, replayed on the real store when the draft is kept. */
export type RouteOp =
  | { op: "create"; name: string; policy: RoutePolicy }
  | { op: "delete"; name: string }
  | { op: "add"; name: string; elements: string[]; where: "append" | "prepend" }
  | { op: "clear"; name: string };

/** The state commands work on; kept only if every command of the message succeeds. */
export interface Draft {
  session: SessionOverrides;
  defaultBackend: string | undefined;
  redactApiKeysInPrompts: boolean;
  commandPrefix: string;
  /** Which global settings changed. */
  globals: Set<"defaultBackend" | "redactApiKeysInPrompts" | "commandPrefix">;
  /** A scratch copy of the routes (validates like the real store). */
  routes: RouteStore;
  routeOps: RouteOp[];
  /** `hello` asked for the banner. */
  banner: boolean;
}

/** What a handler may read. */
export interface CommandEnv {
  ctx: ProxyContext;
  caller: Caller;
  session: Session;
  draft: Draft;
}

/** One row of the catalogue. */
export interface CommandSpec {
  name: string;
  /** Argument synopsis, e.g. `(name=ROUTE, policy=k|m|km|mk)`; empty for none. */
  args: string;
  help: string;
  /** Examples without the prefix. */
  examples: string[];
  /** Only admin keys may run it (SPEC §12). */
  admin?: boolean;
  /** Returns the confirmation lines. */
  run: (args: CommandArg[], env: CommandEnv) => Promise<string[]> | string[];
}

const POLICIES: readonly RoutePolicy[] = ["k", "m", "km", "mk"];
/** How long a command waits for a backend's model list before accepting an unchecked model. */
const MODEL_LIST_WAIT_MS = 3_000;

function adminOnly(env: CommandEnv, what: string): void {
  if (!env.caller.admin) {
    throw new CommandError(
      `${what} changes global state: only admin keys may do that (the single LLM_INTERACTIVE_PROXY_API_KEY or a label in --admin-keys); this key is ${env.caller.label}.`,
    );
  }
}

function noArgs(name: string, args: CommandArg[]): void {
  if (args.length) throw new CommandError(`${name} takes no arguments.`);
}

/** The `name` argument: `name=X`, or a single bare value when `bareOk`. */
function routeName(cmd: string, args: CommandArg[], bareOk: boolean): string {
  const named = args.filter((a) => a.key === "name");
  const unknown = args.find((a) => a.key !== undefined && a.key !== "name");
  if (unknown) throw new CommandError(`${cmd}: unknown argument "${unknown.key}" (expected name=ROUTE).`);
  if (named.length > 1) throw new CommandError(`${cmd}: name= given twice.`);
  if (named.length === 1) return named[0].value;
  const bare = args.filter((a) => a.key === undefined);
  if (bareOk && bare.length === 1) return bare[0].value;
  throw new CommandError(`${cmd} needs name=ROUTE.`);
}

async function knownModels(ctx: ProxyContext, backend: string): Promise<readonly string[] | undefined> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([
    ctx.registry.refresh(backend),
    new Promise((r) => (timer = setTimeout(r, MODEL_LIST_WAIT_MS))),
  ]);
  clearTimeout(timer);
  return ctx.registry.knownModels(backend);
}

/** Check `backend:model` (known backend; model in the list when the list is known). */
async function checkElement(ctx: ProxyContext, text: string): Promise<void> {
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

function checkBackend(ctx: ProxyContext, name: string, key: string): void {
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
async function checkModelValue(env: CommandEnv, value: string): Promise<void> {
  const { ctx, draft } = env;
  if (!value) throw new CommandError("model= needs a value (backend:model or a route name).");
  if (draft.routes.has(value) || value in ctx.aliases) return;
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

function boolValue(key: string, value: string): boolean {
  const b = parseBool(value);
  if (b === undefined) {
    throw new CommandError(`${key}: expected true/false/1/0/yes/no/on/off, got "${value}".`);
  }
  return b;
}

/** A `set`/`unset` key. */
interface SettingKey {
  names: string[];
  global: boolean;
  help: string;
  set: (value: string, env: CommandEnv) => Promise<string> | string;
  unset: (env: CommandEnv) => string;
}

const onOff = (b: boolean) => (b ? "on" : "off");

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

async function runSet(args: CommandArg[], env: CommandEnv): Promise<string[]> {
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

function runUnset(args: CommandArg[], env: CommandEnv): string[] {
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

function describeRoute(r: Route): string {
  return `${r.name} (policy ${r.policy}): ${r.elements.length ? r.elements.join(", ") : "no elements"}`;
}

function routeOp(env: CommandEnv, op: RouteOp, apply: (s: RouteStore) => void): void {
  try {
    apply(env.draft.routes);
  } catch (e) {
    if (e instanceof RouteError) throw new CommandError(e.message);
    throw e;
  }
  env.draft.routeOps.push(op);
}

async function routeAdd(where: "append" | "prepend", args: CommandArg[], env: CommandEnv): Promise<string[]> {
  const cmd = `route-${where}`;
  const named = args.filter((a) => a.key !== undefined);
  const bad = named.find((a) => a.key !== "name");
  if (bad) {
    throw new CommandError(`${cmd}: unknown argument "${bad.key}"; elements are bare backend:model values.`);
  }
  if (named.length !== 1) throw new CommandError(`${cmd} needs name=ROUTE and at least one backend:model.`);
  const name = named[0].value;
  const elements = args.filter((a) => a.key === undefined).map((a) => a.value);
  if (!elements.length) throw new CommandError(`${cmd}: give at least one backend:model element.`);
  if (!env.draft.routes.has(name)) throw new CommandError(`Route "${name}" does not exist.`);
  for (const el of elements) await checkElement(env.ctx, el);
  routeOp(env, { op: "add", name, elements, where }, (s) => s.add(name, elements, where));
  return [`route ${describeRoute(env.draft.routes.get(name)!)}`];
}

/** Every in-chat command, in help order. */
export const CATALOGUE: readonly CommandSpec[] = [
  {
    name: "help",
    args: "[(COMMAND)]",
    help: "list the commands, or show one command's arguments and examples",
    examples: ["help", "help(set)"],
    run(args, env) {
      const p = env.draft.commandPrefix;
      if (!args.length) {
        return [
          `Commands (type ${p}help(NAME) for details; * = admin keys only):`,
          ...CATALOGUE.map((c) => `${p}${c.name}${c.args} — ${c.help}${c.admin ? " *" : ""}`),
        ];
      }
      if (args.length > 1) throw new CommandError("help takes one command name, e.g. help(set).");
      let name = args[0].key === "name" ? args[0].value : args[0].key ?? args[0].value;
      if (name.startsWith(p)) name = name.slice(p.length);
      const c = CATALOGUE.find((x) => x.name === name);
      if (!c) {
        const near = closest(name, CATALOGUE.map((x) => x.name), 1);
        throw new CommandError(
          `unknown command "${name}"${near.length ? ` (did you mean ${near[0]}?)` : ""}.`,
        );
      }
      const lines = [`${p}${c.name}${c.args} — ${c.help}${c.admin ? " (admin keys only)" : ""}`];
      if (c.name === "set" || c.name === "unset") {
        for (const k of SETTING_KEYS) {
          lines.push(
            `  ${k.names.join(" | ")}: ${k.help}${
              k.global ? " (global, admin keys only)" : " (this session)"
            }`,
          );
        }
      }
      lines.push(`Examples: ${c.examples.map((e) => p + e).join("  ")}`);
      return lines;
    },
  },
  {
    name: "hello",
    args: "",
    help: "show the welcome banner (version, session, backends)",
    examples: ["hello"],
    run(args, env) {
      noArgs("hello", args);
      env.draft.banner = true;
      return [];
    },
  },
  {
    name: "status",
    args: "",
    help: "this session's overrides, project and mode; routes; key health",
    examples: ["status"],
    run(args, env) {
      noArgs("status", args);
      return statusLines(env);
    },
  },
  {
    name: "set",
    args: "(KEY=VALUE, …)",
    help:
      "change settings: model, backend, project, interactive (session); default-backend, redact-api-keys-in-prompts, command-prefix (global)",
    examples: [
      "set(model=openrouter:openai/gpt-4o-mini)",
      "set(backend=gemini)",
      'set(project="my app", interactive=off)',
    ],
    run: runSet,
  },
  {
    name: "unset",
    args: "(KEY, …)",
    help: "restore settings to their defaults",
    examples: ["unset(model)", "unset(backend, project)"],
    run: runUnset,
  },
  {
    name: "create-failover-route",
    args: "(name=ROUTE, policy=k|m|km|mk)",
    help: "create an empty failover route",
    examples: ["create-failover-route(name=fast, policy=km)"],
    admin: true,
    run(args, env) {
      const name = args.find((a) => a.key === "name")?.value;
      const policyText = args.find((a) => a.key === "policy")?.value;
      const other = args.find((a) => a.key !== "name" && a.key !== "policy");
      if (other) {
        throw new CommandError(`create-failover-route: unexpected argument "${other.key ?? other.value}".`);
      }
      if (!name || !policyText) {
        throw new CommandError("create-failover-route needs name=ROUTE and policy=k|m|km|mk.");
      }
      const policy = policyText.toLowerCase() as RoutePolicy;
      if (!POLICIES.includes(policy)) {
        throw new CommandError(`policy "${policyText}" is not one of k, m, km, mk.`);
      }
      if (env.ctx.registry.names().includes(name)) {
        throw new CommandError(`Route name "${name}" is a backend name; choose another.`);
      }
      routeOp(env, { op: "create", name, policy }, (s) => s.create(name, policy));
      return [
        `route ${name} created (policy ${policy}); add elements with ${env.draft.commandPrefix}route-append(name=${name}, backend:model)`,
      ];
    },
  },
  {
    name: "delete-failover-route",
    args: "(name=ROUTE)",
    help: "delete a failover route",
    examples: ["delete-failover-route(name=fast)"],
    admin: true,
    run(args, env) {
      const name = routeName("delete-failover-route", args, true);
      routeOp(env, { op: "delete", name }, (s) => s.delete(name));
      return [`route ${name} deleted`];
    },
  },
  {
    name: "list-failover-routes",
    args: "",
    help: "list the failover routes",
    examples: ["list-failover-routes"],
    run(args, env) {
      noArgs("list-failover-routes", args);
      const routes = env.draft.routes.list();
      return routes.length ? routes.map(describeRoute) : ["no failover routes"];
    },
  },
  {
    name: "route-list",
    args: "(name=ROUTE)",
    help: "show one route's policy and elements",
    examples: ["route-list(name=fast)"],
    run(args, env) {
      const name = routeName("route-list", args, true);
      const r = env.draft.routes.get(name);
      if (!r) throw new CommandError(`Route "${name}" does not exist.`);
      return [describeRoute(r)];
    },
  },
  {
    name: "route-append",
    args: "(name=ROUTE, BACKEND:MODEL, …)",
    help: "add elements at the end of a route",
    examples: ["route-append(name=fast, openrouter:openai/gpt-4o-mini, gemini:gemini-2.5-flash)"],
    admin: true,
    run: (args, env) => routeAdd("append", args, env),
  },
  {
    name: "route-prepend",
    args: "(name=ROUTE, BACKEND:MODEL, …)",
    help: "add elements at the start of a route (in the order given)",
    examples: ["route-prepend(name=fast, openrouter:meta-llama/llama-3.3-70b-instruct:free)"],
    admin: true,
    run: (args, env) => routeAdd("prepend", args, env),
  },
  {
    name: "route-clear",
    args: "(name=ROUTE)",
    help: "remove every element of a route",
    examples: ["route-clear(name=fast)"],
    admin: true,
    run(args, env) {
      const name = routeName("route-clear", args, true);
      routeOp(env, { op: "clear", name }, (s) => s.clear(name));
      return [`route ${name} cleared`];
    },
  },
];

const BY_NAME = new Map(CATALOGUE.map((c) => [c.name, c]));

/** A command by name. */
export function findCommand(name: string): CommandSpec | undefined {
  return BY_NAME.get(name);
}

/** True for a catalogue name (the parser's `isKnown`). */
export function isCommandName(name: string): boolean {
  return BY_NAME.has(name);
}

function when(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d+Z$/, "Z");
}

function statusLines(env: CommandEnv): string[] {
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
    lines.push(
      `${name}: ${h.functional ? "functional" : `off (${h.problem ?? "not configured"})`}; keys: ${
        labels.length ? labels.join(", ") : "none"
      }; models: ${h.models ?? "not listed yet"}${cooling.length ? `; ${cooling.join("; ")}` : ""}`,
    );
  }
  return lines;
}
