/**
 * Logging through LogTape (SPEC §14): one text line per record to stderr or `--log FILE`, written
 * asynchronously in batches; every logged value passes the secret scrubber first.
 */
import {
  configure,
  dispose,
  getLogger,
  getTextFormatter,
  type Logger,
  type LogLevel,
  type LogRecord,
  type Sink,
} from "@logtape/logtape";
import type { Scrubber } from "../security/scrub.ts";

/** The proxy's logger (category "llmproxy"). */
export const log: Logger = getLogger(["llmproxy"]);

const LEVELS: Record<string, LogLevel> = { debug: "debug", info: "info", warn: "warning", error: "error" };

/** Lines of one `--workers` isolate start with its tag (`[isolate 1]`), so logs say which served what. */
function tagged<R>(format: (r: R) => string, tag: string | undefined): (r: R) => string {
  return tag ? (r) => `${tag} ${format(r)}` : format;
}

/** Configure the sinks once at start-up (`tag` starts every line). */
export async function setupLogging(
  opts: { file?: string; level: string; scrub: Scrubber; tag?: string },
): Promise<void> {
  const write = opts.file ? await fileWriter(opts.file) : stderrWriter;
  // Each value is scrubbed before it is cut, so a cut never leaves half a key for a scrub to miss; the
  // message templates are the proxy's own text.
  const value = (v: unknown) =>
    clip(oneLine(opts.scrub(typeof v === "string" ? v : JSON.stringify(v) ?? String(v))));
  const lowest = LEVELS[opts.level] ?? "info";
  const sink = batchingSink(tagged(getTextFormatter({ value, timestamp: utcTimestamp }), opts.tag), write);
  const requestFormat = tagged(requestLineFormatter(value), opts.tag);
  requestLines = lowest === "debug" || lowest === "info"
    ? (line) => sink.push({ line, format: requestFormat })
    : undefined;
  await configure({
    reset: true,
    sinks: { main: sink },
    loggers: [
      { category: ["llmproxy"], lowestLevel: lowest, sinks: ["main"] },
      { category: ["logtape", "meta"], lowestLevel: "warning", sinks: ["main"] },
    ],
  });
}

/**
 * A record's time as LogTape's default text formatter writes it (`2026-12-03 15:04:17.344 +00:00`, UTC), with
 * the text up to the second kept from the previous record: most lines of a busy second share it, and building
 * it (a `Date` and six padded parts) was a visible share of a request's log line.
 */
export function utcTimestamp(ms: number): string {
  const second = Math.floor(ms / 1000);
  if (second !== stampSecond) {
    stampSecond = second;
    stampPrefix = new Date(second * 1000).toISOString().slice(0, 19).replace("T", " ") + ".";
  }
  const frac = ms - second * 1000;
  return `${stampPrefix}${frac < 10 ? "00" : frac < 100 ? "0" : ""}${frac} +00:00`;
}
let stampSecond = NaN;
let stampPrefix = "";

/** Where log lines go: a write of a batch, and a close at the end. */
export interface LineWriter {
  write(text: string): Promise<void>;
  close(): void;
}

const encoder = new TextEncoder();

async function writeAll(w: { write(p: Uint8Array): Promise<number> }, bytes: Uint8Array): Promise<void> {
  for (let off = 0; off < bytes.length;) off += await w.write(bytes.subarray(off));
}

async function fileWriter(path: string): Promise<LineWriter> {
  const f = await Deno.open(path, { write: true, create: true, append: true });
  return { write: (text) => writeAll(f, encoder.encode(text)), close: () => f.close() };
}

const stderrWriter: LineWriter = {
  write: (text) => writeAll(Deno.stderr, encoder.encode(text)),
  close: () => {},
};

/** LogTape's mark of a sink whose records need no snapshot (see {@link batchingSink}). */
const NO_SNAPSHOT = Symbol.for("LogTape.sinkSnapshotPolicy.immediate");

/** Most lines held before a write starts at once; otherwise lines wait at most FLUSH_MS. */
const BATCH_LINES = 256;
const FLUSH_MS = 50;

