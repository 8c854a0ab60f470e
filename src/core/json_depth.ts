/**
 * How deep a JSON text nests, read from the text itself: `JSON.parse` takes any depth, but a value nested
 * tens of thousands of levels deep overflows the stack of code that later walks or serializes it (a
 * Responses object echoing the client's tool schema did, after the upstream had been paid). Pure.
 */

const OPEN_OBJECT = 0x7b; // {
const OPEN_ARRAY = 0x5b; // [
const CLOSE_OBJECT = 0x7d; // }
const CLOSE_ARRAY = 0x5d; // ]
const QUOTE = 0x22; // "
const BACKSLASH = 0x5c; // \

/** The most levels of arrays and objects a request body may nest (a real JSON Schema nests a few dozen). */
export const MAX_JSON_DEPTH = 512;

/** True when `text` opens more than `max` arrays/objects inside one another (brackets in strings do not count). */
export function nestsDeeperThan(text: string, max: number): boolean {
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) i = stringEnd(text, i);
    else if (c === OPEN_OBJECT || c === OPEN_ARRAY) {
      if (++depth > max) return true;
    } else if (c === CLOSE_OBJECT || c === CLOSE_ARRAY) depth--;
  }
  return false;
}

/** The index of the quote that closes the string opened at `open` (the text's length when none does). */
function stringEnd(text: string, open: number): number {
  for (let i = text.indexOf('"', open + 1); i !== -1; i = text.indexOf('"', i + 1)) {
    let backslashes = 0;
    while (text.charCodeAt(i - 1 - backslashes) === BACKSLASH) backslashes++;
    if (backslashes % 2 === 0) return i;
  }
  return text.length;
}
