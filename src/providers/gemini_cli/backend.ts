/**
 * The `gemini-cli-direct` backend (SPEC §3.3): each attempt runs the real `gemini` program in a fresh
 * workspace, streams its stream-json output as the model's events through the shared commit rule (commit_events.ts),
 * or assembles them into one completion. Keyless: the CLI uses the user's own login.
 */
import type {
  AttemptInput,
  AttemptResult,
  Backend,
  ModelInfo,
  UpstreamFailure,
} from "../../runner/backend.ts";
import { commitEvents } from "../../runner/commit_events.ts";
import type { ModelEvent } from "../../model/events.ts";
import { refusal, resultAnswer, scrubbedFailure } from "../../runner/results.ts";
import { IdleTimer } from "../../runner/idle.ts";
import type { Scrubber } from "../../security/scrub.ts";
import { flattenConversation, unsupportedReason } from "./prompt.ts";
import {
  cliDataDir,
  createWorkspace,
  removeWorkspace,
  sweepLeftoverLock,
  type Workspace,
} from "./workspace.ts";
import { assembleResult, type CliOutput, outputEvents, StreamJsonReader } from "./events.ts";
import { newStreamMeta } from "../../model/ids.ts";
import { BACKEND, exitFailure, timeoutFailure } from "./errors.ts";
import { Limiter } from "./limiter.ts";
import { TranslationError } from "../gemini/parts.ts";
import { cliEnv, type CliProcess, findBinary, MAX_LINE_BYTES, spawnCli } from "./spawn.ts";

/** Settings of the backend. */
export interface GeminiCliOptions {
  /** `--gemini-cli-path`: a path, or a name looked up on the environment's PATH. */
  path: string;
  /** `--gemini-cli-models`. */
  models: string[];
  /** `--gemini-cli-concurrency`. */
  concurrency: number;
  /** The proxy's environment; the CLI gets an allowlisted part of it. */
  env: Record<string, string>;
  scrub: Scrubber;
  /** Waiting requests allowed beyond the running ones (32). */
  maxWaiting?: number;
  /** Platform override for tests (defaults to `Deno.build.os`). */
  os?: string;
}

/** The backend, plus its current load (for tests and diagnostics). */
export interface GeminiCliBackend extends Backend {
  /** CLI processes running and requests waiting for a slot. */
  load(): { running: number; waiting: number };
}

/** Most waiting CLI requests (SPEC §3.3). */
export const MAX_WAITING = 32;
/** Largest answer assembled for a non-streaming request. */
const MAX_JSON_TEXT = 32 * 1024 * 1024;
const VERSION_TIMEOUT_MS = 15_000;

function clientGone(): AttemptResult {
  return {
    ok: false,
    failure: {
      action: "return",
      status: 499,
      type: "invalid_request_error",
      code: "client_closed",
      message: "The client closed the request.",
      outcome: "client_closed",
    },
  };
}

