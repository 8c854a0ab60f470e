/**
 * The streaming commit rule (SPEC §7) over an SSE byte stream of JSON events: hold keep-alives and events
 * without content until the first event with content, a tool call or a non-error finish; fail (so the attempt
 * engine can fail over) on anything before that; afterwards pass bytes through untouched, looking only at
 * events that carry an `"error"` or `"usage"` marker. What an event means is the protocol's
 * {@link StreamDialect}: Chat Completions chunks by default; a provider passing a client's own protocol
 * through (SPEC §17) brings that protocol's dialect. A translated provider's stream of the model's typed events
 * goes through the same rule in `commit_events.ts`: what an event means before the commit is decided in one
 * place (`model/events.ts` `eventVerdict`, which the Chat dialect asks too), and the failures are made here.
 */
import type { AttemptInput, AttemptResult, StreamSummary, UpstreamFailure } from "./backend.ts";
import { answerTooLarge, type Posted } from "./http.ts";
import type { IdleTimer } from "./idle.ts";
import { type ChunkReader, readChunks } from "./chunk_reader.ts";
import type { Usage } from "../model/request.ts";
import { eventVerdict } from "../model/events.ts";
import { ChatChunkReader } from "../model/chat_chunks.ts";
import { readPastEnd } from "../core/past_end.ts";
import {
  bytesToText,
  concatBytes,
  EventBuffer,
  eventData,
  firstBadEvent,
  splitEvents,
  sseData,
  textToBytes,
} from "../openai/sse.ts";

/** Largest single upstream event, and most bytes held before the commit, unless `bodyLimit` says otherwise. */
export const MAX_EVENT_BYTES = 64 * 1024 * 1024;

/** How {@link commitStream} reads one upstream stream. */
export interface CommitOptions {
  /** Watchdog for the first byte and the gaps; touched on every chunk. */
  timer: IdleTimer;
  /** The client went away or the request's deadline passed. */
  signal: AbortSignal;
  /** Stop the upstream (abort the fetch, kill the process). */
  cancelUpstream: () => void;
  /** Turn an in-band error payload (`{"error":…}` or `finish_reason:"error"`) into a failure. */
  classifyInBand: (error: unknown) => UpstreamFailure;
  /** Drop usage-only chunks (the proxy asked for usage, the client did not). */
  dropUsageChunks: boolean;
  /** Give up (504) when the stream has not committed by this time (ms epoch): keep-alives do not hold forever. */
  commitBy?: number;
  /** Removes key values from every error text this stream reports (SPEC §19: no leak, before or after the commit). */
  scrub: (text: string) => string;
  /** --max-upstream-body-mb: the largest event or held prefix (bytes), and the backend named when over it. */
  bodyLimit?: { bytes: number; backend: string };
  /** The stream's protocol (default: Chat Completions chunks, {@link CHAT_DIALECT}). */
  dialect?: StreamDialect;
}

