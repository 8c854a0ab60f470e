/**
 * The prompt redactor of the running settings (SPEC §10.4): configured key values always, and — unless the
 * shapes are switched off — high-confidence secret shapes in text (not in binary data). One definition for
 * everything the pipeline sends upstream: a request, and a token count asked of a backend; and the refusal of
 * a secret where a name belongs (the model, the session id).
 */
import type { NativeRequest } from "../core/protocol.ts";
import { redactBody, type TextRedactor } from "../security/redact.ts";
import { hasSecretPattern, redactPatterns } from "../security/patterns.ts";
import { REDACTED } from "../security/scrub.ts";
import { badRequest } from "../core/errors.ts";
import type { ProxyContext } from "./context.ts";

/** Each running proxy's prompt redactor, made once (it reads the settings of the moment at each call). */
const redactors = new WeakMap<ProxyContext, TextRedactor>();

/** The redactor for outgoing prompts, or undefined when redaction is off. */
export function promptRedactor(ctx: ProxyContext): TextRedactor | undefined {
  if (!ctx.settings.redactApiKeysInPrompts) return undefined;
  let redactor = redactors.get(ctx);
  if (!redactor) redactors.set(ctx, redactor = (text, binary) => redactPrompt(ctx, text, binary));
  return redactor;
}

/** Key values, then (unless off, and not in binary data) secret shapes: tested first, as most texts hold none. */
function redactPrompt(
  ctx: ProxyContext,
  text: string,
  binary: boolean,
): { text: string; n: number } | undefined {
  const exact = ctx.scrub.has(text) ? ctx.scrub.count(text) : undefined;
  if (binary || ctx.settings.disableRedactSecretPatterns) return exact;
  const rest = exact?.text ?? text;
  if (!hasSecretPattern(rest)) return exact;
  const shaped = redactPatterns(rest, REDACTED);
  return { text: shaped.text, n: (exact?.n ?? 0) + shaped.n };
}

/**
 * The protocol headers of a client's own request as they go upstream with its body (pass-through): a value
 * like `anthropic-beta` is a string the client sent upstream, so it is redacted as the body is (SPEC §19).
 */
export function redactedHeaders(
  headers: NativeRequest["headers"],
  redactor: TextRedactor,
): { headers: NativeRequest["headers"]; n: number } {
  // Most requests carry nothing to redact in their few protocol headers: then they go as they are, uncopied.
  for (const name in headers) {
    if (redactor(name, false)?.n || redactor(headers[name], false)?.n) {
      const r = redactBody({ ...headers }, redactor);
      return { headers: r.body, n: r.n };
    }
  }
  return { headers, n: 0 };
}

/**
 * A model name or session id holding a configured key value (or, unless the shapes are off, a secret shape) is
 * refused before it is used for anything: it would otherwise be stored in usage and session history (the
 * session id is part of a store key), echoed in headers, replies and errors, and sent to the backend that
 * answers or counts the request (SPEC §19). The 400 does not repeat the value.
 */
export function rejectSecrets(model: string | undefined, sessionId: string | null, ctx: ProxyContext): void {
  if (model !== undefined && holdsSecret(model, ctx)) {
    throw badRequest(
      "'model' contains an API key or another secret (not repeated here); it was not used. Send a model name, e.g. openrouter:openai/gpt-4o-mini.",
      "model",
    );
  }
  if (sessionId && holdsSecret(sessionId, ctx)) {
    throw badRequest(
      "X-Session-ID contains an API key or another secret (not repeated here); it was not used. Send a random id, e.g. a UUID.",
      "X-Session-ID",
    );
  }
}

/** True when `text` holds a configured key value or (unless the shapes are off) a secret shape. */
function holdsSecret(text: string, ctx: ProxyContext): boolean {
  return ctx.scrub.has(text) || (!ctx.settings.disableRedactSecretPatterns && hasSecretPattern(text));
}
