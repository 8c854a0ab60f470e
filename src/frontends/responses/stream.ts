/**
 * The conversation model's events → the Responses event stream (SPEC §17.2): `response.created`,
 * `response.in_progress`, then per output item `response.output_item.added` … `response.output_item.done`
 * (text through `content_part` and `output_text` events, a refusal through `content_part` and `refusal` events, reasoning through `reasoning_summary_*` events,
 * function calls through `function_call_arguments` events), and `response.completed` (or
 * `response.incomplete` on a length or content-filter stop) carrying the whole response; a failure ends the
 * stream with `response.failed`. Every event has an increasing `sequence_number`. Only choice 0 is read.
 * {@link ResponsesRenderer} is the state machine; `model/render.ts` drives it.
 */
import type { ModelEvent, StreamMeta } from "../../model/events.ts";
import type { EventRenderer } from "../../model/render.ts";
import { chatUsage } from "../../model/usage.ts";
import { toolCallId } from "../../model/ids.ts";
import type { FunctionNames } from "./names.ts";
import type { ResponsesBody } from "./parse.ts";
import {
  endOf,
  functionCallItem,
  messageItem,
  newId,
  reasoningItem,
  refusalPart,
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
  /** The events' meta: its model, once the first event came, is the response's. */
  stream?: StreamMeta;
}

interface OpenText {
  index: number;
  id: string;
  text: string;
}

/** An open message item: its one part is output text or a refusal. */
interface OpenMessage extends OpenText {
  refusal: boolean;
}

interface OpenCall {
  index: number;
  id: string;
  callId: string;
  name: string;
  args: string;
}

/** Writes one answer's events as Responses events. One instance per stream. */
export class ResponsesRenderer implements EventRenderer {
  #seq = 0;
  #out = "";
  #output: Record<string, unknown>[] = [];
  #text: OpenMessage | undefined;
  #reasoning: OpenText | undefined;
  #calls = new Map<number, OpenCall>();
  #usage: unknown;
  #finish: string | null | undefined;
  #model: string | undefined;
  #begun = false;
  /** True once a finish reason arrived. */
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

  /** `response.created` and `response.in_progress`, once, at the first event written (see {@link event}). */
  #begin(): void {
    if (this.#begun) return;
    this.#begun = true;
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

  /** Text or a refusal: one message item per run of either, its one part streamed as it comes. */
  #textDelta(delta: string, refusal = false): void {
    this.#closeReasoning();
    if (this.#text && this.#text.refusal !== refusal) this.#closeText();
    if (!this.#text) {
      const id = newId("msg");
      this.#text = { index: this.#add(messageItem(id, [], "in_progress")), id, text: "", refusal };
      this.#emit("response.content_part.added", {
        item_id: id,
        output_index: this.#text.index,
        content_index: 0,
        part: refusal ? refusalPart("") : textPart(""),
      });
    }
    const t = this.#text;
    t.text += delta;
    const at = { item_id: t.id, output_index: t.index, content_index: 0 };
    if (refusal) this.#emit("response.refusal.delta", { ...at, delta });
    else this.#emit("response.output_text.delta", { ...at, delta, logprobs: [] });
  }

  #closeText(): void {
    const t = this.#text;
    if (!t) return;
    this.#text = undefined;
    const at = { item_id: t.id, output_index: t.index, content_index: 0 };
    if (t.refusal) this.#emit("response.refusal.done", { ...at, refusal: t.text });
    else this.#emit("response.output_text.done", { ...at, text: t.text, logprobs: [] });
    const part = t.refusal ? refusalPart(t.text) : textPart(t.text);
    this.#emit("response.content_part.done", { ...at, part });
    this.#done(t.index, messageItem(t.id, [part], "completed"));
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

  #callStart(index: number, callId: string, name: string): void {
    if (this.#calls.has(index)) return;
    this.#closeText();
    this.#closeReasoning();
    const id = newId("fc");
    const cid = callId || toolCallId();
    const item = functionCallItem(id, cid, name, "", "in_progress", this.opts.names);
    this.#calls.set(index, { index: this.#add(item), id, callId: cid, name, args: "" });
  }

  #callArgs(index: number, piece: string): void {
    const call = this.#calls.get(index);
    if (!call || piece === "") return;
    call.args += piece;
    this.#emit("response.function_call_arguments.delta", {
      item_id: call.id,
      output_index: call.index,
      delta: piece,
    });
  }

  /**
   * The Responses events (as SSE text) for one event. The stream opens (`response.created`) at the first one,
   * not before: by then the upstream has named its model, which `response.created` reports as every later
   * event does (opened earlier it named the model the client asked for, e.g. a route or an alias).
   */
  event(ev: ModelEvent): string {
    if (this.ended) return "";
    if (this.#model === undefined && this.opts.stream?.model) this.#model = this.opts.stream.model;
    this.#begin();
    if (ev.type === "error") {
      this.fail(ev.error);
      return this.take();
    }
    if ("choice" in ev && ev.choice !== 0) return "";
    switch (ev.type) {
      case "reasoning":
        if (ev.text !== "") this.#reasoningDelta(ev.text);
        break;
      case "text":
      case "refusal":
        if (ev.text !== "") this.#textDelta(ev.text, ev.type === "refusal");
        break;
      case "tool_call":
        this.#callStart(ev.index, ev.id, ev.name);
        break;
      case "tool_args":
        this.#callArgs(ev.index, ev.arguments);
        break;
      case "finish":
        this.#finish = ev.reason;
        this.finished = true;
        break;
      case "usage":
        this.#usage = chatUsage(ev.usage);
        break;
    }
    return this.take();
  }

  /** The events ended: the final response (stored first, through `onFinal`), or a failure when unfinished. */
  end(): string | Promise<string> {
    if (this.ended) return "";
    this.#begin();
    if (!this.finished) {
      this.fail({ code: "upstream_error", message: "The upstream ended the stream before it finished." });
      return this.take();
    }
    this.finalResponse();
    const complete = () => {
      this.complete();
      return this.take();
    };
    const saving = this.opts.onFinal?.(this.finalObject());
    return saving ? saving.then(complete) : complete();
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
    this.#begin();
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
