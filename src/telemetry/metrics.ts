/**
 * Prometheus metrics (SPEC §18): the proxy's families (`families.ts`), kept in memory and rendered on scrape
 * (`exposition.ts`). Updates are a label lookup and an add: no I/O, no timers. Each running proxy has its own
 * registry (tests run many in one process).
 *
 * Label values are bounded: backends, front ends and key labels come from the configuration and the code;
 * statuses and attempt outcomes, which come from upstreams, are capped at {@link MAX_LABEL_VALUES} distinct
 * values per label (later ones count as "other"); no model name, session id or key value is ever a label.
 */
import { type Counter, type FamilySnapshot, type Histogram, MetricRegistry } from "./families.ts";
import { EXPOSITION_CONTENT_TYPE, renderExposition } from "./exposition.ts";
import { mergeSnapshots } from "./aggregate.ts";
import type { KeyPools } from "../state/keys.ts";
import { keyStatuses } from "./key_status.ts";
import { type LiveEntry, LiveList } from "../core/live_list.ts";

/** Distinct values one label may take before new ones are counted as "other". */
export const MAX_LABEL_VALUES = 64;

/** Request duration buckets (seconds): a quick local reply up to a long streamed answer. */
const DURATION_BUCKETS = [0.005, 0.025, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];
/** Time-to-first-byte buckets (seconds). */
const TTFB_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60];

/** One proxied request as the edge saw it. */
export interface RequestObservation {
  /** The front end that served it ("chat", "anthropic", …). */
  frontend: string;
  /** The backend of its last upstream attempt; absent when none was made (a local reply, a 4xx). */
  backend?: string;
  status: number;
}

/** One upstream attempt or local reply, as the usage recorder holds it (a `UsageRecord` is one). */
export interface AttemptObservation {
  backend?: string;
  keyLabel?: string;
  /** "ok", an HTTP status, or an error class. */
  outcome: string;
  /** Time to the first byte of the answer (ms), on the attempt that answered. */
  ttfbMs?: number;
  promptTokens?: number;
  completionTokens?: number;
  /** A reply the proxy made itself (commands): no upstream attempt. */
  local?: boolean;
}

/** What is known of a request in flight; the pipeline fills it in as it learns (a `ChatLog` is one). */
export interface FlightLog {
  session?: string;
  agent?: string;
  requestedModel?: string;
  backend?: string;
  model?: string;
  key?: string;
}

/** A proxied request in flight, for the console. */
export interface Flight {
  requestId: string;
  /** Arrival (ms epoch). */
  started: number;
  frontend: string;
  log: FlightLog;
}

/** One proxied request in flight: count it when answered, time it when its body has ended (once). */
export interface RequestTracker {
  answered(o: RequestObservation): void;
  ended(o: RequestObservation, durationMs: number): void;
}

