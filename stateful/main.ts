/**
 * The composition root of the Cloud Run service and of `npm start`:
 *
 *   configuration (EXEC_CONFIG or the embedded default)
 *     → ports (infra/compose.ts: embedded stores/bus/blobs, or Firestore/Pub/Sub/GCS)
 *     → order service (the order pipeline: validation, risk, routing, cancels)
 *     → HTTP API (stateful/api) served by @hono/node-server on PORT / server.port (8080)
 *
 * Logs are JSON lines (pino, Cloud Logging fields); the configuration is logged redacted.
 *
 * The venue edge runs only while this process holds the fenced `venue-edge` lease
 * (stateful/edge/lease.ts): taken before any venue connects (or waited for in STANDBY while another
 * edge holds it), renewed, and every venue send and algorithm-state write carries its token. A lost
 * lease stops the edge at once and fails `/healthz`, so the instance is replaced.
 *
 * Probes, always mounted: `GET /healthz` (liveness) and `GET /readyz` (startup / readiness); see
 * `createProbeRouter`.
 *
 * SIGINT / SIGTERM, within Cloud Run's 10 s: stop taking work (no new connections, `/readyz` 503),
 * stop the edge and release the lease, then drain running requests (what is left of
 * `shutdownTimeoutMs`), then close the venues, bus and stores; a second signal exits at once.
 *
 * `start()` is exported for tests and for other shells; running this file starts the service.
 */
import type { AddressInfo } from 'node:net';
import { availableParallelism } from 'node:os';
import { pathToFileURL } from 'node:url';
import { type ServerType, serve } from '@hono/node-server';
import type { Hono } from 'hono';
import { createPlatform, createPlatformOrderService, type Env, type Platform } from '../infra/compose.ts';
import { loadConfig } from '../infra/config/load-config.ts';
import { createPlatformRebalanceService, openPortfolioStateStore } from '../infra/rebalance/compose.ts';
import type { ExecutionRecorder } from '../shared/app/execution-recorder.ts';
import { redactConfig } from '../shared/config/redact.ts';
import { type AppConfig, EMBEDDED_CONFIG, isLoopbackHost, parseConfig } from '../shared/config/schema.ts';
import { ValidationError } from '../shared/domain/errors.ts';
import { authOptionsFromConfig } from './api/auth/index.ts';
import type { ComponentStatus, VenueHealth } from './api/health/index.ts';
import { createApp } from './api/index.ts';
import type { ApiEnv } from './api/types.ts';
import { type ConsoleWiring, wireConsole } from './console.ts';
import {
  assertNoFakeExchange,
  type EmbeddedLocalExchange,
  startEmbeddedLocalExchange,
  wantsLocalExchange,
  withLocalExchangeVenue,
} from './edge/embedded.ts';
import { createEdgeLease, type EdgeLease, type LeaseLog } from './edge/lease.ts';
import {
  type EmbeddedLocalTws,
  localTwsMode,
  startEmbeddedLocalTws,
  withLocalTwsVenue,
} from './edge/local-tws.ts';
import { type EdgeRuntime, type EdgeRuntimeDeps, edgeVenues, startEdgeRuntime } from './edge/runtime.ts';
import { createLogger, type Logger, shouldPrettyPrint } from './observability/logger/index.ts';
import { createMetrics, type Metrics } from './observability/metrics/index.ts';
import { createProbeRouter } from './observability/probes.ts';
import { withRequestTrace } from './observability/trace.ts';
import { type RebalanceWatcher, startRebalanceWatcher } from './rebalance/watcher.ts';
import { createExecutionRecorder, executionLog } from './venues/index.ts';

