/**
 * Start-up only: configuration → store → backends → serve, and sub-command dispatch.
 * `startProxy` is also what the integration tests run, on port 0.
 */
import { ConfigError } from "./config/errors.ts";
import { helpText } from "./config/help.ts";
import { type KeyEntry, loadConfig, type LoadedConfig } from "./config/load.ts";
import { routesFromFile, RouteStore } from "./state/routes.ts";
import { aliasTargetProblem } from "./routing/target.ts";
import { createUpstreamClient } from "./runner/upstream_client.ts";
import { Registry } from "./runner/registry.ts";
import { buildBackends, PROVIDERS } from "./providers/list.ts";
import type { ProviderSpec } from "./runner/spec.ts";
import { Authenticator, generatedClientKey } from "./server/auth.ts";
import { createHandler, type Handler } from "./server/app.ts";
import { createScrubber } from "./security/scrub.ts";
import { kvLocation, openStore } from "./store/kv.ts";
import { SharedState } from "./store/shared_state.ts";
import { UsageRecorder } from "./usage/recorder.ts";
import { usageCommand } from "./usage/cli.ts";
import { closeLogging, log, setupLogging } from "./log/log.ts";
import { type ProxyContext, proxyContext } from "./pipeline/context.ts";
import { SettingsStore } from "./state/settings.ts";
import { SessionStore } from "./sessions/store.ts";
import { Deadlines } from "./core/deadlines.ts";
import { type Edge, serveEdge } from "./server/edge.ts";
import { StopSwitch } from "./core/stop.ts";
import { internalError } from "./core/errors.ts";
import { errorResponse } from "./frontends/chat/errors.ts";
import { NAME, VERSION } from "./core/version.ts";
import { Metrics } from "./telemetry/metrics.ts";
import { joinIsolates, type Seat, tagIsolate } from "./isolates/seat.ts";
import { assertPortFree, startWorkers, type Workers } from "./isolates/workers.ts";

/**
 * A proxy built from a configuration and not listening: the edge's request handler over a real context
 * (what `startProxy` serves, and what in-process tests call without a port).
 */
export interface BuiltProxy {
  ctx: ProxyContext;
  kv: Deno.Kv;
  /** The HTTP edge's handler: `handler(new Request(…))` is one request to the proxy. */
  handler: Handler;
  /** Key counts and state of each backend for the start-up line: `name (N keys, functional)`. */
  backendsText: string;
  /** How clients authenticate, for the start-up line. */
  authText: string;
  /** Start fetching every backend's model list in the background (what a proxy does once it serves). */
  warmUp(): void;
  /** End what is still in flight, flush records and close everything (after the edge stopped). */
  close(): Promise<void>;
}

/** A running proxy. */
export interface RunningProxy {
  /** The port actually bound. */
  port: number;
  /** The base URL clients use (`http://host:port`). */
  url: string;
  ctx: ProxyContext;
  kv: Deno.Kv;
  /**
   * Stop accepting; let in-flight requests finish for up to `graceMs` (default `--shutdown-grace`), then
   * end them (503 or a stream error event); flush records and close everything.
   */
  close(graceMs?: number): Promise<void>;
}

/** Text printers, replaceable by tests. */
export interface Output {
  out: (line: string) => void;
  err: (line: string) => void;
}

/** Write a line; a closed stdout/stderr (the reader went away, `| head`) is not the proxy's failure. */
function writeLine(file: { writeSync(p: Uint8Array): number }, line: string): void {
  try {
    file.writeSync(new TextEncoder().encode(line + "\n"));
  } catch (e) {
    if (!(e instanceof Deno.errors.BrokenPipe)) throw e;
  }
}

const stdio: Output = {
  out: (line) => writeLine(Deno.stdout, line),
  err: (line) => writeLine(Deno.stderr, line),
};

/** A worker isolate prints nothing: the first isolate speaks for the process. */
const quiet: Output = { out: () => {}, err: () => {} };

