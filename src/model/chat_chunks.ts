/**
 * Chat Completions stream chunks → {@link ModelEvent}s, chunk by chunk: the one reader of Chat chunks, shared by
 * the commit rule's Chat dialect (its pre-commit verdicts) and by {@link chatSseEvents} (a Chat upstream's
 * committed stream rendered by a non-Chat front end). Text, refusals, reasoning (`reasoning_content` or
 * `reasoning`, with the `reasoning_signature` extension), tool calls (numbered by their `index`, or — for an
 * upstream that leaves it out — a new id starting the next call), finish reasons, usage and `{"error":…}`.
 */
import type { ModelError, ModelEvent, StreamMeta } from "./events.ts";
import { modelUsage } from "./usage.ts";

type Obj = Record<string, unknown>;

interface ToolDelta {
  index?: unknown;
  id?: unknown;
  function?: { name?: unknown; arguments?: unknown };
}

const FAILED = "The upstream failed during the stream.";

/** A Chat `{"error":…}` payload as the model's error (its fields kept for the failure classifier). */
function modelError(e: unknown): ModelError {
  if (e && typeof e === "object" && !Array.isArray(e)) {
    const o = e as Obj;
    return { ...o, message: typeof o.message === "string" ? o.message : FAILED };
  }
  return { message: typeof e === "string" ? e : FAILED };
}

/**
 * One choice's tool calls so far: Chat index → the id it started with, the reverse, and the index after the
 * highest (kept as calls come, so a stream of many calls costs no walk over those before).
 */
interface Calls {
  ids: Map<number, string>;
  byId: Map<string, number>;
  next: number;
}

/** Reads one Chat stream's chunks; one instance per stream (tool calls are numbered across chunks). */
export class ChatChunkReader {
  #calls = new Map<number, Calls>();
  /** The call each choice's fragments go to, when the upstream leaves `index` out. */
  #open = new Map<number, number>();

  /** `meta` (if given) gets the model and id the chunks name. */
  constructor(private readonly meta?: StreamMeta) {}

  /** The events of one parsed chunk. */
  chunk(c: Obj): ModelEvent[] {
    if (c.error) return [{ type: "error", error: modelError(c.error) }];
    if (this.meta) {
      if (typeof c.model === "string" && c.model) this.meta.model = c.model;
      if (typeof c.id === "string" && c.id) this.meta.id = c.id;
    }
    const out: ModelEvent[] = [];
    const choices = Array.isArray(c.choices) ? c.choices as Obj[] : [];
    for (const [i, ch] of choices.entries()) {
      if (!ch || typeof ch !== "object") continue;
      const choice = typeof ch.index === "number" ? ch.index : i;
      const d = (ch.delta ?? {}) as Obj;
      const reasoning = typeof d.reasoning_content === "string" ? d.reasoning_content : d.reasoning;
      if (typeof reasoning === "string" && reasoning) {
        out.push({ type: "reasoning", choice, text: reasoning });
      }
      if (typeof d.reasoning_signature === "string" && d.reasoning_signature) {
        out.push({ type: "reasoning_signature", choice, signature: d.reasoning_signature });
      }
      if (typeof d.content === "string" && d.content) out.push({ type: "text", choice, text: d.content });
      if (typeof d.refusal === "string" && d.refusal) out.push({ type: "refusal", choice, text: d.refusal });
      if (Array.isArray(d.tool_calls)) {
        for (const tc of d.tool_calls as ToolDelta[]) {
          if (tc && typeof tc === "object") this.#tool(choice, tc, out);
        }
      }
      const finish = ch.finish_reason;
      if (typeof finish === "string" && finish) out.push({ type: "finish", choice, reason: finish });
    }
    if (c.usage && typeof c.usage === "object" && !Array.isArray(c.usage)) {
      out.push({ type: "usage", usage: modelUsage(c.usage as Obj) });
    }
    return out;
  }

  #tool(choice: number, tc: ToolDelta, out: ModelEvent[]): void {
    let calls = this.#calls.get(choice);
    if (!calls) this.#calls.set(choice, calls = { ids: new Map(), byId: new Map(), next: 0 });
    const id = typeof tc.id === "string" && tc.id ? tc.id : undefined;
    const index = this.#callIndex(choice, calls, tc, id);
    if (!calls.ids.has(index)) {
      const name = typeof tc.function?.name === "string" ? tc.function.name : "";
      calls.ids.set(index, id ?? "");
      if (id && !calls.byId.has(id)) calls.byId.set(id, index);
      if (index >= calls.next) calls.next = index + 1;
      out.push({ type: "tool_call", choice, index, id: id ?? "", name });
    }
    this.#open.set(choice, index);
    const args = tc.function?.arguments;
    if (typeof args === "string" && args) out.push({ type: "tool_args", choice, index, arguments: args });
  }

  /**
   * The Chat index of a tool-call delta. Some upstreams leave `index` out: a new id then starts the next call,
   * and a fragment without one belongs to the call in progress.
   */
  #callIndex(choice: number, calls: Calls, tc: ToolDelta, id: string | undefined): number {
    if (typeof tc.index === "number") return tc.index;
    const open = this.#open.get(choice);
    if (open !== undefined && (!id || calls.ids.get(open) === id)) return open;
    const known = id === undefined ? undefined : calls.byId.get(id);
    return known ?? calls.next;
  }
}
