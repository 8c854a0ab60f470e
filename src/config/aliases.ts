/**
 * `model_aliases` lookup (SPEC §4.1, §17): a key names one model, or, ending in `*`, every model name that
 * starts with the text before the `*` (so `"claude-*"` sends each Claude model name a client uses to one
 * target). An exact key wins, then the longest prefix. Pure; routing resolves with it, and sessions and
 * commands ask it whether a name is an alias.
 */

/** The alias target for `name`, or undefined when no key matches. */
export function aliasTarget(aliases: Readonly<Record<string, string>>, name: string): string | undefined {
  // Own entries only: a model named "toString" or "constructor" must not find Object.prototype's members.
  if (Object.hasOwn(aliases, name)) return aliases[name];
  let best: string | undefined; // the longest matching key ending in `*`
  for (const key of Object.keys(aliases)) {
    if (!key.endsWith("*") || !name.startsWith(key.slice(0, -1))) continue;
    if (best === undefined || key.length > best.length) best = key;
  }
  return best === undefined ? undefined : aliases[best];
}