/** Every `model_aliases` target of the config file must be servable (exit 2 naming the field otherwise). */
function checkAliases(cfg: LoadedConfig<ProviderSpec>, backends: readonly string[]): void {
  for (const [name, target] of Object.entries(cfg.file?.model_aliases ?? {})) {
    const problem = aliasTargetProblem(target, backends);
    if (problem) {
      throw new ConfigError(`config file ${cfg.settings.config}: field model_aliases.${name}: ${problem}`);
    }
  }
}

/**
 * The start-up warning when client keys are configured and none is an admin (numbered keys without
 * `--admin-keys`): nobody could read usage, the audit trail, metrics or the console, or run global commands.
 */
function noAdminWarning(
  keys: readonly KeyEntry[],
  admin: ReadonlySet<string>,
  authOff: boolean,
): string | undefined {
  if (authOff || !keys.length || keys.some((k) => admin.has(k.label))) return undefined;
  return `no client key is an admin key, so nobody can read /usage/*, /audit/logs, /metrics or /ui, or run ` +
    `global commands: name one with --admin-keys ${keys[0].label}`;
}

/** The start-up configuration for the audit trail: settings and key counts, never a secret. */
function startupDetail(
  cfg: LoadedConfig<ProviderSpec>,
  registry: Registry,
  clientKeys: number,
): Record<string, unknown> {
  const settings: Record<string, unknown> = {};
  for (const o of cfg.options) {
    if (o.kind === "secret") continue;
    // Stored under the flag's name, so a `--disable-…` flag that turns a feature off records whether it is given.
    const value = cfg.values[o.key];
    settings[o.flag] = o.flagSets === false && typeof value === "boolean" ? !value : value;
  }
  const pools = Object.fromEntries(
    registry.names().map((n) => [n, registry.get(n)!.keys.map((k) => k.label)]),
  );
  return { settings, key_labels: pools, client_keys: clientKeys, sources: cfg.sources };
}

/**
 * Build the proxy from a loaded configuration without listening: keys, logging, backends, store, shared
 * state, the request handler. Throws ConfigError for bad configuration. `seat`: this isolate's place among
 * the `--workers` isolates (its log lines are tagged, and it is linked to the others).
 */
