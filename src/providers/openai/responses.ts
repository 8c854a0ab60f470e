/**
 * Responses pass-through for the first-class `openai` provider (SPEC §3.4, §17.2): a Responses client's own
 * body (`AttemptInput.native`, protocol "responses") goes to `<base>/responses` with the provider's model and
 * key, built-in tools and unknown fields included, and the answer comes back as it came (`protocol:
 * "responses"`): JSON, or a stream through the commit rule with the Responses dialect. It is the pass-through
 * way of the provider's exchange; every other request takes the Chat Completions way.
 */
import type { ExchangeWay } from "../../runner/exchange.ts";
import type { NativeRequest, WireProtocol } from "../../core/protocol.ts";
import { bearerHeaders } from "../openai_compatible/backend.ts";
import { chatUsageOf, RESPONSES_DIALECT } from "./responses_dialect.ts";

/** The way Responses requests take to `<baseUrl>/responses`. */
export function responsesWay(
  baseUrl: string,
): ExchangeWay<NativeRequest> & { protocol: WireProtocol } {
  const url = `${baseUrl.replace(/\/+$/, "")}/responses`;
  return {
    protocol: "responses",
    call: (input, native) => ({
      url,
      headers: bearerHeaders(input.key),
      body: { ...native.body, model: input.model, stream: input.stream },
    }),
    answer(json) {
      const j = json as { object?: unknown; error?: unknown; usage?: unknown; model?: unknown } | null;
      if (j?.error) return { kind: "error", error: j.error };
      if (j?.object !== "response") return { kind: "bad", what: "with something that is not a response" };
      return {
        kind: "passed",
        usage: chatUsageOf(j.usage),
        model: typeof j.model === "string" ? j.model : undefined,
      };
    },
    stream: { dialect: RESPONSES_DIALECT },
  };
}
