/**
 * Usage records and the audit trail (SPEC §10.1–10.2), written off the hot path: `add`/`audit` only push
 * into memory; a timer flushes raw records in `atomic()` batches and hourly roll-ups as KV `sum`s
 * (aggregated in memory first), so stats never scan raw records. Clean shutdown flushes everything.
 */
import { Listeners } from "../core/listeners.ts";
import { isLockError, MAX_VALUE_BYTES, storedBytes, withLockRetry } from "../store/kv.ts";
import { costUsd, tokenCount } from "../core/clamp.ts";

/** One upstream attempt or one local reply. */
export interface UsageRecord {
  time: number;
  requestId: string;
  session?: string;
  project?: string;
  /** Client-key label (who is authenticated). */
  clientKey: string;
  /** `X-User-ID` as the client claimed it. */
  user?: string;
  agent?: string;
  /** The client's protocol (SPEC §17): "chat", "anthropic", "responses", "gemini". */
  frontend?: string;
  requestedModel?: string;
  backend?: string;
  model?: string;
  keyLabel?: string;
  route?: string;
  attempt: number;
  /** "ok", an HTTP status, or an error class ("timeout", "connection", "local"). */
  outcome: string;
  stream: boolean;
  latencyMs: number;
  ttfbMs?: number;
  promptTokens?: number;
  completionTokens?: number;
  totalTokens?: number;
  cost?: number;
  /** True for a reply the proxy made itself (commands). */
  local?: boolean;
}

/** One audit event. `detail` never holds a secret. */
export interface AuditEvent {
  time: number;
  kind: "command" | "route_change" | "setting_change" | "auth_failure" | "startup" | "content";
  requestId?: string;
  session?: string;
  clientKey?: string;
  detail: Record<string, unknown>;
}

/** Dimensions kept as hourly roll-ups (`group_by=day` is derived from the hours). */
export const ROLLUP_DIMENSIONS = ["model", "backend", "key", "project", "session", "user", "all"] as const;
/** A roll-up dimension. */
export type RollupDimension = typeof ROLLUP_DIMENSIONS[number];
/** Summed metrics of a roll-up cell. */
export const METRICS = [
  /** Records: upstream attempts and local replies. */
  "requests",
  /** Client requests: each request's first attempt, or its local reply (retries and failovers not counted). */
  "client_requests",
  "ok",
  "errors",
  "prompt_tokens",
  "completion_tokens",
  "total_tokens",
  "cost_micro_usd",
  "latency_ms",
  "rate_limited",
] as const;

const HOUR = 3_600_000;
const MAX_BATCH = 400; // KV allows 1000 mutations per atomic batch
/** Bytes per atomic batch (KV allows 800 KiB of keys and values in one commit). */
const MAX_BATCH_BYTES = 600_000;
/** Budget of one stored value: a pack of usage records, or an audit event (prompt and answer cut to a third each). */
export const MAX_VALUE_CHARS = 48_000;
/** Distinct auth-failure sources kept per minute; the rest are counted under one "other sources" entry. */
const MAX_AUTH_SOURCES = 100;
/** Longest text field of a usage record (client-supplied names end up in roll-up keys, ≤ 2 KiB). */
const MAX_FIELD_CHARS = 256;

const COUNTS = ["promptTokens", "completionTokens", "totalTokens", "latencyMs", "ttfbMs"] as const;

/** The record with every text field cut to {@link MAX_FIELD_CHARS} and its numbers clamped (see clamp.ts). */
function clipFields(r: UsageRecord): UsageRecord {
  let out: UsageRecord | undefined;
  for (const k in r) {
    const v = (r as unknown as Record<string, unknown>)[k];
    if (typeof v === "string" && v.length > MAX_FIELD_CHARS) {
      out ??= { ...r };
      (out as unknown as Record<string, unknown>)[k] = v.slice(0, MAX_FIELD_CHARS) + "…";
    }
  }
  for (const k of COUNTS) {
    const v = r[k];
    if (v !== undefined && tokenCount(v) !== v) (out ??= { ...r })[k] = tokenCount(v) ?? 0;
  }
  if (r.cost !== undefined && costUsd(r.cost) !== r.cost) (out ??= { ...r }).cost = costUsd(r.cost);
  return out ?? r;
}

/** A summed metric as a KV u64 (never throws: anything but a positive finite number adds nothing). */
function u64(n: number): bigint {
  return n > 0 && Number.isFinite(n) ? BigInt(Math.min(Math.round(n), Number.MAX_SAFE_INTEGER)) : 0n;
}

