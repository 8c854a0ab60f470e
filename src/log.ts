/**
 * Logging through LogTape (SPEC §14): one text line per record to stderr or `--log FILE`, written
 * asynchronously through a stream sink; every line passes the secret scrubber first.
 */
import {
  configure,
  dispose,
  getLogger,
  getStreamSink,
  getTextFormatter,
  type Logger,
  type LogLevel,
  type LogRecord,
} from "@logtape/logtape";
import type { Scrubber } from "./security/scrub.ts";

/** The proxy's logger (category "llmproxy"). */
export const log: Logger = getLogger(["llmproxy"]);

const LEVELS: Record<string, LogLevel> = { debug: "debug", info: "info", warn: "warning", error: "error" };

/** Configure the sinks once at start-up. */
export async function setupLogging(opts: { file?: string; level: string; scrub: Scrubber }): Promise<void> {
  let writable: WritableStream<Uint8Array>;
  if (opts.file) {
    const f = await Deno.open(opts.file, { write: true, create: true, append: true });
    writable = f.writable;
  } else {
    writable = new WritableStream({ write: (chunk) => void Deno.stderr.writeSync(chunk) });
  }
  // Each value is scrubbed before it is cut, so a cut never leaves half a key for the line's scrub to miss.
  const text = getTextFormatter({
    value: (v) => clip(oneLine(opts.scrub(typeof v === "string" ? v : JSON.stringify(v) ?? String(v)))),
  });
  const formatter = (r: LogRecord) => opts.scrub(text(r));
  await configure({
    reset: true,
    // Non-blocking: records are formatted and written in batches, off the request path.
    sinks: {
      main: getStreamSink(writable, { formatter, nonBlocking: { bufferSize: 200, flushInterval: 100 } }),
    },
    loggers: [
      { category: ["llmproxy"], lowestLevel: LEVELS[opts.level] ?? "info", sinks: ["main"] },
      { category: ["logtape", "meta"], lowestLevel: "warning", sinks: ["main"] },
    ],
  });
}

/**
 * A logged value on one line: control characters (line breaks above all) are escaped, so text from a client
 * (a model name, a header) cannot end a record and forge the next one. Stack traces become one line too.
 */
export function oneLine(text: string): string {
  let out = "";
  let from = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0x20 && c !== 0x7f) continue;
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
  await dispose();
}
