/** The running proxy's shared state, built once at start-up and handed to every request. */
import type { Settings } from "../config/options.ts";
import type { Registry } from "../backends/registry.ts";
import type { Authenticator } from "../server/auth.ts";
import type { Route } from "../routing/routes.ts";
import type { Scrubber } from "../security/scrub.ts";

/** Everything a request handler may read. Hot-path state lives here, in memory. */
export interface ProxyContext {
  /** Runtime settings (global `set` commands change them). */
  settings: Settings;
  registry: Registry;
  auth: Authenticator;
  routes: Map<string, Route>;
  aliases: Record<string, string>;
  /** Replaces configured secret values in text (prompts, errors, logs). */
  scrub: Scrubber;
  /** Resolved default backend name, if any backend is usable. */
  defaultBackend: string | undefined;
}