/**
 * A record's value in dimension `d`; `model` names its backend and model (`backend:model`, built once per pair
 * by the caller rather than once per record).
 */
function dimensionValue(
  r: UsageRecord,
  d: RollupDimension,
  model: (backend: string, model: string) => string,
): string {
  switch (d) {
    case "model":
      return r.backend && r.model ? model(r.backend, r.model) : r.requestedModel ?? "-";
    case "backend":
      return r.backend ?? "-";
    case "key":
      return r.keyLabel ?? "-";
    case "project":
      return r.project ?? "-";
    case "session":
      return r.session ?? "-";
    case "user":
      return r.user ?? "-";
    case "all":
      return "*";
  }
}

/**
 * The hourly roll-up increments of a batch of records, one KV `sum` per (dimension, hour, value, metric).
 * Cells are summed in one map per hour and dimension, keyed by the dimension's value, so a record adds to its
 * cells without building a key of its own.
 */
export function rollupSums(records: UsageRecord[]): { key: Deno.KvKey; n: bigint }[] {
  const hours = new Map<number, Map<string, number[]>[]>();
  const modelNames = new Map<string, Map<string, string>>();
  const modelName = (backend: string, model: string): string => {
    let names = modelNames.get(backend);
    if (!names) modelNames.set(backend, names = new Map());
    let name = names.get(model);
    if (name === undefined) names.set(model, name = `${backend}:${model}`);
    return name;
  };
  const values = new Array<number>(METRICS.length); // one record's metrics, copied into a new cell
  let lastHour = NaN;
  let cells: Map<string, number[]>[] = [];
  for (let j = 0; j < records.length; j++) {
    const r = records[j];
    const hour = Math.floor(r.time / HOUR) * HOUR;
    if (hour !== lastHour) {
      lastHour = hour;
      let found = hours.get(hour);
      if (!found) hours.set(hour, found = ROLLUP_DIMENSIONS.map(() => new Map()));
      cells = found;
    }
    const ok = r.outcome === "ok" || r.outcome === "local";
    values[0] = 1;
    values[1] = r.attempt <= 1 ? 1 : 0;
    values[2] = ok ? 1 : 0;
    values[3] = ok ? 0 : 1;
    values[4] = r.promptTokens ?? 0;
    values[5] = r.completionTokens ?? 0;
    values[6] = r.totalTokens ?? 0;
    values[7] = Math.round((r.cost ?? 0) * 1e6);
    values[8] = Math.round(r.latencyMs);
    values[9] = r.outcome === "429" ? 1 : 0;
    for (let d = 0; d < ROLLUP_DIMENSIONS.length; d++) {
      const v = dimensionValue(r, ROLLUP_DIMENSIONS[d], modelName);
      const cell = cells[d].get(v);
      if (cell) { for (let i = 0; i < values.length; i++) cell[i] += values[i]; }
      else cells[d].set(v, values.slice());
    }
  }
  const out: { key: Deno.KvKey; n: bigint }[] = [];
  for (const [hour, byDimension] of hours) {
    for (let d = 0; d < ROLLUP_DIMENSIONS.length; d++) {
      for (const [v, m] of byDimension[d]) {
        for (let i = 0; i < METRICS.length; i++) {
          const n = u64(m[i]);
          if (n > 0n) out.push({ key: ["rollup", ROLLUP_DIMENSIONS[d], hour, v, METRICS[i]], n });
        }
      }
    }
  }
  return out;
}

/**
 * Raw usage records as stored: one field list and a row of values per record, so the ~20 property names are
 * stored once per pack instead of once per record (smaller values, less to serialize and write).
 */
export interface UsagePack {
  fields: string[];
  rows: unknown[][];
}

/**
 * Split records into packs that each fit one KV value (`maxChars`: stored bytes, see storedBytes); `bytes` is
 * each pack's estimated stored size, `first` its first record (it names the pack's key).
 */
