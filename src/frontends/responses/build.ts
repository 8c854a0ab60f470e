/**
 * The one place Responses objects are built (SPEC §17.2): ids (`resp_…`, `msg_…`, `fc_…`, `rs_…`), output
 * items, usage in Responses' names, and the response object with the request's settings echoed (a whole
 * answer of the model as one: {@link resultToResponse}), so a JSON answer, the last event of a stream, a local reply and a stored response have the same shape. Pure.
 */
import type { ResponsesBody } from "./parse.ts";
import type { FunctionNames } from "./names.ts";
import { toolCallId } from "../../model/ids.ts";
import { firstChoice, type ModelResult, reasoningText } from "../../model/result.ts";
import { chatUsage } from "../../model/usage.ts";

/** A fresh id: `prefix_` and 32 random hex digits. */
export function newId(prefix: "resp" | "msg" | "fc" | "rs"): string {
  return `${prefix}_${crypto.randomUUID().replaceAll("-", "")}`;
}

/** What a response and every event of its stream share. */
export interface ResponseMeta {
  id: string;
  /** Unix seconds. */
  created_at: number;
  model: string;
}

/** Meta for a response made now. */
export function newResponseMeta(model: string): ResponseMeta {
  return { id: newId("resp"), created_at: Math.floor(Date.now() / 1000), model };
}

/** Responses usage. */
export interface ResponsesUsage {
  input_tokens: number;
  output_tokens: number;
  total_tokens: number;
  input_tokens_details: { cached_tokens: number };
  output_tokens_details: { reasoning_tokens: number };
}

const count = (v: unknown) => (typeof v === "number" && Number.isFinite(v) && v > 0 ? Math.round(v) : 0);

/** Chat usage (`prompt_tokens`, …, with their details) → Responses usage. */
export function responsesUsage(u: unknown): ResponsesUsage {
  const usage = (u ?? {}) as Record<string, unknown>;
  const pd = (usage.prompt_tokens_details ?? {}) as Record<string, unknown>;
  const cd = (usage.completion_tokens_details ?? {}) as Record<string, unknown>;
  const input = count(usage.prompt_tokens);
  const output = count(usage.completion_tokens);
  return {
    input_tokens: input,
    output_tokens: output,
    total_tokens: count(usage.total_tokens) || input + output,
    input_tokens_details: { cached_tokens: count(pd.cached_tokens) },
    output_tokens_details: { reasoning_tokens: count(cd.reasoning_tokens) },
  };
}

/** An output text part. */
export function textPart(text: string): Record<string, unknown> {
  return { type: "output_text", text, annotations: [], logprobs: [] };
}

/** A refusal part (the model declined; Chat's `refusal`). */
export function refusalPart(refusal: string): Record<string, unknown> {
  return { type: "refusal", refusal };
}

/** An assistant message item. */
export function messageItem(
  id: string,
  content: Record<string, unknown>[],
  status: "in_progress" | "completed" | "incomplete",
): Record<string, unknown> {
  return { id, type: "message", status, role: "assistant", content };
}

/** A function call item; a flattened namespace function is named back into its namespace. */
export function functionCallItem(
  id: string,
  callId: string,
  flatName: string,
  args: string,
  status: "in_progress" | "completed",
  names: FunctionNames,
): Record<string, unknown> {
  const { name, namespace } = names.origin(flatName);
  return {
    id,
    type: "function_call",
    status,
    call_id: callId,
    name,
    ...(namespace !== undefined ? { namespace } : {}),
    arguments: args,
  };
}

/** A reasoning item with its summary text (empty summary when there is none). */
export function reasoningItem(id: string, text: string): Record<string, unknown> {
  return { id, type: "reasoning", summary: text ? [{ type: "summary_text", text }] : [] };
}

/** How a Chat `finish_reason` ends a response. */
export function endOf(finish: string | null | undefined): {
  status: "completed" | "incomplete";
  incomplete_details: { reason: string } | null;
} {
  if (finish === "length") {
    return { status: "incomplete", incomplete_details: { reason: "max_output_tokens" } };
  }
  if (finish === "content_filter") {
    return { status: "incomplete", incomplete_details: { reason: "content_filter" } };
  }
  return { status: "completed", incomplete_details: null };
}

/** The state a response is in, and what it holds so far. */
export interface ResponseState {
  status: "in_progress" | "completed" | "incomplete" | "failed";
  output: Record<string, unknown>[];
  usage: ResponsesUsage | null;
  incomplete_details?: { reason: string } | null;
  error?: { code: string; message: string } | null;
}

/** What a response says about itself: id, status, model, output, usage. */
export function responseCore(meta: ResponseMeta, state: ResponseState): Record<string, unknown> {
  return {
    id: meta.id,
    object: "response",
    created_at: meta.created_at,
    status: state.status,
    error: state.error ?? null,
    incomplete_details: state.incomplete_details ?? null,
    model: meta.model,
    output: state.output,
    usage: state.usage,
  };
}

/** The request's settings a response echoes (as OpenAI's API does); the same for every event of a stream. */
export function requestEcho(body: ResponsesBody): Record<string, unknown> {
  const reasoning = (body.reasoning ?? {}) as Record<string, unknown>;
  return {
    instructions: body.instructions ?? null,
    max_output_tokens: body.max_output_tokens ?? null,
    parallel_tool_calls: body.parallel_tool_calls ?? true,
    previous_response_id: body.previous_response_id ?? null,
    reasoning: { effort: reasoning.effort ?? null, summary: reasoning.summary ?? null },
    store: body.store !== false,
    temperature: body.temperature ?? null,
    text: body.text ?? { format: { type: "text" } },
    tool_choice: body.tool_choice ?? "auto",
    tools: body.tools ?? [],
    top_p: body.top_p ?? null,
    truncation: "disabled",
    user: body.user ?? null,
    metadata: body.metadata ?? {},
  };
}

/** The response object: its core, then the request's settings echoed. */
export function responseObject(
  meta: ResponseMeta,
  body: ResponsesBody,
  state: ResponseState,
): Record<string, unknown> {
  return { ...responseCore(meta, state), ...requestEcho(body) };
}

/** A whole answer of the model → the Responses response (choice 0; the answer's model, else `meta`'s). */
export function resultToResponse(
  r: ModelResult,
  body: ResponsesBody,
  meta: ResponseMeta,
  names: FunctionNames,
): Record<string, unknown> {
  const choice = firstChoice(r);
  const output: Record<string, unknown>[] = [];
  const thought = choice ? reasoningText(choice) : "";
  if (thought) output.push(reasoningItem(newId("rs"), thought));
  const parts: Record<string, unknown>[] = [];
  if (choice?.text) parts.push(textPart(choice.text));
  if (choice?.refusal) parts.push(refusalPart(choice.refusal));
  if (parts.length) output.push(messageItem(newId("msg"), parts, "completed"));
  for (const tc of choice?.toolCalls ?? []) {
    output.push(
      functionCallItem(newId("fc"), tc.id || toolCallId(), tc.name, tc.arguments, "completed", names),
    );
  }
  return responseObject({ ...meta, model: r.meta.model || meta.model }, body, {
    ...endOf(choice?.finish),
    output,
    usage: responsesUsage(r.usage && chatUsage(r.usage)),
  });
}
