/**
 * A strict reader of the Prometheus text exposition format (0.0.4) for tests: every line must be a `# HELP`,
 * a `# TYPE`, a comment, a blank line or a well-formed sample; a family's TYPE comes before its samples, once,
 * and its samples are contiguous; label values are properly escaped; a sample name appears once per label set.
 * Histograms must have `le` buckets that rise with `le` and never fall, a `+Inf` bucket equal to `_count`, and
 * a `_sum`. Counters are never negative. Anything else throws, naming the line.
 */

/** One sample line. */
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** One metric family. */
export interface Family {
  name: string;
  type: "counter" | "gauge" | "histogram" | "summary" | "untyped";
  help?: string;
  samples: Sample[];
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const VALUE = /^(?:[+-]?(?:\d+\.?\d*(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?)|NaN|[+-]Inf)$/;

function parseValue(text: string, where: string): number {
  if (!VALUE.test(text)) throw new Error(`${where}: bad value "${text}"`);
  if (text === "+Inf") return Infinity;
  if (text === "-Inf") return -Infinity;
  return Number(text);
}

/** Split `{a="x",b="y"}` starting at `s[i] === "{"`; returns the labels and the index after `}`. */
function parseLabels(s: string, i: number, where: string): { labels: Record<string, string>; end: number } {
  const labels: Record<string, string> = {};
  i++; // {
  for (;;) {
    if (s[i] === "}") return { labels, end: i + 1 };
    const eq = s.indexOf("=", i);
    if (eq < 0) throw new Error(`${where}: label without "="`);
    const name = s.slice(i, eq);
    if (!LABEL.test(name)) throw new Error(`${where}: bad label name "${name}"`);
    if (name in labels) throw new Error(`${where}: label "${name}" twice`);
    if (s[eq + 1] !== '"') throw new Error(`${where}: label value of "${name}" is not quoted`);
    let v = "";
    let j = eq + 2;
    for (;; j++) {
      const c = s[j];
      if (c === undefined) throw new Error(`${where}: unterminated label value`);
      if (c === '"') break;
      if (c === "\n") throw new Error(`${where}: raw newline in a label value`);
      if (c === "\\") {
        const n = s[++j];
        if (n === "\\") v += "\\";
        else if (n === '"') v += '"';
        else if (n === "n") v += "\n";
        else throw new Error(`${where}: bad escape "\\${n}" in a label value`);
      } else v += c;
    }
    labels[name] = v;
    i = j + 1;
    if (s[i] === ",") i++;
    else if (s[i] !== "}") throw new Error(`${where}: expected "," or "}" after a label`);
  }
}

/** The family a sample name belongs to (histogram and summary samples have suffixes). */
function familyOf(name: string, families: Map<string, Family>): Family | undefined {
  if (families.has(name)) return families.get(name);
  for (const suffix of ["_bucket", "_sum", "_count"]) {
    if (name.endsWith(suffix)) {
      const f = families.get(name.slice(0, -suffix.length));
      if (f && (f.type === "histogram" || f.type === "summary")) return f;
    }
  }
  return undefined;
}

/** Parse an exposition strictly; throws on the first problem. */
export function parsePrometheus(text: string): Map<string, Family> {
  const families = new Map<string, Family>();
  const closed = new Set<string>();
  let current: Family | undefined;
  const seen = new Set<string>();
  if (text.length && !text.endsWith("\n")) throw new Error("the exposition does not end with a newline");
  for (const [n, line] of text.split("\n").entries()) {
    const where = `line ${n + 1} (${JSON.stringify(line.slice(0, 120))})`;
    if (line === "") continue;
    if (line.startsWith("#")) {
      const m = /^# (HELP|TYPE) (\S+)(?: (.*))?$/.exec(line);
      if (!m) continue; // a plain comment
      const [, kind, name, rest = ""] = m;
      if (!NAME.test(name)) throw new Error(`${where}: bad metric name`);
      let f = families.get(name);
      if (f && closed.has(name)) {
        throw new Error(`${where}: family ${name} appears again after other families`);
      }
      if (!f) {
        f = { name, type: "untyped", samples: [] };
        families.set(name, f);
      }
      if (current && current !== f) closed.add(current.name);
      current = f;
      if (kind === "TYPE") {
        if (f.samples.length) throw new Error(`${where}: TYPE after samples of ${name}`);
        if (!["counter", "gauge", "histogram", "summary", "untyped"].includes(rest)) {
          throw new Error(`${where}: unknown type "${rest}"`);
        }
        f.type = rest as Family["type"];
      } else {
        if (f.help !== undefined) throw new Error(`${where}: second HELP for ${name}`);
        f.help = rest;
      }
      continue;
    }
    const nameEnd = line.search(/[{ ]/);
    if (nameEnd <= 0) throw new Error(`${where}: not a sample`);
    const name = line.slice(0, nameEnd);
    if (!NAME.test(name)) throw new Error(`${where}: bad metric name`);
    let labels: Record<string, string> = {};
    let i = nameEnd;
    if (line[i] === "{") ({ labels, end: i } = parseLabels(line, i, where));
    if (line[i] !== " ") throw new Error(`${where}: expected a space before the value`);
    const parts = line.slice(i + 1).split(" ");
    if (parts.length > 2 || (parts.length === 2 && !/^-?\d+$/.test(parts[1]))) {
      throw new Error(`${where}: expected "value [timestamp]"`);
    }
    const value = parseValue(parts[0], where);
    const f = familyOf(name, families);
    if (!f) throw new Error(`${where}: sample of ${name} without a TYPE line`);
    if (current !== f) throw new Error(`${where}: samples of ${f.name} are not contiguous`);
    const id = `${name}${JSON.stringify(Object.entries(labels).sort())}`;
    if (seen.has(id)) throw new Error(`${where}: duplicate sample`);
    seen.add(id);
    if (f.type === "counter" && !(value >= 0)) throw new Error(`${where}: counter below zero`);
    f.samples.push({ name, labels, value });
  }
  for (const f of families.values()) if (f.type === "histogram") checkHistogram(f);
  return families;
}

function checkHistogram(f: Family): void {
  const series = new Map<string, { buckets: [number, number][]; sum?: number; count?: number }>();
  for (const s of f.samples) {
    const { le, ...rest } = s.labels;
    const id = JSON.stringify(Object.entries(rest).sort());
    const h = series.get(id) ?? { buckets: [] };
    series.set(id, h);
    if (s.name === `${f.name}_bucket`) {
      if (le === undefined) throw new Error(`${f.name}: a bucket without "le"`);
      h.buckets.push([le === "+Inf" ? Infinity : Number(le), s.value]);
    } else if (s.name === `${f.name}_sum`) h.sum = s.value;
    else if (s.name === `${f.name}_count`) h.count = s.value;
    else throw new Error(`${f.name}: unexpected sample ${s.name} in a histogram`);
  }
  for (const [id, h] of series) {
    if (h.sum === undefined || h.count === undefined) throw new Error(`${f.name}${id}: no _sum or _count`);
    for (let i = 1; i < h.buckets.length; i++) {
      const [le0, c0] = h.buckets[i - 1], [le1, c1] = h.buckets[i];
      if (!(le1 > le0)) throw new Error(`${f.name}${id}: bucket bounds do not rise (${le0} then ${le1})`);
      if (c1 < c0) throw new Error(`${f.name}${id}: bucket counts fall (${c0} then ${c1}) at le=${le1}`);
    }
    const last = h.buckets.at(-1);
    if (!last || last[0] !== Infinity) throw new Error(`${f.name}${id}: no +Inf bucket`);
    if (last[1] !== h.count) {
      throw new Error(`${f.name}${id}: +Inf bucket ${last[1]} is not _count ${h.count}`);
    }
  }
}

/** The sum of the samples named `name` whose labels include `labels` (0 when none: a counter not yet touched). */
export function total(
  families: Map<string, Family>,
  name: string,
  labels: Record<string, string> = {},
): number {
  let sum = 0;
  for (const f of families.values()) {
    for (const s of f.samples) {
      if (s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v)) sum += s.value;
    }
  }
  return sum;
}
