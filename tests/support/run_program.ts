/**
 * Running a real client program once (reference/clients.md): in its own process group with exactly the
 * environment given, optional stdin, and a time bound; the whole group is killed afterwards, whatever it left
 * running. Claude Code, Codex, the Gemini CLI and the coding agents all run through here.
 */

/** What one run printed. */
export interface ProgramRun {
  code: number;
  stdout: string;
  stderr: string;
  /** Wall time of the run, ms. */
  ms: number;
  /** The time bound ran out and the group was killed. */
  timedOut: boolean;
}

/** How to run it. */
export interface ProgramOptions {
  cwd: string;
  /** The whole environment (nothing else is inherited). */
  env: Record<string, string>;
  /** Text written to stdin, which is then closed; without it stdin is /dev/null. */
  stdin?: string;
  /** Time bound, ms: the group is killed when it runs out. */
  timeoutMs: number;
}

function killGroup(pid: number): void {
  try {
    Deno.kill(-pid, "SIGKILL");
  } catch { /* the group is gone already */ }
}

/** Run `bin args…` once in its own process group; the group is killed when the run ends or times out. */
export async function runProgram(bin: string, args: string[], opts: ProgramOptions): Promise<ProgramRun> {
  const started = Date.now();
  const child = new Deno.Command(bin, {
    args,
    cwd: opts.cwd,
    env: opts.env,
    clearEnv: true,
    stdin: opts.stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
    detached: true, // its own process group, killed as a whole
  }).spawn();
  const stdout = new Response(child.stdout).text();
  const stderr = new Response(child.stderr).text();
  if (opts.stdin !== undefined) {
    const w = child.stdin.getWriter();
    await w.write(new TextEncoder().encode(opts.stdin)).catch(() => {});
    await w.close().catch(() => {});
  }
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    killGroup(child.pid);
  }, opts.timeoutMs);
  try {
    const status = await child.status;
    killGroup(child.pid);
    return {
      code: status.code,
      stdout: await stdout,
      stderr: await stderr,
      ms: Date.now() - started,
      timedOut,
    };
  } finally {
    clearTimeout(timer);
    killGroup(child.pid);
  }
}