export async function buildProxy(
  cfg: LoadedConfig<ProviderSpec>,
  output: Output = stdio,
  seat?: Seat,
): Promise<BuiltProxy> {
  const s = cfg.settings;
  const secrets = [...Object.values(cfg.pools).flat(), ...cfg.clientKeys].map((k) => k.value);
  let clientKeys = cfg.clientKeys;
  let generatedNote: string | undefined;
  if (!s.disableAuth && clientKeys.length === 0) {
    const g = await generatedClientKey(cfg.dataDir).catch((e) => {
      throw new ConfigError(
        `${cfg.where("dataDir")}: cannot store the generated client key in ${cfg.dataDir} (${
          (e as Error).name
        })`,
      );
    });
    clientKeys = [g.key];
    secrets.push(g.key.value);
    if (g.created) {
      output.out(
        `Generated a client API key (stored in ${g.path}, mode 0600). Use it as your OpenAI API key:`,
      );
      output.out(g.key.value);
    }
    generatedNote = `generated key in ${g.path}`;
  }
  const scrub = createScrubber(secrets);
  const tag = seat && `[isolate ${seat.index}]`;
  await setupLogging({ file: s.log, level: s.logLevel, scrub, tag }).catch((e) => {
    throw new ConfigError(`${cfg.where("log")}: cannot open ${s.log} (${(e as Error).name})`);
  });

  const upstream = createUpstreamClient({ maxBodyBytes: Math.floor(s.maxUpstreamBodyMb * 1024 * 1024) });
  const registry = new Registry(
    buildBackends(cfg, { scrub, client: upstream }),
    s.keyStrategy,
    (backend, message) => {
      log.warn("{backend}: model listing failed: {message}", { backend, message });
    },
  );
  const names = registry.names();
  if (s.defaultBackend && !names.includes(s.defaultBackend)) {
    throw new ConfigError(
      `${cfg.where("defaultBackend")}: backend "${s.defaultBackend}" is not one of: ${names.join(", ")}`,
    );
  }
  const routes = new RouteStore(cfg.file ? routesFromFile(cfg.file, cfg.settings.config!, names) : []);
  checkAliases(cfg, names);
  if (s.forceModel) {
    const colon = s.forceModel.indexOf(":");
    if (colon > 0 ? !names.includes(s.forceModel.slice(0, colon)) : !routes.has(s.forceModel)) {
      throw new ConfigError(
        `${cfg.where("forceModel")}: "${s.forceModel}": expected backend:model with a backend of ${
          names.join(", ")
        }, or a route name`,
      );
    }
  }

  const labels = clientKeys.map((k) => k.label);
  const unknownAdmin = s.disableAuth ? [] : s.adminKeys.filter((l) => !labels.includes(l));
  if (unknownAdmin.length) {
    throw new ConfigError(
      `${cfg.where("adminKeys")}: ${unknownAdmin.join(", ")} ${
        unknownAdmin.length === 1 ? "is not a client key label" : "are not client key labels"
      } (the labels are ${labels.join(", ")})`,
    );
  }
  const admin = new Set(s.adminKeys);
  for (const k of clientKeys) {
    if (k.label === "LLM_INTERACTIVE_PROXY_API_KEY" || k.label === "generated") admin.add(k.label);
  }
  const noAdmin = noAdminWarning(clientKeys, admin, s.disableAuth);
  if (noAdmin) log.warn("{message}", { message: noAdmin });
  const auth = new Authenticator(clientKeys, admin, s.disableAuth, s.allowOrigin);
  const kv = await openStore(s.kv, cfg.dataDir, { kv: cfg.where("kv"), dataDir: cfg.where("dataDir") });

  let auditFile: Deno.FsFile | undefined;
  if (s.auditLog) {
    try {
      auditFile = await Deno.open(s.auditLog, { write: true, create: true, append: true, mode: 0o600 });
    } catch (e) {
      kv.close();
      throw new ConfigError(`${cfg.where("auditLog")}: cannot open ${s.auditLog} (${(e as Error).name})`);
    }
  }
  const usage = new UsageRecorder(kv, {
    retentionDays: s.usageRetentionDays,
    auditFile,
    disabled: s.disableUsageLog,
  }, (message) => {
    log.warn("usage/audit write failed: {message}", { message });
  });
  const metrics = new Metrics(VERSION, registry);
  usage.recorded.subscribe((r) => metrics.attempt(r));
  usage.prune().catch(() => {});
  usage.audit({ time: Date.now(), kind: "startup", detail: startupDetail(cfg, registry, clientKeys.length) });

  const settings = new SettingsStore(s, cfg.chain);
  const shared = new SharedState({
    kv,
    registry,
    routes,
    settings,
    fixed: (key) => cfg.sources[key] === "flag" || cfg.sources[key] === "env",
    configPath: s.config,
    initialFile: cfg.file,
    options: cfg.options,
  });
  // With --workers, what this isolate changes reaches the others, and what they change reaches it.
  const sessions = new SessionStore(kv, (message) => log.warn("{message}", { message }));
  const joined = seat &&
    joinIsolates({ registry, routes, settings, persistence: shared, metrics, sessions }, seat);
  const ctx: ProxyContext = proxyContext({
    settings,
    registry,
    auth,
    routes,
    aliases: { ...(cfg.file?.model_aliases ?? {}) },
    scrub,
    kv,
    usage,
    persistence: joined?.persistence ?? shared,
    sessions,
    deadlines: new Deadlines(),
    stop: new StopSwitch(),
    metrics,
    peers: joined?.peers,
  });
  await shared.start();

  const health = registry.health();
  const backendsText = names.map((n) => {
    const h = health[n];
    return `${n} (${h.keys} key${h.keys === 1 ? "" : "s"}, ${
      h.functional ? "functional" : `off: ${h.problem}`
    })`;
  }).join(", ");
  const authText = s.disableAuth
    ? "auth disabled (loopback only)"
    : `auth on (${generatedNote ?? `${clientKeys.length} client key${clientKeys.length === 1 ? "" : "s"}`})`;
  let closed: Promise<void> | undefined;
  return {
    ctx,
    kv,
    handler: createHandler(ctx),
    backendsText,
    authText,
    warmUp: () => names.forEach((n) => registry.refresh(n)),
    close() {
      closed ??= (async () => {
        ctx.stop.stop();
        ctx.deadlines.close();
        joined?.link.close();
        await shared.close();
        await usage.close();
        await registry.settle();
        upstream.close();
        await ctx.sessions.flush();
        kv.close();
        await closeLogging();
      })();
      return closed;
    },
  };
}