/** What the commit rule needs to know of one protocol's stream events. */
export interface StreamDialect {
  /**
   * Before the commit: what one event means (`data` is its data field, `event` its whole text, for an
   * `event:` name). `seen` gets the parsed event, so it is parsed once.
   */
  inspect(data: string | undefined, event: string, seen?: (chunk: Record<string, unknown>) => void): Verdict;
  /** The upstream model a parsed event names, if any. */
  model(chunk: Record<string, unknown>): string | undefined;
  /**
   * After the commit, a parsed event that carries an error or usage marker: the in-band error that ends the
   * stream, or the usage it reports (merged into what earlier events reported), and whether to drop the event
   * (a usage-only event the client did not ask for, when `dropUsageChunks`); `finished`: the answer has its
   * stop reason; `ended`: this is the protocol's last event (Messages' `message_stop`, Responses'
   * `response.completed`), after which nothing belongs to the answer (its marker must make it read).
   */
  read(
    chunk: Record<string, unknown>,
    usage: Usage | undefined,
  ): { error?: unknown; usage?: Usage; usageOnly?: boolean; finished?: boolean; ended?: boolean };
  /**
   * For a protocol whose streams end with a terminal event (`read` says `finished` on it; its markers must
   * make it read): the message of the error event that ends a committed stream the upstream closed without
   * one, so a cut-off answer is not taken for a whole one.
   */
  cutOff?: string;
  /**
   * For a protocol whose end shows in its last bytes rather than in an event `read` parses (Chat's `data:
   * [DONE]`): whether `tail`, the last chunks the upstream sent, holds that end. Read once, when the upstream
   * closes a committed stream.
   */
  endedIn?(tail: string): boolean;
  /**
   * A quoted field name whose presence with a value other than `null` in any committed chunk means the answer
   * finished (Chat's `"finish_reason"`): a byte search per chunk, no parse, the bytes untouched.
   */
  finishMarker?: Uint8Array;
  /** The text of the event that ends a committed stream with a failure (`status`: the HTTP status it maps to). */
  errorEvent(error: { message: string; type: string; code: string; status?: number }): string;
  /**
   * The quoted field names that make a committed event worth reading (default `"usage"` and `"error"`): a
   * protocol whose usage field has another name (Gemini's `"usageMetadata"`) names its own.
   */
  markers?: readonly Uint8Array[];
}

const MARK_ERROR = textToBytes('"error"');
const MARK_USAGE = textToBytes('"usage"');
const DEFAULT_MARKERS = [MARK_USAGE, MARK_ERROR];
/** A Chat chunk with a finish reason (`"finish_reason":null` does not count, see {@link scanMarkers}). */
const MARK_FINISH = textToBytes('"finish_reason"');

/** What one pre-commit event means: hold it, commit with it, or fail the attempt with its error. */
export type Verdict = "hold" | "commit" | { error: unknown };

interface Chunk {
  error?: unknown;
  model?: string;
  usage?: Usage | null;
  choices?: { finish_reason?: string | null }[];
}

/**
 * Decide what one pre-commit Chat event means; `seen` gets the parsed event (so it is parsed once). The chunk
 * is read as the model's events, and the first that is not held decides ({@link eventVerdict}).
 */
export function inspectEvent(data: string | undefined, seen?: (chunk: Chunk) => void): Verdict {
  if (data === undefined) return "hold";
  if (data.trim() === "[DONE]") return "commit";
  let chunk: Chunk;
  try {
    chunk = JSON.parse(data);
  } catch {
    return { error: { message: "the upstream sent a stream event that is not JSON", code: "bad_stream" } };
  }
  if (chunk === null || typeof chunk !== "object" || Array.isArray(chunk)) {
    return {
      error: { message: "the upstream sent a stream event that is not an object", code: "bad_stream" },
    };
  }
  seen?.(chunk);
  if (chunk.error) return { error: chunk.error }; // as the upstream said it, for the failure classifier
  let verdict: Verdict = "hold";
  for (const ev of new ChatChunkReader().chunk(chunk as Record<string, unknown>)) {
    const v = eventVerdict(ev);
    if (typeof v === "object") return v;
    if (v === "commit") verdict = v;
  }
  return verdict;
}

/** Chat Completions chunks: the default dialect. */
export const CHAT_DIALECT: StreamDialect = {
  inspect: (data, _event, seen) => inspectEvent(data, seen as ((c: Chunk) => void) | undefined),
  model: (c) => (typeof c.model === "string" ? c.model : undefined),
  read(c) {
    const chunk = c as Chunk;
    if (chunk.error || chunk.choices?.some((ch) => ch?.finish_reason === "error")) {
      return { error: chunk.error ?? { message: "the upstream ended the stream with an error" } };
    }
    if (chunk.usage && typeof chunk.usage === "object") {
      return { usage: chunk.usage, usageOnly: !chunk.choices || chunk.choices.length === 0 };
    }
    return {};
  },
  errorEvent: ({ message, type, code }) => sseData({ error: { message, type, code } }),
  cutOff:
    "The upstream closed the stream before its end (no finish reason, no [DONE]); the answer is cut off.",
  // A finish reason anywhere in the stream (found by its byte marker, nothing parsed) or `[DONE]` at its end:
  // servers that omit `[DONE]` may still send usage, empty chunks or comments after the finish, so the finish
  // is not looked for in the last chunks only.
  finishMarker: MARK_FINISH,
  endedIn: (tail) => /^data:[ \t]*\[DONE\]/m.test(tail),
};

