/**
 * Layers that stay layers (issue 13): reads the import graph of the program (`deno info --json src/main.ts`),
 * folds it to folders of `src/` (files directly in `src/` are "main"), and fails on an import against the
 * order written in src/layers.ts or on a cycle between folders — except today's debt in KNOWN_VIOLATIONS,
 * which may only shrink.
 */
import assert from "node:assert/strict";
import { LAYERS } from "../../src/layers.ts";

/**
 * Folder→folder imports that go against src/layers.ts today (issue 13's debt). Each entry must still be
 * needed: the test fails when one is gone, so remove it then. Never add one to make a new import pass.
 */
const KNOWN_VIOLATIONS: readonly string[] = [];

const ROOT = new URL("../../", import.meta.url);
const SRC = new URL("src/", ROOT).href;

/** The folder of a `src/` module: its top-level folder, or "main" for a file directly in `src/`. */
function folderOf(specifier: string): string {
  const rest = specifier.slice(SRC.length);
  const slash = rest.indexOf("/");
  return slash < 0 ? "main" : rest.slice(0, slash);
}

interface InfoModule {
  specifier: string;
  dependencies?: { code?: { specifier?: string }; type?: { specifier?: string } }[];
}

/** Folder edges ("a → b") of `src/`, each with the file imports ("src/x.ts → src/y.ts") that make it. */
async function folderGraph(): Promise<Map<string, string[]>> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", "src/main.ts"],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.ok(out.success, `deno info failed: ${new TextDecoder().decode(out.stderr)}`);
  const info: { modules: InfoModule[] } = JSON.parse(new TextDecoder().decode(out.stdout));
  const edges = new Map<string, string[]>();
  let files = 0;
  for (const m of info.modules) {
    if (!m.specifier.startsWith(SRC)) continue;
    files++;
    for (const dep of m.dependencies ?? []) {
      for (const target of new Set([dep.code?.specifier, dep.type?.specifier])) {
        if (!target?.startsWith(SRC)) continue;
        const from = folderOf(m.specifier), to = folderOf(target);
        if (from === to) continue;
        const key = `${from} → ${to}`;
        const file = `src/${m.specifier.slice(SRC.length)} → src/${target.slice(SRC.length)}`;
        const list = edges.get(key) ?? [];
        if (!list.includes(file)) list.push(file);
        edges.set(key, list);
      }
    }
  }
  // A graph read wrong would pass every check below: make sure it is the program.
  assert.ok(files > 50 && edges.has("main → server"), `import graph looks wrong (${files} files in src/)`);
  return edges;
}

let graph: Promise<Map<string, string[]>> | undefined;
const readGraph = () => graph ??= folderGraph();

const rank = new Map(LAYERS.flatMap((line, i) => line.map((folder) => [folder, i] as const)));

/** True when `from` may import `to` by src/layers.ts. */
function allowed(edge: string): boolean {
  const [from, to] = edge.split(" → ");
  return rank.get(from)! < rank.get(to)!;
}

/** Each folder edge with the file imports that make it (at most `max` of them). */
function describe(edges: Map<string, string[]>, keys: string[], max = Infinity): string {
  return keys.map((k) => {
    const files = edges.get(k)!;
    const more = files.length > max ? ` (and ${files.length - max} more)` : "";
    return `  ${k}${more}\n${files.slice(0, max).map((f) => `      ${f}`).join("\n")}`;
  }).join("\n");
}

Deno.test("architecture: every folder of src/ has a place in src/layers.ts", async () => {
  const folders = new Set([...(await readGraph()).keys()].flatMap((e) => e.split(" → ")));
  const missing = [...folders].filter((f) => !rank.has(f));
  assert.deepEqual(missing, [], `folders missing from LAYERS in src/layers.ts: ${missing.join(", ")}`);
});

Deno.test("architecture: no import goes against the direction in src/layers.ts", async () => {
  const edges = await readGraph();
  const bad = [...edges.keys()].filter((e) => rank.has(e.split(" → ")[0]) && rank.has(e.split(" → ")[1]))
    .filter((e) => !allowed(e) && !KNOWN_VIOLATIONS.includes(e)).sort();
  assert.ok(
    bad.length === 0,
    `imports against the layer order of src/layers.ts (a folder may import only folders below it):\n` +
      describe(edges, bad),
  );
});

Deno.test("architecture: KNOWN_VIOLATIONS only shrinks (every entry is still needed)", async () => {
  const edges = await readGraph();
  const stale = KNOWN_VIOLATIONS.filter((e) => !edges.has(e) || allowed(e));
  assert.deepEqual(
    stale,
    [],
    `these KNOWN_VIOLATIONS in tests/unit/architecture_test.ts are no longer needed; remove them: ${
      stale.join(", ")
    }`,
  );
});

Deno.test("architecture: no cycle between folders (beyond KNOWN_VIOLATIONS)", async () => {
  const edges = await readGraph();
  const next = new Map<string, string[]>();
  for (const e of edges.keys()) {
    if (KNOWN_VIOLATIONS.includes(e)) continue;
    const [from, to] = e.split(" → ");
    next.set(from, [...next.get(from) ?? [], to]);
  }
  // Depth-first search; a grey folder met again closes a cycle.
  const state = new Map<string, "grey" | "black">();
  const cycles: string[][] = [];
  const visit = (f: string, path: string[]) => {
    state.set(f, "grey");
    for (const to of next.get(f) ?? []) {
      if (state.get(to) === "grey") cycles.push([...path.slice(path.indexOf(to)), f, to]);
      else if (!state.has(to)) visit(to, [...path, f]);
    }
    state.set(f, "black");
  };
  for (const f of [...next.keys()].sort()) if (!state.has(f)) visit(f, []);
  assert.ok(
    cycles.length === 0,
    `cycles between folders:\n` + cycles.map((c) => {
      const steps = c.slice(1).map((to, i) => `${c[i]} → ${to}`);
      return `  ${c.join(" → ")}\n${describe(edges, steps, 1)}`;
    }).join("\n"),
  );
});