/**
 * A non-blocking LogTape sink: records are formatted and written in one write per batch, at most FLUSH_MS
 * later, instead of one write per record, so a request pays only for creating its record. (Logged values are
 * strings and numbers, so formatting later reads what was logged.) Disposing flushes.
 *
 * For that reason it is also marked as a sink LogTape need not snapshot: LogTape otherwise copies every
 * record it hands to a sink it does not know to be immediate (`Object.getOwnPropertyDescriptors` and
 * `defineProperties`, about half of a request's log call), to freeze lazy properties that no caller here uses.
 * The mark is LogTape's own registered symbol (`markSinkAsImmediate` in its sink module, not exported); a
 * LogTape without it only copies again.
 */
export function batchingSink(
  format: (r: LogRecord) => string,
  out: LineWriter,
): Sink & AsyncDisposable & { push(entry: PendingLine): void } {
  let records: (LogRecord | PendingLine)[] = [];
  let writing: Promise<void> = Promise.resolve();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const flush = () => {
    clearTimeout(timer);
    timer = undefined;
    if (!records.length) return writing;
    let text = "";
    for (const r of records) text += "format" in r ? r.format(r.line) : format(r);
    records = [];
    writing = writing.then(() => out.write(text)).catch(() => {}); // a failed log write must not fail requests
    return writing;
  };
  const sink = (r: LogRecord | PendingLine) => {
    records.push(r);
    if (records.length >= BATCH_LINES) void flush();
    else timer ??= setTimeout(flush, FLUSH_MS);
  };
  Object.defineProperty(sink, NO_SNAPSHOT, { value: true });
  return Object.assign(sink, {
    push: sink,
    [Symbol.asyncDispose]: async () => {
      await flush();
      out.close();
    },
  });
}

/**
 * A logged value on one line: control characters (C0, DEL and C1, line breaks above all) are escaped, so text
 * from a client (a model name, a header, a project) cannot end a record and forge the next one, nor send a
 * terminal escape sequence (retitle, clear, recolour) to whoever reads it there. Stack traces become one line.
 */
export function oneLine(text: string): string {
  let out = "";
  let from = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0x20 && (c < 0x7f || c > 0x9f)) continue;
    out += text.slice(from, i) +
      (c === 10 ? "\\n" : c === 13 ? "\\r" : c === 9 ? "\\t" : `\\x${c.toString(16).padStart(2, "0")}`);
    from = i + 1;
  }
  return from ? out + text.slice(from) : text;
}

/** Longest logged value: a client's 10 MB model name must not become a 10 MB log line. */
const MAX_VALUE_CHARS = 2000;

function clip(text: string): string {
  return text.length <= MAX_VALUE_CHARS
    ? text
    : `${text.slice(0, MAX_VALUE_CHARS)}…(${text.length - MAX_VALUE_CHARS} more characters)`;
}

/** Flush and close the sinks (clean shutdown). */
export async function closeLogging(): Promise<void> {
  requestLines = undefined;
  await dispose();
}

/** What the one line of a finished request says (SPEC §14); `ms` is its time to the answer's headers. */
export interface RequestLine {
  time: number;
  /** Generated by the proxy (`req_` and hex digits). */
  requestId: string;
  method: string;
  path: string;
  status: number;
  backend: string;
  model: string;
  key: string;
  /** An integer, as are `status` and `ms`. */
  attempts: number;
  ms: number;
}

/** A line queued in the batching sink beside LogTape's records, formatted when the batch is written. */
interface PendingLine {
  line: RequestLine;
  format: (line: RequestLine) => string;
}

/** Where {@link logRequest} queues lines; undefined while logging is off or above the info level. */
let requestLines: ((line: RequestLine) => void) | undefined;

/**
 * Log the line of a finished request, at the info level. The same text as `log.info` would write (a test holds
 * them equal), without LogTape's record: its creation and its template rendering were the larger part of a
 * request's log call, which every request pays.
 */
export function logRequest(line: RequestLine): void {
  requestLines?.(line);
}

/**
 * The request line as LogTape's text formatter writes the `log.info` of it, each value through `value` — but the
 * integers and the request id the proxy generated, which `value` leaves as they are (`String` of an integer is
 * its JSON).
 */
export function requestLineFormatter(value: (v: unknown) => string): (l: RequestLine) => string {
  return (l) =>
    `${utcTimestamp(l.time)} [INF] llmproxy: ${l.requestId} ${value(l.method)} ${
      value(l.path)
    } ${l.status} backend=${value(l.backend)} model=${value(l.model)} key=${
      value(l.key)
    } attempts=${l.attempts} ${l.ms}ms\n`;
}
