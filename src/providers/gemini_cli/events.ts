/**
 * Pure translation of the Gemini CLI's `--output-format stream-json` lines (reference/backends.md §1) into
 * the conversation model's events: each assistant `message` delta becomes a text event as it arrives,
 * `result.stats` becomes usage, an `error` event in a successful run (a safety block) becomes the finish
 * `content_filter`, and a failed run becomes one error event carrying the exit code (classified by
 * errors.ts). Non-streaming responses assemble the same outputs.
 */
import type { Usage } from "../../model/request.ts";
import type { ModelEvent, StreamMeta } from "../../model/events.ts";
import { type ModelResult, resultChoice } from "../../model/result.ts";
import { modelUsage, zeroModelUsage } from "../../model/usage.ts";
import { tokenCount } from "../../core/clamp.ts";

/** What one CLI run produced, in order. */
export type CliOutput =
  | { kind: "delta"; text: string }
  | { kind: "finish"; reason: "stop" | "content_filter"; usage?: Usage }
  | { kind: "error"; exitCode: number; message: string };

interface CliEvent {
  type?: unknown;
  role?: unknown;
  content?: unknown;
  delta?: unknown;
  severity?: unknown;
  message?: unknown;
  status?: unknown;
  error?: { message?: unknown };
  stats?: { input_tokens?: unknown; output_tokens?: unknown; total_tokens?: unknown };
}

/** `result.stats` → OpenAI usage (completion includes thinking tokens, as OpenAI counts reasoning). */
export function statsToUsage(stats: CliEvent["stats"]): Usage | undefined {
  const input = tokenCount(stats?.input_tokens);
  const output = tokenCount(stats?.output_tokens);
  if (input === undefined || output === undefined) return undefined;
  const total = tokenCount(Math.max(tokenCount(stats?.total_tokens) ?? input + output, input + output))!;
  const reasoning = total - input - output;
  return {
    prompt_tokens: input,
    completion_tokens: total - input,
    total_tokens: total,
    ...(reasoning > 0 ? { completion_tokens_details: { reasoning_tokens: reasoning } } : {}),
  };
}

/** Reads stream-json lines one at a time; `end()` adds the outcome once the process has exited. */
export class StreamJsonReader {
  #result: CliEvent | undefined;
  #errorEvent: string | undefined;
  #sawJson = false;
  #text = 0;

  /** Outputs for one stdout line (empty for events that carry nothing for the client). */
  line(line: string): CliOutput[] {
    const t = line.trim();
    if (t === "" || t[0] !== "{") return [];
    let ev: CliEvent;
    try {
      ev = JSON.parse(t);
    } catch {
      return [];
    }
    if (ev === null || typeof ev !== "object") return [];
    this.#sawJson = true;
    switch (ev.type) {
      case "message":
        if (ev.role === "assistant" && typeof ev.content === "string" && ev.content !== "") {
          this.#text += ev.content.length;
          return [{ kind: "delta", text: ev.content }];
        }
        return [];
      case "error":
        if (ev.severity !== "warning" && typeof ev.message === "string") this.#errorEvent ??= ev.message;
        return [];
      case "result":
        this.#result = ev;
        return [];
      default:
        return [];
    }
  }

  /** The final output for a run that exited with `exitCode`; `stderr` is the tail of its error output. */
  end(exitCode: number, stderr: string): CliOutput {
    const r = this.#result;
    const resultError = typeof r?.error?.message === "string" ? r.error.message : undefined;
    if (exitCode === 0 && r) {
      const usage = statsToUsage(r.stats);
      if (r.status === "success" && !this.#errorEvent) return { kind: "finish", reason: "stop", usage };
      // Exit 0 with an error (a safety block): what was produced stands, flagged as filtered.
      if (this.#errorEvent || this.#text > 0) return { kind: "finish", reason: "content_filter", usage };
    }
    const message = resultError ?? this.#errorEvent ?? stderrMessage(stderr) ??
      (this.#sawJson
        ? "the Gemini CLI ended without a result"
        : "the Gemini CLI printed no stream-json output");
    return { kind: "error", exitCode: exitCode === 0 ? -1 : exitCode, message };
  }
}

const NOISE = [
  /^Warning: 256-color support not detected/,
  /^Ripgrep is not available/,
  /^\[STARTUP\]/,
  /^Loaded cached credentials/,
  /^\s*at /,
];

/** The meaningful last lines of the CLI's stderr (start-up chatter and stack frames dropped), or undefined. */
export function stderrMessage(stderr: string): string | undefined {
  const lines = stderr.split(/\r?\n/).map((l) => l.trim()).filter((l) =>
    l && !NOISE.some((re) => re.test(l))
  );
  if (!lines.length) return undefined;
  const text = lines.slice(-3).join(" ");
  return text.length > 500 ? text.slice(text.length - 500) : text;
}

/** The model's events for one output of a run (a finish also carries the usage, when the run reported it). */
export function outputEvents(out: CliOutput): ModelEvent[] {
  if (out.kind === "delta") return [{ type: "text", choice: 0, text: out.text }];
  if (out.kind === "error") {
    return [{
      type: "error",
      error: { message: out.message, type: "api_error", code: "upstream_error", exit_code: out.exitCode },
    }];
  }
  const finish: ModelEvent = { type: "finish", choice: 0, reason: out.reason };
  return out.usage ? [finish, { type: "usage", usage: modelUsage(out.usage) }] : [finish];
}

/** The whole answer of a finished run: its text and finish, and its usage (zeros when the run reported none). */
export function assembleResult(
  meta: StreamMeta,
  text: string,
  finish: Extract<CliOutput, { kind: "finish" }>,
): ModelResult {
  return {
    meta,
    choices: [resultChoice(0, finish.reason, { text })],
    usage: finish.usage ? modelUsage(finish.usage) : zeroModelUsage(),
  };
}
