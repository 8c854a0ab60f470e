/**
 * Who a request comes from, as the layers below the HTTP edge see it: the edge's authentication
 * (`server/auth.ts`, an {@link Authentication}) produces it; sessions, commands and the pipeline only read it.
 */

/** Who is calling: a client-key label (or "anonymous" with auth disabled) and whether it is an admin. */
export interface Caller {
  label: string;
  admin: boolean;
}

/** What identifies callers (the edge's `Authenticator` is one): the check, and whether auth is off. */
export interface Authentication {
  /** True with `--disable-auth`: every caller is "anonymous" (an admin) from a loopback host. */
  readonly disabled: boolean;
  /**
   * Identify the caller of a request, or throw a 401/403/415 `ProxyError`. `presented` is the client key
   * where the front end's protocol carries it (`x-api-key`, `x-goog-api-key`, `?key=`), when
   * `Authorization: Bearer` is absent.
   */
  check(req: Request, url: URL, presented?: string, keyHeader?: string): Caller;
}
