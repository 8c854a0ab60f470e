/**
 * What llmproxy's V8 heap holds at idle, and who made it (issue 19's idle-RSS row): llmproxy (this checkout, its
 * shipped V8 flags, the bench's command line) starts under the inspector with V8's sampling heap profiler
 * already on (`--inspect-wait`), serves nothing, and after WAIT_MS (default 2000) of idle and a full collection
 * prints `Deno.memoryUsage()` and the live objects sampled, by what made them: the nearest frame of our code
 * (`src/`), of a dependency (`node_modules/`) or of the runtime (`ext:`), or V8's own kinds — `(V8 API)`,
 * objects the runtime made from native code, `(PARSER)`, `(BYTECODE_COMPILER)`. Code deserialised from Deno's
 * cache (the emitted JavaScript and V8's code cache, in DENO_DIR) is in the heap's "used" but not among the
 * sampled objects. With COLD=1 the process gets an empty DENO_DIR, as the first start after a change: it
 * transpiles and compiles every module, and `(V8 API)` then holds the modules' source text (each module's
 * emitted JavaScript with its inline source map, two bytes per character in a module with one character outside
 * Latin-1). The inspector adds to the RSS, so only the heap figures are this process's idle state. SI (env):
 * the sampling interval in bytes (default 1024); TOP: rows (25).
 *   deno run -A scripts/bench/idle_heap.ts
 */
import { freePort, listening, proxyArgs, proxyEnv, spawn } from "./side_by_side.ts";
import { connectInspector, frameName, type ProfileFrame } from "./inspector.ts";
import { shippedV8Flags } from "../v8_flags.ts";

const mb = (bytes: number) => (bytes / 1048576).toFixed(1);
const WAIT_MS = Number(Deno.env.get("WAIT_MS") ?? 2000);
const TOP = Number(Deno.env.get("TOP") ?? 25);

/** A sampling heap profile's node (the fields read here). */
interface SampleNode {
  callFrame: ProfileFrame;
  selfSize: number;
  children: SampleNode[];
}

const dir = await Deno.makeTempDir({ prefix: "llmproxy-idle-heap-" });
const port = freePort(), inspectPort = freePort();
const child = spawn([
  `--inspect-wait=127.0.0.1:${inspectPort}`,
  ...await shippedV8Flags(new URL("../../", import.meta.url).pathname),
  // No upstream is called at idle; the start-up's model listing fails fast against a closed port.
  ...proxyArgs(`http://127.0.0.1:${freePort()}/v1`, dir, port),
], { ...proxyEnv(dir), ...(Deno.env.get("COLD") === "1" ? { DENO_DIR: `${dir}/deno-dir` } : {}) });
try {
  const inspector = await connectInspector(inspectPort);
  const call = inspector.call;
  await call("HeapProfiler.enable");
  await call("HeapProfiler.startSampling", { samplingInterval: Number(Deno.env.get("SI") ?? 1024) });
  inspector.send("Runtime.runIfWaitingForDebugger");
  await listening(port, child);
  await new Promise((r) => setTimeout(r, WAIT_MS));
  await call("HeapProfiler.collectGarbage");
  const usage = await call("Runtime.evaluate", {
    expression: "JSON.stringify(Deno.memoryUsage())",
    returnByValue: true,
  }) as { result: { value: string } };
  const mem = JSON.parse(usage.result.value) as Deno.MemoryUsage;
  const { profile } = await call("HeapProfiler.stopSampling") as { profile: { head: SampleNode } };
  inspector.close();

  const byMaker = new Map<string, number>();
  let total = 0;
  const walk = (n: SampleNode, stack: SampleNode["callFrame"][]) => {
    const path = [n.callFrame, ...stack];
    if (n.selfSize) {
      total += n.selfSize;
      const ours = path.find((f) => /\/src\//.test(f.url));
      const dep = path.find((f) => /\/node_modules\//.test(f.url));
      const f = ours ?? dep ?? path[0];
      const key = f.url === "" ? f.functionName : frameName(f); // V8's own kinds: "(V8 API)", "(PARSER)"
      byMaker.set(key, (byMaker.get(key) ?? 0) + n.selfSize);
    }
    for (const c of n.children) walk(c, path);
  };
  walk(profile.head, []);
  // deno-lint-ignore no-console
  console.log(
    `V8 heap at idle after a full collection: ${mb(mem.heapUsed)} MB used of ${
      mb(mem.heapTotal)
    } MB reserved, ` +
      `${mb(mem.external)} MB external; RSS ${mb(mem.rss)} MB (the inspector's included)`,
  );
  // deno-lint-ignore no-console
  console.log(`live objects sampled: ${mb(total)} MB, by maker:`);
  for (const [k, v] of [...byMaker].sort((a, b) => b[1] - a[1]).slice(0, TOP)) {
    // deno-lint-ignore no-console
    console.log(`${(v / 1024).toFixed(0).padStart(7)} KB  ${k}`);
  }
} finally {
  try {
    child.kill("SIGTERM");
  } catch { /* ended */ }
  await child.status;
  await Deno.remove(dir, { recursive: true });
}
