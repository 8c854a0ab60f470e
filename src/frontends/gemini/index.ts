/**
 * The Gemini front end (SPEC §17.3): Google's generateContent REST protocol under `/v1beta`, so the Gemini CLI
 * and Google's SDKs can use llmproxy with `GOOGLE_GEMINI_BASE_URL`. The client key comes in `x-goog-api-key`
 * (or `?key=`; the edge logs only the path). The client's body passes through to the `gemini` provider and is
 * translated for any other; answers, streams, local replies and errors are Google's shapes.
 */
import type { FrontEnd } from "../types.ts";
import { badRequest, ProxyError } from "../../core/errors.ts";
import { readRequestBody } from "../../pipeline/body.ts";
import { runConversation } from "../../pipeline/conversation.ts";
import { parseGenerateContent, readJsonObject } from "./parse.ts";
import { renderGemini } from "./render.ts";
import { errorResponse } from "./errors.ts";
import { countTokens } from "./count.ts";
import { geminiModelEntry, geminiModels } from "./models.ts";

/** The client key: `x-goog-api-key`, else the `key` query parameter. */
function googKey(req: Request, url: URL): string | undefined {
  return req.headers.get("x-goog-api-key") ?? url.searchParams.get("key") ?? undefined;
}

/** The path's `{model}`, percent-decoded. */
function modelParam(raw: string): string {
  let model: string;
  try {
    model = decodeURIComponent(raw);
  } catch {
    throw badRequest("The model in the path is not valid percent-encoding.", "model");
  }
  if (!model.trim()) {
    throw badRequest("The path names no model: use /v1beta/models/{model}:generateContent.", "model");
  }
  return model;
}

/** 404 for a path under /v1beta this front end does not serve, naming what it does serve. */
function notServed(url: URL): never {
  throw new ProxyError(
    404,
    "invalid_request_error",
    "not_found",
    `No such endpoint: ${url.pathname}. llmproxy serves POST /v1beta/models/{model}:generateContent, ` +
      ":streamGenerateContent and :countTokens, and GET /v1beta/models[/{model}].",
  );
}

/** The Gemini front end. */
export const geminiFrontEnd: FrontEnd = {
  keyHeader: "x-goog-api-key (or ?key=)",
  name: "gemini",
  errorResponse,
  routes: [
    {
      pattern: /^\/v1beta\/models\/(.+):(generateContent|streamGenerateContent|countTokens)$/,
      methods: ["POST"],
      credential: googKey,
      async handle(req, url, env) {
        const model = modelParam(env.params[0]);
        const rpc = env.params[1];
        const body = readJsonObject(await readRequestBody(req, env.ctx));
        if (rpc === "countTokens") return await countTokens(req, body, model, env);
        const stream = rpc === "streamGenerateContent";
        const parsed = parseGenerateContent(body, model, stream);
        const outcome = await runConversation(
          req,
          { frontend: "gemini", body: parsed.chat, native: { protocol: "gemini", body, headers: {} } },
          env.ctx,
          env.caller,
          env.log,
          env.started,
        );
        return renderGemini(outcome, {
          stream,
          sse: url.searchParams.get("alt") === "sse",
          droppedTools: parsed.droppedTools,
        });
      },
    },
    {
      pattern: /^\/v1beta\/models$/,
      methods: ["GET"],
      credential: googKey,
      handle: (_req, _url, { ctx }) => geminiModels(ctx),
    },
    {
      // POST here is another model method (`:embedContent`, …): not served, said in Google's shape.
      pattern: /^\/v1beta\/models\/(.+)$/,
      methods: ["GET", "POST"],
      credential: googKey,
      handle: (req, url, { ctx, params }) =>
        req.method === "POST" ? notServed(url) : geminiModelEntry(ctx, modelParam(params[0])),
    },
    {
      // Anything else under /v1beta answers in Google's shape, so a Gemini client shows a clear error.
      pattern: /^\/v1beta(?:\/.*)?$/,
      methods: ["GET", "POST", "PUT", "PATCH", "DELETE"],
      credential: googKey,
      handle: (_req, url) => notServed(url),
    },
  ],
};