/** The upstream ended the stream before the commit. */
export function emptyStream(): UpstreamFailure {
  return {
    action: "next-key",
    status: 502,
    type: "api_error",
    code: "upstream_error",
    message: "The upstream ended the stream before sending any content.",
    outcome: "empty_stream",
  };
}

/** The stream had not committed by the request's deadline: keep-alives do not hold forever. */
export function noContentByDeadline(): UpstreamFailure {
  return {
    action: "next-key",
    status: 504,
    type: "api_error",
    code: "upstream_timeout",
    message: "The upstream sent no content (only keep-alives) before the request's deadline.",
    outcome: "timeout",
  };
}

/** The upstream closed a committed stream before its protocol's terminal event. */
function cutOff(message: string): UpstreamFailure {
  return {
    action: "next-key",
    status: 502,
    type: "api_error",
    code: "upstream_error",
    message,
    outcome: "bad_stream",
  };
}

/** The one error event that ends a committed stream; its texts are scrubbed of key values. */
function errorEvent(f: UpstreamFailure, opts: CommitOptions, summary: StreamSummary): Uint8Array {
  const message = opts.scrub(f.message);
  summary.error = message;
  const dialect = opts.dialect ?? CHAT_DIALECT;
  return textToBytes(
    dialect.errorEvent({ message, type: f.type, code: opts.scrub(f.code), status: f.status }),
  );
}

/** The most bytes one event (or the pre-commit prefix) may hold. */
function maxEventBytes(opts: CommitOptions): number {
  return opts.bodyLimit?.bytes ?? MAX_EVENT_BYTES;
}

/** The upstream sent an event (or pre-commit bytes) beyond {@link maxEventBytes}. */
function tooLarge(opts: CommitOptions): UpstreamFailure {
  if (opts.bodyLimit) return answerTooLarge(opts.bodyLimit.backend, opts.bodyLimit.bytes);
  return { // a stream the flag does not govern (the Gemini CLI's output)
    ...answerTooLarge("The upstream", MAX_EVENT_BYTES),
    message: `The upstream sent a stream event larger than ${MAX_EVENT_BYTES >> 20} MiB.`,
  };
}

/** An abort with a reason worth showing (e.g. the proxy shutting down), not a failed connection. */
function aborted(e: unknown): boolean {
  return e instanceof DOMException && e.name === "AbortError" && e.message.length > 0 &&
    e.message !== "The signal has been aborted";
}

/** Why reading the upstream failed: the --timeout watchdog fired, the stream was ended, or the connection failed. */
export function readFailure(opts: { timer: IdleTimer }, e: unknown): UpstreamFailure {
  if (opts.timer.fired) {
    return {
      action: "next-key",
      status: 504,
      type: "api_error",
      code: "upstream_timeout",
      message: "The upstream sent nothing within --timeout.",
      outcome: "timeout",
    };
  }
  return {
    action: "next-key",
    status: 502,
    type: "api_error",
    code: "upstream_error",
    message: aborted(e)
      ? `The stream was ended: ${(e as Error).message}`
      : `The upstream connection failed during the stream (${(e as Error)?.name ?? "error"}).`,
    outcome: "connection",
  };
}

/**
 * An attempt that failed before its commit: the watchdog stopped, the upstream and its reading ended, and the
 * failure's texts scrubbed of key values (SPEC §19).
 */
