/**
 * Turns one chat request's attempts into usage records (one per upstream attempt, SPEC §10.1) and, with
 * `--audit-content`, a content audit event. Streams are recorded when they end, from their summary.
 */
import type { ChatRequest, Usage } from "../model/request.ts";
import { contentText } from "../model/request.ts";
import { MAX_VALUE_CHARS, type UsageRecord, type UsageRecorder } from "./recorder.ts";
import { costUsd, tokenCount } from "../core/clamp.ts";
import type { ModelEvent, ModelUsage } from "../model/events.ts";
import { firstChoice, type ModelResult } from "../model/result.ts";

/** Who and what a chat request was, for its records. */
export interface RequestMeta {
  requestId: string;
  clientKey: string;
  session?: string;
  project?: string;
  user?: string;
  agent?: string;
  /** The client's protocol (SPEC §17). */
  frontend?: string;
  requestedModel?: string;
  stream: boolean;
  started: number;
}

/** One upstream attempt as recorded (the attempt engine's `AttemptRecord` is one). */
export interface AttemptLog {
  attempt: number;
  backend: string;
  model: string;
  keyLabel?: string;
  /** "ok", an upstream status, or an error class. */
  outcome: string;
  latencyMs: number;
}

/** What a finished stream reports for its record (the runner's `StreamSummary` is one). */
export interface StreamEnd {
  usage?: Usage;
  /** Set when the stream ended with an in-band error after the commit. */
  error?: string;
}

/** A chat request's attempts and answer, as its records read them (the engine's `DispatchResult` is one). */
export type DispatchLog =
  & { attempts: readonly AttemptLog[]; route?: string }
  & (
    | {
      ok: true;
      value:
        | { kind: "json"; text: string; usage?: Usage }
        | { kind: "result"; result: ModelResult; usage?: ModelUsage }
        | { kind: "stream"; stream: ReadableStream<Uint8Array>; done: Promise<StreamEnd> }
        | { kind: "events"; events: ReadableStream<ModelEvent>; done: Promise<StreamEnd> };
    }
    | { ok: false }
  );

/** Set a Chat usage object's counts (clamped) on the record of the attempt that answered. */
function setUsage(record: UsageRecord, u: Usage | undefined): void {
  if (!u || typeof u !== "object") return;
  record.promptTokens = tokenCount(u.prompt_tokens);
  record.completionTokens = tokenCount(u.completion_tokens);
  record.totalTokens = tokenCount(u.total_tokens);
  record.cost = costUsd(u.cost);
}

/** Set a translated answer's usage (already clamped) on the record of the attempt that answered. */
function setModelUsage(record: UsageRecord, u: ModelUsage | undefined): void {
  if (!u) return;
  record.promptTokens = u.promptTokens;
  record.completionTokens = u.completionTokens;
  record.totalTokens = u.totalTokens;
  record.cost = u.cost;
}

/**
 * One attempt's record, every field present (one shape for all records); the answer's time to first byte and
 * usage are set on the attempt that answered.
 */
function attemptRecord(
  meta: RequestMeta,
  route: string | undefined,
  a: AttemptLog,
  time: number,
): UsageRecord {
  return {
    requestId: meta.requestId,
    clientKey: meta.clientKey,
    session: meta.session,
    project: meta.project,
    user: meta.user,
    agent: meta.agent,
    frontend: meta.frontend,
    requestedModel: meta.requestedModel,
    route,
    stream: meta.stream,
    time,
    backend: a.backend,
    model: a.model,
    keyLabel: a.keyLabel,
    attempt: a.attempt,
    outcome: a.outcome,
    latencyMs: a.latencyMs,
    ttfbMs: undefined,
    promptTokens: undefined,
    completionTokens: undefined,
    totalTokens: undefined,
    cost: undefined,
  };
}

const CONTENT_LIMIT = Math.floor(MAX_VALUE_CHARS / 3);

/**
 * Record every attempt of a dispatch. Returns the stream (bytes or events, as the answer is) to send, wrapped
 * only to capture audit content.
 * `scrub` removes key values from recorded content (the prompt is not redacted when redaction is off).
 */
