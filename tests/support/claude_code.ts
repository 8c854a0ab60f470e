/**
 * The real Claude Code for tests (reference/clients.md): the pinned `@anthropic-ai/claude-code` from npm
 * (installed on first use, npm_client.ts), run headless (`claude -p … --output-format json`) against the
 * proxy with a throwaway HOME and workspace, in its own process group, bounded in time and killed as a group
 * afterwards.
 */
import { runProgram } from "./run_program.ts";
import { npmClient } from "./npm_client.ts";

/** The pinned Claude Code version the tests run. */
export const CLAUDE_CODE_VERSION = "2.1.328";

/** The pinned `claude` binary. */
export function claudeBinary(): Promise<string> {
  return npmClient({
    dir: "claude-code",
    packages: [`@anthropic-ai/claude-code@${CLAUDE_CODE_VERSION}`],
    entry: "node_modules/.bin/claude",
  });
}

/** How to run Claude Code once. */
export interface ClaudeRun {
  /** The proxy's root URL (`ANTHROPIC_BASE_URL`). */
  baseUrl: string;
  /** The llmproxy client key (sent as `x-api-key`, or as Bearer with `bearer`). */
  apiKey: string;
  bearer?: boolean;
  prompt: string;
  /** `ANTHROPIC_MODEL`, when set. */
  model?: string;
  /** `ANTHROPIC_CUSTOM_HEADERS` lines, e.g. `X-Session-ID: s1`. */
  headers?: string[];
  /** Extra command-line arguments (e.g. `--allowedTools Write`). */
  args?: string[];
  /** The workspace (its working directory); a fresh one when absent. */
  workspace?: string;
  timeoutMs?: number;
}

/** What a run printed: its exit code, output, and the `--output-format json` result when it parsed. */
export interface ClaudeResult {
  code: number;
  stdout: string;
  stderr: string;
  result?: { result?: string; is_error?: boolean; [k: string]: unknown };
}

/** Run `claude -p <prompt> --output-format json` once; the process group is killed when it is over. */
export async function runClaude(run: ClaudeRun): Promise<ClaudeResult> {
  const bin = await claudeBinary();
  const home = await Deno.makeTempDir({ prefix: "llmproxy-claude-home-" });
  const workspace = run.workspace ?? await Deno.makeTempDir({ prefix: "llmproxy-claude-ws-" });
  const env: Record<string, string> = {
    PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
    HOME: home,
    ANTHROPIC_BASE_URL: run.baseUrl,
    [run.bearer ? "ANTHROPIC_AUTH_TOKEN" : "ANTHROPIC_API_KEY"]: run.apiKey,
    DISABLE_TELEMETRY: "1",
    CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: "1",
    DISABLE_AUTOUPDATER: "1",
    ...(run.model ? { ANTHROPIC_MODEL: run.model } : {}),
    ...(run.headers ? { ANTHROPIC_CUSTOM_HEADERS: run.headers.join("\n") } : {}),
  };
  try {
    const out = await runProgram(bin, ["-p", run.prompt, "--output-format", "json", ...(run.args ?? [])], {
      cwd: workspace,
      env,
      timeoutMs: run.timeoutMs ?? 60_000,
    });
    let result: ClaudeResult["result"];
    try {
      result = JSON.parse(out.stdout.trim().split("\n").at(-1) ?? "");
    } catch { /* not JSON: the caller sees stdout */ }
    return { code: out.code, stdout: out.stdout, stderr: out.stderr, result };
  } finally {
    await Deno.remove(home, { recursive: true }).catch(() => {});
    if (!run.workspace) await Deno.remove(workspace, { recursive: true }).catch(() => {});
  }
}
