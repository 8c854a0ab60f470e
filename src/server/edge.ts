/**
 * The HTTP edge (SPEC §19): our own accept loop in front of the runtime's HTTP engine, because `Deno.serve`
 * accepts in Rust and ends (an uncaught `Http: Too many open files` that kills the process) on the first
 * failed accept, and has no request-head timeout. Here:
 * - a failed accept (out of descriptors) pauses accepting with a back-off; pending connections wait in the
 *   kernel's backlog and are taken once descriptors free up;
 * - a connection with no request in flight for `headTimeoutMs` (a request head that does not arrive, or an
 *   idle keep-alive) is closed, by one sweep timer for all connections;
 * - `close` stops accepting, closes idle connections, lets in-flight requests finish within a grace period,
 *   then calls `onExpired` (which ends them) and closes what is left.
 * Each accepted connection is served by the runtime's own HTTP engine (`serveHttpOnConnection`, the same
 * hyper code Deno.serve runs, reached through `Deno[Deno.internal]`). If a Deno version lacks it, the edge
 * falls back to Deno.serve, restarted after a failed accept, without the head timeout (a warning says so).
 */
import { log } from "../log/log.ts";

/** A request handler as Deno.serve calls it. */
export type EdgeHandler = (req: Request, info: Deno.ServeHandlerInfo<Deno.NetAddr>) => Promise<Response>;

/** What the edge needs. */
export interface EdgeOptions {
  hostname: string;
  port: number;
  /** Longest time a connection may spend without a request in flight (head not arrived, idle keep-alive). */
  headTimeoutMs: number;
  /** The answer when the handler throws (it should not: the app turns errors into responses). */
  onError: (error: unknown) => Response;
  /**
   * Bind with SO_REUSEPORT (Linux), so that other isolates serve the same port and the kernel spreads new
   * connections among them (`--workers`).
   */
  reusePort?: boolean;
}

/** A running edge. */
export interface Edge {
  readonly addr: Deno.NetAddr;
  /** Open client connections. */
  readonly connections: number;
  /**
   * Stop accepting and close idle connections; wait up to `graceMs` for in-flight requests, then call
   * `onExpired` and wait a little more (`afterMs`) before closing whatever is still open.
   */
  close(graceMs: number, onExpired?: () => void, afterMs?: number): Promise<void>;
}

type ServeOnConnection = (
  conn: Deno.Conn,
  signal: AbortSignal,
  handler: EdgeHandler,
  onError: (error: unknown) => Response,
  onListen: () => void,
) => { finished: Promise<void>; shutdown(): Promise<void> };

/** The runtime's serve-one-connection function, if this Deno exposes it. */
function serveOnConnection(): ServeOnConnection | undefined {
  const d = Deno as unknown as Record<symbol, Record<string, unknown> | undefined> & { internal?: symbol };
  const fn = d.internal ? d[d.internal]?.serveHttpOnConnection : undefined;
  return typeof fn === "function" ? fn as ServeOnConnection : undefined;
}

/** How long after `onExpired` the edge waits before cutting the remaining connections. */
const AFTER_EXPIRY_MS = 5_000;
/** Longest pause between failed accepts. */
const MAX_PAUSE_MS = 500;

interface Connection {
  /** Requests whose response has not been fully sent. */
  inflight: number;
  /** When `inflight` last became 0 (or the connection was accepted). */
  idleSince: number;
  /** Aborting it closes the connection at once. */
  cut: AbortController;
  server: { finished: Promise<void>; shutdown(): Promise<void> };
}

