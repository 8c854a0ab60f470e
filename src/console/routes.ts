/**
 * The console's HTTP answers (SPEC §18): the page and its assets under `/ui` (no key needed: they hold no
 * data), its data at `/ui/api/state`, and Prometheus metrics at `/metrics` (both admin-only; the edge
 * authenticates). A Content-Security-Policy lets the page load and connect to its own origin only.
 */
import { ASSETS, pageHtml } from "./assets.ts";
import { type ConsoleContext, consoleState } from "./state.ts";

/** Paths of the console that hold data: the edge asks for an admin key on them. */
export function isConsoleData(path: string): boolean {
  return path === "/metrics" || path === "/ui/api/state";
}

/** The page may load scripts, styles and data from its own origin only (no request leaves the machine). */
const CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/** The page or an asset for `path` (already without a trailing slash), or undefined when it is none of them. */
export function consolePage(path: string, auth: boolean): Response | undefined {
  const headers = {
    "content-security-policy": CSP,
    "x-content-type-options": "nosniff",
    "cache-control": "no-cache",
    "referrer-policy": "no-referrer",
  };
  if (path === "/ui") {
    return new Response(pageHtml(auth), {
      headers: { ...headers, "content-type": "text/html; charset=utf-8" },
    });
  }
  const asset = path.startsWith("/ui/assets/") ? ASSETS.get(path.slice("/ui/assets/".length)) : undefined;
  if (!asset) return undefined;
  return new Response(asset.body, { headers: { ...headers, "content-type": asset.type } });
}

/** `/metrics` or `/ui/api/state` for an authenticated admin. */
export async function consoleData(ctx: ConsoleContext, path: string): Promise<Response> {
  if (path === "/metrics") {
    return new Response(await ctx.metrics.text(), {
      headers: { "content-type": ctx.metrics.contentType, "cache-control": "no-store" },
    });
  }
  return new Response(JSON.stringify(await consoleState(ctx)), {
    headers: { "content-type": "application/json", "cache-control": "no-store" },
  });
}
