/**
 * One isolate's place among the `--workers` isolates of a process: its link to the others wired into the
 * parts the proxy is built from (key pools, routes, settings, persistence, metrics), and the response header
 * naming it.
 */
import type { IsolatePeers, ProxyParts } from "../pipeline/context.ts";
import { isolateConsoleView } from "../console/state.ts";
import type { EdgeHandler } from "../server/edge.ts";
import { RUNTIME_SETTINGS } from "../state/settings.ts";
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

/** What joining reads and wraps of the proxy's parts. */
export type JoinedParts = Pick<
  ProxyParts,
  "registry" | "routes" | "settings" | "persistence" | "metrics" | "sessions"
>;

/**
 * Join the other isolates: key states, resets and command changes made here reach them (a command answers
 * once they adopted it), theirs are adopted here, `/metrics` sums every isolate and the console lists every
 * isolate's requests in flight and sessions. Returns the link, the persistence to build the context with (the
 * given one, followed by the hand-over to the other isolates) and the peers the console asks.
 *
 * Routes and settings arrive whole from the isolate that saved them; the store's refresh then finds the same
 * values. (A refresh of this isolate that read the store before that save and ends after the message may
 * show the older value until the next refresh, about a second later: only when two changes come within a
 * second.)
 */
export function joinIsolates(
  parts: JoinedParts,
  seat: Seat,
): { link: IsolateLink; persistence: ProxyParts["persistence"]; peers: IsolatePeers } {
  const { routes, settings, persistence, metrics, sessions } = parts;
  const snapshot = (): SharedSnapshot => ({
    routes: routes.list(),
    settings: Object.fromEntries(RUNTIME_SETTINGS.map((key) => [key, settings.values[key]])),
  });
  const link = new IsolateLink(seat.token, {
    index: seat.index,
    count: seat.count,
    pools: parts.registry,
    adopt(snap) {
      routes.replaceAll(snap.routes);
      settings.set(snap.settings);
    },
    metrics: () => metrics.snapshot(),
    console: () => isolateConsoleView({ metrics, sessions }, Date.now()),
  });
  metrics.gatherPeers = () => link.peerMetrics();
  return {
    link,
    peers: { consoleViews: () => link.peerConsoles() },
    persistence: {
      async apply(change) {
        await persistence.apply(change);
        await link.changed(snapshot());
      },
      async resetCooldowns(backends) {
        const out = await persistence.resetCooldowns(backends);
        link.resetCooldowns(backends);
        return out;
      },
    },
  };
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