export interface StartOptions {
  /** The configuration (default: `loadConfig({env})`). */
  config?: AppConfig | undefined;
  /** Environment (default `process.env`): EXEC_CONFIG, PORT, emulator hosts. */
  env?: Env | undefined;
  /** Port (default: PORT, else `server.port`). 0 picks a free one. */
  port?: number | undefined;
  /** Interface (default `server.host`). */
  host?: string | undefined;
  logger?: Logger | undefined;
  /** Venue health for `/api/health` (default: from the configuration, see `configuredVenueHealth`). */
  venueHealth?: VenueHealth | undefined;
  /** The whole shutdown's budget (default 9 s: inside Cloud Run's 10 s between SIGTERM and SIGKILL). */
  shutdownTimeoutMs?: number | undefined;
  /** The venue-edge lease's timing (default: EXEC_LEASE_TTL_MS / EXEC_LEASE_RETRY_MS, else 15 s / 1 s). */
  lease?: { ttlMs?: number | undefined; retryMs?: number | undefined } | undefined;
  /** Called once when the venue-edge lease is lost, after the edge stopped (main(): exit 1). */
  onLeaseLost?: ((reason: string) => void) | undefined;
}

export interface RunningService {
  readonly config: AppConfig;
  readonly platform: Platform;
  /** The one recorder of venue reports the edge's venues (LIVE, SHADOW and SIMULATED) share. */
  readonly recorder: ExecutionRecorder;
  /**
   * The venue edge of the LIVE / SHADOW venues: null when the configuration has none, or while this
   * process waits in STANDBY for the lease (then `lease.state()` is 'waiting').
   */
  readonly edge: EdgeRuntime | null;
  /** The venue-edge lease (null when the configuration has no LIVE / SHADOW venue). */
  readonly lease: EdgeLease | null;
  /** Resolves once the edge runs (at once when it started with the service). */
  readonly edgeStarted: Promise<EdgeRuntime | null>;
  /** The local exchange `npm start` runs for the embedded default (null otherwise). */
  readonly localExchange: EmbeddedLocalExchange | null;
  /** The local TWS `EXEC_LOCAL_TWS` runs with the embedded default (null otherwise). */
  readonly localTws: EmbeddedLocalTws | null;
  /** The weights-folder watcher (null when `rebalance.enabled` is false). */
  readonly rebalance: RebalanceWatcher | null;
  readonly app: Hono<ApiEnv>;
  readonly metrics: Metrics;
  readonly logger: Logger;
  readonly port: number;
  /** Base URL for humans and tests, e.g. `http://127.0.0.1:8080`. */
  readonly url: string;
  /** Stop taking work, stop the edge and release the lease, drain HTTP, close the rest. Idempotent. */
  close(): Promise<void>;
}

/**
 * Venue health as far as this process knows from the configuration: a SIMULATED venue runs in
 * process and is ok; a disabled venue is ok (it gets no orders); a LIVE or SHADOW venue is not ok
 * until a venue session reports for it (pass `venueHealth` once sessions run here).
 */
export function configuredVenueHealth(config: AppConfig): VenueHealth {
  return async () => {
    const out: Record<string, ComponentStatus> = {};
    for (const v of config.venues) {
      if (!v.enabled) out[v.id] = { ok: true, detail: `${v.mode} ${v.exchange}: disabled` };
      else if (v.mode === 'SIMULATED')
        out[v.id] = { ok: true, detail: `SIMULATED ${v.exchange}: in-process matching engine` };
      else out[v.id] = { ok: false, detail: `${v.mode} ${v.exchange}: no venue session in this process` };
    }
    return out;
  };
}

/** The first log line: what runs, in a few fields (the whole redacted configuration is at debug). */
function configSummary(config: AppConfig): Record<string, unknown> {
  return {
    venues: config.venues.map((v) => `${v.id} ${v.mode}${v.enabled ? '' : ' (disabled)'}`),
    storage: config.storage.order_store,
    server: `${config.server.host}:${config.server.port}`,
  };
}

/** The port to listen on: PORT (Cloud Run sets it) wins over `server.port`. */
export function resolvePort(config: AppConfig, env: Env): number {
  const fromEnv = env.PORT?.trim();
  if (fromEnv) {
    const n = Number(fromEnv);
    if (!Number.isInteger(n) || n < 0 || n > 65_535) {
      throw new ValidationError('CONFIG_INVALID', [
        { path: 'PORT', message: `must be an integer port in [0, 65535], got ${JSON.stringify(fromEnv)}` },
      ]);
    }
    return n;
  }
  return config.server.port;
}

