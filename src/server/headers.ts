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
