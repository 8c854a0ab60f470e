/**
 * Chat Completions SSE (`chat.completion.chunk` events ending in `[DONE]`, a post-commit failure as
 * `data: {"error":…}`) → the Responses event stream (SPEC §17.2), one `TransformStream`: `response.created`,
 * `response.in_progress`, then per output item `response.output_item.added` … `response.output_item.done`
 * (text through `content_part` and `output_text` events, reasoning through `reasoning_summary_*` events,
 * function calls through `function_call_arguments` events), and `response.completed` (or
 * `response.incomplete` on a length or content-filter stop) carrying the whole response; a failure ends the
 * stream with `response.failed`. Every event has an increasing `sequence_number`.
 */
import { bytesToText, EventBuffer, eventData, splitEvents, textToBytes } from "../../openai/sse.ts";
import { toolCallId } from "../../openai/build.ts";
import type { FunctionNames } from "./names.ts";
import type { ResponsesBody } from "./parse.ts";
import {
  endOf,
  functionCallItem,
  messageItem,
  newId,
  reasoningItem,
  requestEcho,
  responseCore,
  type ResponseMeta,
  responseObject,
  type ResponseState,
  responsesUsage,
  textPart,
} from "./build.ts";

/** What the stream translation needs. */
export interface ResponsesStreamOptions {
  body: ResponsesBody;
  meta: ResponseMeta;
  names: FunctionNames;
  /** Gets the final response (completed or incomplete) before its last event goes out (to store it). */
  onFinal?: (response: Record<string, unknown>) => Promise<void>;
}

interface OpenText {
  index: number;
  id: string;
  text: string;
}

interface OpenCall {
  index: number;
  id: string;
  callId: string;
  name: string;
  args: string;
}

interface Delta {
  content?: unknown;
  reasoning?: unknown;
  reasoning_content?: unknown;
  tool_calls?: { index?: number; id?: string; function?: { name?: string; arguments?: string } }[];
}

/** The translation state of one stream; `take()` returns the event text written since the last call. */
class ResponsesWriter {
  #seq = 0;
  #out = "";
  #output: Record<string, unknown>[] = [];
  #text: OpenText | undefined;
  #reasoning: OpenText | undefined;
  #calls = new Map<number, OpenCall>();
  #usage: unknown;
  #finish: string | null | undefined;
  #model: string | undefined;
  /** True once `[DONE]` or a finish reason arrived. */
  finished = false;
  /** True once the last event was written. */
  ended = false;

  constructor(private readonly opts: ResponsesStreamOptions) {}

  #emit(type: string, fields: Record<string, unknown>): void {
    this.#out += `event: ${type}\ndata: ${
      JSON.stringify({ type, sequence_number: this.#seq++, ...fields })
    }\n\n`;
  }

  /** The echoed request settings as JSON members (no braces), serialized once per stream. */
  #echo: string | undefined;
  #final: ResponseState | undefined;

  #meta(): ResponseMeta {
    return this.#model ? { ...this.opts.meta, model: this.#model } : this.opts.meta;
  }

  /** The JSON text of the response in `state`, with the request's echo spliced in (not serialized again). */
  #responseJson(state: ResponseState): string {
    this.#echo ??= JSON.stringify(requestEcho(this.opts.body)).slice(1, -1);
    const core = JSON.stringify(responseCore(this.#meta(), state));
    return `${core.slice(0, -1)},${this.#echo}}`;
  }

  /** An event whose payload is a whole response. */
  #emitResponse(type: string, responseJson: string): void {
    const head = `{"type":"${type}","sequence_number":${this.#seq++},"response":`;
    this.#out += `event: ${type}\ndata: ${head}${responseJson}}\n\n`;
  }

  take(): string {
    const out = this.#out;
    this.#out = "";
    return out;
  }

  start(): void {
    const response = this.#responseJson({ status: "in_progress", output: [], usage: null });
    this.#emitResponse("response.created", response);
    this.#emitResponse("response.in_progress", response);
  }

