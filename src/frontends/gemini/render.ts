/**
 * The pipeline's {@link Outcome} as Gemini's protocol (SPEC §17.3): a `GenerateContentResponse` for
 * `generateContent`; for `streamGenerateContent`, SSE of `GenerateContentResponse` events (`?alt=sse`, no
 * `[DONE]`) or the JSON array Google sends without it. A passed-through Gemini answer goes out as it came; a
 * Chat completion (another provider, a local reply) is rendered here, a stream of events (a translated
 * provider's, or a Chat upstream's read by `model/chat_sse.ts`) by `stream.ts`.
 */
import { ProxyError } from "../../core/errors.ts";
import { headerValue } from "../../core/headers.ts";
import { SSE_HEADERS } from "../../openai/sse.ts";
import { contentText, type Message, type Usage } from "../../openai/types.ts";
import type { Outcome } from "../../pipeline/conversation.ts";
import { geminiFinishReason, geminiUsage } from "../../providers/gemini/mappings.ts";
import type { GeminiPart } from "../../providers/gemini/types.ts";
import { functionCallPart, reasoningText } from "./parts.ts";
import { GeminiRenderer, jsonArrayFraming, sseDataEvents } from "./stream.ts";
import { chatSseEvents } from "../../model/chat_sse.ts";
import { renderEvents } from "../../model/render.ts";
import type { Obj } from "./fields.ts";

/** How the client asked for the answer. */
export interface RenderOptions {
  stream: boolean;
  /** `?alt=sse` (else a streamed answer is a JSON array). */
  sse: boolean;
  /** Tool kinds the conversation model could not carry (named in `x-llmproxy-dropped-tools`). */
  droppedTools: readonly string[];
}

/** A `chat.completion` as a `GenerateContentResponse`. */
export function completionToGemini(completion: Obj): Obj {
  const choices = Array.isArray(completion.choices) ? completion.choices as Obj[] : [];
  const candidates = choices.map((choice, i) => {
    const m = (choice.message ?? {}) as Obj;
    const parts: GeminiPart[] = [];
    const reasoning = reasoningText(m);
    if (reasoning) parts.push({ text: reasoning, thought: true });
    const text = contentText(m.content as Message["content"]) ||
      (typeof m.refusal === "string" ? m.refusal : "");
    if (text) parts.push({ text });
    for (const tc of Array.isArray(m.tool_calls) ? m.tool_calls as Obj[] : []) {
      const fn = (tc.function ?? {}) as Obj;
      parts.push(functionCallPart(tc.id, String(fn.name ?? ""), fn.arguments));
    }
    return {
      content: { role: "model", parts },
      finishReason: geminiFinishReason(String(choice.finish_reason ?? "stop")),
      index: typeof choice.index === "number" ? choice.index : i,
    };
  });
  return {
    candidates,
    ...(completion.usage && typeof completion.usage === "object"
      ? { usageMetadata: geminiUsage(completion.usage as Usage) }
      : {}),
    ...(typeof completion.model === "string" ? { modelVersion: completion.model } : {}),
    ...(typeof completion.id === "string" ? { responseId: completion.id } : {}),
  };
}

/** One whole answer as a stream of one event. */
function oneEvent(json: string, sse: boolean): string {
  return sse ? `data: ${json}\n\n` : `[${json}]`;
}

/** The Gemini response for an outcome. */
export function renderGemini(outcome: Outcome, o: RenderOptions): Response {
  const headers = outcome.headers;
  const passedThrough = (outcome.kind === "json" || outcome.kind === "stream") &&
    outcome.protocol === "gemini";
  if (o.droppedTools.length && !passedThrough) {
    headers.set("x-llmproxy-dropped-tools", headerValue(o.droppedTools.join(", ")));
  }
  const streamed = () => {
    if (o.sse) { for (const [k, v] of Object.entries(SSE_HEADERS)) headers.set(k, v); }
    else headers.set("content-type", "application/json; charset=UTF-8");
  };
  if (outcome.kind === "events") {
    streamed();
    return new Response(renderEvents(outcome.events, new GeminiRenderer(outcome.meta, o.sse)), {
      status: 200,
      headers,
    });
  }
  if (outcome.kind !== "local" && outcome.protocol !== "chat" && outcome.protocol !== "gemini") {
    throw new ProxyError(
      500,
      "server_error",
      "internal_error",
      `a ${outcome.protocol} answer reached the Gemini front end`,
    );
  }
  if (outcome.kind === "stream") {
    streamed();
    if (outcome.protocol === "chat") {
      const meta = { id: "", created: 0, model: "" };
      const events = chatSseEvents(outcome.stream, meta);
      return new Response(renderEvents(events, new GeminiRenderer(meta, o.sse)), { status: 200, headers });
    }
    if (o.sse) return new Response(outcome.stream, { status: 200, headers });
    const framed = outcome.stream.pipeThrough(sseDataEvents()).pipeThrough(jsonArrayFraming());
    return new Response(framed.pipeThrough(new TextEncoderStream()), { status: 200, headers });
  }
  const json = outcome.kind === "local"
    ? JSON.stringify(completionToGemini(outcome.completion))
    : outcome.protocol === "gemini"
    ? outcome.text
    : JSON.stringify(completionToGemini(JSON.parse(outcome.text)));
  if (o.stream) {
    streamed();
    // SSE data is one line: a passed-through answer is re-serialised compactly.
    const line = passedThrough ? JSON.stringify(JSON.parse(json)) : json;
    return new Response(oneEvent(line, o.sse), { status: 200, headers });
  }
  headers.set("content-type", "application/json; charset=UTF-8");
  return new Response(json, { status: outcome.kind === "local" ? 200 : outcome.status, headers });
}
