/** Header values the proxy sets are ASCII-safe: anything else is percent-encoded, and values are capped at 1 KiB. */

/** Make a header value ASCII-safe (SPEC §1.1). */
export function headerValue(text: string): string {
  const safe = /^[\x20-\x7e]*$/.test(text)
    ? text
    : text.replace(/[^\x20-\x7e]|%/gu, (c) => encodeURIComponent(c));
  if (safe.length <= 1024) return safe;
  // Do not cut a %XX escape in half.
  let cut = 1024;
  const pct = safe.lastIndexOf("%", cut);
  if (pct > cut - 3) cut = pct;
  return safe.slice(0, cut);
}