  #add(item: Record<string, unknown>): number {
    const index = this.#output.length;
    this.#output.push(item);
    this.#emit("response.output_item.added", { output_index: index, item });
    return index;
  }

  #done(index: number, item: Record<string, unknown>): void {
    this.#output[index] = item;
    this.#emit("response.output_item.done", { output_index: index, item });
  }

  #textDelta(delta: string): void {
    this.#closeReasoning();
    if (!this.#text) {
      const id = newId("msg");
      this.#text = { index: this.#add(messageItem(id, [], "in_progress")), id, text: "" };
      this.#emit("response.content_part.added", {
        item_id: id,
        output_index: this.#text.index,
        content_index: 0,
        part: textPart(""),
      });
    }
    const t = this.#text;
    t.text += delta;
    this.#emit("response.output_text.delta", {
      item_id: t.id,
      output_index: t.index,
      content_index: 0,
      delta,
      logprobs: [],
    });
  }

  #closeText(): void {
    const t = this.#text;
    if (!t) return;
    this.#text = undefined;
    const at = { item_id: t.id, output_index: t.index, content_index: 0 };
    this.#emit("response.output_text.done", { ...at, text: t.text, logprobs: [] });
    this.#emit("response.content_part.done", { ...at, part: textPart(t.text) });
    this.#done(t.index, messageItem(t.id, [textPart(t.text)], "completed"));
  }

  #reasoningDelta(delta: string): void {
    this.#closeText();
    if (!this.#reasoning) {
      const id = newId("rs");
      this.#reasoning = { index: this.#add(reasoningItem(id, "")), id, text: "" };
      this.#emit("response.reasoning_summary_part.added", {
        item_id: id,
        output_index: this.#reasoning.index,
        summary_index: 0,
        part: { type: "summary_text", text: "" },
      });
    }
    const r = this.#reasoning;
    r.text += delta;
    this.#emit("response.reasoning_summary_text.delta", {
      item_id: r.id,
      output_index: r.index,
      summary_index: 0,
      delta,
    });
  }

  #closeReasoning(): void {
    const r = this.#reasoning;
    if (!r) return;
    this.#reasoning = undefined;
    const at = { item_id: r.id, output_index: r.index, summary_index: 0 };
    this.#emit("response.reasoning_summary_text.done", { ...at, text: r.text });
    this.#emit("response.reasoning_summary_part.done", {
      ...at,
      part: { type: "summary_text", text: r.text },
    });
    this.#done(r.index, reasoningItem(r.id, r.text));
  }

  #callDelta(tc: NonNullable<Delta["tool_calls"]>[number]): void {
    const key = typeof tc.index === "number" ? tc.index : this.#calls.size;
    let call = this.#calls.get(key);
    if (!call) {
      this.#closeText();
      this.#closeReasoning();
      const id = newId("fc");
      const callId = tc.id || toolCallId();
      const name = tc.function?.name ?? "";
      const item = functionCallItem(id, callId, name, "", "in_progress", this.opts.names);
      call = { index: this.#add(item), id, callId, name, args: "" };
      this.#calls.set(key, call);
    }
    const piece = tc.function?.arguments;
    if (typeof piece === "string" && piece !== "") {
      call.args += piece;
      this.#emit("response.function_call_arguments.delta", {
        item_id: call.id,
        output_index: call.index,
        delta: piece,
      });
    }
  }

  /** One parsed Chat chunk. */
  chunk(c: Record<string, unknown>): void {
    if (c.error) return this.fail(c.error);
    if (typeof c.model === "string" && c.model) this.#model ??= c.model;
    if (c.usage && typeof c.usage === "object") this.#usage = c.usage;
    const choices = Array.isArray(c.choices) ? c.choices : [];
    const choice = choices.find((ch) => (ch?.index ?? 0) === 0) as
      | { delta?: Delta; finish_reason?: string | null }
      | undefined;
    if (!choice) return;
    const d = choice.delta ?? {};
    const thought = d.reasoning_content ?? d.reasoning;
    if (typeof thought === "string" && thought !== "") this.#reasoningDelta(thought);
    if (typeof d.content === "string" && d.content !== "") this.#textDelta(d.content);
    if (Array.isArray(d.tool_calls)) { for (const tc of d.tool_calls) if (tc) this.#callDelta(tc); }
    if (choice.finish_reason) {
      this.#finish = choice.finish_reason;
      this.finished = true;
    }
  }

  /** Close every open item and settle the final state. */
  finalResponse(): void {
    this.#closeText();
    this.#closeReasoning();
    for (const call of this.#calls.values()) {
      const at = { item_id: call.id, output_index: call.index };
      const item = functionCallItem(call.id, call.callId, call.name, call.args, "completed", this.opts.names);
      this.#emit("response.function_call_arguments.done", { ...at, name: item.name, arguments: call.args });
      this.#done(call.index, item);
    }
    this.#calls.clear();
    this.#final = { ...endOf(this.#finish), output: this.#output, usage: responsesUsage(this.#usage) };
  }

  /** The final response as an object (for `onFinal`), after {@link finalResponse}. */
  finalObject(): Record<string, unknown> {
    return responseObject(this.#meta(), this.opts.body, this.#final!);
  }

  /** Write the final event of the state {@link finalResponse} settled. */
  complete(): void {
    const state = this.#final!;
    const type = state.status === "incomplete" ? "response.incomplete" : "response.completed";
    this.#emitResponse(type, this.#responseJson(state));
    this.ended = true;
  }

  /** End the stream with `response.failed`. */
  fail(error: unknown): void {
    const e = (error ?? {}) as Record<string, unknown>;
    const failure = {
      code: typeof e.code === "string" ? e.code : "upstream_error",
      message: typeof e.message === "string" ? e.message : "The upstream failed during the stream.",
    };
    this.#emitResponse(
      "response.failed",
      this.#responseJson({ status: "failed", output: this.#output, usage: null, error: failure }),
    );
    this.ended = true;
  }
}

