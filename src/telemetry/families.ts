/**
 * Metric families in memory: counters, histograms and gauges with label sets, and the plain-data snapshot of
 * them that is rendered (`exposition.ts`) and handed between isolates (`aggregate.ts`). A family's series are
 * found through one `Map` per label, nested, keyed by each label value (`SeriesIndex`), and listed in the order
 * they first appeared; an update is a lookup per label and an add, with no key or label object built.
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

/** Nested maps, one level per label: the last label's map holds the series. */
type Level<S> = Map<string, S | Level<S>>;

/** A family's series by their label values, without building a key of them; `list` in order of appearance. */
class SeriesIndex<S> {
  readonly #root: Level<S> = new Map();
  /** Every series, in the order they first appeared. */
  readonly list: S[] = [];

  /** The series of these label values, if there is one. */
  get(values: readonly string[]): S | undefined {
    return this.#last(values, false)?.get(values.length ? values[values.length - 1] : "") as S | undefined;
  }

  /** Add the series of these label values (which has none yet). */
  add(values: readonly string[], series: S): void {
    this.#last(values, true)!.set(values.length ? values[values.length - 1] : "", series);
    this.list.push(series);
  }

  /** The map of the last label, under the others' values (made when `make`). */
  #last(values: readonly string[], make: boolean): Level<S> | undefined {
    let level = this.#root;
    for (let i = 0; i < values.length - 1; i++) {
      let next = level.get(values[i]) as Level<S> | undefined;
      if (!next) {
        if (!make) return undefined;
        level.set(values[i], next = new Map());
      }
      level = next;
    }
    return level;
  }
}

/** A counter: series that only go up. */
export class Counter {
  readonly #series = new SeriesIndex<ValueSeries>();
  constructor(private readonly def: FamilyDefinition) {}

  /** Add `n` (default 1) to the series of these label values (in the family's label order). */
  inc(values: readonly string[], n = 1): void {
    const s = this.#series.get(values);
    if (s) s.value += n;
    else this.#series.add(values, { labels: [...values], value: n });
  }

  /** This family as plain data. */
  snapshot(): FamilySnapshot {
    return {
      type: "counter",
      ...head(this.def, "sum"),
      series: this.#series.list.map((s) => ({ labels: s.labels, value: s.value })),
    };
  }
}

/** A histogram: observations counted in fixed buckets, with their sum. */
export class Histogram {
  readonly #series = new SeriesIndex<HistogramSeries>();
  readonly #buckets: number[];
  constructor(private readonly def: FamilyDefinition & { buckets: number[] }) {
    this.#buckets = [...def.buckets].sort((a, b) => a - b);
  }

  /** Count `v` in the series of these label values. */
  observe(values: readonly string[], v: number): void {
    let s = this.#series.get(values);
    if (!s) {
      s = { labels: [...values], counts: new Array(this.#buckets.length + 1).fill(0), sum: 0 };
      this.#series.add(values, s);
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
      series: this.#series.list.map((s) => ({
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
