/**
 * The commit rule's view of an Anthropic Messages stream passed through to a Messages client (SPEC §7,
 * §17): before the commit `message_start`, `ping` and `content_block_start` are held, the first
 * `content_block_delta` (or a `message_delta` with a stop reason, or `message_stop`) commits, and an `error`
 * event fails the attempt so the next key or route element is tried. After the commit only events with a
 * `"usage"` or `"error"` marker (or `message_stop`) are read: usage from `message_start` and `message_delta`
 * (mapped to Chat usage for the records), an `error` event ends the stream with the proxy's own error event
 * in Anthropic's shape, and a stream closed before its stop reason ends with one too. Pure.
 */
import type { StreamDialect } from "../../runner/commit.ts";
import { textToBytes } from "../../openai/sse.ts";
import type { Usage } from "../../model/request.ts";
import { anthropicErrorType } from "../../core/anthropic_error.ts";
import { type AnthropicUsage, mapUsage } from "./response.ts";

type Obj = Record<string, unknown>;

const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);

/** An `error` event as the in-band error `classifyAnthropicInBand` reads (`code` is Anthropic's type). */
function inBand(ev: Obj): { code?: unknown; message?: unknown } {
  const e = isObj(ev.error) ? ev.error : {};
  return { code: e.type, message: e.message };
}

/** Usage so far with a `message_delta`'s counts put in (they are cumulative; absent ones are kept). */
function mergeUsage(prev: Usage | undefined, delta: AnthropicUsage): Usage {
  const details = (prev?.prompt_tokens_details ?? {}) as {
    cached_tokens?: number;
    cache_creation_tokens?: number;
  };
  const cacheRead = delta.cache_read_input_tokens ?? details.cached_tokens ?? 0;
  const cacheWrite = delta.cache_creation_input_tokens ?? details.cache_creation_tokens ?? 0;
  const input = delta.input_tokens ??
    Math.max(
      0,
      (prev?.prompt_tokens ?? 0) - (details.cached_tokens ?? 0) - (details.cache_creation_tokens ?? 0),
    );
  return mapUsage({
    input_tokens: input,
    output_tokens: delta.output_tokens ?? prev?.completion_tokens ?? 0,
    cache_read_input_tokens: cacheRead,
    cache_creation_input_tokens: cacheWrite,
  });
}

/** Anthropic Messages SSE, for {@link commitStream}'s `dialect`. */
export const ANTHROPIC_DIALECT: StreamDialect = {
  inspect(data, _event, seen) {
    if (data === undefined) return "hold";
    let ev: unknown;
    try {
      ev = JSON.parse(data);
    } catch {
      return { error: { message: "Anthropic sent a stream event that is not JSON", code: "bad_stream" } };
    }
    if (!isObj(ev)) {
      return {
        error: { message: "Anthropic sent a stream event that is not an object", code: "bad_stream" },
      };
    }
    seen?.(ev);
    switch (ev.type) {
      case "error":
        return { error: inBand(ev) };
      case "content_block_delta":
      case "message_stop":
        return "commit";
      case "message_delta":
        return isObj(ev.delta) && ev.delta.stop_reason ? "commit" : "hold";
      default: // message_start, ping, content_block_start/stop, event types added later
        return "hold";
    }
  },
  model(ev) {
    const m = ev.type === "message_start" && isObj(ev.message) ? ev.message.model : undefined;
    return typeof m === "string" ? m : undefined;
  },
  read(ev, usage) {
    if (ev.type === "error") return { error: inBand(ev) };
    if (ev.type === "message_stop") return { finished: true, ended: true };
    if (ev.type === "message_start" && isObj(ev.message) && isObj(ev.message.usage)) {
      return { usage: mapUsage(ev.message.usage as AnthropicUsage) };
    }
    if (ev.type === "message_delta") {
      const finished = isObj(ev.delta) && !!ev.delta.stop_reason;
      return isObj(ev.usage)
        ? { usage: mergeUsage(usage, ev.usage as AnthropicUsage), finished }
        : { finished };
    }
    return {};
  },
  cutOff: "Anthropic ended the stream without a stop reason; the answer may be cut off.",
  markers: [textToBytes('"usage"'), textToBytes('"error"'), textToBytes('"message_stop"')],
  errorEvent: ({ message, type, code, status }) =>
    `event: error\ndata: ${
      JSON.stringify({ type: "error", error: { type: anthropicErrorType({ status, type, code }), message } })
    }\n\n`,
};