/**
 * The transform from Chat SSE bytes to Responses SSE bytes. Synchronous per chunk (no promise per event); only
 * the end waits, for `onFinal`.
 */
export function responsesStream(opts: ResponsesStreamOptions): TransformStream<Uint8Array, Uint8Array> {
  const w = new ResponsesWriter(opts);
  const pending = new EventBuffer();
  let done = false; // [DONE] arrived
  const out = (ctl: TransformStreamDefaultController<Uint8Array>) => {
    const text = w.take();
    if (text) ctl.enqueue(textToBytes(text));
  };
  const finish = (ctl: TransformStreamDefaultController<Uint8Array>): Promise<void> | void => {
    w.finalResponse();
    const complete = () => {
      w.complete();
      out(ctl);
    };
    const saving = opts.onFinal?.(w.finalObject());
    return saving ? saving.then(complete) : complete();
  };
  /** Translate complete events; true when `[DONE]` ended them. */
  const handle = (bytes: Uint8Array): boolean => {
    for (const ev of splitEvents(bytesToText(bytes))) {
      if (w.ended) return false;
      const data = eventData(ev);
      if (data === undefined) continue;
      if (data.trim() === "[DONE]") return true;
      let chunk: unknown;
      try {
        chunk = JSON.parse(data);
      } catch {
        continue; // the commit rule already vetted the stream; a stray non-JSON event carries nothing
      }
      if (chunk && typeof chunk === "object" && !Array.isArray(chunk)) {
        w.chunk(chunk as Record<string, unknown>);
      }
    }
    return false;
  };
  return new TransformStream<Uint8Array, Uint8Array>({
    start(ctl) {
      w.start();
      out(ctl);
    },
    transform(bytes, ctl) {
      if (w.ended || done) return;
      const complete = pending.push(bytes);
      done = complete !== undefined && handle(complete);
      out(ctl);
      if (done && !w.ended) return finish(ctl);
    },
    flush(ctl) {
      if (w.ended) return;
      if (!done) {
        const rest = pending.take();
        done = rest.length > 0 && handle(rest);
        out(ctl);
      }
      if (w.ended) return;
      if (done || w.finished) return finish(ctl);
      w.fail({ code: "upstream_error", message: "The upstream ended the stream before it finished." });
      out(ctl);
    },
  });
}
