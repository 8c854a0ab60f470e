/**
 * Metric families in memory: counters, histograms and gauges with label sets, and the plain-data snapshot of
 * them that is rendered (`exposition.ts`) and handed between isolates (`aggregate.ts`). A family's series are
 * a `Map` keyed by its label values (joined by NUL, which no label value holds), in the order they first
 * appeared; an update is one lookup and an add, with no label object to sort or hash.
 */

/** How the isolates of one process (`--workers`) combine a family: summed, their maximum, or taken once. */
export type Aggregation = "sum" | "max" | "first";

/** One series of a counter or a gauge: its label values (in the family's label order) and its value. */
export interface ValueSeries {
  labels: string[];
  value: number;
}

/**
 * One series of a histogram: its label values, the observations per bucket (not cumulative: `counts[i]` fell
 * in bucket `i`, the last one above every bound, the `+Inf` one) and the sum of the observations.
 */
export interface HistogramSeries {
  labels: string[];
  counts: number[];
  sum: number;
}

/** What every family's snapshot has. */
interface FamilyHead {
  name: string;
  help: string;
  labelNames: string[];
  aggregation: Aggregation;
}

/** A family as plain data (structured-clonable: what a peer isolate sends). */
export type FamilySnapshot =
  | FamilyHead & { type: "counter" | "gauge"; series: ValueSeries[] }
  | FamilyHead & { type: "histogram"; buckets: number[]; series: HistogramSeries[] };

/** What defines a family. */
export interface FamilyDefinition {
  name: string;
  help: string;
  labelNames?: string[];
}

/** The key of a series: its label values joined. */
function seriesKey(values: readonly string[]): string {
  return values.length === 1 ? values[0] : values.join("\0");
}

/** A counter: series that only go up. */
export class Counter {
  readonly #series = new Map<string, ValueSeries>();
  constructor(private readonly def: FamilyDefinition) {}

  /** Add `n` (default 1) to the series of these label values (in the family's label order). */
  inc(values: readonly string[], n = 1): void {
    const key = seriesKey(values);
    const s = this.#series.get(key);
    if (s) s.value += n;
    else this.#series.set(key, { labels: [...values], value: n });
  }

  /** This family as plain data. */
  snapshot(): FamilySnapshot {
    return {
      type: "counter",
      ...head(this.def, "sum"),
      series: [...this.#series.values()].map((s) => ({ labels: s.labels, value: s.value })),
    };
  }
}

/** A histogram: observations counted in fixed buckets, with their sum. */
export class Histogram {
  readonly #series = new Map<string, HistogramSeries>();
  readonly #buckets: number[];
  constructor(private readonly def: FamilyDefinition & { buckets: number[] }) {
    this.#buckets = [...def.buckets].sort((a, b) => a - b);
  }

  /** Count `v` in the series of these label values. */
  observe(values: readonly string[], v: number): void {
    const key = seriesKey(values);
    let s = this.#series.get(key);
    if (!s) {
      s = { labels: [...values], counts: new Array(this.#buckets.length + 1).fill(0), sum: 0 };
      this.#series.set(key, s);
    }
    const b = this.#buckets;
    let i = 0;
    while (i < b.length && v > b[i]) i++;
    s.counts[i]++;
    s.sum += v;
  }

  /** This family as plain data. */
  snapshot(): FamilySnapshot {
    return {
      type: "histogram",
      ...head(this.def, "sum"),
      buckets: this.#buckets,
      series: [...this.#series.values()].map((s) => ({
        labels: s.labels,
        counts: [...s.counts],
        sum: s.sum,
      })),
    };
  }
}

/** A gauge: its series are read when a snapshot is taken (`read` returns each series' label values and value). */
export class Gauge {
  constructor(
    private readonly def: FamilyDefinition & {
      aggregation?: Aggregation;
      read: () => Iterable<readonly [readonly string[], number]>;
    },
  ) {}

  /** This family as plain data, read now. */
  snapshot(): FamilySnapshot {
    const series: ValueSeries[] = [];
    for (const [labels, value] of this.def.read()) series.push({ labels: [...labels], value });
    return { type: "gauge", ...head(this.def, this.def.aggregation ?? "sum"), series };
  }
}

function head(def: FamilyDefinition, aggregation: Aggregation): FamilyHead {
  return { name: def.name, help: def.help, labelNames: def.labelNames ?? [], aggregation };
}

/** The families of one proxy, in the order they were made (the exposition's order). */
export class MetricRegistry {
  readonly #families: { snapshot(): FamilySnapshot }[] = [];

  /** A new counter in this registry. */
  counter(def: FamilyDefinition): Counter {
    return this.#add(new Counter(def));
  }

  /** A new histogram in this registry. */
  histogram(def: FamilyDefinition & { buckets: number[] }): Histogram {
    return this.#add(new Histogram(def));
  }

  /** A new gauge in this registry. */
  gauge(def: ConstructorParameters<typeof Gauge>[0]): Gauge {
    return this.#add(new Gauge(def));
  }

  #add<F extends { snapshot(): FamilySnapshot }>(family: F): F {
    this.#families.push(family);
    return family;
  }

  /** Every family as plain data, gauges read now. */
  snapshot(): FamilySnapshot[] {
    return this.#families.map((f) => f.snapshot());
  }
}