export function failedBeforeCommit(
  opts: Pick<CommitOptions, "timer" | "cancelUpstream" | "scrub">,
  stopReading: () => void,
  failure: UpstreamFailure,
): AttemptResult {
  opts.timer.stop();
  opts.cancelUpstream();
  stopReading();
  return {
    ok: false,
    failure: { ...failure, message: opts.scrub(failure.message), code: opts.scrub(failure.code) },
  };
}

/**
 * Read `body` until the commit point. Resolves to a failure (nothing was sent to the client) or to a
 * committed stream that starts with the held bytes.
 */
export async function commitStream(
  body: ReadableStream<Uint8Array>,
  opts: CommitOptions,
): Promise<AttemptResult> {
  const reader = readChunks(body);
  // When the watchdog fires, end the pending read ourselves: aborting the upstream fetch does not always
  // error a body that is piped through transforms (a stalled Gemini stream then hung the client forever).
  opts.timer.onFire(() => void reader.cancel().catch(() => {}));
  const summary: StreamSummary = {};
  const held: Uint8Array[] = [];
  let heldBytes = 0;
  const pending = new EventBuffer();
  let committed = false;
  /** Events parsed before the commit, by their text: the commit point reads them from here, not again. */
  const parsed = new Map<string, Record<string, unknown>>();
  const dialect = opts.dialect ?? CHAT_DIALECT;
  const noteModel = (c: Record<string, unknown>) => {
    summary.model ??= dialect.model(c);
  };

  const fail = (failure: UpstreamFailure): AttemptResult =>
    failedBeforeCommit(opts, () => void reader.cancel().catch(() => {}), failure);

  while (!committed) {
    let r: ReadableStreamReadResult<Uint8Array>;
    try {
      r = await reader.read();
    } catch (e) {
      return fail(readFailure(opts, e));
    }
    if (r.done) {
      if (opts.timer.fired) return fail(readFailure(opts, undefined));
      return fail(emptyStream());
    }
    opts.timer.touch();
    if (opts.commitBy !== undefined && Date.now() > opts.commitBy) return fail(noContentByDeadline());
    const complete = pending.push(r.value);
    if (pending.size + heldBytes > maxEventBytes(opts)) return fail(tooLarge(opts));
    if (!complete) continue;
    // Events are inspected one by one; bytes up to and including the committing event are held as they are.
    const events = splitEvents(bytesToText(complete));
    for (const ev of events) {
      const verdict = dialect.inspect(eventData(ev), ev, (c) => {
        noteModel(c);
        parsed.set(ev, c);
      });
      if (typeof verdict === "object") return fail(opts.classifyInBand(verdict.error));
      if (verdict === "commit") {
        // Later events of the same read are past the commit: the pass-through rules handle them.
        committed = true;
        break;
      }
    }
    held.push(complete);
    heldBytes += complete.length;
    if (committed) {
      // A usage-only chunk the client did not ask for may already be in the held bytes.
      const raw = concatBytes(held);
      const out = forward(raw, opts, summary, parsed);
      return { ok: true, value: passThrough(reader, raw, out.bytes, out.stop, pending, opts, summary) };
    }
  }
  /* unreachable */ return fail(readFailure(opts, undefined));
}

/** The upstream sent a stream event whose data is not a JSON object (HTML, text, JSON cut short). */
function notJson(): UpstreamFailure {
  return {
    action: "next-key",
    status: 502,
    type: "api_error",
    code: "upstream_error",
    message: "The upstream sent a stream event that is not JSON; the stream was ended there.",
    outcome: "bad_stream",
  };
}

/**
 * What the client gets for complete events after the commit: the bytes as they are, except that events with an
 * error or usage marker are rewritten and a first event whose data is not a JSON object (a byte check, no
 * parse) is replaced by one error event that ends the stream. `parsed` holds events already parsed (by text).
 */