function listen(
  app: Hono<ApiEnv>,
  port: number,
  hostname: string,
): Promise<{ server: ServerType; port: number }> {
  return new Promise((resolve, reject) => {
    // Each request runs in its trace's scope, so its log lines carry the trace (observability/trace.ts).
    const fetch = (req: Request, env: unknown) =>
      withRequestTrace(
        (h) => req.headers.get(h),
        () => app.fetch(req, env),
      );
    const server = serve({ fetch, port, hostname }, (info: AddressInfo) =>
      resolve({ server, port: info.port }),
    );
    server.once('error', reject);
  });
}

/**
 * Stop accepting connections at once and resolve when the running requests finished; connections
 * still open when `timeoutMs()` (asked again each 100 ms: the shutdown budget left) runs out are cut.
 */
function closeServer(server: ServerType, timeoutMs: () => number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setInterval(() => {
      if (timeoutMs() > 0) return;
      clearInterval(timer);
      if ('closeAllConnections' in server) server.closeAllConnections();
    }, 100);
    timer.unref();
    server.close(() => {
      clearInterval(timer);
      resolve();
    });
    if ('closeIdleConnections' in server) server.closeIdleConnections();
  });
}

/** Wait for `work` at most `ms`; past that, log and go on (the shutdown must end inside the budget). */
async function withDeadline(work: Promise<unknown>, ms: number, what: string, logger: Logger): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'late'>((resolve) => {
    timer = setTimeout(() => resolve('late'), ms);
  });
  try {
    const r = await Promise.race([work.then(() => 'done' as const), late]);
    if (r === 'late') logger.error({ ms: Math.round(ms) }, `${what} did not finish in time; going on`);
  } catch (err) {
    logger.error({ err }, `${what} failed`);
  } finally {
    clearTimeout(timer);
  }
}

/** The lease's ERROR/WARN/INFO lines through pino (a loss is an ERROR: it pages, docs/monitoring.md). */
function pinoLeaseLog(logger: Logger): LeaseLog {
  return {
    info: (message, fields) => logger.info(fields ?? {}, message),
    warn: (message, fields) => logger.warn(fields ?? {}, message),
    error: (message, fields) => logger.error(fields ?? {}, message),
  };
}

/** Lease timing: options, else EXEC_LEASE_TTL_MS / EXEC_LEASE_RETRY_MS, else the defaults (15 s / 1 s). */
export function leaseTiming(
  given: StartOptions['lease'],
  env: Env,
): { ttlMs?: number | undefined; retryMs?: number | undefined } {
  const read = (key: 'EXEC_LEASE_TTL_MS' | 'EXEC_LEASE_RETRY_MS', min: number): number | undefined => {
    const raw = env[key]?.trim();
    if (!raw) return undefined;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < min) {
      throw new ValidationError('CONFIG_INVALID', [
        {
          path: key,
          message: `must be an integer number of milliseconds >= ${min}, got ${JSON.stringify(raw)}`,
        },
      ]);
    }
    return n;
  };
  return {
    ttlMs: given?.ttlMs ?? read('EXEC_LEASE_TTL_MS', 1_000),
    retryMs: given?.retryMs ?? read('EXEC_LEASE_RETRY_MS', 50),
  };
}

