/**
 * The real Codex CLI (reference/clients.md) for tests: pinned from npm, run headless (`codex exec`) against the
 * proxy with a throwaway CODEX_HOME holding a `config.toml` whose provider is llmproxy (`wire_api =
 * "responses"`), in an empty workspace, in its own process group, bounded in time and killed afterwards.
 */
import { runProgram } from "./run_program.ts";
import { npmClient } from "./npm_client.ts";

/** The pinned Codex binary, installed on first use. */
export function codexBinary(): Promise<string> {
  return npmClient({ dir: "codex", packages: ["@openai/codex@0.169.0"], entry: "node_modules/.bin/codex" });
}

/** One `codex exec` run. */
export interface CodexRun {
  /** The proxy's base URL (`http://127.0.0.1:PORT`). */
  proxyUrl: string;
  prompt: string;
  /** The model name Codex sends. */
  model: string;
  /** The llmproxy client key (sent as `Authorization: Bearer`). */
  key?: string;
  /** Extra request headers (the provider's `http_headers`, e.g. X-Session-ID). */
  headers?: Record<string, string>;
  /** Files to put in the workspace before the run. */
  files?: Record<string, string>;
  /** Let Codex run commands without its sandbox (the workspace is a throwaway directory). */
  allowCommands?: boolean;
  timeoutMs?: number;
}

/** What a run printed and how it ended. */
export interface CodexResult {
  code: number;
  stdout: string;
  stderr: string;
}

const toml = (s: string) => JSON.stringify(s);

/** Run `codex exec` once and clean up its home and workspace. */
export async function runCodex(run: CodexRun): Promise<CodexResult> {
  const bin = await codexBinary();
  const home = await Deno.makeTempDir({ prefix: "llmproxy-codex-home-" });
  const work = await Deno.makeTempDir({ prefix: "llmproxy-codex-work-" });
  try {
    await Deno.mkdir(`${home}/.codex`);
    const headers = Object.entries(run.headers ?? {}).map(([k, v]) => `${toml(k)} = ${toml(v)}`).join(", ");
    await Deno.writeTextFile(
      `${home}/.codex/config.toml`,
      [
        `model = ${toml(run.model)}`,
        `model_provider = "llmproxy"`,
        `[model_providers.llmproxy]`,
        `name = "llmproxy"`,
        `base_url = ${toml(`${run.proxyUrl}/v1`)}`,
        `env_key = "LLMPROXY_KEY"`,
        `wire_api = "responses"`,
        `request_max_retries = 0`,
        `stream_max_retries = 0`,
        ...(headers ? [`http_headers = { ${headers} }`] : []),
        "",
      ].join("\n"),
    );
    for (const [name, text] of Object.entries(run.files ?? {})) {
      await Deno.writeTextFile(`${work}/${name}`, text);
    }
    const out = await runProgram(
      bin,
      [
        "exec",
        "--skip-git-repo-check",
        ...(run.allowCommands ? ["--dangerously-bypass-approvals-and-sandbox"] : []),
        run.prompt,
      ],
      {
        cwd: work,
        env: {
          PATH: Deno.env.get("PATH") ?? "",
          HOME: home,
          CODEX_HOME: `${home}/.codex`,
          LLMPROXY_KEY: run.key ?? "unused-key",
          NO_COLOR: "1",
        },
        timeoutMs: run.timeoutMs ?? 60_000,
      },
    );
    return { code: out.code, stdout: out.stdout, stderr: out.stderr };
  } finally {
    await Deno.remove(home, { recursive: true }).catch(() => {});
    await Deno.remove(work, { recursive: true }).catch(() => {});
  }
}
