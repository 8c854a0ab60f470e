/**
 * The real Gemini CLI for tests (reference/gemini-cli-testing.md): installed from the npm registry into
 * `.cache/gemini-cli` once (npm_client.ts), an isolated CLI home whose settings point it at a mock, and the
 * environment the proxy passes on to it.
 */
import { npmClient } from "./npm_client.ts";

/** The pinned CLI version the tests run. */
export const GEMINI_CLI_VERSION = "0.61.0";

/** The pinned `gemini` binary (installed on first use, see npm_client.ts). */
export function geminiCliBinary(): Promise<string> {
  return npmClient({
    dir: "gemini-cli",
    packages: [`@google/gemini-cli@${GEMINI_CLI_VERSION}`],
    entry: "node_modules/.bin/gemini",
  });
}

/**
 * An isolated CLI home for a test (its `.gemini/settings.json` as gemini-cli-testing.md describes); `extra`
 * settings are added, `general` merged into the defaults.
 */
export async function makeCliHome(
  extra: { general?: Record<string, unknown>; [section: string]: unknown } = {},
  prefix = "llmproxy-cli-home-",
): Promise<string> {
  const home = await Deno.makeTempDir({ prefix });
  await Deno.mkdir(`${home}/.gemini`);
  await Deno.writeTextFile(
    `${home}/.gemini/settings.json`,
    JSON.stringify({
      security: { auth: { selectedType: "gemini-api-key" } },
      privacy: { usageStatisticsEnabled: false },
      telemetry: { enabled: false },
      ...extra,
      general: { enableAutoUpdate: false, enableAutoUpdateNotification: false, ...extra.general },
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
