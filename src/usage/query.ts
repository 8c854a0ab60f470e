/**
 * Reading usage and audit data (SPEC §10.3) for the HTTP endpoints and `llmproxy usage`: stats come from
 * the hourly roll-ups only; recent records and audit events from a bounded reverse scan.
 */
import {
  METRICS,
  type RollupDimension,
  unpackRecords,
  type UsagePack,
  type UsageRecord,
} from "./recorder.ts";
import type { AuditEvent } from "./recorder.ts";
import { oneLine } from "../log/log.ts";

const HOUR = 3_600_000;

/** `group_by` values accepted by /usage/stats and `llmproxy usage --by`. */
export const GROUP_BY = ["model", "backend", "key", "project", "session", "user", "day"] as const;
/** A `group_by` value. */
export type GroupBy = typeof GROUP_BY[number];

/** Largest time a Date can hold (ms from the epoch, either way). */
const MAX_TIME = 8.64e15;

/** Parse a time: `24h`, `30m`, `7d`, `90s`, an ISO date, or ms since the epoch (undefined if not a date). */
export function parseTime(text: string, now = Date.now()): number | undefined {
  const t = parseTimeValue(text, now);
  return t !== undefined && Number.isFinite(t) && Math.abs(t) <= MAX_TIME ? t : undefined;
}

function parseTimeValue(text: string, now: number): number | undefined {
  const rel = /^(\d+(?:\.\d+)?)\s*([smhdw])$/.exec(text.trim());
  if (rel) {
    const unit = { s: 1000, m: 60_000, h: HOUR, d: 24 * HOUR, w: 7 * 24 * HOUR }[rel[2] as "s"];
    return now - Number(rel[1]) * unit;
  }
  if (/^\d{10,}$/.test(text.trim())) return Number(text);
  return Date.parse(text);
}

/** One row of the stats table. */
export interface StatsRow {
  key: string;
  /** Client requests (a request retried on three keys counts once). */
  requests: number;
  /** Upstream attempts and local replies (each retry and failover counts). */
  attempts: number;
  ok: number;
  errors: number;
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  cost_usd: number;
  avg_latency_ms: number;
}

/** Aggregate the hourly roll-ups between `since` and `until` by a dimension (or by day). */
export async function usageStats(
  kv: Deno.Kv,
  since: number,
  until: number,
  groupBy: GroupBy,
): Promise<StatsRow[]> {
  const dim: RollupDimension = groupBy === "day" ? "all" : groupBy;
  const start = Math.floor(since / HOUR) * HOUR;
  const rows = new Map<string, Record<string, number>>();
  if (start > until) return []; // an empty period (KV refuses a start after the end)
  const iter = kv.list<Deno.KvU64>({ start: ["rollup", dim, start], end: ["rollup", dim, until + 1] });
  for await (const e of iter) {
    const [, , hour, value, metric] = e.key as [string, string, number, string, string];
    const key = groupBy === "day" ? new Date(hour).toISOString().slice(0, 10) : value;
    const row = rows.get(key) ?? Object.fromEntries(METRICS.map((m) => [m, 0]));
    row[metric] = (row[metric] ?? 0) + Number(e.value.value);
    rows.set(key, row);
  }
  return [...rows.entries()].map(([key, r]) => ({
    key,
    requests: r.client_requests,
    attempts: r.requests,
    ok: r.ok,
    errors: r.errors,
    prompt_tokens: r.prompt_tokens,
    completion_tokens: r.completion_tokens,
    total_tokens: r.total_tokens,
    cost_usd: r.cost_micro_usd / 1e6,
    avg_latency_ms: r.requests ? Math.round(r.latency_ms / r.requests) : 0,
  })).sort((a, b) => (groupBy === "day" ? a.key.localeCompare(b.key) : b.attempts - a.attempts));
}

/** One hourly roll-up cell: the hour (ms epoch), the dimension's value, a metric and its sum. */
export interface HourlyCell {
  hour: number;
  value: string;
  metric: typeof METRICS[number];
  n: number;
}

/** The hourly roll-up cells of one dimension from the hour holding `since` up to `until` (for charts). */
export async function hourlyCells(
  kv: Deno.Kv,
  dimension: RollupDimension,
  since: number,
  until: number,
): Promise<HourlyCell[]> {
  const start = Math.floor(since / HOUR) * HOUR;
  if (start > until) return [];
  const out: HourlyCell[] = [];
  const iter = kv.list<Deno.KvU64>({
    start: ["rollup", dimension, start],
    end: ["rollup", dimension, until + 1],
  });
  for await (const e of iter) {
    const [, , hour, value, metric] = e.key as [string, string, number, string, HourlyCell["metric"]];
    out.push({ hour, value, metric, n: Number(e.value.value) });
  }
  return out;
}

/** The newest usage records, optionally of one session (scans at most `scanLimit` records). */
export async function recentUsage(
  kv: Deno.Kv,
  opts: { limit: number; session?: string; scanLimit?: number },
): Promise<UsageRecord[]> {
  const out: UsageRecord[] = [];
  let scanned = 0;
  const iter = kv.list<UsagePack | UsageRecord[]>({ prefix: ["usage"] }, { reverse: true, batchSize: 50 });
  for await (const e of iter) {
    for (const r of unpackRecords(e.value).reverse()) {
      if (++scanned > (opts.scanLimit ?? 20_000)) return out;
      if (opts.session && r.session !== opts.session) continue;
      out.push(r);
      if (out.length >= opts.limit) return out;
    }
  }
  return out;
}

/** Audit events between `since` and `until`, newest first, optionally of one session. */
export async function auditLogs(
  kv: Deno.Kv,
  opts: { limit: number; since: number; until: number; session?: string },
): Promise<AuditEvent[]> {
  const out: AuditEvent[] = [];
  if (opts.since > opts.until) return out; // an empty period (KV refuses a start after the end)
  const iter = kv.list<AuditEvent>({ start: ["audit", opts.since], end: ["audit", opts.until + 1] }, {
    reverse: true,
  });
  for await (const e of iter) {
    if (opts.session && e.value.session !== opts.session) continue;
    out.push(e.value);
    if (out.length >= opts.limit) break;
  }
  return out;
}

/** Format stats rows as an aligned text table. */
export function statsTable(rows: StatsRow[], groupBy: GroupBy): string {
  const head = [
    groupBy,
    "requests",
    "attempts",
    "ok",
    "errors",
    "prompt",
    "completion",
    "total",
    "cost $",
    "avg ms",
  ];
  const body = rows.map((r) => [
    oneLine(r.key), // client text (a project, X-User-ID) must not drive the reader's terminal
    String(r.requests),
    String(r.attempts),
    String(r.ok),
    String(r.errors),
    String(r.prompt_tokens),
    String(r.completion_tokens),
    String(r.total_tokens),
    r.cost_usd.toFixed(6),
    String(r.avg_latency_ms),
  ]);
  const all = [head, ...body];
  const widths = head.map((_, i) => Math.max(...all.map((row) => row[i].length)));
  const fmt = (row: string[]) =>
    row.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join("  ");
  if (!body.length) return `${fmt(head)}\n(no usage in this period)`;
  return [fmt(head), ...body.map(fmt)].join("\n");
}