/** Where a `--workers` isolate started by another serves: its seat and the port already bound. */
export interface WorkerSeat extends Seat {
  port: number;
}

/**
 * Start the proxy from a loaded configuration: build it and serve it. Throws ConfigError for bad configuration.
 * With `--workers N` above 1 this isolate is the first of N and starts the others (`src/isolates/`); `worker`
 * is given in those.
 */
export async function startProxy(
  cfg: LoadedConfig<ProviderSpec>,
  output: Output = stdio,
  worker?: WorkerSeat,
): Promise<RunningProxy> {
  const s = cfg.settings;
  if (s.workers > 1 && kvLocation(s.kv, cfg.dataDir) === ":memory:") {
    throw new ConfigError(
      `${cfg.where("workers")}: ${s.workers} isolates need a store they share, and ${
        cfg.where("kv")
      } is :memory: (one per isolate): give a file`,
    );
  }
  const seat: Seat | undefined = worker ??
    (s.workers > 1 ? { index: 0, count: s.workers, token: crypto.randomUUID() } : undefined);
  const proxy = await buildProxy(cfg, worker ? quiet : output, seat);
  const { ctx } = proxy;
  let server: Edge;
  let workers: Workers | undefined;
  try {
    if (seat && !worker) assertPortFree(s.host, s.port);
    server = serveEdge({
      hostname: s.host,
      port: worker?.port ?? s.port,
      headTimeoutMs: s.timeout * 1000,
      onError: (e) => {
        log.error("unexpected error in the HTTP server: {error}", { error: ctx.scrub(String(e)) });
        return errorResponse(internalError("-"));
      },
      reusePort: seat !== undefined,
    }, seat ? tagIsolate(proxy.handler, seat.index) : proxy.handler);
  } catch (e) {
    await proxy.close();
    throw new ConfigError(
      `cannot listen on ${s.host}:${s.port} (${(e as Error).message.split("\n")[0]}); the address is ${
        cfg.where("host")
      } and ${cfg.where("port")}`,
    );
  }
  if (seat && !worker) {
    try {
      workers = await startWorkers(
        { argv: cfg.argv, env: cfg.env, cwd: cfg.cwd, port: server.addr.port },
        seat,
      );
    } catch (e) {
      await server.close(0);
      await proxy.close();
      throw new Error(`cannot start the worker isolates: ${(e as Error).message}`);
    }
  }
  proxy.warmUp();
  const addr = server.addr;
  const host = addr.hostname.includes(":") ? `[${addr.hostname}]` : addr.hostname;
  const url = `http://${host}:${addr.port}`;
  if (!worker) {
    output.out(
      `${NAME} ${VERSION} listening on ${url}/v1 · ${proxy.authText} · backends: ${proxy.backendsText} · default: ${
        ctx.defaultBackend ?? "none"
      } · store: ${kvLocation(s.kv, cfg.dataDir)}${seat ? ` · ${seat.count} isolates` : ""}`,
    );
  }
  log.info("started {url}: {auth}; backends {backends}", {
    url,
    auth: proxy.authText,
    backends: proxy.backendsText,
  });

  let closed: Promise<void> | undefined;
  return {
    port: addr.port,
    url,
    ctx,
    kv: proxy.kv,
    close(graceMs = s.shutdownGrace * 1000) {
      closed ??= (async () => {
        await Promise.all([
          server.close(graceMs, () => {
            log.warn("shutdown grace over: ending {n} request(s) still in flight", { n: ctx.stop.size });
            ctx.stop.stop();
          }),
          workers?.close(graceMs),
        ]);
        await proxy.close();
      })();
      return closed;
    },
  };
}

