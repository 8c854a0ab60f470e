/**
 * The V8 flags llmproxy runs with. One source: the `start` task in deno.json (`deno task dev` carries the same,
 * a test keeps them equal); `deno task compile` bakes them into the release binary and the bench starts
 * llmproxy with them, as a user's `deno task start` would.
 */

/** The `--v8-flags=…` arguments of a deno.json's `start` task (none when it sets no V8 flag). */
export function v8FlagsOfTasks(denoJson: { tasks?: Record<string, string> }): string[] {
  return (denoJson.tasks?.start ?? "").split(/\s+/).filter((a) => a.startsWith("--v8-flags="));
}

/** The `--v8-flags=…` arguments of the checkout at `root` (a directory path or URL). */
export async function shippedV8Flags(root: string | URL): Promise<string[]> {
  const file = typeof root === "string"
    ? `${root.replace(/\/?$/, "/")}deno.json`
    : new URL("deno.json", root);
  return v8FlagsOfTasks(JSON.parse(await Deno.readTextFile(file)));
}
