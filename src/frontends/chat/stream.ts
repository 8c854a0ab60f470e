/**
 * {@link ModelEvent}s → Chat Completions chunks (SSE ending in `[DONE]`), for a translated provider's stream or
 * a whole answer the client wanted streamed: each choice opens with the assistant role, then one chunk per
 * event (`content`, `refusal`, `reasoning_content`/`reasoning_signature` for thinking, `tool_calls` numbered
 * within their choice), the finish reason, the usage chunk only when the client asked
 * (`stream_options.include_usage`), and `[DONE]`; an error event ends the stream with `{"error":…}`. A Chat
 * upstream's stream never comes here: it passes through as bytes.
 */
import type { ModelEvent, StreamMeta } from "../../model/events.ts";
import { CUT_OFF_MESSAGE } from "../../model/events.ts";
import type { EventRenderer } from "../../model/render.ts";
import { chatUsage } from "../../model/usage.ts";
import { deltaSse, roleDelta, SSE_DONE, usageSse } from "../../openai/build.ts";
import { sseData } from "../../openai/sse.ts";

/** Writes one answer's events as Chat chunks. */
export class ChatRenderer implements EventRenderer {
  #started = new Set<number>();
  #finished = false;
  ended = false;

  /** `meta` is read as each chunk is written (a producer may name the model after it began). */
  constructor(private readonly meta: StreamMeta, private readonly includeUsage: boolean) {}

  #delta(choice: number, delta: Record<string, unknown>, finish: string | null = null): string {
    return this.#role(choice) + deltaSse(this.meta, choice, delta, finish);
  }

  /** The role delta that opens a choice, the first time it is named. */
  #role(choice: number): string {
    if (this.#started.has(choice)) return "";
    this.#started.add(choice);
    return deltaSse(this.meta, choice, roleDelta());
  }

  /** The chunk's fields before `choices`, serialized once per model name (the model may be named late). */
  #head = { model: "", text: "" };

  /**
   * A chunk with one string field in its delta, written directly (the hot path: one per upstream chunk); the
   * same bytes as {@link deltaSse}.
   */
  #stringDelta(choice: number, field: string, value: string): string {
    if (this.#head.text === "" || this.#head.model !== this.meta.model) {
      const m = this.meta;
      this.#head = {
        model: m.model,
        text: `data: {"id":${
          JSON.stringify(m.id)
        },"object":"chat.completion.chunk","created":${m.created},"model":${
          JSON.stringify(m.model)
        },"choices":[{"index":`,
      };
    }
    return `${this.#role(choice)}${this.#head.text}${choice},"delta":{"${field}":${
      JSON.stringify(value)
    }},"finish_reason":null}]}\n\n`;
  }

  event(ev: ModelEvent): string {
    switch (ev.type) {
      case "text":
        return this.#stringDelta(ev.choice, "content", ev.text);
      case "refusal":
        return this.#stringDelta(ev.choice, "refusal", ev.text);
      case "reasoning":
        return this.#stringDelta(ev.choice, "reasoning_content", ev.text);
      case "reasoning_signature":
        return this.#delta(ev.choice, { reasoning_signature: ev.signature });
      case "redacted_reasoning":
        return "";
      case "tool_call":
        return this.#delta(ev.choice, {
          tool_calls: [{
            index: ev.index,
            id: ev.id,
            type: "function",
            function: { name: ev.name, arguments: "" },
          }],
        });
      case "tool_args":
        return this.#delta(ev.choice, {
          tool_calls: [{ index: ev.index, function: { arguments: ev.arguments } }],
        });
      case "finish":
        this.#finished = true;
        return this.#delta(ev.choice, {}, ev.reason);
      case "usage":
        return this.includeUsage ? usageSse(this.meta, chatUsage(ev.usage)) : "";
      case "error": {
        this.ended = true;
        const { message, type, code } = ev.error;
        return sseData({ error: { message, type: type ?? "api_error", code: code ?? "upstream_error" } });
      }
    }
  }

  end(): string {
    if (this.#finished) return SSE_DONE;
    return sseData({ error: { message: CUT_OFF_MESSAGE, type: "api_error", code: "upstream_error" } });
  }
}
