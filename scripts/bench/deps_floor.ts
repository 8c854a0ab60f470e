/**
 * The idle-memory floor under llmproxy (issue 19's idle-RSS row): the runtime serving on a port with a file KV
 * store open, as llmproxy does, and the npm and `node:` modules llmproxy's start-up loads (the specifiers are
 * the arguments after the KV path; `startupImports` in side_by_side.ts finds them) — and none of llmproxy's
 * code. llmproxy's idle RSS minus this process's is its own code and state. Prints the port it listens on.
 *   deno run -A --unstable-kv scripts/bench/deps_floor.ts KV_PATH [SPECIFIER…]
 */
const [kvPath, ...specifiers] = Deno.args;
const loaded: unknown[] = [];
for (const s of specifiers) loaded.push(await import(s));
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
}, () => Response.json({ modules: loaded.length }));
