/**
 * The one place `chat.completion` objects and `chat.completion.chunk` SSE events are built (their ids and
 * times come from `model/ids.ts`): every answer the proxy writes itself (a whole answer of the model for a Chat
 * client — translated, or a local reply — its events as chunks, JSON answers turned into streams) has the same
 * field order and shape. Pure.
 */
import { SSE_DONE, sseData } from "./sse.ts";

export { SSE_DONE };

/** What a completion and every chunk of it share: id, created time (unix s) and the model reported (`model/events.ts` `StreamMeta`). */
export interface CompletionMeta {
  id: string;
  created: number;
  model: string;
}

/** One choice of a chunk: a delta and, on the last chunk of the choice, its finish reason. */
export interface ChunkChoice {
  index: number;
  delta: Record<string, unknown>;
  finish_reason: string | null;
}

/** A `chat.completion.chunk` object; `usage` makes it a usage chunk (its `choices` then empty). */
export function chunk(
  meta: CompletionMeta,
  choices: ChunkChoice[],
  usage?: unknown,
): Record<string, unknown> {
  return {
    id: meta.id,
    object: "chat.completion.chunk",
    created: meta.created,
    model: meta.model,
    choices,
    ...(usage ? { usage } : {}),
  };
}

/** The SSE event of one chunk with one choice: `delta` for choice `index`, finishing it when `finish` is set. */
export function deltaSse(
  meta: CompletionMeta,
  index: number,
  delta: Record<string, unknown>,
  finish: string | null = null,
): string {
  return sseData(chunk(meta, [{ index, delta, finish_reason: finish }]));
}

/** The first delta of a choice: the assistant role, with the first content (empty when there is none yet). */
export function roleDelta(content = ""): Record<string, unknown> {
  return { role: "assistant", content };
}

/** Tool calls as a delta carries them: each numbered (`index`) from `first` on within its choice. */
export function toolCallDeltas<T extends object>(calls: readonly T[], first = 0): ({ index: number } & T)[] {
  return calls.map((tc, j) => ({ index: first + j, ...tc }));
}

/** The SSE event of the usage chunk (no choices). */
export function usageSse(meta: CompletionMeta, usage: unknown): string {
  return sseData(chunk(meta, [], usage));
}

/** One choice of a `chat.completion`. */
export interface CompletionChoice<M = Record<string, unknown>> {
  index: number;
  message: M;
  finish_reason: string;
  logprobs: null;
}

/** A completion choice: `message` for choice `index`, finished for `finish`. */
export function completionChoice<M>(index: number, message: M, finish: string): CompletionChoice<M> {
  return { index, message, finish_reason: finish, logprobs: null };
}

/**
 * A `chat.completion` object: id, object, created, model, choices, then `tail` (usage, system_fingerprint)
 * in the order given.
 */
export function completion<C, T extends object>(
  meta: CompletionMeta,
  choices: C[],
  tail: T,
): { id: string; object: "chat.completion"; created: number; model: string; choices: C[] } & T {
  return {
    id: meta.id,
    object: "chat.completion",
    created: meta.created,
    model: meta.model,
    choices,
    ...tail,
  };
}