export function recordDispatch(
  usage: UsageRecorder,
  meta: RequestMeta,
  body: ChatRequest,
  result: DispatchLog,
  auditContent: boolean,
  scrub: (text: string) => string = (t) => t,
): ReadableStream<Uint8Array> | ReadableStream<ModelEvent> | undefined {
  const attempts = result.attempts;
  let attemptStart = meta.started;
  for (let i = 0; i < attempts.length; i++) {
    const a = attempts[i];
    const record = attemptRecord(meta, result.route, a, attemptStart);
    attemptStart += a.latencyMs;
    if (i < attempts.length - 1 || !result.ok) {
      usage.add(record);
      continue;
    }
    const value = result.value;
    const prompt = auditContent ? promptText(body) : undefined;
    record.ttfbMs = a.latencyMs;
    if (value.kind === "json") {
      setUsage(record, value.usage);
      usage.add(record);
      if (prompt !== undefined) {
        auditContentEvent(usage, meta, scrub(prompt), scrub(responseText(value.text)));
      }
      return undefined;
    }
    if (value.kind === "result") {
      setModelUsage(record, value.usage);
      usage.add(record);
      if (prompt !== undefined) {
        const text = (firstChoice(value.result)?.text ?? "").slice(0, CONTENT_LIMIT);
        auditContentEvent(usage, meta, scrub(prompt), scrub(text));
      }
      return undefined;
    }
    let captured = "";
    const capture = auditContent ? new TextDecoder() : undefined;
    value.done.then((summary: StreamEnd) => {
      record.latencyMs = Date.now() - record.time;
      record.outcome = summary.error ? "stream_error" : "ok";
      setUsage(record, summary.usage);
      usage.add(record);
      if (prompt !== undefined) {
        const response = value.kind === "events" ? captured.slice(0, CONTENT_LIMIT) : streamText(captured);
        auditContentEvent(usage, meta, scrub(prompt), scrub(response));
      }
    });
    if (!capture) return undefined;
    if (value.kind === "events") {
      return value.events.pipeThrough(
        new TransformStream<ModelEvent, ModelEvent>({
          transform(ev, c) {
            if (ev.type === "text" && ev.choice === 0 && captured.length < CONTENT_LIMIT) captured += ev.text;
            c.enqueue(ev);
          },
        }),
      );
    }
    return value.stream.pipeThrough(
      new TransformStream<Uint8Array, Uint8Array>({
        transform(chunk, c) {
          if (captured.length < CONTENT_LIMIT * 4) captured += capture.decode(chunk, { stream: true });
          c.enqueue(chunk);
        },
      }),
    );
  }
  return undefined;
}

function promptText(body: ChatRequest): string {
  const last = [...body.messages].reverse().find((m) => m.role === "user");
  return contentText(last?.content ?? "").slice(0, CONTENT_LIMIT);
}

function responseText(text: string): string {
  try {
    const j = JSON.parse(text) as { choices?: { message?: { content?: unknown } }[] };
    const c = j.choices?.[0]?.message?.content ?? geminiText(j);
    return (typeof c === "string" ? c : "").slice(0, CONTENT_LIMIT);
  } catch {
    return "";
  }
}

/** The visible text of a Gemini answer or stream event passed through to a Gemini client (SPEC §17.3). */
function geminiText(j: unknown): string | undefined {
  const parts = (j as { candidates?: { content?: { parts?: unknown } }[] })?.candidates?.[0]?.content?.parts;
  if (!Array.isArray(parts)) return undefined;
  return parts.map((p) => (typeof p?.text === "string" && !p.thought ? p.text : "")).join("");
}

function streamText(sse: string): string {
  let out = "";
  for (const line of sse.split("\n")) {
    if (!line.startsWith("data: {")) continue;
    try {
      const event = JSON.parse(line.slice(6));
      const c = event?.choices?.[0]?.delta?.content ?? geminiText(event);
      if (typeof c === "string") out += c;
    } catch { /* partial line */ }
  }
  return out.slice(0, CONTENT_LIMIT);
}

function auditContentEvent(usage: UsageRecorder, meta: RequestMeta, prompt: string, response: string): void {
  usage.audit({
    time: meta.started,
    kind: "content",
    requestId: meta.requestId,
    session: meta.session,
    clientKey: meta.clientKey,
    detail: { prompt, response },
  });
}
