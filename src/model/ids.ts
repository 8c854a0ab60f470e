/**
 * The one builder of the ids and times an answer the proxy writes carries: `chatcmpl-…` answer ids,
 * `call_…` tool-call ids, `created` times, and a fresh {@link StreamMeta}. Front ends that need their own
 * protocol's ids (`msg_…`, `resp_…`) build them in their `shapes.ts`/`build.ts`.
 */
import type { StreamMeta } from "./events.ts";

/** 32 random hex digits (a UUID without its dashes). */
function randomHex(): string {
  return crypto.randomUUID().replaceAll("-", "");
}

/** A fresh completion id: `chatcmpl-` and 32 random hex digits. */
export function completionId(): string {
  return `chatcmpl-${randomHex()}`;
}

/** A fresh tool-call id: `call_` and 24 random hex digits. */
export function toolCallId(): string {
  return `call_${randomHex().slice(0, 24)}`;
}

/** The current time in unix seconds, as `created` carries it. */
export function unixNow(): number {
  return Math.floor(Date.now() / 1000);
}

/** Meta for an answer made now by `model`, with a fresh id. */
export function newStreamMeta(model: string): StreamMeta {
  return { id: completionId(), created: unixNow(), model };
}
