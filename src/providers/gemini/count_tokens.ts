/**
 * Gemini's own token count (SPEC §17.1 `count_tokens`): `models/{model}:countTokens` with the translated
 * request as its `generateContentRequest` (contents, system instruction, tools), so the count is Gemini's for
 * exactly what would be sent. Any failure is "no count" (the caller estimates instead), never an error.
 */
import type { CountInput } from "../../runner/backend.ts";
import { postForJson } from "../../runner/http.ts";
import type { UpstreamClient } from "../../runner/upstream_client.ts";
import { tokenCount } from "../../core/clamp.ts";
import type { GeminiRequest } from "./types.ts";

/** Where and how to ask. */
export interface CountRequest {
  client: UpstreamClient;
  backend: string;
  /** `…/models/{model}:countTokens`. */
  url: string;
  headers: Record<string, string>;
  /** The request as `generateContent` would get it for this model. */
  request: GeminiRequest;
}

/** Gemini's `totalTokens` for `r`, or undefined when it did not answer one. */
export async function countGeminiTokens(r: CountRequest, input: CountInput): Promise<number | undefined> {
  const body = JSON.stringify({ generateContentRequest: { model: `models/${input.model}`, ...r.request } });
  const json = await postForJson(r.client, r.backend, r.url, r.headers, body, input.signal, input.timeoutMs);
  return tokenCount((json as { totalTokens?: unknown } | undefined)?.totalTokens);
}
