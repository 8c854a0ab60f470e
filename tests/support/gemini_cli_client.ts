/**
 * The real Gemini CLI as a CLIENT of llmproxy (SPEC §17.3): `GOOGLE_GEMINI_BASE_URL` pointed at the proxy and
 * the llmproxy client key as `GEMINI_API_KEY`, in a throwaway home and an empty workspace, in its own process
 * group, bounded in time and killed (the whole group) afterwards. Output is `--output-format stream-json`.
 */
import { runProgram } from "./run_program.ts";
import { geminiCliBinary, makeCliHome } from "./gemini_cli.ts";

/** One run's result: exit code, the stream-json events, the answer text (assistant deltas joined). */
export interface CliRun {
  code: number;
  events: Record<string, unknown>[];
  answer: string;
  stderr: string;
}

/** A CLI home whose settings pick API-key auth and keep the CLI from retrying or phoning home. */
export function makeClientHome(): Promise<string> {
  return makeCliHome(
    { general: { maxAttempts: 1 }, context: { includeDirectoryTree: false } },
    "llmproxy-cli-client-",
  );
}

/** Run `gemini -m <model> --output-format stream-json` with `prompt` on stdin against the proxy at `baseUrl`. */
export async function runGeminiCli(o: {
  home: string;
  baseUrl: string;
  apiKey: string;
  model: string;
  prompt: string;
  timeoutMs?: number;
}): Promise<CliRun> {
  const bin = await geminiCliBinary();
  const workspace = await Deno.makeTempDir({ prefix: "llmproxy-cli-ws-" });
  try {
    const out = await runProgram(bin, ["-m", o.model, "--output-format", "stream-json"], {
      cwd: workspace,
      env: {
        PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
        HOME: o.home,
        GEMINI_CLI_HOME: o.home,
        TMPDIR: workspace,
        GEMINI_API_KEY: o.apiKey,
        GOOGLE_GEMINI_BASE_URL: o.baseUrl,
        GEMINI_CLI_TRUST_WORKSPACE: "true",
        GEMINI_CLI_NO_RELAUNCH: "true",
        NO_COLOR: "1",
      },
      stdin: o.prompt,
      timeoutMs: o.timeoutMs ?? 60_000,
    });
    const events = out.stdout.split("\n").filter((l) => l.startsWith("{"))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const answer = events.filter((e) => e.type === "message" && e.role === "assistant")
      .map((e) => String(e.content ?? "")).join("");
    return { code: out.code, events, answer, stderr: out.stderr };
  } finally {
    await Deno.remove(workspace, { recursive: true }).catch(() => {});
  }
}
