/**
 * Removes configured secret values (backend keys, client keys) from text that leaves the proxy: upstream
 * error messages, log lines, headers. One regex over all values, longest first.
 */

/** Replacement shown instead of a secret value. */
export const REDACTED = "(API_KEY_HAS_BEEN_REDACTED)";

/** A function that replaces every configured secret value in a text, counting replacements. */
export interface Scrubber {
  (text: string): string;
  /** Replace and count. */
  count(text: string): { text: string; n: number };
  /** True when some secret value occurs in `text`. */
  has(text: string): boolean;
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** Build a scrubber for these secret values (values shorter than 8 characters are ignored as too generic). */
export function createScrubber(values: Iterable<string>): Scrubber {
  const list = [...new Set([...values].filter((v) => v.length >= 8))].sort((a, b) => b.length - a.length);
  const re = list.length ? new RegExp(list.map(escapeRegExp).join("|"), "g") : undefined;
  const count = (text: string) => {
    if (!re) return { text, n: 0 };
    let n = 0;
    const out = text.replace(re, () => {
      n++;
      return REDACTED;
    });
    return { text: out, n };
  };
  const scrub = ((text: string) => (re ? text.replace(re, REDACTED) : text)) as Scrubber;
  scrub.count = count;
  scrub.has = (text: string) => (re ? (re.lastIndex = 0, re.test(text)) : false);
  return scrub;
}
