/**
 * The per-request workspace of one CLI run (SPEC §3.3): a fresh temp directory (also the run's TMPDIR)
 * holding `.gemini/settings.json` and the system prompt file, and its removal afterwards together with
 * what the CLI (0.61.0) records for that directory under the user's CLI home: an entry in
 * `~/.gemini/projects.json` and the directories `~/.gemini/tmp/<slug>/` (chat recordings) and
 * `~/.gemini/history/<slug>/`, each marked by a `.project_root` file naming the workspace.
 */
import { homedir } from "node:os";
import type { ChatRequest } from "../../model/request.ts";
import { samplingConfig } from "../gemini/generation_config.ts";

/** A created workspace. */
export interface Workspace {
  /** Absolute, symlink-free path (the CLI keys its records by it). */
  dir: string;
  /** The file `GEMINI_SYSTEM_MD` names. */
  systemFile: string;
}

/**
 * The workspace settings: no built-in tools, MCP servers, skills or hooks, one attempt (the proxy does the
 * retrying), no directory tree, and this request's sampling parameters for `model`. Everything else (auth,
 * privacy) stays as the user's own settings say. Throws `TranslationError` on a sampling value of the wrong
 * type (the backend's `unsupported` check refuses such a body first).
 */
export function workspaceSettings(model: string, body: ChatRequest): Record<string, unknown> {
  const gen = samplingConfig(body as Record<string, unknown>);
  return {
    general: { maxAttempts: 1, enableAutoUpdate: false, enableAutoUpdateNotification: false },
    tools: { core: ["__none__"] },
    mcp: { allowed: ["__none__"] },
    skills: { enabled: false },
    hooksConfig: { enabled: false },
    context: { includeDirectoryTree: false },
    ...(Object.keys(gen).length
      ? { modelConfigs: { overrides: [{ match: { model }, modelConfig: { generateContentConfig: gen } }] } }
      : {}),
  };
}

/**
 * The user's CLI data directory as the CLI finds it: `$GEMINI_CLI_HOME/.gemini`, else `$HOME/.gemini`,
 * else the account's home directory.
 */
export function cliDataDir(env: Record<string, string>): string | undefined {
  let home = env.GEMINI_CLI_HOME || env.HOME;
  if (!home) {
    try {
      home = homedir();
    } catch {
      return undefined;
    }
  }
  return home ? `${home.replace(/\/+$/, "")}/.gemini` : undefined;
}

/** Create the workspace for one run. */
export async function createWorkspace(model: string, body: ChatRequest, system: string): Promise<Workspace> {
  const dir = await Deno.realPath(await Deno.makeTempDir({ prefix: "llmproxy-gemini-cli-" }));
  try {
    await Deno.mkdir(`${dir}/.gemini`);
    await Deno.writeTextFile(`${dir}/.gemini/settings.json`, JSON.stringify(workspaceSettings(model, body)));
    const systemFile = `${dir}/.gemini/system.md`;
    await Deno.writeTextFile(systemFile, system);
    return { dir, systemFile };
  } catch (e) {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
    throw e;
  }
}

async function readText(path: string): Promise<string | undefined> {
  try {
    return await Deno.readTextFile(path);
  } catch {
    return undefined;
  }
}

/** Remove `<base>/<slug>` only when its `.project_root` marker names `dir` (never another project's). */
async function removeOwned(base: string, slug: string, dir: string): Promise<void> {
  if (!slug || slug.includes("/") || slug === "." || slug === "..") return;
  const owner = await readText(`${base}/${slug}/.project_root`);
  if (owner?.trim() === dir) await Deno.remove(`${base}/${slug}`, { recursive: true }).catch(() => {});
}

/**
 * A `projects.json.lock` unchanged for this long is treated as left behind. The CLI holds that lock only
 * for a small read-and-write, but 0.61.0 sometimes exits while a background start-up task holds it, and
 * the next run then waits ~13 s for it to go stale (proper-lockfile: 10 s stale, back-off retries).
 */
export const LEFTOVER_LOCK_MS = 300;

/**
 * Run `fn` holding the CLI's own lock on `projects.json` (proper-lockfile's protocol: a `<file>.lock`
 * directory), so a concurrent CLI run never loses its entry; a lock left behind by an exited run is
 * removed, which also spares the next run the wait.
 */
async function withRegistryLock(file: string, fn: () => Promise<void>): Promise<void> {
  const lock = `${file}.lock`;
  const deadline = Date.now() + 30_000;
  let seen: { mtime: number; since: number } | undefined;
  for (;;) {
    try {
      await Deno.mkdir(lock);
      break;
    } catch (e) {
      if (!(e instanceof Deno.errors.AlreadyExists)) return;
      const mtime = (await Deno.stat(lock).catch(() => undefined))?.mtime?.getTime();
      if (mtime !== undefined && mtime === seen?.mtime) {
        if (Date.now() - seen.since >= LEFTOVER_LOCK_MS) {
          await Deno.remove(lock).catch(() => {});
          seen = undefined;
          continue;
        }
      } else seen = mtime === undefined ? undefined : { mtime, since: Date.now() };
      if (Date.now() > deadline) return;
      await new Promise((r) => setTimeout(r, 25));
    }
  }
  try {
    await fn();
  } finally {
    await Deno.remove(lock).catch(() => {});
  }
}

/**
 * Remove a `projects.json.lock` left behind by an exited CLI run (unchanged for {@link LEFTOVER_LOCK_MS}).
 * Cheap when there is none; started beside each spawn so the new run does not wait ~13 s for it.
 */
export async function sweepLeftoverLock(dataDir: string | undefined): Promise<void> {
  if (!dataDir) return;
  const lock = `${dataDir}/projects.json.lock`;
  const first = (await Deno.stat(lock).catch(() => undefined))?.mtime?.getTime();
  if (first === undefined) return;
  const since = Date.now();
  while (Date.now() - since < LEFTOVER_LOCK_MS) {
    await new Promise((r) => setTimeout(r, 50));
    const now = (await Deno.stat(lock).catch(() => undefined))?.mtime?.getTime();
    if (now !== first) return;
  }
  await Deno.remove(lock).catch(() => {});
}

/** Remove the workspace and what the CLI recorded for it under `dataDir` (the user's `~/.gemini`). */
export async function removeWorkspace(ws: Workspace, dataDir: string | undefined): Promise<void> {
  await Deno.remove(ws.dir, { recursive: true }).catch(() => {});
  if (!dataDir) return;
  const registry = `${dataDir}/projects.json`;
  let slug: string | undefined;
  await withRegistryLock(registry, async () => {
    const text = await readText(registry);
    if (text === undefined) return;
    let data: { projects?: Record<string, string> };
    try {
      data = JSON.parse(text);
    } catch {
      return;
    }
    slug = data.projects?.[ws.dir];
    if (slug === undefined) return;
    delete data.projects![ws.dir];
    const tmp = `${registry}.${crypto.randomUUID()}.tmp`;
    await Deno.writeTextFile(tmp, JSON.stringify(data, null, 2));
    await Deno.rename(tmp, registry).catch(async () => await Deno.remove(tmp).catch(() => {}));
  });
  // The CLI names the slug after the directory; fall back to that when the registry had no entry.
  slug ??= ws.dir.split("/").at(-1)!;
  await removeOwned(`${dataDir}/tmp`, slug, ws.dir);
  await removeOwned(`${dataDir}/history`, slug, ws.dir);
}
