/**
 * What the operator console shows (SPEC §18), as one JSON snapshot the page polls: backends and their keys by
 * label with state and today's requests and 429s, recent requests, hourly requests and tokens per backend for
 * the last 24 h (from the roll-ups, never raw records), routes, settings and sessions with their overrides.
 * Key values never enter it: keys are named by label, and usage records hold no key value (SPEC §10.4).
 */
import type { ProxyContext } from "../pipeline/context.ts";
import { OPTIONS } from "../config/options.ts";
import { keyStatuses } from "../telemetry/key_status.ts";
import { hourlyCells, recentUsage } from "../usage/query.ts";
import { VERSION } from "../core/version.ts";

const HOUR = 3_600_000;
/** Recent usage records shown. */
const RECENT = 50;
/** Sessions shown. */
const SESSIONS = 50;

/** What the console reads of the running proxy. */
export type ConsoleContext = Pick<
  ProxyContext,
  | "registry"
  | "kv"
  | "usage"
  | "routes"
  | "settings"
  | "chain"
  | "sessions"
  | "defaultBackend"
  | "metrics"
  | "peers"
>;

/** A request in flight as the console lists it. */
export interface InFlightRow {
  time: string;
  seconds: number;
  session?: string;
  agent?: string;
  frontend: string;
  requested_model?: string;
  backend?: string;
  model?: string;
  key?: string;
}

/** A session as the console lists it. */
export interface SessionRow {
  client_key: string;
  id: string;
  agent?: string;
  project?: string;
  model?: string;
  backend?: string;
  interactive?: boolean;
  last_seen: string;
  requests: number;
}

/**
 * What one isolate alone holds of the console's data: its requests in flight (oldest first) and the sessions
 * in its memory (most recently seen first). With `--workers N` each isolate sends its own to the one the page
 * landed on.
 */
export interface IsolateConsoleView {
  in_flight: InFlightRow[];
  sessions: SessionRow[];
}

/** A time as ISO text (`null` for never, e.g. a disabled key's end). */
function iso(t: number | undefined): string | null | undefined {
  if (t === undefined) return undefined;
  return Number.isFinite(t) ? new Date(t).toISOString() : null;
}

/** One snapshot of the console's data. `now`: the clock (ms epoch). */
export async function consoleState(ctx: ConsoleContext, now = Date.now()): Promise<Record<string, unknown>> {
  const peers = peerViews(ctx); // asked first: they answer while the store is read
  await ctx.usage.flush(); // what this instance recorded so far is visible at once
  const day = Math.floor(now / (24 * HOUR)) * 24 * HOUR;
  const since = Math.floor(now / HOUR) * HOUR - 23 * HOUR;
  const [perKey, perBackend, recent] = await Promise.all([
    hourlyCells(ctx.kv, "key", day, now),
    hourlyCells(ctx.kv, "backend", since, now),
    recentUsage(ctx.kv, { limit: RECENT }),
  ]);

  const today = new Map<string, { requests: number; rate_limited: number }>();
  for (const c of perKey) {
    if (c.metric !== "requests" && c.metric !== "rate_limited") continue;
    const t = today.get(c.value) ?? { requests: 0, rate_limited: 0 };
    t[c.metric] += c.n;
    today.set(c.value, t);
  }
  const health = ctx.registry.health();
  const keys = keyStatuses(ctx.registry, now);
  const backends = ctx.registry.names().map((name) => ({
    name,
    functional: health[name].functional,
    models: health[name].models,
    problem: health[name].problem,
    default: name === ctx.defaultBackend,
    keys: keys.filter((k) => k.backend === name).map((k) => ({
      key: k.key,
      state: k.state,
      until: iso(k.until),
      reason: k.reason,
      today: today.get(k.key) ?? { requests: 0, rate_limited: 0 },
    })),
  }));

  const hours = Array.from({ length: 24 }, (_, i) => since + i * HOUR);
  const series: Record<string, { requests: number[]; tokens: number[] }> = {};
  for (const name of ctx.registry.names()) {
    series[name] = {
      requests: hours.map(() => 0),
      tokens: hours.map(() => 0),
    };
  }
  for (const c of perBackend) {
    const s = series[c.value];
    const i = (c.hour - since) / HOUR;
    if (!s || i < 0 || i >= 24) continue;
    if (c.metric === "requests") s.requests[i] += c.n;
    else if (c.metric === "total_tokens") s.tokens[i] += c.n;
  }

  const settings = OPTIONS.filter((o) => o.kind !== "secret").map((o) => ({
    name: o.flag,
    value: ctx.settings[o.key] ?? null,
    start: ctx.chain(o.key) ?? null,
  }));

  const view = combineViews([isolateConsoleView(ctx, now), ...await peers]);

  // A backend that is off and took no traffic would only draw a flat line.
  for (const b of backends) {
    const s = series[b.name];
    if (!b.functional && !s.requests.some((n) => n > 0)) delete series[b.name];
  }

  return {
    object: "console.state",
    version: VERSION,
    now: new Date(now).toISOString(),
    active_requests: view.in_flight.length,
    default_backend: ctx.defaultBackend ?? null,
    backends,
    charts: { hours: hours.map((h) => h / 1000), backends: series },
    in_flight: view.in_flight,
    recent: recent.map((r) => ({
      time: new Date(r.time).toISOString(),
      session: r.session,
      agent: r.agent,
      frontend: r.frontend,
      requested_model: r.requestedModel,
      backend: r.backend,
      model: r.model,
      key: r.keyLabel,
      attempt: r.attempt,
      outcome: r.outcome,
      latency_ms: r.latencyMs,
      ttfb_ms: r.ttfbMs,
      prompt_tokens: r.promptTokens,
      completion_tokens: r.completionTokens,
      total_tokens: r.totalTokens,
    })),
    routes: ctx.routes.list().map((r) => ({ name: r.name, policy: r.policy, elements: r.elements })),
    settings,
    sessions: view.sessions,
  };
}

