/**
 * The real Gemini CLI for tests (reference/gemini-cli-testing.md): installed from the npm registry into
 * `.cache/gemini-cli` once (a lock directory keeps parallel test processes from racing), an isolated CLI
 * home whose settings point it at a mock, and the environment the proxy passes on to it.
 */

/** The pinned CLI version the tests run. */
export const GEMINI_CLI_VERSION = "0.61.0";

const ROOT = new URL("../../", import.meta.url).pathname;
const PREFIX = `${ROOT}.cache/gemini-cli`;
const BIN = `${PREFIX}/node_modules/.bin/gemini`;
const LOCK = `${ROOT}.cache/gemini-cli.lock`;

/** Written after a complete install, so a half-finished or killed install is never taken for one. */
const MARKER = `${PREFIX}/.installed-${GEMINI_CLI_VERSION}`;

async function installed(): Promise<boolean> {
  return await Deno.stat(MARKER).then(() => Deno.stat(BIN)).then(() => true, () => false);
}

async function install(): Promise<string> {
  if (await installed()) return BIN;
  await Deno.mkdir(`${ROOT}.cache`, { recursive: true });
  for (let waited = 0;;) {
    try {
      await Deno.mkdir(LOCK);
      break;
    } catch (e) {
      if (!(e instanceof Deno.errors.AlreadyExists)) throw e;
      const st = await Deno.stat(LOCK).catch(() => undefined);
      // Another process installs; a lock older than 5 minutes is left over from a killed run.
      if (st?.mtime && Date.now() - st.mtime.getTime() > 300_000) await Deno.remove(LOCK).catch(() => {});
      await new Promise((r) => setTimeout(r, 200));
      waited += 200;
      if (waited > 600_000) {
        throw new Error("timed out waiting for another process to install the Gemini CLI");
      }
    }
  }
  try {
    if (await installed()) return BIN;
    const out = await new Deno.Command("npm", {
      args: [
        "install",
        "--prefix",
        PREFIX,
        "--no-audit",
        "--no-fund",
        "--loglevel=error",
        `@google/gemini-cli@${GEMINI_CLI_VERSION}`,
      ],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
    if (!out.success) {
      throw new Error(`npm install @google/gemini-cli failed: ${new TextDecoder().decode(out.stderr)}`);
    }
    await Deno.stat(BIN);
    await Deno.writeTextFile(MARKER, "");
    return BIN;
  } finally {
    await Deno.remove(LOCK).catch(() => {});
  }
}

let installing: Promise<string> | undefined;

/** The absolute path of the pinned `gemini` binary, installing it on first use. */
export function geminiCliBinary(): Promise<string> {
  installing ??= install();
  return installing;
}

/** An isolated CLI home for a test (its `.gemini/settings.json` as gemini-cli-testing.md describes). */
export async function makeCliHome(): Promise<string> {
  const home = await Deno.makeTempDir({ prefix: "llmproxy-cli-home-" });
  await Deno.mkdir(`${home}/.gemini`);
  await Deno.writeTextFile(
    `${home}/.gemini/settings.json`,
    JSON.stringify({
      security: { auth: { selectedType: "gemini-api-key" } },
      privacy: { usageStatisticsEnabled: false },
      telemetry: { enabled: false },
      general: { enableAutoUpdate: false, enableAutoUpdateNotification: false },
    }),
  );
  return home;
}

/** The proxy's environment for a CLI against a mock at `mockUrl` with its home in `home`. */
export function cliProxyEnv(home: string, mockUrl: string): Record<string, string> {
  return {
    PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
    HOME: home,
    GEMINI_CLI_HOME: home,
    GOOGLE_GEMINI_BASE_URL: mockUrl,
    GEMINI_API_KEY: "dummy",
  };
}

/** What the CLI recorded under a home for runs (project entries and per-project directories). */
export async function cliRecords(home: string): Promise<string[]> {
  const found: string[] = [];
  try {
    const reg = JSON.parse(await Deno.readTextFile(`${home}/.gemini/projects.json`)) as {
      projects?: Record<string, string>;
    };
    found.push(...Object.keys(reg.projects ?? {}).map((p) => `projects.json:${p}`));
  } catch { /* no registry yet */ }
  for (const sub of ["tmp", "history"]) {
    try {
      for await (const e of Deno.readDir(`${home}/.gemini/${sub}`)) found.push(`${sub}/${e.name}`);
    } catch { /* none */ }
  }
  return found;
}

/** Poll `check` until it stops throwing (at most `ms`); the last error is thrown after that. */
export async function eventually(check: () => void | Promise<void>, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    try {
      return await check();
    } catch (e) {
      if (Date.now() > deadline) throw e;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}
