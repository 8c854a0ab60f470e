/**
 * What the isolates of one proxy process (`--workers N`) share at once, over one `BroadcastChannel` (which
 * reaches every other isolate of the process, never the sender, and never another process):
 * - key states: a cool-down or a disabled key learned in one isolate is adopted by the others as soon as
 *   the message arrives (the store's refresh, about once a second, stays the path between processes);
 *   a `reset-cooldowns` clears them everywhere;
 * - budgets upstreams announced (X-RateLimit-Remaining) and each unit spent of them, so isolates do not each
 *   spend the same budget (two sends in the same instant still may: scripts/bench/RESULTS.md measures it);
 * - routes and global settings a command changed: the isolate that saved the change sends the result, and
 *   the command answers only once every other isolate adopted it (or after {@link ACK_MS});
 * - metrics: `/metrics` in any isolate gathers every isolate's snapshot and combines them
 *   (`telemetry/aggregate.ts`), so a scrape sees the process, not the one isolate it landed in;
 * - the console: `/ui/api/state` in any isolate gathers every isolate's requests in flight and sessions.
 */
import type { BudgetUse, CooldownRecord, DisabledRecord, KeyPools } from "../state/keys.ts";
import type { Route } from "../state/routes.ts";
import type { RuntimeValues } from "../state/settings.ts";

/** Longest wait for the other isolates to confirm a change or to send their metrics. */
export const ACK_MS = 1_000;

/** Routes and global settings after a change, as the isolate that made it holds them. */
export interface SharedSnapshot {
  routes: Route[];
  /** The runtime settings commands change, by field name. */
  settings: RuntimeValues;
}

type Message =
  | { t: "cooled"; record: CooldownRecord }
  | { t: "disabled"; record: DisabledRecord }
  | { t: "budget"; use: BudgetUse }
  | { t: "reset"; backends: string[] }
  | { t: "changed"; id: string; snapshot: SharedSnapshot }
  | { t: "metrics?"; id: string }
  | { t: "console?"; id: string }
  | { t: "reply"; id: string; value?: unknown };

/** What the link reads and changes of the isolate it serves. */
export interface LinkedIsolate {
  /** This isolate's number (0 is the one that started the others). */
  index: number;
  /** How many isolates serve the port. */
  count: number;
  pools: KeyPools;
  /** Adopt routes and settings another isolate saved. */
  adopt(snapshot: SharedSnapshot): void;
  /** This isolate's metrics as plain data (`Metrics.snapshot()`). */
  metrics(): unknown;
  /** This isolate's own part of the console's data (in-flight requests, sessions), as plain data. */
  console(): unknown;
}

/** The channel's name for this process (isolates of one process share it; tests run several proxies). */
export function channelName(token: string): string {
  return `llmproxy-isolates-${token}`;
}

/** One isolate's end of the channel. */
export class IsolateLink {
  #channel: BroadcastChannel;
  #waiting = new Map<string, { replies: unknown[]; done: () => void }>();
  #unsubscribe: (() => void)[] = [];

  constructor(token: string, private readonly isolate: LinkedIsolate) {
    this.#channel = new BroadcastChannel(channelName(token));
    this.#channel.onmessage = (e: MessageEvent<Message>) => this.#receive(e.data);
    for (const pool of isolate.pools.pools()) {
      this.#unsubscribe.push(
        pool.keyCooled.subscribe((record) => this.#send({ t: "cooled", record })),
        pool.keyDisabled.subscribe((record) => this.#send({ t: "disabled", record })),
        pool.budgetUsed.subscribe((use) => this.#send({ t: "budget", use })),
      );
    }
  }

  #send(m: Message): void {
    this.#channel.postMessage(m);
  }

  #receive(m: Message): void {
    const { pools } = this.isolate;
    switch (m.t) {
      case "cooled":
        if (pools.names().includes(m.record.backend)) pools.pool(m.record.backend).adopt(m.record);
        return;
      case "disabled":
        if (pools.names().includes(m.record.backend)) pools.pool(m.record.backend).adoptDisabled(m.record);
        return;
      case "budget":
        if (pools.names().includes(m.use.backend)) pools.pool(m.use.backend).adoptBudget(m.use);
        return;
      case "reset":
        for (const b of m.backends) if (pools.names().includes(b)) pools.pool(b).reset();
        return;
      case "changed":
        this.isolate.adopt(m.snapshot);
        return this.#send({ t: "reply", id: m.id });
      case "metrics?":
        return this.#send({ t: "reply", id: m.id, value: this.isolate.metrics() });
      case "console?":
        return this.#send({ t: "reply", id: m.id, value: this.isolate.console() });
      case "reply": {
        const w = this.#waiting.get(m.id);
        if (!w) return;
        w.replies.push(m.value);
        if (w.replies.length >= this.isolate.count - 1) w.done();
      }
    }
  }

  /** Send `m` and wait for a reply from every other isolate, at most {@link ACK_MS}; the replies that came. */
  async #ask(m: Message & { id: string }): Promise<unknown[]> {
    const replies: unknown[] = [];
    const { promise, resolve } = Promise.withResolvers<void>();
    const timer = setTimeout(resolve, ACK_MS);
    this.#waiting.set(m.id, { replies, done: resolve });
    this.#send(m);
    try {
      if (this.isolate.count > 1) await promise;
    } finally {
      clearTimeout(timer);
      this.#waiting.delete(m.id);
    }
    return replies;
  }

  /** Every other isolate clears these backends' cool-downs and disabled keys. */
  resetCooldowns(backends: string[]): void {
    this.#send({ t: "reset", backends });
  }

  /** Hand a saved change to every other isolate; resolves once they adopted it (or after {@link ACK_MS}). */
  async changed(snapshot: SharedSnapshot): Promise<void> {
    await this.#ask({ t: "changed", id: crypto.randomUUID(), snapshot });
  }

  /** The metrics of every other isolate that answered within {@link ACK_MS}. */
  peerMetrics(): Promise<unknown[]> {
    return this.#ask({ t: "metrics?", id: crypto.randomUUID() });
  }

  /** The console views of every other isolate that answered within {@link ACK_MS}. */
  peerConsoles(): Promise<unknown[]> {
    return this.#ask({ t: "console?", id: crypto.randomUUID() });
  }

  /** Stop sending and receiving. */
  close(): void {
    for (const u of this.#unsubscribe) u();
    this.#channel.close();
    for (const w of this.#waiting.values()) w.done();
  }
}
