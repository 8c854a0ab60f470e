/** "Did you mean" for unknown names: the closest candidates by edit distance, substring matches first. */

function distance(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0];
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const up = prev[j];
      prev[j] = Math.min(prev[j] + 1, prev[j - 1] + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = up;
    }
  }
  return prev[b.length];
}

/** Up to `n` candidates closest to `name` (case-insensitive). */
export function closest(name: string, candidates: readonly string[], n = 3): string[] {
  const q = name.toLowerCase();
  return candidates
    .map((c) => {
      const l = c.toLowerCase();
      const score = l.includes(q) || q.includes(l) ? -1000 + Math.abs(l.length - q.length) : distance(q, l);
      return { c, score };
    })
    .sort((x, y) => x.score - y.score || x.c.localeCompare(y.c))
    .slice(0, n)
    .map((x) => x.c);
}

/** The one of `names` a mistyped `name` most likely meant, if one is close enough to be a typo. */
export function nearName(name: string, names: readonly string[]): string | undefined {
  const [best] = closest(name, names, 1);
  if (!best) return undefined;
  const a = name.toLowerCase();
  const b = best.toLowerCase();
  return b.includes(a) || a.includes(b) || distance(a, b) <= Math.max(2, Math.floor(a.length / 4))
    ? best
    : undefined;
}