/** This isolate's own part of the console's data (`now`: the clock, ms epoch). */
export function isolateConsoleView(
  ctx: Pick<ConsoleContext, "metrics" | "sessions">,
  now: number,
): IsolateConsoleView {
  return {
    in_flight: ctx.metrics.flights().map((f) => ({
      time: new Date(f.started).toISOString(),
      seconds: Math.max(0, Math.round((now - f.started) / 1000)),
      session: f.log.session,
      agent: f.log.agent,
      frontend: f.frontend,
      requested_model: f.log.requestedModel,
      backend: f.log.backend,
      model: f.log.model,
      key: f.log.key,
    })),
    sessions: ctx.sessions.recent(SESSIONS).map((s) => ({
      client_key: s.owner,
      id: s.id,
      agent: s.agent,
      project: s.project,
      model: s.model,
      backend: s.backend,
      interactive: s.interactive,
      last_seen: new Date(s.lastSeen).toISOString(),
      requests: s.history.length,
    })),
  };
}

/** The other isolates' views that came back in time (none without `--workers`); anything else they sent is dropped. */
async function peerViews(ctx: ConsoleContext): Promise<IsolateConsoleView[]> {
  if (!ctx.peers) return [];
  return (await ctx.peers.consoleViews()).filter((v): v is IsolateConsoleView =>
    typeof v === "object" && v !== null && Array.isArray((v as IsolateConsoleView).in_flight) &&
    Array.isArray((v as IsolateConsoleView).sessions)
  );
}

/**
 * The isolates' views as one: every request in flight, oldest first; the sessions most recently seen first, at
 * most {@link SESSIONS}, a session two isolates hold in memory once (the copy seen last).
 */
function combineViews(views: IsolateConsoleView[]): IsolateConsoleView {
  if (views.length === 1) return views[0];
  const in_flight = views.flatMap((v) => v.in_flight).sort((a, b) => a.time.localeCompare(b.time));
  const sessions = new Map<string, SessionRow>();
  for (const s of views.flatMap((v) => v.sessions)) {
    const key = JSON.stringify([s.client_key, s.id]);
    const held = sessions.get(key);
    if (!held || held.last_seen < s.last_seen) sessions.set(key, s);
  }
  return {
    in_flight,
    sessions: [...sessions.values()].sort((a, b) => b.last_seen.localeCompare(a.last_seen)).slice(
      0,
      SESSIONS,
    ),
  };
}
