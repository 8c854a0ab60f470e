/**
 * The Chat Completions front end (SPEC §1.1, §17): `POST /v1/chat/completions` (and `/chat/completions`).
 * Its protocol is the conversation model's own shape, so parsing is validation and a Chat Completions answer
 * passes through as bytes.
 */
import type { FrontEnd } from "../types.ts";
import { readRequestBody } from "../../pipeline/body.ts";
import { runConversation } from "../../pipeline/conversation.ts";
import { parseChatBody } from "./parse.ts";
import { renderChat } from "./render.ts";
import { errorResponse } from "./errors.ts";

/** The Chat Completions front end. */
export const chatFrontEnd: FrontEnd = {
  name: "chat",
  errorResponse: (err) => errorResponse(err),
  routes: [{
    pattern: /^\/(?:v1\/)?chat\/completions$/,
    methods: ["POST"],
    async handle(req, _url, { ctx, caller, log, started }) {
      const text = await readRequestBody(req, ctx);
      const body = parseChatBody(text);
      const outcome = await runConversation(req, { frontend: "chat", body }, ctx, caller, log, started);
      return renderChat(outcome, body);
    },
  }],
};
