/**
 * The prompt redactor of the running settings (SPEC §10.4): configured key values always, and — unless the
 * shapes are switched off — high-confidence secret shapes in text (not in binary data). One definition for
 * everything the pipeline sends upstream: a request, and a token count asked of a backend.
 */
import type { TextRedactor } from "../security/redact.ts";
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
