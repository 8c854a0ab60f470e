/**
 * The Anthropic Messages front end (SPEC §17.1): `POST /v1/messages` and `POST /v1/messages/count_tokens`
 * (also without `/v1`; query strings such as `?beta=true` are ignored), the client key in `x-api-key` or
 * `Authorization: Bearer`. A request is parsed into the conversation model and, for the anthropic provider,
 * kept as the client's own body with its `anthropic-version` and `anthropic-beta` headers (pass-through).
 * `count_tokens` asks the request's backend for its own count where it has one, else estimates.
 */
import type { FrontEnd } from "../types.ts";
import type { NativeRequest } from "../../core/protocol.ts";
import { readRequestBody } from "../../pipeline/body.ts";
import { runConversation } from "../../pipeline/conversation.ts";
import { backendTokenCount } from "../../pipeline/count_tokens.ts";
import { parseMessagesBody } from "./parse.ts";
import { renderMessages } from "./render.ts";
import { errorResponse } from "./errors.ts";
import { withoutForeignThinking } from "./thinking.ts";
import { estimateInputTokens } from "./count_tokens.ts";

/** The protocol headers of the client's that an Anthropic upstream gets. */
const FORWARDED_HEADERS = ["anthropic-version", "anthropic-beta"];

/** Where the Messages protocol carries the client key. */
const apiKey = (req: Request) => req.headers.get("x-api-key") ?? undefined;

/** The client's own body and protocol headers, for a provider that speaks Messages (pass-through). */
function nativeRequest(req: Request, raw: Record<string, unknown>): NativeRequest {
  const headers: Record<string, string> = {};
  for (const h of FORWARDED_HEADERS) {
    const v = req.headers.get(h);
    if (v !== null) headers[h] = v;
  }
  return { protocol: "anthropic", body: withoutForeignThinking(raw), headers };
}

/** The Anthropic Messages front end. */
export const anthropicFrontEnd: FrontEnd = {
  keyHeader: "x-api-key",
  name: "anthropic",
  errorResponse,
  routes: [{
    pattern: /^\/(?:v1\/)?messages$/,
    methods: ["POST"],
    credential: apiKey,
    async handle(req, _url, env) {
      const { raw, chat } = parseMessagesBody(await readRequestBody(req, env.ctx));
      const native = nativeRequest(req, raw);
      const outcome = await runConversation(
        req,
        { frontend: "anthropic", body: chat, native },
        env.ctx,
        env.caller,
        env.log,
        env.started,
      );
      return renderMessages(outcome, chat.stream === true, chat.model ?? "");
    },
  }, {
    pattern: /^\/(?:v1\/)?messages\/count_tokens$/,
    methods: ["POST"],
    credential: apiKey,
    async handle(req, _url, env) {
      const { raw, chat } = parseMessagesBody(await readRequestBody(req, env.ctx));
      const native = nativeRequest(req, raw);
      const counted = await backendTokenCount(req, { body: chat, native }, env.ctx, env.caller);
      return Response.json({ input_tokens: counted ?? estimateInputTokens(raw) });
    },
  }],
};