function forward(
  bytes: Uint8Array,
  opts: CommitOptions,
  summary: StreamSummary,
  parsed?: ReadonlyMap<string, Record<string, unknown>>,
  marked?: boolean,
): { bytes: Uint8Array; stop: boolean } {
  const bad = firstBadEvent(bytes);
  const good = bad < 0 ? bytes : bytes.subarray(0, bad);
  const markers = (opts.dialect ?? CHAT_DIALECT).markers ?? DEFAULT_MARKERS;
  // `marked`: the caller already scanned all of `bytes` for the markers (one pass with the finish marker).
  const rewrite = marked === undefined || bad >= 0 ? scanMarkers(good, markers) !== 0 : marked;
  const out = rewrite ? rewriteEvents(good, opts, summary, parsed) : { bytes: good, stop: false };
  if (bad < 0 || out.stop) return out;
  return { bytes: concatBytes([out.bytes, errorEvent(notJson(), opts, summary)]), stop: true };
}

const QUOTE = 0x22;
/** The blank line that ends an event. */
const BLANK_LINE = textToBytes("\n\n");

/**
 * Which of the quoted `markers` (each starting with `"`) `buf` holds other than as a field set to `null`: bit
 * `k` of the result for `markers[k]`, in one pass over the bytes (every committed chunk is scanned, so one
 * pass for all markers, no allocation). OpenAI-style upstreams send `"usage":null` in every chunk of a stream
 * that asked for usage; those events need no rewriting, so the pass-through path does not parse them (a
 * marker used as a value, `"finish_reason":"error"`, still counts). `skip`: bits not to look for.
 */
export function scanMarkers(buf: Uint8Array, markers: readonly Uint8Array[], skip = 0): number {
  const all = (1 << markers.length) - 1;
  let found = skip & all;
  if (found === all) return 0;
  const n = buf.length;
  for (let at = 0; at < n; at++) {
    if (buf[at] !== QUOTE) continue;
    for (let k = 0; k < markers.length; k++) {
      if (found & (1 << k)) continue;
      const m = markers[k];
      let j = 1;
      while (j < m.length && buf[at + j] === m[j]) j++;
      if (j < m.length) continue;
      if (!nullField(buf, at + j)) {
        found |= 1 << k;
        if (found === all) return found & ~skip;
      }
    }
  }
  return found & ~skip;
}

/** Whether the bytes from `i` (just past a quoted name) are `: null` (a field set to null). */
function nullField(buf: Uint8Array, i: number): boolean {
  i = skipSpace(buf, i);
  if (buf[i] !== 0x3a) return false; // not a field name
  i = skipSpace(buf, i + 1);
  return buf[i] === 0x6e && buf[i + 1] === 0x75 && buf[i + 2] === 0x6c && buf[i + 3] === 0x6c;
}

function skipSpace(buf: Uint8Array, i: number): number {
  while (buf[i] === 0x20 || buf[i] === 0x09) i++;
  return i;
}

/**
 * Re-encode only the events that need it: in-band errors become `{"error":…}`, usage is read (and maybe
 * dropped). An event found in `parsed` (by its text) is not parsed again.
 */
