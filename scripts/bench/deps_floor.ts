/**
 * The idle-memory floor under llmproxy (issue 19's idle-RSS row): the runtime serving on a port with a file KV
 * store open, as llmproxy does, and the npm and `node:` modules llmproxy's start-up loads (the specifiers are
 * the arguments after the KV path; `startupImports` in side_by_side.ts finds them) — and none of llmproxy's
 * code. llmproxy's idle RSS minus this process's is its own code and state. With `--modules` first it also
 * imports llmproxy's code (src/main.ts and all it imports) without running it: what the code costs loaded.
 * Prints the port it listens on; a request gets the count of modules imported and `Deno.memoryUsage()`.
 *   deno run -A --unstable-kv scripts/bench/deps_floor.ts [--modules] KV_PATH [SPECIFIER…]
 */
const modules = Deno.args[0] === "--modules";
const [kvPath, ...specifiers] = Deno.args.slice(modules ? 1 : 0);
const loaded: unknown[] = [];
for (const s of specifiers) loaded.push(await import(s));
if (modules) loaded.push(await import("../../src/main.ts"));
const kv = await Deno.openKv(kvPath);
// An orderly exit on SIGTERM: the store closes.
Deno.addSignalListener("SIGTERM", () => {
  kv.close();
  Deno.exit(0);
});
Deno.serve({
  hostname: "127.0.0.1",
  port: 0,
  // deno-lint-ignore no-console
  onListen: ({ port }) => console.log(port),
}, () => Response.json({ modules: loaded.length, memory: Deno.memoryUsage() }));