/**
 * The command line entry point; returns the exit code. `env` (default: the process environment) and `cwd`
 * (where `.env` is read) are parameters so that tests run it in-process without changing the process's own.
 */
export async function main(
  args: string[],
  output: Output = stdio,
  env: Record<string, string> = Deno.env.toObject(),
  cwd = ".",
): Promise<number> {
  let proxy: RunningProxy;
  let signals: SignalWatch | undefined;
  try {
    const cfg = await loadConfig(PROVIDERS, args, env, cwd);
    if (cfg.command === "help") {
      output.out(helpText(cfg.providers));
      return 0;
    }
    if (cfg.command === "version") {
      output.out(`${NAME} ${VERSION}`);
      return 0;
    }
    if (cfg.command === "usage") {
      output.out(await usageCommand(cfg.subArgs, cfg.env));
      return 0;
    }
    // Signal handling is set up before serving: the runtime opens descriptors for it on first use, and
    // doing that while connections hold every descriptor panicked Deno 2.9.6.
    signals = watchSignals(output);
    proxy = await startProxy(cfg, output);
  } catch (e) {
    signals?.unwatch();
    if (e instanceof ConfigError) {
      output.err(`${NAME}: ${e.message}`);
      return 2;
    }
    output.err(`${NAME}: start-up failed: ${(e as Error)?.message ?? e}`);
    return 1;
  }
  const sig = await signals.stopped;
  log.info("{sig}: stopping (in-flight requests get up to {grace} s)", {
    sig,
    grace: proxy.ctx.settings.shutdownGrace,
  });
  await proxy.close();
  signals.unwatch();
  output.out(`${NAME} stopped (${sig}).`);
  // Under `deno task dev` (`deno run --watch`), the program ending leaves the watcher waiting for a file change,
  // orphaned once the task is gone: the signal is raised again, now unhandled, to end the watcher too.
  if (Deno.env.get("LLMPROXY_WATCH")) Deno.kill(Deno.pid, sig);
  return 0;
}

/** The stop signal being watched for, and how to stop watching. */
interface SignalWatch {
  /** The first SIGINT/SIGTERM. */
  stopped: Promise<Deno.Signal>;
  unwatch: () => void;
}

/** The first SIGINT/SIGTERM starts the graceful stop; a second one exits at once. */
function watchSignals(output: Output): SignalWatch {
  const names: Deno.Signal[] = Deno.build.os === "windows" ? ["SIGINT"] : ["SIGINT", "SIGTERM"];
  const stopped = Promise.withResolvers<Deno.Signal>();
  let seen = 0;
  const listeners = names.map((sig) => {
    const listener = () => {
      if (seen++ === 0) return stopped.resolve(sig);
      output.err(`${NAME}: second signal (${sig}): exiting now, without waiting for in-flight requests`);
      Deno.exit(128 + (sig === "SIGINT" ? 2 : 15));
    };
    Deno.addSignalListener(sig, listener);
    return { sig, listener };
  });
  return {
    stopped: stopped.promise,
    unwatch: () => listeners.forEach(({ sig, listener }) => Deno.removeSignalListener(sig, listener)),
  };
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