function rewriteEvents(
  bytes: Uint8Array,
  opts: CommitOptions,
  summary: StreamSummary,
  parsed?: ReadonlyMap<string, Record<string, unknown>>,
): { bytes: Uint8Array; stop: boolean } {
  const dialect = opts.dialect ?? CHAT_DIALECT;
  const marks = (dialect.markers ?? DEFAULT_MARKERS).map(bytesToText);
  const out: string[] = [];
  /** Whether an event was dropped: otherwise the bytes go out as they came. */
  let changed = false;
  for (const ev of splitEvents(bytesToText(bytes))) {
    let chunk: Record<string, unknown> | undefined = parsed?.get(ev);
    if (!chunk && !marks.some((m) => ev.includes(m))) {
      out.push(ev + "\n\n"); // nothing in it to read: not parsed (as a chunk without markers is not)
      continue;
    }
    const data = chunk ? undefined : eventData(ev);
    if (data !== undefined && data.trim() !== "[DONE]") {
      try {
        chunk = JSON.parse(data);
      } catch {
        // Shaped like an object but not JSON: the client's SDK would choke on it.
        const before = textToBytes(out.join(""));
        return { bytes: concatBytes([before, errorEvent(notJson(), opts, summary)]), stop: true };
      }
    }
    const read = chunk && typeof chunk === "object" && !Array.isArray(chunk)
      ? dialect.read(chunk, summary.usage)
      : {};
    if (read.error !== undefined) {
      const f = opts.classifyInBand(read.error);
      const before = textToBytes(out.join(""));
      return { bytes: concatBytes([before, errorEvent(f, opts, summary)]), stop: true };
    }
    if (read.finished) summary.finished = true;
    if (read.ended) summary.ended = true;
    if (read.usage) {
      summary.usage = read.usage;
      if (opts.dropUsageChunks && read.usageOnly) {
        changed = true;
        continue;
      }
    }
    out.push(ev + "\n\n");
  }
  return { bytes: changed ? textToBytes(out.join("")) : bytes, stop: false };
}

function passThrough(
  reader: ChunkReader,
  firstRaw: Uint8Array,
  first: Uint8Array,
  stopAfterFirst: boolean,
  pending: EventBuffer,
  opts: CommitOptions,
  summary: StreamSummary,
): { kind: "stream"; stream: ReadableStream<Uint8Array>; done: Promise<StreamSummary> } {
  let finished = false;
  /** The last two chunks the upstream sent (references, not copies): where a protocol's end shows. */
  let before: Uint8Array = new Uint8Array(0);
  let last = firstRaw;
  const dialect = opts.dialect ?? CHAT_DIALECT;
  // One pass over each committed chunk finds the markers that make its events worth reading and, until one
  // was seen, the dialect's finish marker.
  const markers = dialect.markers ?? DEFAULT_MARKERS;
  const scanned = dialect.finishMarker ? [...markers, dialect.finishMarker] : markers;
  const finishBit = dialect.finishMarker ? 1 << markers.length : 0;
  const rewriteBits = (1 << markers.length) - 1;
  /** Scan `chunk`: note a finish reason; whether a marker asks for its events to be read. */
  const scan = (chunk: Uint8Array): boolean => {
    const found = scanMarkers(chunk, scanned, summary.finished ? finishBit : 0);
    if (found & finishBit) summary.finished = true;
    return (found & rewriteBits) !== 0;
  };
  scan(firstRaw);
  /**
   * Whether `chunk` ends the answer: it held the protocol's last event (Messages' `message_stop`, Responses'
   * `response.completed`), or a finish reason was seen and the chunk holds the protocol's end in its bytes
   * (Chat's `[DONE]`). The client's stream then ends there, and what the upstream sends after it is read for a
   * short grace and dropped (`core/past_end.ts`), so an upstream that stays open with keep-alives cannot hold
   * the client until --timeout and then end a whole answer with an error event.
   */
  const endsAnswer = (chunk: Uint8Array) =>
    summary.ended === true ||
    (summary.finished === true && dialect.endedIn !== undefined && dialect.endedIn(bytesToText(chunk)));
  const { promise: done, resolve } = Promise.withResolvers<StreamSummary>();
  const finish = () => {
    if (finished) return;
    finished = true;
    opts.timer.stop();
    resolve(summary);
  };
  const stream = new ReadableStream<Uint8Array>({
    start(controller) {
      if (first.length) controller.enqueue(first);
      if (stopAfterFirst) {
        controller.close();
        opts.cancelUpstream();
        reader.cancel().catch(() => {});
        finish();
      } else if (endsAnswer(firstRaw)) {
        controller.close();
        finish();
        void readPastEnd(reader);
      }
    },
    async pull(controller) {
      // Loop until something is enqueued: a pull that enqueues nothing would not be called again.
      for (;;) {
        let r: ReadableStreamReadResult<Uint8Array>;
        try {
          r = await reader.read();
        } catch (e) {
          const f = readFailure(opts, e);
          controller.enqueue(errorEvent(f, opts, summary));
          controller.close();
          finish();
          return;
        }
        if (r.done) {
          if (opts.timer.fired) {
            const f = readFailure(opts, undefined);
            controller.enqueue(errorEvent(f, opts, summary));
          } else if (pending.size) {
            // The last event without its blank line: judged like any other, and given one, so the client's
            // parser dispatches it and an error event after it stays an event of its own.
            before = last;
            last = concatBytes([pending.take(), BLANK_LINE]);
            const out = forward(last, opts, summary, undefined, scan(last));
            if (out.bytes.length) controller.enqueue(out.bytes);
          }
          const message = dialect.cutOff;
          if (
            message && !opts.timer.fired && summary.error === undefined && !summary.finished &&
            !dialect.endedIn?.(bytesToText(concatBytes([before, last])))
          ) {
            controller.enqueue(errorEvent(cutOff(message), opts, summary));
          }
          controller.close();
          finish();
          return;
        }
        opts.timer.touch();
        const complete = pending.push(r.value);
        if (pending.size > maxEventBytes(opts)) {
          const f = tooLarge(opts);
          controller.enqueue(errorEvent(f, opts, summary));
          controller.close();
          opts.cancelUpstream();
          reader.cancel().catch(() => {});
          finish();
          return;
        }
        if (!complete) continue;
        before = last;
        last = complete;
        const out = forward(complete, opts, summary, undefined, scan(complete));
        if (out.stop) {
          controller.enqueue(out.bytes);
          controller.close();
          opts.cancelUpstream();
          reader.cancel().catch(() => {});
          finish();
          return;
        }
        if (out.bytes.length) controller.enqueue(out.bytes);
        if (endsAnswer(complete)) {
          controller.close();
          finish();
          void readPastEnd(reader);
          return;
        }
        if (out.bytes.length) return;
      }
    },
    cancel() {
      opts.cancelUpstream();
      reader.cancel().catch(() => {});
      summary.error ??= "client disconnected";
      finish();
    },
  }, { highWaterMark: 0 });
  return { kind: "stream", stream, done };
}

