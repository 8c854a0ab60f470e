/**
 * Running the `gemini` program (SPEC §3.3): `Deno.Command` (never a shell) in its own process group,
 * with a cleared environment plus an allowlist, the prompt on stdin, stdout read line by line on demand,
 * stderr drained into a small tail buffer, and a kill that takes the whole group at once.
 */
import type { Workspace } from "./workspace.ts";

const EXACT = new Set([
  "PATH",
  "HOME",
  "USER",
  "LANG",
  "TZ",
  "GEMINI_CLI_HOME",
  // Reaching Google through a corporate proxy needs these; they carry no proxy secrets of ours.
  "HTTPS_PROXY",
  "https_proxy",
  "HTTP_PROXY",
  "http_proxy",
  "NO_PROXY",
  "no_proxy",
]);

/** Our own variables under the GEMINI_ prefix, which the CLI does not read (or which we set ourselves). */
const OURS = new Set([
  "GEMINI_API_BASE_URL",
  "GEMINI_CLI_PATH",
  "GEMINI_SYSTEM_MD",
  "GEMINI_CLI_TRUST_WORKSPACE",
  "GEMINI_CLI_NO_RELAUNCH",
]);

/**
 * Whether an environment variable reaches the CLI: PATH, HOME, USER, LANG, LC_*, TZ, GEMINI_CLI_HOME, the
 * HTTP proxy variables, and the GOOGLE_* / GEMINI_* variables the CLI reads for its own auth and endpoint
 * (the single GEMINI_API_KEY included: it is how the CLI's API-key login works). Never the proxy's
 * client keys, OpenRouter keys or numbered key pools (`GEMINI_API_KEY_1..N`).
 */
export function passesAllowlist(name: string): boolean {
  if (EXACT.has(name) || name.startsWith("LC_")) return true;
  if (OURS.has(name) || /^GEMINI_API_KEY_\d+$/.test(name)) return false;
  return name.startsWith("GOOGLE_") || name.startsWith("GEMINI_");
}

/** The CLI's whole environment for one run in `ws`. */
export function cliEnv(env: Record<string, string>, ws: Workspace): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (passesAllowlist(k)) out[k] = v;
  out.TMPDIR = ws.dir;
  out.GEMINI_SYSTEM_MD = ws.systemFile;
  out.GEMINI_CLI_TRUST_WORKSPACE = "true";
  out.GEMINI_CLI_NO_RELAUNCH = "true";
  return out;
}

function isExecutableFile(path: string): boolean {
  try {
    const st = Deno.statSync(path);
    return st.isFile && (st.mode === null || (st.mode & 0o111) !== 0);
  } catch {
    return false;
  }
}

/** Resolve `--gemini-cli-path` to an absolute executable: a path as given, a bare name through `PATH`. */
export function findBinary(path: string, envPath: string | undefined): string | undefined {
  if (path.includes("/")) {
    const abs = path.startsWith("/") ? path : `${Deno.cwd()}/${path}`;
    return isExecutableFile(abs) ? abs : undefined;
  }
  for (const dir of (envPath ?? "").split(":")) {
    if (dir && isExecutableFile(`${dir}/${path}`)) return `${dir}/${path}`;
  }
  return undefined;
}

/** Longest stdout line accepted (one stream-json event). */
export const MAX_LINE_BYTES = 8 * 1024 * 1024;
const STDERR_TAIL_BYTES = 8 * 1024;

/** A running CLI process. */
export interface CliProcess {
  pid: number;
  /** The next complete stdout lines (at least one), or null at the end of output. Throws on an overlong line. */
  nextLines(): Promise<string[] | null>;
  /** Resolves when the process has exited. */
  status: Promise<Deno.CommandStatus>;
  /** The last few KiB of stderr. */
  stderr(): string;
  /** SIGKILL the whole process group now (idempotent, safe after exit). */
  kill(): void;
  /** Stop reading stdout (after a kill or once done). */
  close(): Promise<void>;
}

/** Start `binary args…` in `cwd` with exactly `env`, writing `stdin` to it. Throws if it cannot start. */
export function spawnCli(
  binary: string,
  args: string[],
  env: Record<string, string>,
  cwd: string,
  stdin: string,
): CliProcess {
  const child = new Deno.Command(binary, {
    args,
    cwd,
    env,
    clearEnv: true,
    detached: true,
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const pid = child.pid;
  let killed = false;
  const kill = () => {
    try {
      Deno.kill(-pid, "SIGKILL");
    } catch { /* already gone */ }
    killed = true;
  };

  const writer = child.stdin.getWriter();
  writer.write(new TextEncoder().encode(stdin)).then(() => writer.close()).catch(() => {
    writer.abort().catch(() => {});
  });

  let tail = new Uint8Array(0);
  const stderrDone = (async () => {
    try {
      for await (const chunk of child.stderr) {
        const joined = new Uint8Array(Math.min(tail.length + chunk.length, STDERR_TAIL_BYTES));
        const all = new Uint8Array(tail.length + chunk.length);
        all.set(tail);
        all.set(chunk, tail.length);
        joined.set(all.subarray(all.length - joined.length));
        tail = joined;
      }
    } catch { /* killed */ }
  })();

  const status = child.status.then(async (s) => {
    // Anything the CLI left behind in its group goes with it.
    if (!killed) kill();
    await stderrDone;
    return s;
  });

  const reader = child.stdout.getReader();
  const decoder = new TextDecoder();
  let carry = "";
  let ended = false;
  return {
    pid,
    status,
    stderr: () => new TextDecoder().decode(tail),
    kill,
    async nextLines() {
      for (;;) {
        if (ended) return null;
        const r = await reader.read();
        if (r.done) {
          ended = true;
          const rest = carry + decoder.decode();
          carry = "";
          return rest.trim() ? [rest] : null;
        }
        carry += decoder.decode(r.value, { stream: true });
        const nl = carry.lastIndexOf("\n");
        if (nl < 0) {
          if (carry.length > MAX_LINE_BYTES) throw new RangeError("line too long");
          continue;
        }
        const lines = carry.slice(0, nl).split("\n");
        carry = carry.slice(nl + 1);
        if (lines.some((l) => l.length > MAX_LINE_BYTES)) throw new RangeError("line too long");
        return lines;
      }
    },
    async close() {
      ended = true;
      await reader.cancel().catch(() => {});
    },
  };
}
