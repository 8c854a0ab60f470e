/**
 * `deno task compile [TARGET…]`: builds the single `llmproxy` executable for each release target into dist/.
 * Needs internet access (deno compile downloads the runtime for each target), so it cannot run offline.
 */

import { shippedV8Flags } from "./v8_flags.ts";

/** Release targets: Deno target triple → file name suffix. */
export const TARGETS: Record<string, string> = {
  "x86_64-unknown-linux-gnu": "linux-x64",
  "aarch64-unknown-linux-gnu": "linux-arm64",
  "x86_64-apple-darwin": "macos-x64",
  "aarch64-apple-darwin": "macos-arm64",
  "x86_64-pc-windows-msvc": "windows-x64.exe",
};

/** Exactly the permissions and unstable features the program needs. */
export const COMPILE_FLAGS = [
  "--allow-net", // serve + upstream requests (fetch)
  "--allow-env", // keys and settings
  "--allow-read", // .env, --config, data dir, the gemini binary lookup
  "--allow-write", // data dir, KV file, --log, --audit-log, --config rewrite, CLI temp workspaces
  "--allow-run", // the gemini CLI
  "--allow-sys", // os facts the CLI backend and KV need (home dir, hostname)
  "--unstable-kv",
  "--unstable-net", // Deno.listen({ reusePort }) for --workers
  "--include", // the worker isolates' entry (a module only `new Worker` loads)
  "src/worker.ts",
  "--unstable-no-legacy-abort",
  "--no-check",
];

/** The `deno compile` arguments for one target: the flags above, the V8 flags `deno task start` runs with. */
export function compileArgs(target: string, output: string, v8Flags: string[]): string[] {
  return ["compile", ...COMPILE_FLAGS, ...v8Flags, "--target", target, "--output", output, "src/main.ts"];
}

if (import.meta.main) {
  const v8Flags = await shippedV8Flags(new URL("../", import.meta.url));
  const wanted = Deno.args.length ? Deno.args : Object.keys(TARGETS);
  await Deno.mkdir("dist", { recursive: true });
  for (const target of wanted) {
    const suffix = TARGETS[target];
    if (!suffix) {
      // deno-lint-ignore no-console
      console.error(`unknown target ${target}; one of ${Object.keys(TARGETS).join(", ")}`);
      Deno.exit(2);
    }
    const output = `dist/llmproxy-${suffix}`;
    const args = compileArgs(target, output, v8Flags);
    // deno-lint-ignore no-console
    console.log(`deno ${args.join(" ")}`);
    const { code } = await new Deno.Command(Deno.execPath(), { args, stdout: "inherit", stderr: "inherit" })
      .output();
    if (code !== 0) Deno.exit(code);
  }
}
