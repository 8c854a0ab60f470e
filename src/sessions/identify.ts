/**
 * Which session a request belongs to (SPEC §9): (client-key label, `X-Session-ID`). Without the header:
 * one default session per client key, or per User-Agent when auth is disabled.
 */
import type { Caller } from "../core/caller.ts";
import { badRequest } from "../core/errors.ts";

/** Valid `X-Session-ID` values. */
export const SESSION_ID_PATTERN = /^[A-Za-z0-9._:-]{1,128}$/;

/** A session's identity. */
export interface SessionIdentity {
  owner: string;
  id: string;
}

/** The session identity of a request; a malformed `X-Session-ID` is a 400. An empty header counts as absent. */
export function sessionIdentity(headers: Headers, caller: Caller, authDisabled: boolean): SessionIdentity {
  const raw = headers.get("x-session-id")?.trim();
  if (raw) {
    if (!SESSION_ID_PATTERN.test(raw)) {
      throw badRequest(
        "Invalid X-Session-ID: use 1 to 128 characters of A-Z a-z 0-9 . _ : - (e.g. a UUID).",
        "X-Session-ID",
      );
    }
    return { owner: caller.label, id: raw };
  }
  if (!authDisabled) return { owner: caller.label, id: "default" };
  return { owner: caller.label, id: uaSessionId(headers.get("user-agent") ?? "") };
}

/** User-Agent texts seen lately and their session ids: a client sends the same one on every request. */
const uaIds = new Map<string, string>();
/** At most this many User-Agents are remembered (the map starts afresh when full). */
const UA_CACHE_LIMIT = 1000;

/** The default session id of a User-Agent (auth disabled): `ua-` and the text's FNV-1a, computed once per text. */
function uaSessionId(ua: string): string {
  let id = uaIds.get(ua);
  if (id === undefined) {
    if (uaIds.size >= UA_CACHE_LIMIT) uaIds.clear();
    uaIds.set(ua, id = `ua-${fnv1a(ua)}`);
  }
  return id;
}

/** 64-bit FNV-1a of a text as 16 hex digits: a stable, short id (not a secret, so no cryptographic hash needed). */
function fnv1a(text: string): string {
  let h = 0xcbf29ce484222325n;
  for (const b of new TextEncoder().encode(text)) h = BigInt.asUintN(64, (h ^ BigInt(b)) * 0x100000001b3n);
  return h.toString(16).padStart(16, "0");
}
