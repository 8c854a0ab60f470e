/**
 * Real clients for tests (reference/clients.md), installed from the npm registry into `.cache/<dir>` once per
 * machine: a lock directory keeps parallel test processes from racing, and a marker written after a complete
 * install keeps a half-finished or killed install from being taken for one. `.ci/run` starts from a clean
 * clone, so CI installs each pinned client on its first use.
 */

const ROOT = new URL("../../", import.meta.url).pathname;

/** One pinned npm package and the binary (under `node_modules/.bin`) or module directory the tests use. */
export interface NpmClient {
  /** Folder under `.cache/`. */
  dir: string;
  /** Packages to install, pinned: `name@version`. */
  packages: readonly string[];
  /** Path inside the prefix that must exist after the install (e.g. `node_modules/.bin/claude`). */
  entry: string;
}

async function exists(path: string): Promise<boolean> {
  return await Deno.stat(path).then(() => true, () => false);
}

async function install(client: NpmClient): Promise<string> {
  const prefix = `${ROOT}.cache/${client.dir}`;
  const entry = `${prefix}/${client.entry}`;
  const marker = `${prefix}/.installed-${client.packages.join(",").replaceAll("/", "_")}`;
  const lock = `${ROOT}.cache/${client.dir}.lock`;
  const ready = async () => (await exists(marker)) && (await exists(entry));
  if (await ready()) return entry;
  await Deno.mkdir(`${ROOT}.cache`, { recursive: true });
  for (let waited = 0;;) {
    try {
      await Deno.mkdir(lock);
      break;
    } catch (e) {
      if (!(e instanceof Deno.errors.AlreadyExists)) throw e;
      const st = await Deno.stat(lock).catch(() => undefined);
      // Another process installs; a lock older than 5 minutes is left over from a killed run.
      if (st?.mtime && Date.now() - st.mtime.getTime() > 300_000) await Deno.remove(lock).catch(() => {});
      await new Promise((r) => setTimeout(r, 200));
      waited += 200;
      if (waited > 600_000) throw new Error(`timed out waiting for another process to install ${client.dir}`);
    }
  }
  try {
    if (await ready()) return entry;
    const out = await new Deno.Command("npm", {
      args: [
        "install",
        "--prefix",
        prefix,
        "--no-audit",
        "--no-fund",
        "--loglevel=error",
        ...client.packages,
      ],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
    if (!out.success) {
      throw new Error(
        `npm install ${client.packages.join(" ")} failed: ${new TextDecoder().decode(out.stderr)}`,
      );
    }
    await Deno.stat(entry);
    await Deno.writeTextFile(marker, "");
    return entry;
  } finally {
    await Deno.remove(lock).catch(() => {});
  }
}

const installing = new Map<string, Promise<string>>();

/** The absolute path of `client.entry`, installing the pinned packages on first use. */
export function npmClient(client: NpmClient): Promise<string> {
  let p = installing.get(client.dir);
  if (!p) {
    p = install(client);
    installing.set(client.dir, p);
  }
  return p;
}
