/**
 * Who a request comes from, as the layers below the HTTP edge see it: the edge's authentication
 * (`server/auth.ts`) produces it; sessions, commands and the pipeline only read it.
 */

/** Who is calling: a client-key label (or "anonymous" with auth disabled) and whether it is an admin. */
export interface Caller {
  label: string;
  admin: boolean;
}