/** Caps the distinct values of one label. */
class BoundedLabel {
  #seen = new Set<string>();
  value(v: string): string {
    if (this.#seen.has(v)) return v;
    if (this.#seen.size >= MAX_LABEL_VALUES) return "other";
    this.#seen.add(v);
    return v;
  }
}

/** What the request trackers of one proxy update (made once; each tracker holds it, not closures of its own). */
interface RequestFamilies {
  requests: Counter;
  duration: Histogram;
  status: BoundedLabel;
  inFlight: LiveList<Flight>;
}

/** One proxied request's tracker: counted when answered; timed and no longer in flight when ended (once). */
class FlightTracker implements RequestTracker {
  #open = true;
  constructor(private readonly families: RequestFamilies, private readonly flight: LiveEntry<Flight>) {}

  answered(o: RequestObservation): void {
    const f = this.families;
    f.requests.inc([o.frontend, o.backend ?? "none", f.status.value(String(o.status))]);
  }

  ended(o: RequestObservation, durationMs: number): void {
    if (!this.#open) return;
    this.#open = false;
    this.families.inFlight.remove(this.flight);
    this.families.duration.observe([o.frontend, o.backend ?? "none"], durationMs / 1000);
  }
}

/** The proxy's metrics. */
export class Metrics {
  readonly #registry = new MetricRegistry();
  readonly #requests: RequestFamilies;
  readonly #ttfb: Histogram;
  readonly #attempts: Counter;
  readonly #tokens: Counter;
  readonly #outcome = new BoundedLabel();
  /** A {@link LiveList}, not a Set: every proxied request joins and leaves it. */
  readonly #inFlight = new LiveList<Flight>();

  /** `pools`: the key pools the cool-down gauge reads at scrape time; `now`: the clock (ms epoch). */
  constructor(version: string, pools: KeyPools, now: () => number = Date.now) {
    const r = this.#registry;
    this.#requests = {
      requests: r.counter({
        name: "llmproxy_requests_total",
        help:
          "Proxied requests answered, by front end, backend of the last attempt (none: no attempt) and status.",
        labelNames: ["frontend", "backend", "status"],
      }),
      duration: r.histogram({
        name: "llmproxy_request_duration_seconds",
        help: "Time from a proxied request's arrival to the end of its answer (a stream's last byte).",
        labelNames: ["frontend", "backend"],
        buckets: DURATION_BUCKETS,
      }),
      status: new BoundedLabel(),
      inFlight: this.#inFlight,
    };
    this.#ttfb = r.histogram({
      name: "llmproxy_time_to_first_byte_seconds",
      help:
        "Time from sending an upstream attempt to its answer's commit (first streamed content or the whole body).",
      labelNames: ["backend"],
      buckets: TTFB_BUCKETS,
    });
    this.#attempts = r.counter({
      name: "llmproxy_upstream_attempts_total",
      help: "Upstream attempts by backend, key label and outcome (ok, an HTTP status, or an error class).",
      labelNames: ["backend", "key", "outcome"],
    });
    this.#tokens = r.counter({
      name: "llmproxy_tokens_total",
      help: "Tokens the upstreams reported, by backend and kind (prompt, completion).",
      labelNames: ["backend", "kind"],
    });
    r.gauge({
      name: "llmproxy_active_requests",
      help: "Proxied requests in flight (streams until their last byte).",
      read: () => [[[], this.#inFlight.size]],
    });
    r.gauge({
      name: "llmproxy_key_cooldown_seconds",
      help: "Seconds until a key is usable again (its longest cool-down; +Inf while disabled; 0 when ready).",
      labelNames: ["backend", "key"],
      aggregation: "max", // isolates share key states: every isolate reads the same
      read: () => {
        const t = now();
        return keyStatuses(pools, t).map((k) => [
          [k.backend, k.key],
          k.until === undefined ? 0 : Math.max(0, (k.until - t) / 1000),
        ]);
      },
    });
    r.gauge({
      name: "llmproxy_build_info",
      help: "Always 1; the version is the label.",
      labelNames: ["version"],
      aggregation: "first",
      read: () => [[[version], 1]],
    });
    r.gauge({
      name: "process_resident_memory_bytes",
      help: "Resident memory size in bytes.",
      aggregation: "first", // the process's, whichever isolate reads it
      read: () => [[[], Deno.memoryUsage().rss]],
    });
    r.gauge({
      name: "process_heap_bytes",
      help: "JavaScript heap in bytes: used and total.",
      labelNames: ["kind"],
      read: () => {
        const m = Deno.memoryUsage();
        return [[["used"], m.heapUsed], [["total"], m.heapTotal]];
      },
    });
  }

  /** Proxied requests in flight now. */
  get active(): number {
    return this.#inFlight.size;
  }

  /** The exposition's content type. */
  get contentType(): string {
    return EXPOSITION_CONTENT_TYPE;
  }

  /**
   * The metrics in Prometheus text format: this isolate's, or, once {@link gatherPeers} is set (isolates of
   * `--workers`), combined with the peers' (`aggregate.ts`: summed; gauges of the process or of shared state
   * taken once).
   */
  async text(): Promise<string> {
    if (!this.gatherPeers) return renderExposition(this.snapshot());
    const peers = (await this.gatherPeers()).filter(Array.isArray) as FamilySnapshot[][];
    return renderExposition(mergeSnapshots([this.snapshot(), ...peers]));
  }

  /** This isolate's metrics as plain data (what a peer isolate combines with its own), gauges read now. */
  snapshot(): FamilySnapshot[] {
    return this.#registry.snapshot();
  }

  /** The other isolates' snapshots, when several isolates serve one port. */
  gatherPeers: (() => Promise<unknown[]>) | undefined;

  /** The requests in flight now, oldest first. */
  flights(): Flight[] {
    return this.#inFlight.values();
  }

  /** A proxied request arrived: it counts as active (and is listed) until its tracker's `ended`. */
  begin(flight: Flight): RequestTracker {
    return new FlightTracker(this.#requests, this.#inFlight.add(flight));
  }

  /** An upstream attempt was recorded (local replies are not attempts and are skipped). */
  attempt(o: AttemptObservation): void {
    if (o.local || !o.backend) return;
    const backend = o.backend;
    this.#attempts.inc([backend, o.keyLabel ?? "none", this.#outcome.value(o.outcome)]);
    if (o.ttfbMs !== undefined) this.#ttfb.observe([backend], o.ttfbMs / 1000);
    if (o.promptTokens) this.#tokens.inc([backend, "prompt"], o.promptTokens);
    if (o.completionTokens) this.#tokens.inc([backend, "completion"], o.completionTokens);
  }
}
