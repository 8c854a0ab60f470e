/**
 * The metrics of a process's isolates (`--workers`) as one: each family's series matched by label values and
 * combined as the family says — counters, histograms and per-isolate gauges summed, gauges of shared state
 * their maximum, gauges of the process taken once (from the first snapshot that has the series: the asking
 * isolate's own). A peer's family whose shape differs from the first one's (type, labels, buckets) is skipped.
 */
import type { FamilySnapshot, HistogramSeries, ValueSeries } from "./families.ts";

/** The snapshots of several isolates (the asking isolate's first) combined into one. */
export function mergeSnapshots(all: readonly FamilySnapshot[][]): FamilySnapshot[] {
  const merged = new Map<string, FamilySnapshot>();
  for (const families of all) {
    for (const f of families) {
      const into = merged.get(f.name);
      if (!into) merged.set(f.name, copy(f));
      else if (sameShape(into, f)) addInto(into, f);
    }
  }
  return [...merged.values()];
}

function copy(f: FamilySnapshot): FamilySnapshot {
  return f.type === "histogram"
    ? { ...f, series: f.series.map((s) => ({ ...s, counts: [...s.counts] })) }
    : { ...f, series: f.series.map((s) => ({ ...s })) };
}

function sameShape(a: FamilySnapshot, b: FamilySnapshot): boolean {
  if (a.type !== b.type || a.labelNames.join("\0") !== b.labelNames.join("\0")) return false;
  return a.type !== "histogram" || b.type !== "histogram" || a.buckets.join() === b.buckets.join();
}

function addInto(into: FamilySnapshot, from: FamilySnapshot): void {
  const byLabels = new Map<string, ValueSeries | HistogramSeries>();
  for (const s of into.series) byLabels.set(s.labels.join("\0"), s);
  for (const s of from.series) {
    const mine = byLabels.get(s.labels.join("\0"));
    if (!mine) {
      const added = "counts" in s ? { ...s, counts: [...s.counts] } : { ...s };
      (into.series as (ValueSeries | HistogramSeries)[]).push(added);
      byLabels.set(s.labels.join("\0"), added);
    } else if ("counts" in mine && "counts" in s) {
      for (let i = 0; i < mine.counts.length; i++) mine.counts[i] += s.counts[i] ?? 0;
      mine.sum += s.sum;
    } else if ("value" in mine && "value" in s) {
      if (into.aggregation === "sum") mine.value += s.value;
      else if (into.aggregation === "max") mine.value = Math.max(mine.value, s.value);
    }
  }
}