export function packRecords(
  records: UsageRecord[],
  maxChars = MAX_VALUE_CHARS,
): { pack: UsagePack; bytes: number; first: UsageRecord }[] {
  const out: { pack: UsagePack; bytes: number; first: UsageRecord }[] = [];
  let pack: UsagePack = { fields: [], rows: [] };
  let first = records[0];
  let index = new Map<string, number>();
  let size = 0;
  let namesSize = 2;
  const rowOf = (r: UsageRecord) => {
    const row: unknown[] = [];
    for (const k in r) {
      const v = (r as unknown as Record<string, unknown>)[k];
      if (v === undefined) continue;
      let i = index.get(k);
      if (i === undefined) {
        i = pack.fields.push(k) - 1;
        index.set(k, i);
        namesSize += k.length + 3;
      }
      row[i] = v;
    }
    return row;
  };
  for (let j = 0; j < records.length; j++) {
    const r = records[j];
    let row = rowOf(r);
    let n = storedBytes(row) + 1;
    if (pack.rows.length && (size + n + namesSize > maxChars || pack.rows.length >= 200)) {
      out.push({ pack, bytes: size + namesSize, first });
      pack = { fields: [], rows: [] };
      first = r;
      index = new Map();
      size = 0;
      namesSize = 2;
      row = rowOf(r);
      n = storedBytes(row) + 1;
    }
    pack.rows.push(row);
    size += n;
  }
  if (pack.rows.length) out.push({ pack, bytes: size + namesSize, first });
  return out;
}

/** The records of a stored pack (also reads the earlier format: a plain array of records). */
export function unpackRecords(value: UsagePack | UsageRecord[]): UsageRecord[] {
  if (Array.isArray(value)) return value;
  return value.rows.map((row) => {
    const r: Record<string, unknown> = {};
    for (let i = 0; i < row.length; i++) {
      if (row[i] !== undefined && row[i] !== null) r[value.fields[i]] = row[i];
    }
    return r as unknown as UsageRecord;
  });
}

/** Batches usage and audit writes to the store; optionally mirrors the audit trail to a JSON-lines file. */
export class UsageRecorder {
  #records: UsageRecord[] = [];
  #audits: AuditEvent[] = [];
  #timer: ReturnType<typeof setInterval> | undefined;
  #flushing: Promise<void> | undefined;
  #auditFile: Deno.FsFile | undefined;
  #authFailures = new Map<string, { minute: number; source: string; count: number; reason: string }>();
  readonly #retentionMs: number;
  #closing = false;
  readonly #disabled: boolean;

  constructor(
    private readonly kv: Deno.Kv,
    opts: { retentionDays: number; flushMs?: number; auditFile?: Deno.FsFile; disabled?: boolean },
    private readonly onError: (message: string) => void = () => {},
  ) {
    this.#retentionMs = opts.retentionDays * 24 * HOUR;
    this.#disabled = opts.disabled ?? false;
    this.#auditFile = opts.auditFile;
    this.#timer = setInterval(() => void this.flush(), opts.flushMs ?? 1000);
  }

  /** Every record as it is added, even with the usage log disabled (the metrics count them). */
  readonly recorded = new Listeners<UsageRecord>();

