/**
 * High-confidence secret shapes redacted from outgoing prompts (SPEC §10.4), each a whole token: the text
 * before and after may not be a token character. README lists these patterns; a test keeps them in sync.
 */

/** A named secret shape. `source` is the regex body shown in README. */
export interface SecretPattern {
  name: string;
  source: string;
}

/** The patterns, in the order they are applied. */
export const SECRET_PATTERNS: readonly SecretPattern[] = [
  { name: "OpenRouter key", source: "sk-or-v1-[0-9a-f]{64}" },
  { name: "OpenAI key (sk-…, sk-proj-…, 40+ characters)", source: "sk-(?:proj-)?[A-Za-z0-9_-]{37,}" },
  { name: "Google API key", source: "AIza[0-9A-Za-z_-]{35}" },
  { name: "GitHub token", source: "gh[opsu]_[A-Za-z0-9]{36}" },
  { name: "AWS access key id", source: "AKIA[0-9A-Z]{16}" },
  { name: "Slack token", source: "xox[abpors]-[A-Za-z0-9-]{10,}" },
  { name: "JSON Web Token", source: "eyJ[A-Za-z0-9_-]+\\.eyJ[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]+" },
];

const TOKEN = "A-Za-z0-9_\\-";
const COMBINED = new RegExp(
  `(?<![${TOKEN}])(?:${SECRET_PATTERNS.map((p) => p.source).join("|")})(?![${TOKEN}])`,
  "g",
);

/** The same shapes, for a yes/no test (no `g`: a test keeps no state between texts). */
const ANY = new RegExp(COMBINED.source);

/** True when `text` holds a secret-shaped token. */
export function hasSecretPattern(text: string): boolean {
  return ANY.test(text);
}

/** Replace every secret-shaped token in `text` with `replacement`, counting them. */
export function redactPatterns(text: string, replacement: string): { text: string; n: number } {
  let n = 0;
  const out = text.replace(COMBINED, () => {
    n++;
    return replacement;
  });
  return { text: n ? out : text, n };
}
