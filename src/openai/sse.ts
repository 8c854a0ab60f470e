/**
 * Byte-level helpers for OpenAI-style SSE streams: find event boundaries, look for markers without decoding,
 * read one event's data, and encode events. Pure functions; the pass-through path never re-encodes bytes
 * it does not need to look at.
 */

const LF = 10;
const CR = 13;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * Index just past the last complete event (a blank line) in `buf`, or 0 when there is none. Lines end in
 * CRLF, LF or a lone CR (the SSE standard allows all three). A CR that ends `buf` right after an LF is not
 * counted yet: it may be the first half of a CRLF, whose LF then ends the event.
 */
export function lastEventEnd(buf: Uint8Array): number {
  for (let i = buf.length - 1; i > 0; i--) {
    const b = buf[i];
    if (b === LF) {
      // The line ending before this one ends at j: "\n\n", "\r\n\r\n", "\n\r\n", "\r\r\n", "\r\n\n".
      const j = buf[i - 1] === CR ? i - 2 : i - 1;
      if (j >= 0 && (buf[j] === LF || buf[j] === CR)) return i + 1;
    } else if (b === CR) {
      const last = i === buf.length - 1;
      if (!last && buf[i + 1] === LF) continue; // a CRLF: its LF decided above
      if (buf[i - 1] === CR || (buf[i - 1] === LF && !last)) return i + 1;
    }
  }
  return 0;
}

/**
 * The bytes of a stream that do not yet end in a complete event. Chunks are kept as they came (no copy per
 * chunk, so a huge event costs linear time) and only the few bytes at each junction are searched again.
 */
export class EventBuffer {
  #parts: Uint8Array[] = [];
  #size = 0;

  /** Bytes held that do not yet form a complete event. */
  get size(): number {
    return this.#size;
  }

  /** Add a chunk; returns the bytes up to the last complete event (or undefined) and keeps the rest. */
  push(chunk: Uint8Array): Uint8Array | undefined {
    if (!chunk.length) return undefined;
    if (this.#parts.length === 0) {
      // Nothing held (the usual case: a chunk that ends its events): no junction to look at, no copy.
      const end = lastEventEnd(chunk);
      if (end === chunk.length) return chunk;
      this.#parts.push(end ? chunk.subarray(end) : chunk);
      this.#size = chunk.length - end;
      return end ? chunk.subarray(0, end) : undefined;
    }
    // An event end ("\n\n", "\r\r", "\n\r\n", …) may start in earlier chunks: look at the 2 bytes before too.
    const before: number[] = [];
    for (let i = this.#parts.length - 1; i >= 0 && before.length < 2; i--) {
      const p = this.#parts[i];
      for (let j = p.length - 1; j >= 0 && before.length < 2; j--) before.unshift(p[j]);
    }
    const probe = before.length ? concatBytes([Uint8Array.from(before), chunk]) : chunk;
    const end = lastEventEnd(probe);
    this.#parts.push(chunk);
    this.#size += chunk.length;
    if (end === 0) return undefined;
    const all = concatBytes(this.#parts);
    const cut = all.length - probe.length + end;
    const rest = all.subarray(cut);
    this.#parts = rest.length ? [rest] : [];
    this.#size = rest.length;
    return cut === all.length ? all : all.subarray(0, cut);
  }

  /** Everything held (at the end of the stream). */
  take(): Uint8Array {
    const all = concatBytes(this.#parts);
    this.#parts = [];
    this.#size = 0;
    return all;
  }
}

const SPACE = 32;
const TAB = 9;
const DATA = textToBytes("data:");
const DONE = textToBytes("[DONE]");

function startsWith(buf: Uint8Array, at: number, end: number, seq: Uint8Array): boolean {
  if (end - at < seq.length) return false;
  for (let k = 0; k < seq.length; k++) if (buf[at + k] !== seq[k]) return false;
  return true;
}

/**
 * Start of the first event in `buf` whose data is neither a JSON object nor `[DONE]`, or -1 — judged on bytes
 * alone, without parsing: the data's first non-blank byte must be `{` and its last `}` (which catches HTML,
 * plain text, an empty `data:` and JSON cut short). Events without data (comments, `event:` lines) are fine.
 * An unterminated last event is judged too.
 */
export function firstBadEvent(buf: Uint8Array): number {
  const n = buf.length;
  const hasCR = buf.indexOf(CR) >= 0;
  let eventStart = 0;
  let sawData = false;
  let payloads = 0; // non-blank data payloads of this event
  let first = -1; // first non-blank byte of its data
  let last = -1; // last non-blank byte of its data
  let done = false; // its last non-blank payload is [DONE]
  const bad = () =>
    sawData && !(payloads === 1 && done) && !(first >= 0 && buf[first] === 0x7b && buf[last] === 0x7d);
  for (let i = 0; i < n;) {
    let end = i;
    if (hasCR) { while (end < n && buf[end] !== LF && buf[end] !== CR) end++; }
    else {
      end = buf.indexOf(LF, i);
      if (end < 0) end = n;
    }
    const next = buf[end] === CR && buf[end + 1] === LF ? end + 2 : end + 1;
    if (end === i) {
      // A blank line: the event ends here.
      if (bad()) return eventStart;
      eventStart = next;
      sawData = done = false;
      payloads = 0;
      first = last = -1;
    } else if (startsWith(buf, i, end, DATA)) {
      sawData = true;
      let a = i + DATA.length;
      let b = end;
      while (a < b && (buf[a] === SPACE || buf[a] === TAB)) a++;
      while (b > a && (buf[b - 1] === SPACE || buf[b - 1] === TAB)) b--;
      if (a < b) {
        payloads++;
        if (first < 0) first = a;
        last = b - 1;
        done = startsWith(buf, a, b, DONE) && b - a === DONE.length;
      }
    }
    i = next;
  }
  return bad() ? eventStart : -1;
}

/** Concatenate byte arrays (returns the single array itself when there is one). */
export function concatBytes(parts: Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0];
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

/** Two line endings in a row (CRLF, LF or a lone CR each): the end of an event. */
const BLANK_LINE = /(?:\r\n|\r(?!\n)|\n)(?:\r\n|\r(?!\n)|\n)/;

/** Split complete SSE text into events (blank-line separated), keeping each event's text. */
export function splitEvents(text: string): string[] {
  return text.split(BLANK_LINE).filter((e) => e.trim() !== "");
}

/** The joined `data:` payload of one event, or undefined for comments and events without data. */
export function eventData(event: string): string | undefined {
  let data: string | undefined;
  for (const line of event.split(/\r\n|\r|\n/)) {
    if (!line.startsWith("data:")) continue;
    const v = line.slice(line[5] === " " ? 6 : 5);
    data = data === undefined ? v : `${data}\n${v}`;
  }
  return data;
}

/** Decode bytes as UTF-8 text. */
export function bytesToText(b: Uint8Array): string {
  return decoder.decode(b);
}

/** Encode text as UTF-8 bytes. */
export function textToBytes(s: string): Uint8Array {
  return encoder.encode(s);
}

/** One `data:` event with a JSON payload. */
export function sseData(payload: unknown): string {
  return `data: ${JSON.stringify(payload)}\n\n`;
}

/** The final `data: [DONE]` event. */
export const SSE_DONE = "data: [DONE]\n\n";

/** Headers of an SSE response. */
export const SSE_HEADERS: Record<string, string> = {
  "content-type": "text/event-stream; charset=utf-8",
  "cache-control": "no-cache",
  "x-accel-buffering": "no",
};
