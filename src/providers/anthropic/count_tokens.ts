/**
 * Anthropic's own token count (SPEC §17.1 `count_tokens`): `<base>/messages/count_tokens` with the fields that
 * endpoint takes — the Messages client's own body when it came in Messages (passed through as it would be),
 * else the translated request. Any failure is "no count" (the caller estimates instead), never an error.
 */
import type { CountInput } from "../../runner/backend.ts";
import { postForJson } from "../../runner/http.ts";
import type { UpstreamClient } from "../../runner/upstream_client.ts";
import { tokenCount } from "../../core/clamp.ts";

/** The request fields `count_tokens` takes (it refuses others, such as `max_tokens` or `stream`). */
const COUNTED = ["messages", "system", "tools", "tool_choice", "thinking", "mcp_servers"];

/** Where and how to ask. */
export interface CountRequest {
  client: UpstreamClient;
  backend: string;
  /** `<base>/messages/count_tokens`. */
  url: string;
  headers: Record<string, string>;
  /** The Messages request to count (the client's own or the translated one). */
  body: Record<string, unknown>;
}

/** Anthropic's `input_tokens` for `r`, or undefined when it did not answer one. */
export async function countAnthropicTokens(r: CountRequest, input: CountInput): Promise<number | undefined> {
  const payload: Record<string, unknown> = { model: input.model };
  for (const f of COUNTED) if (r.body[f] !== undefined) payload[f] = r.body[f];
  const json = await postForJson(
    r.client,
    r.backend,
    r.url,
    r.headers,
    JSON.stringify(payload),
    input.signal,
    input.timeoutMs,
  );
  return tokenCount((json as { input_tokens?: unknown } | undefined)?.input_tokens);
}
