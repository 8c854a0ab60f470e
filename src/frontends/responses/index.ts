/**
 * The OpenAI Responses front end (SPEC §17.2): `POST /v1/responses` (and `/responses`) runs a request through
 * the conversation pipeline — after prepending a `previous_response_id`'s stored conversation and resolving
 * `item_reference`s — and answers in the Responses protocol, storing the response unless `store` is false;
 * `GET` / `DELETE /v1/responses/{id}` read and delete a stored response of the caller's own.
 */
import type { FrontEnd, RouteEnv } from "../types.ts";
import { readRequestBody } from "../../pipeline/body.ts";
import { runConversation } from "../../pipeline/conversation.ts";
import { badRequest, ProxyError } from "../../core/errors.ts";
import type { NativeRequest } from "../../core/protocol.ts";
import { log as logger } from "../../log/log.ts";
import { inputItems, type Item, parseResponsesBody, type ResponsesBody, toChatRequest } from "./parse.ts";
import { FunctionNames } from "./names.ts";
import { newResponseMeta } from "./build.ts";
import { renderResponses } from "./render.ts";
import { errorResponse } from "./errors.ts";
import { deleteResponse, loadConversation, loadItem, loadResponse, saveResponse } from "./store.ts";

const DAY_MS = 86_400_000;
/** Longest id looked up (a KV key stays far below its 2 KiB limit). */
const MAX_ID = 256;

const NOT_FOUND = {
  previous_response_not_found: "Previous response",
  response_not_found: "Response",
  item_not_found: "Stored item",
} as const;
const WHY_NOT_FOUND = "(unknown, expired, deleted, stored with store:false or made with another client key)";

function notFound(id: string, param: string | null, code: keyof typeof NOT_FOUND): ProxyError {
  const shown = id.length > 80 ? `${id.slice(0, 80)}…` : id;
  return new ProxyError(
    404,
    "invalid_request_error",
    code,
    `${NOT_FOUND[code]} with id '${shown}' not found ${WHY_NOT_FOUND}.`,
    param,
  );
}

/** `item_reference` items replaced by the stored items they name (unknown → 404). */
async function resolveReferences(items: Item[], kv: Deno.Kv, owner: string): Promise<Item[]> {
  if (!items.some((i) => i?.type === "item_reference")) return items;
  return await Promise.all(items.map(async (item, i) => {
    if (item?.type !== "item_reference") return item;
    const id = item.id;
    if (typeof id !== "string" || id.length > MAX_ID) {
      throw badRequest(`Invalid request: input.${i}.id: must be an item id.`, `input.${i}.id`);
    }
    const found = await loadItem(kv, id, owner);
    if (!found) throw notFound(id, `input.${i}.id`, "item_not_found");
    return found;
  }));
}

async function create(req: Request, _url: URL, { ctx, caller, log, started }: RouteEnv): Promise<Response> {
  const text = await readRequestBody(req, ctx);
  let body: ResponsesBody = parseResponsesBody(text);
  const owner = caller.label;
  const previousId = typeof body.previous_response_id === "string" ? body.previous_response_id : undefined;
  let history: Item[] = [];
  if (previousId !== undefined) {
    const found = previousId.length <= MAX_ID ? await loadConversation(ctx.kv, previousId, owner) : undefined;
    if (!found) throw notFound(previousId, "previous_response_id", "previous_response_not_found");
    history = found;
  }
  const own = inputItems(body);
  const resolved = await resolveReferences(own, ctx.kv, owner);
  if (resolved !== own) body = { ...body, input: resolved };
  const names = new FunctionNames();
  const { chat, dropped } = toChatRequest(body, history, names);
  const meta = newResponseMeta(typeof body.model === "string" ? body.model : "");
  const onFinal = body.store === false ? undefined : async (response: Record<string, unknown>) => {
    try {
      await saveResponse(
        ctx.kv,
        meta.id,
        { owner, ...(previousId ? { previousId } : {}), input: inputItems(body), response },
        ctx.settings.responsesRetentionDays * DAY_MS,
        ctx.scrub,
      );
    } catch (e) {
      logger.warn("{requestId} could not store response {id}: {error}", {
        requestId: log.requestId,
        id: meta.id,
        error: ctx.scrub(String(e)),
      });
    }
  };
  // A self-contained, unstored request (Codex's) may pass through to a provider that speaks Responses; one
  // that uses or feeds the proxy's store is answered from the translation, which the store understands.
  const native: NativeRequest | undefined =
    body.store === false && previousId === undefined && resolved === own
      ? { protocol: "responses", body, headers: {} }
      : undefined;
  const outcome = await runConversation(
    req,
    { frontend: "responses", body: chat, native },
    ctx,
    caller,
    log,
    started,
  );
  return await renderResponses(outcome, { body, meta, names, dropped, onFinal });
}

async function byId(req: Request, _url: URL, { ctx, caller, params }: RouteEnv): Promise<Response> {
  const id = params[0];
  const json = (data: unknown) =>
    new Response(JSON.stringify(data), { headers: { "content-type": "application/json" } });
  if (req.method === "DELETE") {
    if (id.length > MAX_ID || !(await deleteResponse(ctx.kv, id, caller.label))) {
      throw notFound(id, null, "response_not_found");
    }
    return json({ id, object: "response", deleted: true });
  }
  const rec = id.length <= MAX_ID ? await loadResponse(ctx.kv, id, caller.label) : undefined;
  if (!rec) throw notFound(id, null, "response_not_found");
  return json(rec.response);
}

/** The Responses front end. */
export const responsesFrontEnd: FrontEnd = {
  name: "responses",
  errorResponse: (err) => errorResponse(err),
  routes: [
    { pattern: /^\/(?:v1\/)?responses$/, methods: ["POST"], handle: create },
    { pattern: /^\/(?:v1\/)?responses\/([^/]+)$/, methods: ["GET", "DELETE"], handle: byId },
  ],
};
