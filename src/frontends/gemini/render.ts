/**
 * The pipeline's {@link Outcome} as Gemini's protocol (SPEC §17.3): a `GenerateContentResponse` for
 * `generateContent`; for `streamGenerateContent`, SSE of `GenerateContentResponse` events (`?alt=sse`, no
 * `[DONE]`) or the JSON array Google sends without it. A passed-through Gemini answer goes out as it came; a
 * whole answer of the model (a translated provider's, a local reply, a Chat upstream's JSON read by
 * `model/result.ts`) is rendered here, a stream of events (a translated provider's, or a Chat upstream's read
 * by `model/chat_sse.ts`) by `stream.ts`.
 */
import { ProxyError } from "../../core/errors.ts";
import { headerValue } from "../../core/headers.ts";
import { SSE_HEADERS } from "../../openai/sse.ts";
import type { Outcome } from "../../pipeline/conversation.ts";
import { geminiFinishReason, geminiUsage } from "../../providers/gemini/mappings.ts";
import type { GeminiPart } from "../../providers/gemini/types.ts";
import { functionCallPart } from "./parts.ts";
import { GeminiRenderer, jsonArrayFraming, sseDataEvents } from "./stream.ts";
import { chatSseEvents } from "../../model/chat_sse.ts";
import { renderEvents } from "../../model/render.ts";
import { completionResult, type ModelResult, reasoningText } from "../../model/result.ts";
import { chatUsage } from "../../model/usage.ts";
import type { Obj } from "./fields.ts";
import { textResponse } from "../../core/response.ts";

/** How the client asked for the answer. */
export interface RenderOptions {
  stream: boolean;
  /** `?alt=sse` (else a streamed answer is a JSON array). */
  sse: boolean;
  /** Tool kinds the conversation model could not carry (named in `x-llmproxy-dropped-tools`). */
  droppedTools: readonly string[];
}

/** A whole answer of the model as a `GenerateContentResponse`. */
export function resultToGemini(r: ModelResult): Obj {
  const candidates = r.choices.map((choice) => {
    const parts: GeminiPart[] = [];
    const reasoning = reasoningText(choice);
    if (reasoning) parts.push({ text: reasoning, thought: true });
    const text = choice.text || choice.refusal || "";
    if (text) parts.push({ text });
    for (const tc of choice.toolCalls) parts.push(functionCallPart(tc.id, tc.name, tc.arguments));
    return {
      content: { role: "model", parts },
      finishReason: geminiFinishReason(choice.finish),
      index: choice.index,
    };
  });
  return {
    candidates,
    ...(r.usage ? { usageMetadata: geminiUsage(chatUsage(r.usage)) } : {}),
    modelVersion: r.meta.model,
    responseId: r.meta.id,
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
    headers["x-llmproxy-dropped-tools"] = headerValue(o.droppedTools.join(", "));
  }
  const streamed = () => {
    if (o.sse) Object.assign(headers, SSE_HEADERS);
    else headers["content-type"] = "application/json; charset=UTF-8";
  };
  if (outcome.kind === "events") {
    streamed();
    return new Response(renderEvents(outcome.events, new GeminiRenderer(outcome.meta, o.sse)), {
      status: 200,
      headers,
    });
  }
  if (outcome.kind !== "result" && outcome.protocol !== "chat" && outcome.protocol !== "gemini") {
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
  const json = outcome.kind === "result"
    ? JSON.stringify(resultToGemini(outcome.result))
    : outcome.protocol === "gemini"
    ? outcome.text
    : JSON.stringify(resultToGemini(completionResult(JSON.parse(outcome.text))));
  if (o.stream) {
    streamed();
    // SSE data is one line: a passed-through answer is re-serialised compactly.
    const line = passedThrough ? JSON.stringify(JSON.parse(json)) : json;
    return new Response(oneEvent(line, o.sse), { status: 200, headers });
  }
  headers["content-type"] = "application/json; charset=UTF-8";
  return textResponse(json, outcome.kind === "result" ? 200 : outcome.status, headers);
}
