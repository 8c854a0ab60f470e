/**
 * Start-up and idle memory of llmproxy checkouts, interleaved: each round starts `src/main.ts --disable-auth …`
 * of every checkout in turn (the order alternating round by round), timing spawn → the summary line (listening),
 * and reads its RSS after half a second idle. Prints each checkout's medians.
 *   deno run -A scripts/bench/idle_start.ts [rounds] [checkout…]   (default: 10 rounds, this checkout)
 */
import { firstLine, median, rssMb, spawn, startProxy } from "./side_by_side.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
const rounds = Number(Deno.args[0] ?? 10);
const checkouts = Deno.args.length > 1 ? Deno.args.slice(1) : [ROOT];

const dir = await Deno.makeTempDir({ prefix: "llmproxy-idle-" });
const mock = spawn(["scripts/bench/mock.ts"]);
try {
  const upstream = `http://127.0.0.1:${Number(await firstLine(mock))}/v1`;
  const figures = new Map(checkouts.map((c) => [c, { start: [] as number[], rss: [] as number[] }]));
  for (let r = 0; r < rounds; r++) {
    const order = r % 2 ? [...checkouts].reverse() : checkouts;
    for (const checkout of order) {
      const p = await startProxy(upstream, dir, [], checkout);
      await new Promise((res) => setTimeout(res, 500));
      const f = figures.get(checkout)!;
      f.start.push(p.startMs);
      f.rss.push(rssMb(p.child!.pid));
      p.child!.kill("SIGTERM");
      await p.child!.status;
    }
  }
  for (const [checkout, f] of figures) {
    // deno-lint-ignore no-console
    console.log(
      `${checkout}: start → listening median ${median(f.start).toFixed(0)} ms ` +
        `(${f.start.map((x) => x.toFixed(0)).join(" ")}); idle RSS median ${median(f.rss).toFixed(1)} MB ` +
        `(${f.rss.map((x) => x.toFixed(1)).join(" ")})`,
    );
  }
} finally {
  mock.kill("SIGTERM");
  await mock.status;
  await Deno.remove(dir, { recursive: true });
}
