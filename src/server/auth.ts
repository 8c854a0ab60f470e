/**
 * Client authentication (SPEC §12): bearer keys compared in constant time, admin keys, the generated key
 * stored in the data dir (mode 0600), and the checks that stand in for auth when it is disabled (JSON
 * content type, loopback Host, allowed Origin).
 */
import type { KeyEntry } from "../config/load.ts";
import { isLoopbackHost } from "../config/load.ts";
import type { Authentication, Caller } from "../core/caller.ts";
import { ProxyError } from "../core/errors.ts";
import { sha256 } from "@noble/hashes/sha2.js";

const UTF8 = new TextEncoder();

/**
 * SHA-256 of a key, so every comparison is over 32 bytes whatever the key's length. Synchronous: WebCrypto's
 * `digest` is an async op run on another thread, ~40 µs of every authenticated request's latency against ~3.
 * In JavaScript (`@noble/hashes`): `node:crypto`'s `createHash` (2.2 µs) loaded ~2 MB of Node compatibility
 * code into every process for this one call (idle RSS 67.0–68.1 → 65.4–65.7 MB; scripts/bench/RESULTS.md).
 */
function digest(s: string): Uint8Array {
  return sha256(UTF8.encode(s));
}

/** Compare two 32-byte digests in constant time. */
function sameDigest(a: Uint8Array, b: Uint8Array): boolean {
  let diff = a.length ^ b.length;
  for (let i = 0; i < a.length; i++) diff |= a[i] ^ b[i];
  return diff === 0;
}

/** Checks `Authorization: Bearer` against the configured keys. */
export class Authenticator implements Authentication {
  readonly #keys: { label: string; digest: Uint8Array; admin: boolean }[];

  constructor(
    keys: KeyEntry[],
    adminLabels: Set<string>,
    readonly disabled: boolean,
    readonly allowOrigins: string[],
  ) {
    this.#keys = keys.map((k) => ({
      label: k.label,
      digest: digest(k.value),
      admin: adminLabels.has(k.label),
    }));
  }

  /**
   * Identify the caller or throw 401/403/415. The key is `Authorization: Bearer`'s, else `alternative` (where
   * the front end's protocol puts it: `x-api-key`, `x-goog-api-key`, `?key=`; `keyHeader` names that place in
   * the 401).
   */
  check(req: Request, url: URL, alternative?: string, keyHeader?: string): Caller {
    if (this.disabled) {
      this.#checkLocalOnly(req, url);
      return { label: "anonymous", admin: true };
    }
    const header = req.headers.get("authorization") ?? "";
    const m = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header);
    const key = m?.[1] ?? (header ? undefined : alternative?.trim() || undefined);
    if (!key) {
      throw unauthorized(
        header
          ? "The Authorization header must be 'Bearer <key>'."
          : keyHeader
          ? `Missing client key: send your llmproxy client key as ${keyHeader} or Authorization: Bearer <key>.`
          : "Missing Authorization: Bearer <key> header.",
      );
    }
    const presented = digest(key);
    let found: Caller | undefined;
    // Compare against every key, without stopping early, so timing does not reveal which one matched.
    for (const k of this.#keys) {
      if (sameDigest(presented, k.digest) && !found) found = { label: k.label, admin: k.admin };
    }
    if (!found) {
      throw unauthorized(
        "Invalid API key for llmproxy. Use one of its client keys (LLM_INTERACTIVE_PROXY_API_KEY…).",
      );
    }
    return found;
  }

  /** With auth disabled: no drive-by use from web pages or DNS rebinding. */
  #checkLocalOnly(req: Request, url: URL): void {
    const host = req.headers.get("host") ?? url.host;
    const hostname = host.startsWith("[") ? host.slice(0, host.indexOf("]") + 1) : host.split(":")[0];
    if (!isLoopbackHost(hostname)) {
      throw new ProxyError(
        403,
        "permission_error",
        "forbidden_origin",
        `Host "${hostname}" is not a loopback name; with --disable-auth only 127.0.0.1, localhost and [::1] are served.`,
      );
    }
    const origin = req.headers.get("origin");
    // The proxy's own pages (the console, SPEC §18) come from its own loopback origin, checked just above.
    if (origin && origin !== `${url.protocol}//${host}` && !this.allowOrigins.includes(origin)) {
      throw new ProxyError(
        403,
        "permission_error",
        "forbidden_origin",
        `Origin ${origin} is not allowed; start llmproxy with --allow-origin ${origin} to allow it.`,
      );
    }
    if (req.method === "POST") {
      const ct = (req.headers.get("content-type") ?? "").split(";")[0].trim().toLowerCase();
      if (ct !== "application/json") {
        throw new ProxyError(
          415,
          "invalid_request_error",
          "unsupported_media_type",
          "Send the request body as Content-Type: application/json.",
        );
      }
    }
  }
}

function unauthorized(message: string): ProxyError {
  return new ProxyError(401, "authentication_error", "invalid_api_key", message, null, {
    "www-authenticate": 'Bearer realm="llmproxy"',
  });
}

/** File name of the generated client key inside the data dir. */
export const GENERATED_KEY_FILE = "client-api-key";

/**
 * With auth on and no key configured: read the generated key from the data dir, or create it (mode 0600).
 * Returns the key and whether it was created now (the caller prints it only then).
 */
export async function generatedClientKey(
  dataDir: string,
): Promise<{ key: KeyEntry; created: boolean; path: string }> {
  const path = `${dataDir}/${GENERATED_KEY_FILE}`;
  try {
    const value = (await Deno.readTextFile(path)).trim();
    if (value) return { key: { label: "generated", value }, created: false, path };
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  await Deno.mkdir(dataDir, { recursive: true });
  const bytes = crypto.getRandomValues(new Uint8Array(24));
  const value = `llmp-${Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("")}`;
  await Deno.writeTextFile(path, value + "\n", { mode: 0o600, createNew: true });
  await Deno.chmod(path, 0o600).catch(() => {});
  return { key: { label: "generated", value }, created: true, path };
}
