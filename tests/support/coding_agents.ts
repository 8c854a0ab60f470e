/**
 * Real coding agents for tests (reference/clients.md): Qwen Code, opencode and the Cline CLI, pinned and
 * installed from the npm registry on first use (npm_client.ts), and one way to run any of them once: its own
 * process group, a throwaway HOME and workspace, a time bound, and the whole group killed afterwards (agents
 * start helpers of their own: Qwen Code relaunches itself, opencode runs a local server).
 */
import { runProgram } from "./run_program.ts";
import { npmClient } from "./npm_client.ts";
import type { Recorded } from "../mocks/openai_upstream.ts";

/** The pinned Qwen Code `qwen` binary. */
export function qwenCodeBinary(): Promise<string> {
  return npmClient({
    dir: "qwen-code",
    packages: ["@qwen-code/qwen-code@0.24.4"],
    entry: "node_modules/.bin/qwen",
  });
}

/** The pinned opencode `opencode` binary. */
export function opencodeBinary(): Promise<string> {
  return npmClient({
    dir: "opencode",
    packages: ["opencode-ai@1.18.33"],
    entry: "node_modules/.bin/opencode",
  });
}

/** The pinned Cline CLI `cline` binary. */
export function clineBinary(): Promise<string> {
  return npmClient({ dir: "cline", packages: ["cline@3.0.65"], entry: "node_modules/.bin/cline" });
}

/** What one run of an agent printed. */
export interface AgentRun {
  code: number;
  stdout: string;
  stderr: string;
  /** Wall time of the run, ms. */
  ms: number;
}

/** Options of one agent run. */
export interface AgentRunOptions {
  /** The throwaway HOME (its settings files written by the test). */
  home: string;
  /** The throwaway workspace the agent runs in. */
  cwd: string;
  /** Extra environment (the rest is cleared but PATH, HOME, TMPDIR — the HOME — and NO_COLOR). */
  env?: Record<string, string>;
  /** Text written to the agent's stdin, which is then closed; without it stdin is /dev/null. */
  stdin?: string;
  /** Time bound, ms (default 90 s): the group is killed and the run fails. */
  timeoutMs?: number;
}

/**
 * Run `bin args…` once in its own process group (run_program.ts) and return what it printed; throws (with the
 * output so far) when it does not end within the time bound. A daemon that starts a session of its own escapes
 * the group kill (the Cline CLI's hub: its tests run it without one).
 */
export async function runAgent(bin: string, args: string[], opts: AgentRunOptions): Promise<AgentRun> {
  const run = await runProgram(bin, args, {
    cwd: opts.cwd,
    // TMPDIR in the throwaway HOME: opencode unpacks a native library (5.5 MB) into the temp dir on every run
    // and leaves it there, which filled the machine's /tmp test run after test run.
    env: {
      PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
      HOME: opts.home,
      TMPDIR: opts.home,
      NO_COLOR: "1",
      ...opts.env,
    },
    stdin: opts.stdin,
    timeoutMs: opts.timeoutMs ?? 90_000,
  });
  if (run.timedOut) {
    throw new Error(`${bin} ${args.join(" ")} did not end in time:\n${run.stdout}\n${run.stderr}`);
  }
  return run;
}

/** A throwaway HOME and an empty workspace for agent runs. */
export interface AgentDirs {
  home: string;
  cwd: string;
  /** Delete both. */
  remove(): Promise<void>;
}

/** A throwaway HOME and an empty workspace for one agent run; `remove()` deletes both. */
export async function agentDirs(): Promise<AgentDirs> {
  const home = await Deno.makeTempDir({ prefix: "llmproxy-agent-home-" });
  const cwd = await Deno.makeTempDir({ prefix: "llmproxy-agent-work-" });
  return {
    home,
    cwd,
    async remove() {
      await Deno.remove(home, { recursive: true }).catch(() => {});
      await Deno.remove(cwd, { recursive: true }).catch(() => {});
    },
  };
}

const README = new URL("../../README.md", import.meta.url);
/** The address README's agent settings name; tests put the test proxy's in its place. */
export const README_PROXY_URL = "http://127.0.0.1:8000";

/**
 * The `n`th fenced `lang` block under `### heading` in README's "Use with your coding agent" section, so the
 * tests set each agent up with exactly the settings README gives.
 */
export async function readmeBlock(heading: string, lang: string, n = 0): Promise<string> {
  const text = await Deno.readTextFile(README);
  const section = text.split("\n## Use with your coding agent\n")[1]?.split("\n## ")[0] ?? "";
  const sub = section.split(`\n### ${heading}\n`)[1]?.split("\n### ")[0] ?? "";
  const blocks = [...sub.matchAll(new RegExp("^ *```" + lang + "\\n([\\s\\S]*?)\\n *```$", "gm"))];
  const block = blocks[n]?.[1];
  if (block === undefined) throw new Error(`README has no ${lang} block #${n} under "### ${heading}"`);
  return block;
}

type Messages = { role: string; content: unknown }[];

function text(content: unknown): string {
  return typeof content === "string"
    ? content
    : Array.isArray(content)
    ? content.map((p) => (p as { text?: string }).text ?? "").join("\n")
    : "";
}

/** The text of the system message a recorded upstream request opens with ("" without one). */
export function systemText(r: Recorded): string {
  const first = (r.body?.messages as Messages | undefined)?.[0];
  return first?.role === "system" ? text(first.content) : "";
}

/** The text of a recorded upstream request's last user message (text parts joined by newlines). */
export function lastUserText(r: Recorded): string {
  return text((r.body?.messages as Messages | undefined)?.findLast((m) => m.role === "user")?.content);
}
