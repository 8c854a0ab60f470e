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

/** Position of `seq` in `buf` from `from`, or -1. */
export function indexOfBytes(buf: Uint8Array, seq: Uint8Array, from = 0): number {
  const first = seq[0];
  const last = buf.length - seq.length;
  outer: for (let i = buf.indexOf(first, from); i !== -1 && i <= last; i = buf.indexOf(first, i + 1)) {
    for (let j = 1; j < seq.length; j++) if (buf[i + j] !== seq[j]) continue outer;
    return i;
  }
  return -1;
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
