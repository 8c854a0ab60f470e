/**
 * `deno task bench [name…]`: runs the benchmarks and prints their tables. Names: pooling.
 * Exit code 1 when a target is missed.
 */
import { printPooling, runPooling } from "./pooling.ts";

const wanted = Deno.args.length ? Deno.args : ["pooling"];
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
    });
    printPooling(r);
    ok &&= r.ok;
  } else {
    // deno-lint-ignore no-console
    console.error(`unknown benchmark ${name}; known: pooling`);
    Deno.exit(2);
  }
}
Deno.exit(ok ? 0 : 1);
