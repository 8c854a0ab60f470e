/**
 * The prompt redactor of the running settings (SPEC §10.4): configured key values always, and — unless the
 * shapes are switched off — high-confidence secret shapes in text (not in binary data). One definition for
 * everything the pipeline sends upstream: a request, and a token count asked of a backend.
 */
import type { NativeRequest } from "../core/protocol.ts";
import { redactBody, type TextRedactor } from "../security/redact.ts";
import { redactPatterns } from "../security/patterns.ts";
import { REDACTED } from "../security/scrub.ts";
import type { ProxyContext } from "./context.ts";

/** The redactor for outgoing prompts, or undefined when redaction is off. */
export function promptRedactor(ctx: ProxyContext): TextRedactor | undefined {
  if (!ctx.settings.redactApiKeysInPrompts) return undefined;
  const patterns = !ctx.settings.disableRedactSecretPatterns;
  return (text, binary) => {
    const exact = ctx.scrub.count(text);
    if (!patterns || binary) return exact;
    const shaped = redactPatterns(exact.text, REDACTED);
    return { text: shaped.text, n: exact.n + shaped.n };
  };
}

/**
 * The protocol headers of a client's own request as they go upstream with its body (pass-through): a value
 * like `anthropic-beta` is a string the client sent upstream, so it is redacted as the body is (SPEC §19).
 */
export function redactedHeaders(
  headers: NativeRequest["headers"],
  redactor: TextRedactor,
): { headers: NativeRequest["headers"]; n: number } {
  const r = redactBody({ ...headers }, redactor);
  return { headers: r.body, n: r.n };
}