  /** Record one attempt or local reply (memory only; flushed later). */
  add(record: UsageRecord): void {
    this.recorded.emit(record);
    if (this.#disabled) return;
    const r = clipFields(record);
    this.#records.push(r);
  }

  /** Record an audit event (memory only; flushed later and mirrored to --audit-log). */
  audit(e: AuditEvent): void {
    if (this.#disabled) return;
    this.#audits.push(e);
  }

  /** Count an authentication failure; one audit event per source per minute. The token is never seen here. */
  authFailure(source: string, reason: string, now = Date.now()): void {
    if (this.#disabled) return;
    const minute = Math.floor(now / 60_000) * 60_000;
    let id = `${source}\n${minute}`;
    if (!this.#authFailures.has(id) && this.#authFailures.size >= MAX_AUTH_SOURCES) {
      // Ever-new sources (a User-Agent per request) must not flood the trail: count them together.
      source = "(other sources)";
      id = `${source}\n${minute}`;
    }
    const e = this.#authFailures.get(id);
    if (e) e.count++;
    else this.#authFailures.set(id, { minute, source, count: 1, reason });
  }

  /** Write everything buffered now (also waits for a flush in progress). */
  flush(): Promise<void> {
    const run = async () => {
      await this.#flushing;
      await this.#flushOnce();
    };
    const p = run().catch((e) => this.onError((e as Error).message));
    this.#flushing = p;
    return p;
  }

  async #flushOnce(): Promise<void> {
    const now = Date.now();
    for (const [id, f] of this.#authFailures) {
      if (!this.#closing && f.minute + 60_000 > now) continue; // still counting this minute
      this.#authFailures.delete(id);
      this.#audits.push({
        time: f.minute,
        kind: "auth_failure",
        detail: {
          source: f.source,
          count: f.count,
          reason: f.reason,
          minute: new Date(f.minute).toISOString(),
        },
      });
    }
    const records = this.#records;
    const audits = this.#audits;
    if (!records.length && !audits.length) return;
    this.#records = [];
    this.#audits = [];
    const sums = rollupSums(records);
    const expireIn = this.#retentionMs;
    type Op = { apply: (a: Deno.AtomicOperation) => void; bytes: number; what: string };
    const ops: Op[] = [];
    let seq = 0;
    // Raw records are packed many to a value (one KV write per ~100 records, within the 64 KiB limit).
    for (const { pack, bytes, first } of packRecords(records)) {
      const key = ["usage", first.time, first.requestId, seq++];
      ops.push({
        apply: (a) => a.set(key, pack, { expireIn }),
        bytes: bytes + storedBytes(key),
        what: `${pack.rows.length} usage record(s) from request ${first.requestId}`,
      });
    }
    for (const e of audits) {
      const value = storedBytes(e) > MAX_VALUE_BYTES ? { ...e, detail: { truncated: true } } : e;
      const key = ["audit", e.time, e.requestId ?? "-", seq++];
      ops.push({
        apply: (a) => a.set(key, value, { expireIn }),
        bytes: storedBytes(value) + storedBytes(key),
        what: `the ${e.kind} audit event of ${new Date(e.time).toISOString()}`,
      });
    }
    for (const s of sums) {
      ops.push({
        apply: (a) => a.sum(s.key, s.n),
        bytes: storedBytes(s.key) + 8,
        what: `roll-up ${s.key.join("/")}`,
      });
    }
    // A batch the store rejects is retried in halves, so only an operation that fails on its own is lost
    // (a store that stays locked is not: halving would only multiply the waiting).
    const dropped: { op: Op; error: string }[] = [];
    const commit = async (batch: Op[]): Promise<void> => {
      try {
        await withLockRetry(() => {
          const a = this.kv.atomic();
          for (const op of batch) op.apply(a);
          return a.commit();
        });
      } catch (e) {
        if (batch.length > 1 && !isLockError(e)) {
          const half = Math.ceil(batch.length / 2);
          await commit(batch.slice(0, half));
          await commit(batch.slice(half));
        } else {
          const error = (e as Error).message.split("\n")[0];
          for (const op of batch) dropped.push({ op, error });
        }
      }
    };
    // Batches bounded by count and size.
    for (let i = 0; i < ops.length;) {
      const batch: Op[] = [];
      let bytes = 0;
      while (
        i < ops.length && batch.length < MAX_BATCH &&
        (!batch.length || bytes + ops[i].bytes <= MAX_BATCH_BYTES)
      ) {
        bytes += ops[i].bytes;
        batch.push(ops[i++]);
      }
      await commit(batch);
    }
    if (dropped.length) {
      const first = dropped.slice(0, 3).map((d) => `${d.op.what} (${d.error})`).join("; ");
      this.onError(
        `dropped ${dropped.length} of ${ops.length} store writes: ${first}${dropped.length > 3 ? "; …" : ""}`,
      );
    }
    if (this.#auditFile && audits.length) {
      // JSON escapes C0 controls but not DEL and C1 (an 8-bit CSI): escape those too, for `tail -f` readers.
      const lines = audits.map((e) =>
        JSON.stringify({ ...e, time: new Date(e.time).toISOString() }).replace(
          /[\u007f-\u009f]/g,
          (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
        )
      ).join("\n") + "\n";
      await this.#auditFile.write(new TextEncoder().encode(lines));
    }
  }

  /** Delete roll-ups older than the retention (raw records expire by themselves). */
  async prune(now = Date.now()): Promise<number> {
    const cutoff = Math.floor((now - this.#retentionMs) / HOUR) * HOUR;
    let n = 0;
    for (const d of ROLLUP_DIMENSIONS) {
      const old: Deno.KvKey[] = [];
      for await (const e of this.kv.list({ start: ["rollup", d], end: ["rollup", d, cutoff] })) {
        old.push(e.key);
      }
      for (let i = 0; i < old.length; i += MAX_BATCH) {
        const a = this.kv.atomic();
        for (const k of old.slice(i, i + MAX_BATCH)) a.delete(k);
        await withLockRetry(() => a.commit());
      }
      n += old.length;
    }
    return n;
  }

  /** Flush, count the last auth failures too, stop the timer and close the audit file. */
  async close(): Promise<void> {
    clearInterval(this.#timer);
    this.#closing = true; // flush partial minutes as well
    await this.flush();
    this.#auditFile?.close();
    this.#auditFile = undefined;
  }
}
