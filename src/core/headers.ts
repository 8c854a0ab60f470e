/** What the proxy reads of a set of headers: one value by name (a `Headers` is one). */
export interface HeaderReader {
  get(name: string): string | null;
}

/** Header values the proxy sets are ASCII-safe: anything else is percent-encoded, and values are capped at 1 KiB. */

const LIMIT = 1024;
/** Printable ASCII except `%`: kept as is. */
const PLAIN = /^[\x20-\x24\x26-\x7e]*$/;

/**
 * Make a header value ASCII-safe (SPEC §1.1): `decodeURIComponent` always gives the text back (lone
 * surrogates become U+FFFD), and a value longer than 1 KiB is cut between characters, never inside an escape.
 */
export function headerValue(text: string): string {
  if (PLAIN.test(text)) return text.length <= LIMIT ? text : text.slice(0, LIMIT);
  let out = "";
  for (const c of text.toWellFormed()) {
    const e = PLAIN.test(c) ? c : encodeURIComponent(c);
    if (out.length + e.length > LIMIT) break;
    out += e;
  }
  return out;
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

/**
 * A request header as text. HTTP delivers header bytes as Latin-1 characters; when those bytes are valid
 * UTF-8 (a client sending `X-Project: Überblick`), the UTF-8 reading is returned instead.
 */
export function headerText(headers: Headers, name: string): string | undefined {
  const raw = headers.get(name);
  if (raw === null) return undefined;
  if (!/[\x80-\xff]/.test(raw)) return raw;
  for (let i = 0; i < raw.length; i++) if (raw.charCodeAt(i) > 0xff) return raw;
  try {
    return utf8.decode(Uint8Array.from(raw, (c) => c.charCodeAt(0)));
  } catch {
    return raw;
  }
}
