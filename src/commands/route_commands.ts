/** Helpers of the failover-route commands: the `name` argument, descriptions, draft route changes, append/prepend. */
import { type Route, RouteError, type RouteStore } from "../state/routes.ts";
import type { CommandArg } from "./parse.ts";
import { checkElement } from "./checks.ts";
import { type CommandEnv, CommandError, type RouteOp } from "./types.ts";

/** The `name` argument: `name=X`, or a single bare value when `bareOk`. */
export function routeName(cmd: string, args: CommandArg[], bareOk: boolean): string {
  const named = args.filter((a) => a.key === "name");
  const unknown = args.find((a) => a.key !== undefined && a.key !== "name");
  if (unknown) throw new CommandError(`${cmd}: unknown argument "${unknown.key}" (expected name=ROUTE).`);
  if (named.length > 1) throw new CommandError(`${cmd}: name= given twice.`);
  if (named.length === 1) return named[0].value;
  const bare = args.filter((a) => a.key === undefined);
  if (bareOk && bare.length === 1) return bare[0].value;
  throw new CommandError(`${cmd} needs name=ROUTE.`);
}

/** One line describing a route. */
export function describeRoute(r: Route): string {
  return `${r.name} (policy ${r.policy}): ${r.elements.length ? r.elements.join(", ") : "no elements"}`;
}

/** Apply a route change to the draft (validated like the real store) and remember it for the commit. */
export function routeOp(env: CommandEnv, op: RouteOp, apply: (s: RouteStore) => void): void {
  try {
    apply(env.draft.routes);
  } catch (e) {
    if (e instanceof RouteError) throw new CommandError(e.message);
    throw e;
  }
  env.draft.routeOps.push(op);
}

/** `route-append` / `route-prepend`: name= plus validated backend:model elements. */
export async function routeAdd(
  where: "append" | "prepend",
  args: CommandArg[],
  env: CommandEnv,
): Promise<string[]> {
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
