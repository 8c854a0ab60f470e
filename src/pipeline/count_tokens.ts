/**
 * A token count asked of the backend a request would go to (SPEC §17.1 `count_tokens`: "the backend's own
 * count where it offers one"). The target is picked as for the request itself — session overrides, aliases,
 * a route's first element — and a backend that counts (Gemini's `countTokens`, Anthropic's
 * `messages/count_tokens`, which gets the client's own body when it came in Messages) is asked, with the prompt
 * redacted as any upstream call (a secret as the model or the session id is a 400), under its first key that
 * is not cooling. Undefined when there is no such backend or the count fails: the front end then estimates.
 * Nothing is recorded (a count is not a completion).
 */
import type { ChatRequest } from "../model/request.ts";
import type { NativeRequest } from "../core/protocol.ts";
import type { Caller } from "../core/caller.ts";
import type { Target } from "../routing/target.ts";
import { parseElement } from "../state/routes.ts";
import { redactBody } from "../security/redact.ts";
import { loadSession } from "../sessions/load.ts";
import type { ProxyContext } from "./context.ts";
import { requestTarget } from "./target.ts";
import { promptRedactor, redactedHeaders, rejectSecrets } from "./redaction.ts";

/** The backend and model a count asks: the target's, or a route's first element. */
function countedElement(target: Target, ctx: ProxyContext): { backend: string; model: string } | undefined {
  if (target.kind === "model") return target;
  const first = ctx.routes.get(target.name)?.elements[0];
  return first === undefined ? undefined : parseElement(first, ctx.registry.names());
}

/** The input tokens of `body` as its backend counts them, or undefined when it offers no count. */
export async function backendTokenCount(
  req: Request,
  { body, native }: { body: ChatRequest; native?: NativeRequest },
  ctx: ProxyContext,
  caller: Caller,
): Promise<number | undefined> {
  // A secret typed as the model or the session id is refused as a completion refuses it (a 400), not sent on.
  rejectSecrets(body.model, req.headers.get("x-session-id"), ctx);
  const { session } = await loadSession(req, body, ctx, caller);
  let target: Target;
  try {
    target = requestTarget(body.model, session, ctx);
  } catch {
    return undefined; // no model, or one that does not resolve: the estimate answers
  }
  const el = countedElement(target, ctx);
  const backend = el && ctx.registry.get(el.backend);
  if (!el || !backend?.countTokens || !backend.functional()) return undefined;
  const pool = ctx.registry.pool(el.backend);
  const key = backend.keys.find((k) => !pool.block(k.label, el.model));
  if (backend.keys.length && !key) return undefined;
  const redactor = promptRedactor(ctx);
  const link = ctx.stop.link(req.signal);
  try {
    return await backend.countTokens({
      body: redactor ? redactBody(body, redactor).body : body,
      model: el.model,
      key,
      signal: link.signal,
      timeoutMs: ctx.settings.timeout * 1000,
      ...(native
        ? {
          native: redactor
            ? {
              ...native,
              body: redactBody(native.body, redactor).body,
              headers: redactedHeaders(native.headers, redactor).headers,
            }
            : native,
        }
        : {}),
    });
  } finally {
    link.release();
  }
}
