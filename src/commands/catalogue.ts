/**
 * THE command catalogue (SPEC §8.4–8.5): one table of every in-chat command with its arguments, help,
 * examples (rendered with the current prefix), admin flag and handler. Handlers change only a draft of the
 * state; `run.ts` keeps the draft when every command of a message succeeded.
 */
import { noArgs } from "./checks.ts";
import { describeRoute, routeAdd, routeName, routeOp } from "./route_commands.ts";
import { runResetCooldowns } from "./reset_cooldowns.ts";
import { runSet, runUnset, SETTING_KEYS } from "./settings.ts";
import { statusLines } from "./status.ts";
import { closest } from "../core/suggest.ts";
import { CommandError, type CommandSpec } from "./types.ts";
import { ROUTE_POLICIES, type RoutePolicy } from "../config/file.ts";

export { CommandError } from "./types.ts";
export type { CommandEnv, CommandSpec, Draft, RouteOp } from "./types.ts";

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
      if (!ROUTE_POLICIES.includes(policy)) {
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
      if (env.ctx.settings.forceModel === name) {
        throw new CommandError(
          `route ${name} is the --force-model target; restart without it before deleting the route.`,
        );
      }
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
  {
    name: "reset-cooldowns",
    args: "[(backend=NAME)]",
    help: "clear key cool-downs and re-enable rejected keys, on every backend or one (all instances)",
    examples: ["reset-cooldowns", "reset-cooldowns(backend=openrouter)"],
    admin: true,
    run: runResetCooldowns,
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
