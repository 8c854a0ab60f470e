/**
 * `deno task bench [side] [pooling] [frontends]`: runs the benchmarks (default: all) and prints their tables.
 * `side` needs wrk (`apt-get install wrk`). Exit code 1 when a target is missed.
 */
import { printPooling, runPooling } from "./pooling.ts";
import { printSideBySide, runSideBySide } from "./side_by_side.ts";
import { printFrontEnds, runFrontEnds } from "./frontends.ts";

const wanted = Deno.args.length ? Deno.args : ["side", "pooling", "frontends"];
let ok = true;
for (const name of wanted) {
  if (name === "pooling") {
    const r = await runPooling({
      keys: 3,
      limit: 5,
      windowMs: 2000,
      windows: 4,
      concurrency: 6,
      remainingHeaders: true,
      workers: 1,
    });
    printPooling(r);
    ok &&= r.ok;
  } else if (name === "side") {
    const r = await runSideBySide({ rounds: 5, seconds: 4 });
    printSideBySide(r);
    ok &&= r.ok;
  } else if (name === "frontends") {
    ok = printFrontEnds(await runFrontEnds({ rounds: 5, n: 40 })) && ok;
  } else {
    // deno-lint-ignore no-console
    console.error(`unknown benchmark ${name}; known: side, pooling, frontends`);
    Deno.exit(2);
  }
}
Deno.exit(ok ? 0 : 1);