export async function start(options: StartOptions = {}): Promise<RunningService> {
  const env = options.env ?? process.env;
  // The embedded default runs BINANCE-SPOT LIVE on an in-process local exchange (stateful/edge/embedded.ts).
  const local =
    options.config === undefined && wantsLocalExchange(env) ? await startEmbeddedLocalExchange(env) : null;
  // EXEC_LOCAL_TWS=live|shadow adds an IBKR venue on an in-process local TWS (stateful/edge/local-tws.ts).
  let tws: EmbeddedLocalTws | null = null;
  const stopLocalVenues = async (): Promise<void> => {
    await local?.exchange.stop().catch(() => undefined);
    await tws?.tws.stop().catch(() => undefined);
  };
  let config: AppConfig;
  try {
    const twsMode = options.config === undefined ? localTwsMode(env) : null;
    if (twsMode !== null) tws = await startEmbeddedLocalTws(env, twsMode);
    if (options.config !== undefined) config = options.config;
    else if (local === null && tws === null) config = loadConfig({ env });
    else {
      const withExchange = local === null ? EMBEDDED_CONFIG : withLocalExchangeVenue(EMBEDDED_CONFIG);
      config = parseConfig(tws === null ? withExchange : withLocalTwsVenue(withExchange, tws.mode), {
        env: { ...env, ...local?.env, ...tws?.env },
        cores: availableParallelism(),
      });
    }
  } catch (err) {
    await stopLocalVenues();
    throw err;
  }
  try {
    // Production never trades with a fake exchange behind a LIVE venue (stateful/edge/embedded.ts).
    assertNoFakeExchange(config, env);
  } catch (err) {
    await stopLocalVenues();
    throw err;
  }
  const logger =
    options.logger ??
    createLogger({ level: config.logging.level, pretty: shouldPrettyPrint(env, process.stdout.isTTY) });
  logger.info(configSummary(config), 'configuration loaded');
  logger.debug({ config: redactConfig(config) }, 'configuration');
  if (local !== null)
    logger.info({ url: local.exchange.url }, `local exchange listening on ${local.exchange.url}`);
  if (tws !== null)
    logger.info(
      { port: tws.tws.port, mode: tws.mode, account: tws.tws.account },
      `local TWS listening on 127.0.0.1:${tws.tws.port} (IBKR ${tws.mode})`,
    );

  let platform: Platform;
  try {
    platform = await createPlatform(config, { env, warn: (message) => logger.warn(message) });
  } catch (err) {
    await stopLocalVenues();
    throw err;
  }
  let edge: { stop(): Promise<unknown> } | null = null;
  let rebalance: RebalanceWatcher | null = null;
  let consoleWiring: ConsoleWiring | null = null;
  let sizeRefresh: NodeJS.Timeout | undefined;
  try {
    // --- ops console (stateful/console.ts): subscribes before the venues start, to see their first events ---
    consoleWiring = await wireConsole({
      platform,
      services: () => ({
        order_intake: true,
        venue_edge: edge !== null,
        simulated_venues: edge !== null && config.venues.some((v) => v.enabled && v.mode === 'SIMULATED'),
      }),
      sessions: () => runningEdge?.sessions() ?? [],
      log: executionLog(logger),
      env,
      localExchange: local?.exchange ?? null,
    });
    // Every venue — SIMULATED ones too, as ShadowVenues on the seeded moving market — runs behind
    // the venue edge (stateful/edge/runtime.ts) and records through this one recorder.
    // Contract sizes (ES 50, OKX contracts) for position accounting, from the instrument catalog:
    // read now and again every 5 minutes (the catalog itself reloads when a new file applies).
    const sizes = new Map<string, string>();
    const loadSizes = async (): Promise<void> => {
      for (const spec of await platform.instruments.list()) {
        if (spec.contract_size !== undefined && spec.contract_size !== null) {
          sizes.set(spec.instrument_key, spec.contract_size);
        }
      }
    };
    await loadSizes();
    sizeRefresh = setInterval(() => {
      loadSizes().catch((err: unknown) => logger.warn({ err }, 'contract sizes not reloaded'));
    }, 300_000);
    sizeRefresh.unref();
    const recorder = createExecutionRecorder({
      orders: platform.orders,
      positions: platform.positions,
      bus: platform.bus,
      clock: platform.clock,
      ledger: platform.riskLedger,
      log: logger,
      contractSize: (instrumentKey) => sizes.get(instrumentKey),
    });
    const metrics = createMetrics();

    // --- the venue edge under its lease --------------------------------------------------------
    const leaseLog = pinoLeaseLog(logger);
    const stopAll = new AbortController();
    let lease: EdgeLease | null = null;
    let lostEdge: ((reason: string) => void) | null = null;
    if (edgeVenues(config).length > 0) {
      const timing = leaseTiming(options.lease, env);
      lease = createEdgeLease({
        store: platform.leases,
        clock: platform.clock,
        log: leaseLog,
        ...timing,
        onLost: (reason) => lostEdge?.(reason),
      });
    }
    let runningEdge: EdgeRuntime | null = null;
    edge = {
      stop: async () => {
        stopAll.abort(new Error('start failed'));
        await runningEdge?.stop();
        await lease?.release();
      },
    };
    const edgeDeps: Omit<EdgeRuntimeDeps, 'lease'> = {
      config,
      platform,
      recorder,
      log: executionLog(logger),
      registry: metrics.registry,
    };
    const heldLease = lease;
    // Starts the sessions, durable scheduler and reconciliation once the lease is held.
    const startLeasedEdge = async (): Promise<EdgeRuntime | null> => {
      if (heldLease === null) return null;
      const rt = await startEdgeRuntime({ ...edgeDeps, lease: heldLease });
      if (rt === null) return null;
      if (heldLease.state() !== 'held') {
        await rt.stop().catch(() => undefined);
        throw new Error(`venue-edge lease ${heldLease.state()} while the edge started`);
      }
      runningEdge = rt;
      return rt;
    };
    lostEdge = (reason) => {
      const rt = runningEdge;
      runningEdge = null;
      void (rt?.stop() ?? Promise.resolve())
        .catch((err: unknown) => logger.error({ err }, 'stopping the edge after the lease was lost failed'))
        .finally(() => options.onLeaseLost?.(reason));
    };
    let edgeStarted: Promise<EdgeRuntime | null>;
    if (lease === null) edgeStarted = Promise.resolve(null);
    else if ((await lease.tryAcquire()) !== null) {
      // Held at once (the usual start, and always the embedded default): the edge starts before
      // HTTP takes orders, as the in-process bus only delivers to existing subscriptions.
      edgeStarted = Promise.resolve(await startLeasedEdge());
    } else {
      // STANDBY: another edge holds the lease (a rollout overlapping revisions). Serve the probes
      // and wait for its release or expiry; the venues are not even connected until then.
      logger.warn(
        { lease: lease.name, detail: lease.detail() },
        'venue edge in STANDBY: waiting for the lease',
      );
      const waiting = lease;
      edgeStarted = waiting.acquire(stopAll.signal).then(startLeasedEdge);
      edgeStarted.catch((err: unknown) => {
        if (stopAll.signal.aborted) return;
        logger.error({ err }, 'venue edge could not start after taking the lease');
        options.onLeaseLost?.(err instanceof Error ? err.message : String(err));
      });
    }

    const configured = configuredVenueHealth(config);
    const venueHealth: VenueHealth =
      options.venueHealth ??
      (async () => ({
        ...(await configured()),
        ...(runningEdge === null ? {} : await runningEdge.health()),
      }));
    const host = options.host ?? config.server.host;
    if (config.auth.mode === 'none' && !isLoopbackHost(host)) {
      throw new ValidationError('CONFIG_INVALID', [
        {
          path: 'server.host',
          message: `binding ${host} opens the API beyond this machine: configure auth (auth.mode google) or bind 127.0.0.1`,
        },
      ]);
    }
    const wired = consoleWiring;
    const app = createApp({
      ...wired.deps,
      auth: await authOptionsFromConfig(config.auth),
      orders: createPlatformOrderService(platform),
      positions: platform.positions,
      health: { checks: { ...platform.health, ...wired.checks }, venues: venueHealth },
      metrics,
      logger,
      logOrders: config.logging.log_orders,
    });
    let draining = false;
    app.route(
      '/',
      createProbeRouter({
        draining: () => draining,
        lease: () =>
          lease === null ? null : { state: lease.state(), detail: lease.detail(), holder: lease.holder },
        edge: () => runningEdge?.router ?? null,
      }),
    );
    const portfolioState = openPortfolioStateStore(platform, env);
    rebalance = await startRebalanceWatcher({
      config,
      service: createPlatformRebalanceService(platform, portfolioState),
      bus: platform.bus,
      orders: createPlatformOrderService(platform),
      log: logger,
      registry: metrics.registry,
      onStop: () => portfolioState.close(),
    });
    if (rebalance === null) await portfolioState.close();
    const runningRebalance = rebalance;
    const { server, port } = await listen(app, options.port ?? resolvePort(config, env), host);
    const shown = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;
    const url = `http://${shown}:${port}`;

    logger.info(
      {
        url,
        adapters: platform.adapters,
        endpoints: {
          health: `${url}/api/health`,
          orders: `${url}/api/orders`,
          positions: `${url}/api/positions`,
          docs: `${url}/api/docs`,
          openapi: `${url}/api/openapi.json`,
          metrics: `${url}/metrics`,
          liveness: `${url}/healthz`,
          readiness: `${url}/readyz`,
        },
      },
      `HTTP API listening on ${url} — health ${url}/api/health, orders ${url}/api/orders, docs ${url}/api/docs, metrics ${url}/metrics`,
    );

    // --- shutdown: stop taking work, stop the edge and release the lease, then drain HTTP -------
    const budgetMs = options.shutdownTimeoutMs ?? 9_000;
    let closing: Promise<void> | null = null;
    const close = () => {
      closing ??= (async () => {
        const t0 = performance.now();
        const left = () => Math.max(0, budgetMs - (performance.now() - t0));
        draining = true;
        stopAll.abort(new Error('shutting down'));
        // 1. No new connections (running requests go on), /readyz answers 503 from here; no new
        //    weights files are taken.
        const drained = closeServer(server, () => left());
        await withDeadline(
          runningRebalance?.stop() ?? Promise.resolve(),
          Math.min(1_000, left()),
          'stopping the weights watcher',
          logger,
        );
        // 2. The edge: no new work from the bus, sessions stopped, then the lease released so a
        //    successor takes over at once instead of after the TTL.
        const rt = runningEdge;
        runningEdge = null;
        await withDeadline(rt?.stop() ?? Promise.resolve(), left() * 0.6, 'stopping the venue edge', logger);
        await withDeadline(
          lease?.release() ?? Promise.resolve(),
          Math.min(2_000, left()),
          'releasing the lease',
          logger,
        );
        // 3. Running HTTP requests finish (or are cut when the budget is spent).
        await drained;
        await wired.close();
        await platform.close();
        clearInterval(sizeRefresh);
        await local?.exchange.stop();
        await tws?.tws.stop();
        logger.info({ ms: Math.round(performance.now() - t0) }, 'stopped');
      })();
      return closing;
    };
    return {
      config,
      platform,
      recorder,
      get edge() {
        return runningEdge;
      },
      lease,
      edgeStarted,
      localExchange: local,
      localTws: tws,
      rebalance: runningRebalance,
      app,
      metrics,
      logger,
      port,
      url,
      close,
    };
  } catch (err) {
    await rebalance?.stop().catch(() => undefined);
    await consoleWiring?.close().catch(() => undefined);
    await edge?.stop().catch(() => undefined);
    clearInterval(sizeRefresh);
    await platform.close().catch(() => undefined);
    await stopLocalVenues();
    throw err;
  }
}