/** Wait for `p` at most `ms`; true if it settled in time. */
async function within(p: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  try {
    return await Promise.race([p.then(() => true, () => true), late]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Listen and serve. Throws (like Deno.listen) when the address cannot be bound. `serveOn` is for tests
 * (`null`: the Deno.serve fallback).
 */
export function serveEdge(
  opts: EdgeOptions,
  handler: EdgeHandler,
  serveOn: ServeOnConnection | null = serveOnConnection() ?? null,
): Edge {
  return serveOn ? new AcceptLoop(opts, handler, serveOn) : new RestartingServe(opts, handler);
}

class AcceptLoop implements Edge {
  readonly addr: Deno.NetAddr;
  #listener: Deno.TcpListener;
  #conns = new Set<Connection>();
  #closing = false;
  #sweepTimer: ReturnType<typeof setTimeout> | undefined;
  #pause: { timer: ReturnType<typeof setTimeout>; resolve: () => void } | undefined;
  #loop: Promise<void>;

  constructor(
    private readonly opts: EdgeOptions,
    private readonly handler: EdgeHandler,
    private readonly serveOn: ServeOnConnection,
  ) {
    this.#listener = Deno.listen({
      hostname: opts.hostname,
      port: opts.port,
      ...(opts.reusePort ? { reusePort: true } : {}),
    });
    this.addr = this.#listener.addr;
    this.#loop = this.#accept();
    this.#armSweep();
  }

  get connections(): number {
    return this.#conns.size;
  }

  async #accept(): Promise<void> {
    let failures = 0;
    for (;;) {
      let conn: Deno.TcpConn;
      try {
        conn = await this.#listener.accept();
      } catch (e) {
        if (this.#closing) return;
        if (failures++ === 0) {
          log.warn("accept failed ({error}); new connections wait until descriptors free ({open} open)", {
            error: (e as Error)?.message ?? String(e),
            open: this.#conns.size,
          });
        }
        await new Promise<void>((resolve) => {
          const timer = setTimeout(() => {
            this.#pause = undefined;
            resolve();
          }, Math.min(MAX_PAUSE_MS, 5 * 2 ** failures));
          this.#pause = { timer, resolve };
        });
        if (this.#closing) return;
        continue;
      }
      if (failures) {
        log.info("accepting again after {failures} failed accepts", { failures });
        failures = 0;
      }
      if (this.#closing) {
        conn.close();
        return;
      }
      this.#serve(conn);
    }
  }

  #serve(conn: Deno.TcpConn): void {
    const c = { inflight: 0, idleSince: Date.now(), cut: new AbortController() } as Connection;
    const settled = () => {
      if (--c.inflight === 0) c.idleSince = Date.now();
    };
    const handler: EdgeHandler = (req, info) => {
      c.inflight++;
      info.completed.then(settled, settled);
      return this.handler(req, info);
    };
    try {
      c.server = this.serveOn(conn, c.cut.signal, handler, this.opts.onError, () => {});
    } catch (e) {
      log.warn("could not serve a connection: {error}", { error: (e as Error)?.message ?? String(e) });
      try {
        conn.close();
      } catch { /* already closed */ }
      return;
    }
    this.#conns.add(c);
    const gone = () => void this.#conns.delete(c);
    c.server.finished.then(gone, gone);
  }

  /** One timer for every connection: close those idle for longer than the head timeout. */
  #armSweep(): void {
    const ms = this.opts.headTimeoutMs;
    this.#sweepTimer = setTimeout(() => {
      const now = Date.now();
      for (const c of this.#conns) {
        if (c.inflight === 0 && now - c.idleSince >= ms) {
          this.#conns.delete(c);
          c.cut.abort();
        }
      }
      this.#armSweep();
    }, Math.min(1_000, Math.max(10, ms / 4)));
  }

  async close(graceMs: number, onExpired?: () => void, afterMs = AFTER_EXPIRY_MS): Promise<void> {
    if (!this.#closing) {
      this.#closing = true;
      try {
        this.#listener.close();
      } catch { /* already closed */ }
      if (this.#pause) {
        clearTimeout(this.#pause.timer);
        this.#pause.resolve();
      }
    }
    await this.#loop;
    const conns = [...this.#conns];
    // Graceful: idle connections close now, busy ones after their current response.
    for (const c of conns) c.server.shutdown().catch(() => {});
    const all = Promise.allSettled(conns.map((c) => c.server.finished));
    if (!await within(all, graceMs)) {
      onExpired?.();
      if (!await within(all, afterMs)) { for (const c of conns) c.cut.abort(); }
      await all;
    }
    clearTimeout(this.#sweepTimer);
  }
}

/** Without the per-connection API: Deno.serve, listened again after it stops on a failed accept. */
class RestartingServe implements Edge {
  addr: Deno.NetAddr;
  #server: Deno.HttpServer<Deno.NetAddr>;
  #closing = false;
  #retry: ReturnType<typeof setTimeout> | undefined;

  constructor(private readonly opts: EdgeOptions, private readonly handler: EdgeHandler) {
    log.warn("this Deno has no serveHttpOnConnection: slow request heads are not cut");
    this.#server = this.#listen(opts.port);
    this.addr = this.#server.addr;
  }

  get connections(): number {
    return 0;
  }

  #listen(port: number): Deno.HttpServer<Deno.NetAddr> {
    const server = Deno.serve(
      {
        hostname: this.opts.hostname,
        port,
        onListen: () => {},
        onError: this.opts.onError,
        ...(this.opts.reusePort ? { reusePort: true } : {}),
      },
      this.handler,
    );
    server.finished.catch((e) => {
      if (this.#closing) return;
      log.warn("the server stopped ({error}); listening again", {
        error: (e as Error)?.message ?? String(e),
      });
      this.#again(10);
    });
    return server;
  }

  #again(ms: number): void {
    this.#retry = setTimeout(() => {
      try {
        this.#server = this.#listen(this.addr.port);
      } catch {
        this.#again(Math.min(MAX_PAUSE_MS, ms * 2));
      }
    }, ms);
  }

  async close(graceMs: number, onExpired?: () => void, afterMs = AFTER_EXPIRY_MS): Promise<void> {
    this.#closing = true;
    clearTimeout(this.#retry);
    const done = this.#server.shutdown().catch(() => {});
    if (!await within(done, graceMs)) {
      onExpired?.();
      await within(done, afterMs);
    }
  }
}