/** What a commit rule gets of a posted request: its watchdog, how to stop it, and the attempt's deadline. */
export interface PostedControls {
  timer: IdleTimer;
  cancelUpstream: () => void;
  commitBy?: number;
}

/**
 * Run `commit` (the rule over bytes or over events) wired to the request `postUpstream` made: its watchdog,
 * the attempt's deadline, and an abort of the request as the way to stop the upstream. The request's controls
 * are released on a failure before the commit, and unlinked when a committed stream ends.
 */
export async function commitWithPosted(
  posted: Extract<Posted, { ok: true }>,
  input: AttemptInput,
  commit: (controls: PostedControls) => Promise<AttemptResult>,
): Promise<AttemptResult> {
  const result = await commit({
    timer: posted.timer,
    cancelUpstream: () => {
      posted.unlink();
      posted.abort();
    },
    commitBy: input.deadline,
  });
  if (!result.ok) posted.done();
  else if ("done" in result.value) result.value.done.finally(() => posted.unlink());
  return result;
}

/** What {@link commitPosted} takes beyond what the posted request and the attempt already say. */
export type PostedCommitOptions = Omit<CommitOptions, "timer" | "signal" | "cancelUpstream" | "commitBy">;

/** Run the stream of an answer `postUpstream` got through the commit rule (see {@link commitWithPosted}). */
export async function commitPosted(
  posted: Extract<Posted, { ok: true }>,
  body: ReadableStream<Uint8Array>,
  input: AttemptInput,
  options: PostedCommitOptions,
): Promise<AttemptResult> {
  return await commitWithPosted(
    posted,
    input,
    (controls) => commitStream(body, { ...options, ...controls, signal: input.signal }),
  );
}
