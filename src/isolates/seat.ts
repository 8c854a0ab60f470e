/**
 * One isolate's place among the `--workers` isolates of a process: its link to the others wired into the
 * running proxy (key states, command changes, metrics), and the response header naming it.
 */
import type { ProxyContext } from "../pipeline/context.ts";
import type { EdgeHandler } from "../server/edge.ts";
import { GLOBAL_SETTINGS } from "../store/shared_state.ts";
import { IsolateLink, type SharedSnapshot } from "./link.ts";

/** Which isolate this is and how to reach the others. */
export interface Seat {
  /** 0 for the isolate that started the others (the process's main thread). */
  index: number;
  /** How many isolates serve the port. */
  count: number;
  /** Names the process's channel between its isolates. */
  token: string;
}

/** The response header naming the isolate that served a request (only with `--workers` above 1). */
export const ISOLATE_HEADER = "x-llmproxy-isolate";

/** Routes and global settings as this isolate holds them. */
function snapshot(ctx: ProxyContext): SharedSnapshot {
  const s = ctx.settings as unknown as Record<string, unknown>;
  const settings = Object.fromEntries(Object.keys(GLOBAL_SETTINGS).map((key) => [key, s[key]]));
  return { routes: ctx.routes.list(), settings, defaultBackend: ctx.defaultBackend };
}

/**
 * Join the other isolates: key states, resets and command changes made here reach them (a command answers
 * once they adopted it), theirs are adopted here, and `/metrics` sums every isolate.
 *
 * Routes and settings arrive whole from the isolate that saved them; the store's refresh then finds the same
 * values. (A refresh of this isolate that read the store before that save and ends after the message may
 * show the older value until the next refresh, about a second later: only when two changes come within a
 * second.)
 */
export function joinIsolates(ctx: ProxyContext, seat: Seat): IsolateLink {
  const link = new IsolateLink(seat.token, {
    index: seat.index,
    count: seat.count,
    pools: ctx.registry,
    adopt(snap) {
      ctx.routes.replaceAll(snap.routes);
      Object.assign(ctx.settings, snap.settings);
      ctx.defaultBackend = snap.defaultBackend;
    },
    metrics: () => ctx.metrics.json(),
  });
  const apply = ctx.applyChange;
  ctx.applyChange = async (change) => {
    await apply(change);
    await link.changed(snapshot(ctx));
  };
  const reset = ctx.resetCooldowns;
  ctx.resetCooldowns = async (backends) => {
    const out = await reset(backends);
    link.resetCooldowns(backends);
    return out;
  };
  ctx.metrics.gatherPeers = () => link.peerMetrics();
  return link;
}

/** The handler with the isolate's number on every response. */
export function tagIsolate(handler: EdgeHandler, index: number): EdgeHandler {
  const value = String(index);
  return async (req, info) => {
    const res = await handler(req, info);
    try {
      res.headers.set(ISOLATE_HEADER, value);
      return res;
    } catch { // immutable headers (Response.error(), a redirect): a copy carries it
      const copy = new Response(res.body, res);
      copy.headers.set(ISOLATE_HEADER, value);
      return copy;
    }
  };
}
