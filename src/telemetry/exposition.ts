/**
 * The Prometheus text exposition format, version 0.0.4: each family's `# HELP` and `# TYPE` lines, then its
 * samples `name{label="value",…} value`; a histogram's series as cumulative `_bucket{…,le="…"}` lines ending
 * in `le="+Inf"`, then `_sum` and `_count` (the `+Inf` bucket). Families in the snapshot's order, series in
 * the order they first appeared.
 */
import type { FamilySnapshot } from "./families.ts";

/** The exposition's content type. */
export const EXPOSITION_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

/** A sample value or bucket bound as Prometheus writes it: `+Inf`, `-Inf`, `NaN`, or the number. */
export function formatNumber(n: number): string {
  if (n === Infinity) return "+Inf";
  if (n === -Infinity) return "-Inf";
  if (Number.isNaN(n)) return "NaN";
  return String(n);
}

/** A label value escaped: backslash, double quote and newline. */
function escapeLabel(v: string): string {
  return /[\\"\n]/.test(v) ? v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n") : v;
}

/** A HELP text escaped: backslash and newline. */
function escapeHelp(v: string): string {
  return v.replace(/\\/g, "\\\\").replace(/\n/g, "\\n");
}

/** `{a="x",b="y"}` of these names and values (plus `extra`, already formatted), or "" when there are none. */
function labelText(names: readonly string[], values: readonly string[], extra?: string): string {
  const parts = names.map((n, i) => `${n}="${escapeLabel(values[i] ?? "")}"`);
  if (extra) parts.push(extra);
  return parts.length ? `{${parts.join(",")}}` : "";
}

/** The families as one exposition (ends with a newline). */
export function renderExposition(families: readonly FamilySnapshot[]): string {
  const out: string[] = [];
  for (const f of families) {
    out.push(`# HELP ${f.name} ${escapeHelp(f.help)}`, `# TYPE ${f.name} ${f.type}`);
    if (f.type !== "histogram") {
      for (const s of f.series) {
        out.push(`${f.name}${labelText(f.labelNames, s.labels)} ${formatNumber(s.value)}`);
      }
      continue;
    }
    const bounds = f.buckets.map(formatNumber).concat("+Inf");
    for (const s of f.series) {
      let cumulative = 0;
      for (let i = 0; i < bounds.length; i++) {
        cumulative += s.counts[i] ?? 0;
        const le = `le="${bounds[i]}"`;
        out.push(`${f.name}_bucket${labelText(f.labelNames, s.labels, le)} ${formatNumber(cumulative)}`);
      }
      const labels = labelText(f.labelNames, s.labels);
      out.push(`${f.name}_sum${labels} ${formatNumber(s.sum)}`, `${f.name}_count${labels} ${cumulative}`);
    }
  }
  return out.join("\n") + "\n";
}