/** Create the backend. It is functional when the binary is found (and `--version` has not failed). */
export function createGeminiCli(opts: GeminiCliOptions): GeminiCliBackend {
  const os = opts.os ?? Deno.build.os;
  const windows = os === "windows";
  const binary = windows ? undefined : findBinary(opts.path, opts.env.PATH);
  const fail = (f: UpstreamFailure): AttemptResult => scrubbedFailure(f, opts.scrub);
  const limiter = new Limiter(opts.concurrency, opts.maxWaiting ?? MAX_WAITING);
  const dataDir = cliDataDir(opts.env);
  const models = [...opts.models];
  let versionProblem: string | undefined;
  let versionCheck: Promise<void> | undefined;
  let recentRunMs = 3000;
  const cleanups = new Set<Promise<void>>();
  const track = (p: Promise<void>) => {
    cleanups.add(p);
    p.finally(() => cleanups.delete(p));
  };

  const problem = (): string | undefined => {
    if (windows) return "not supported on Windows (the Gemini CLI backend runs on Linux and macOS)";
    if (!binary) {
      return `the gemini program "${opts.path}" was not found; install it (npm install -g @google/gemini-cli) ` +
        "or point --gemini-cli-path (GEMINI_CLI_PATH) at it";
    }
    return versionProblem;
  };

  /** `gemini --version`, once, in the background (the registry's first model listing starts it). */
  const checkVersion = (): Promise<void> => {
    versionCheck ??= (async () => {
      const ws: Workspace = {
        dir: await Deno.realPath(await Deno.makeTempDir({ prefix: "llmproxy-gemini-cli-version-" })),
        systemFile: "",
      };
      try {
        const proc = spawnCli(binary!, ["--version"], cliEnv(opts.env, ws), ws.dir, "");
        const timer = setTimeout(() => proc.kill(), VERSION_TIMEOUT_MS);
        const lines: string[] = [];
        try {
          for (let l = await proc.nextLines(); l; l = await proc.nextLines()) lines.push(...l);
        } catch { /* overlong: not a version */ }
        const st = await proc.status;
        clearTimeout(timer);
        await proc.close();
        if (st.code !== 0) {
          versionProblem = `"${binary} --version" failed (exit ${st.code}${
            st.signal ? `, ${st.signal}` : ""
          }); check --gemini-cli-path`;
        }
      } catch (e) {
        versionProblem = `"${binary}" could not be started (${(e as Error).name}); check --gemini-cli-path`;
      } finally {
        await removeWorkspace(ws, dataDir);
      }
    })();
    return versionCheck;
  };

  const overloaded = (): AttemptResult => {
    const wait = Math.max(1, Math.ceil(recentRunMs * (limiter.waiting + 1) / limiter.limit / 1000));
    return fail({
      action: "next-element",
      status: 503,
      type: "server_error",
      code: "overloaded",
      message:
        `${BACKEND}: ${limiter.running} gemini processes are running and ${limiter.waiting} requests ` +
        `are waiting (the most allowed); retry in ${wait} s or raise --gemini-cli-concurrency.`,
      outcome: "overloaded",
      headers: { "retry-after": String(wait) },
    });
  };

  async function attempt(input: AttemptInput): Promise<AttemptResult> {
    if (!binary) return fail({ ...exitFailure(-1, problem()!), action: "next-element" });
    if (!models.includes(input.model)) {
      return fail({
        action: "return",
        status: 400,
        type: "invalid_request_error",
        code: "model_not_found",
        message: `${BACKEND} does not offer model "${input.model}". Its models (--gemini-cli-models): ${
          models.join(", ")
        }.`,
        outcome: "400",
      });
    }
    const slot = await limiter.acquire(input.signal);
    if (!slot.ok) return slot.reason === "full" ? overloaded() : clientGone();
    const started = Date.now();
    const { system, prompt } = flattenConversation(input.body);
    let ws: Workspace;
    try {
      ws = await createWorkspace(input.model, input.body, system);
    } catch (e) {
      slot.release();
      if (e instanceof TranslationError) {
        // A bad sampling value; `unsupported` refuses such a body before any attempt, this is the backstop.
        return fail(refusal(`${BACKEND} cannot send this request: ${e.message}`, "unsupported"));
      }
      return fail({
        ...exitFailure(-1, `cannot create a temporary workspace (${(e as Error).name})`),
        action: "next-element",
      });
    }
    let proc: CliProcess;
    try {
      proc = spawnCli(
        binary,
        [`--model=${input.model}`, "--output-format", "stream-json", "--extensions", "none"],
        cliEnv(opts.env, ws),
        ws.dir,
        prompt,
      );
    } catch (e) {
      slot.release();
      track(removeWorkspace(ws, dataDir));
      return fail({
        ...exitFailure(
          -1,
          `"${binary}" could not be started (${(e as Error).name}); check --gemini-cli-path`,
        ),
        action: "next-element",
      });
    }
    track(sweepLeftoverLock(dataDir));
    // Once the process has exited (whoever stopped it) its slot is free; the files go in the background.
    const exited = proc.status.then((st) => {
      recentRunMs = (recentRunMs + (Date.now() - started)) / 2;
      slot.release();
      track(removeWorkspace(ws, dataDir));
      return st;
    });
    track(exited.then(() => {}));
    const timer = new IdleTimer(input.timeoutMs, () => proc.kill());
    const onAbort = () => proc.kill();
    input.signal.addEventListener("abort", onAbort, { once: true });
    const unlink = () => input.signal.removeEventListener("abort", onAbort);
    const meta = newStreamMeta(input.model);
    const reader = new StreamJsonReader();
    const scrubOut = (
      o: CliOutput,
    ): CliOutput => (o.kind === "error" ? { ...o, message: opts.scrub(o.message) } : o);
    const overlong: CliOutput = {
      kind: "error",
      exitCode: -1,
      message: `the Gemini CLI printed a line longer than ${MAX_LINE_BYTES} bytes`,
    };

    if (!input.stream) {
      let text = "";
      let bad: CliOutput | undefined;
      try {
        for (let lines = await proc.nextLines(); lines; lines = await proc.nextLines()) {
          timer.touch();
          for (const l of lines) {
            for (const o of reader.line(l)) if (o.kind === "delta") text += o.text;
          }
          if (text.length > MAX_JSON_TEXT) {
            bad = { kind: "error", exitCode: -1, message: "the Gemini CLI's answer is larger than 32 MiB" };
            break;
          }
        }
      } catch {
        bad = overlong;
      }
      if (bad) proc.kill();
      await proc.close();
      const st = await exited;
      timer.stop();
      unlink();
      if (input.signal.aborted) return clientGone();
      if (timer.fired) return fail(timeoutFailure());
      const end = scrubOut(bad ?? reader.end(st.code, proc.stderr()));
      if (end.kind !== "finish") {
        const e = end as Extract<CliOutput, { kind: "error" }>;
        return fail(exitFailure(e.exitCode, e.message));
      }
      const result = assembleResult(meta, text, end);
      return resultAnswer(result, end.usage && result.usage);
    }

    let ended = false;
    const events = new ReadableStream<ModelEvent>({
      async pull(c) {
        for (;;) {
          if (ended) return c.close();
          let lines: string[] | null;
          try {
            lines = await proc.nextLines();
          } catch {
            proc.kill();
            ended = true;
            for (const ev of outputEvents(overlong)) c.enqueue(ev);
            return;
          }
          if (lines === null) {
            ended = true;
            const st = await proc.status;
            // A kill by the watchdog or a disconnect: the commit rule reports the timeout itself.
            if (timer.fired || input.signal.aborted) return c.close();
            for (const ev of outputEvents(scrubOut(reader.end(st.code, proc.stderr())))) c.enqueue(ev);
            return;
          }
          timer.touch();
          let sent = false;
          for (const l of lines) {
            for (const o of reader.line(l)) {
              for (const ev of outputEvents(o)) c.enqueue(ev);
              sent = true;
            }
          }
          if (sent) return;
        }
      },
      async cancel() {
        proc.kill();
        await proc.close();
      },
    }, { highWaterMark: 0 });

    const result = await commitEvents(events, {
      timer,
      meta,
      cancelUpstream: () => proc.kill(),
      classifyInBand: (e) => {
        if (timer.fired) return timeoutFailure();
        const err = (e ?? {}) as { exit_code?: unknown; message?: unknown };
        return exitFailure(
          typeof err.exit_code === "number" ? err.exit_code : -1,
          typeof err.message === "string" ? err.message : "the Gemini CLI failed",
        );
      },
      commitBy: input.deadline,
      scrub: opts.scrub,
    });
    if (!result.ok) {
      await exited;
      timer.stop();
      unlink();
      if (input.signal.aborted) return clientGone();
      return result;
    }
    if (result.value.kind !== "events") return result;
    const value = result.value;
    return {
      ok: true,
      value: {
        ...value,
        done: value.done.then(async (summary) => {
          await exited;
          unlink();
          return { ...summary, model: input.model };
        }),
      },
    };
  }

  return {
    name: BACKEND,
    type: "gemini-cli",
    keys: [],
    functional: () => problem() === undefined,
    problem,
    async listModels(): Promise<ModelInfo[]> {
      if (binary && !windows) await checkVersion();
      const why = problem();
      if (why) throw new Error(why);
      return models.map((id) => ({ id }));
    },
    unsupported: unsupportedReason,
    load: () => ({ running: limiter.running, waiting: limiter.waiting }),
    async drain() {
      while (cleanups.size) await Promise.all([...cleanups]);
    },
    attempt,
  };
}
