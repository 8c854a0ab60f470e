/**
 * What a front end is (ARCHITECTURE.md): one wire protocol's routes, each parsing its request into the
 * conversation model and rendering the pipeline's {@link Outcome} back, and the protocol's error shape. A
 * front end knows no provider; the edge (`server/app.ts`) finds the route, authenticates the caller with the
 * key where the protocol carries it, and renders a thrown error with the front end's `errorResponse`.
 */
import type { ProxyError } from "../core/errors.ts";
import type { Caller } from "../core/caller.ts";
import type { WireProtocol } from "../core/protocol.ts";
import type { ChatLog } from "../pipeline/conversation.ts";
import type { ProxyContext } from "../pipeline/context.ts";

/** What a route handler gets besides the request. */
export interface RouteEnv {
  ctx: ProxyContext;
  caller: Caller;
  /** What the edge logs about this request (the pipeline fills in backend, model, key, attempts). */
  log: ChatLog;
  /** When the request arrived (ms epoch). */
  started: number;
  /** The groups `pattern` captured from the path. */
  params: string[];
}

/** One endpoint of a front end. */
export interface FrontEndRoute {
  /** Matches the whole path (no query string); capture groups become `params`. */
  pattern: RegExp;
  /** Allowed methods (HEAD is answered like GET by the edge). */
  methods: readonly string[];
  /** The client key where this protocol carries it, when there is no `Authorization: Bearer`. */
  credential?(req: Request, url: URL): string | undefined;
  handle(req: Request, url: URL, env: RouteEnv): Promise<Response>;
}

/** A client protocol: its routes and its error shape. */
export interface FrontEnd {
  readonly name: WireProtocol;
  readonly routes: readonly FrontEndRoute[];
  /** Where this protocol's clients put the key besides `Authorization: Bearer`, for the 401's wording. */
  readonly keyHeader?: string;
  /** A failure in this protocol's error shape (status and the error's headers kept). */
  errorResponse(err: ProxyError): Response;
}