/** Stop on SIGINT / SIGTERM (a second signal exits at once). */
function installSignalHandlers(running: RunningService): void {
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) {
      running.logger.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    stopping = true;
    running.logger.info({ signal }, 'shutting down');
    running.close().then(
      () => process.exit(0),
      (err: unknown) => {
        running.logger.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
}

async function main(): Promise<void> {
  let running: RunningService | undefined;
  // A lost venue-edge lease: the edge has stopped; exit so the platform starts a fresh process,
  // which queues for the lease like any new edge.
  const onLeaseLost = (reason: string) => {
    const log = running?.logger;
    if (log) log.fatal({ reason }, 'venue-edge lease lost: exiting');
    else
      process.stderr.write(
        `${JSON.stringify({ severity: 'CRITICAL', message: `venue-edge lease lost: ${reason}` })}\n`,
      );
    void (running?.close() ?? Promise.resolve()).finally(() => process.exit(1));
  };
  try {
    running = await start({ onLeaseLost });
  } catch (err) {
    // Before the logger exists (bad configuration) or while starting: one JSON line, then exit 1.
    const text = err instanceof Error ? err.message : String(err);
    const detail =
      err instanceof ValidationError
        ? { code: err.code, issues: err.issues }
        : { stack: err instanceof Error ? err.stack : undefined };
    process.stderr.write(
      `${JSON.stringify({ severity: 'CRITICAL', message: `failed to start: ${text}`, ...detail })}\n`,
    );
    process.exit(1);
  }
  installSignalHandlers(running);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  void main();
}
