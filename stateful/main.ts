/**
 * The composition root of the Cloud Run service and of `npm start`:
 *
 *   configuration (EXEC_CONFIG or the embedded default)
 *     → ports (infra/compose.ts: embedded stores/bus/blobs, or Firestore/Pub/Sub/GCS)
 *     → order service (the order pipeline: validation, risk, routing, cancels)
 *     → HTTP API (stateful/api) served by @hono/node-server on PORT / server.port (8080)
 *
 * Logs are JSON lines (pino, Cloud Logging fields); the configuration is logged redacted. SIGINT /
 * SIGTERM stop accepting connections, let running requests finish (at most `shutdownTimeoutMs`),
 * then close the bus and the stores; a second signal exits at once.
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
import { redactConfig } from '../shared/config/redact.ts';
import { type AppConfig, EMBEDDED_CONFIG, parseConfig } from '../shared/config/schema.ts';
import { ValidationError } from '../shared/domain/errors.ts';
import type { ComponentStatus, VenueHealth } from './api/health/index.ts';
import { createApp } from './api/index.ts';
import type { ApiEnv } from './api/types.ts';
import {
  assertNoFakeExchange,
  type EmbeddedLocalExchange,
  startEmbeddedLocalExchange,
  wantsLocalExchange,
  withLocalExchangeVenue,
} from './edge/embedded.ts';
import { type EdgeRuntime, startEdgeRuntime } from './edge/runtime.ts';
import { createLogger, type Logger } from './observability/logger/index.ts';
import { createMetrics, type Metrics } from './observability/metrics/index.ts';
import { executionLog, type SimulatedVenues, startSimulatedVenues } from './venues/index.ts';

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
  /** Most time given to running requests on shutdown (default 10 s). */
  shutdownTimeoutMs?: number | undefined;
}

export interface RunningService {
  readonly config: AppConfig;
  readonly platform: Platform;
  /** The SIMULATED venues running in this process (acks and fills from the matching engine). */
  readonly venues: SimulatedVenues;
  /** The venue edge of the LIVE / SHADOW venues (null when the configuration has none). */
  readonly edge: EdgeRuntime | null;
  /** The local exchange `npm start` runs for the embedded default (null otherwise). */
  readonly localExchange: EmbeddedLocalExchange | null;
  readonly app: Hono<ApiEnv>;
  readonly metrics: Metrics;
  readonly logger: Logger;
  readonly port: number;
  /** Base URL for humans and tests, e.g. `http://127.0.0.1:8080`. */
  readonly url: string;
  /** Stop the server, then close the bus and stores. Idempotent. */
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
    const server = serve({ fetch: app.fetch, port, hostname }, (info: AddressInfo) =>
      resolve({ server, port: info.port }),
    );
    server.once('error', reject);
  });
}

function closeServer(server: ServerType, timeoutMs: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      if ('closeAllConnections' in server) server.closeAllConnections();
    }, timeoutMs);
    timer.unref();
    server.close(() => {
      clearTimeout(timer);
      resolve();
    });
    if ('closeIdleConnections' in server) server.closeIdleConnections();
  });
}

export async function start(options: StartOptions = {}): Promise<RunningService> {
  const env = options.env ?? process.env;
  // The embedded default runs BINANCE-SPOT LIVE on an in-process local exchange (stateful/edge/embedded.ts).
  const local =
    options.config === undefined && wantsLocalExchange(env) ? await startEmbeddedLocalExchange(env) : null;
  let config: AppConfig;
  try {
    config =
      options.config ??
      (local === null
        ? loadConfig({ env })
        : parseConfig(withLocalExchangeVenue(EMBEDDED_CONFIG), {
            env: { ...env, ...local.env },
            cores: availableParallelism(),
          }));
  } catch (err) {
    await local?.exchange.stop().catch(() => undefined);
    throw err;
  }
  try {
    // Production never trades with a fake exchange behind a LIVE venue (stateful/edge/embedded.ts).
    assertNoFakeExchange(config, env);
  } catch (err) {
    await local?.exchange.stop().catch(() => undefined);
    throw err;
  }
  const logger = options.logger ?? createLogger({ level: config.logging.level });
  logger.info({ config: redactConfig(config) }, 'configuration loaded');
  if (local !== null)
    logger.info({ url: local.exchange.url }, `local exchange listening on ${local.exchange.url}`);

  let platform: Platform;
  try {
    platform = await createPlatform(config, { env, warn: (message) => logger.warn(message) });
  } catch (err) {
    await local?.exchange.stop().catch(() => undefined);
    throw err;
  }
  let venues: SimulatedVenues | null = null;
  let edge: EdgeRuntime | null = null;
  try {
    // Venues subscribe before the API takes orders: the in-process bus only delivers messages
    // published after a subscription exists.
    venues = await startSimulatedVenues({
      config,
      orders: platform.orders,
      positions: platform.positions,
      bus: platform.bus,
      clock: platform.clock,
      instruments: platform.instruments,
      market: platform.marketState,
      ledger: platform.riskLedger,
      log: logger,
    });
    const started = venues;
    const metrics = createMetrics();
    // The LIVE / SHADOW venues: sessions, durable scheduler, reconciliation (before HTTP takes orders).
    edge = await startEdgeRuntime({
      config,
      platform,
      recorder: started.recorder,
      log: executionLog(logger),
      registry: metrics.registry,
    });
    const runningEdge = edge;
    const configured = configuredVenueHealth(config);
    const venueHealth: VenueHealth =
      options.venueHealth ??
      (async () => ({
        ...(await configured()),
        ...(await started.health()),
        ...(runningEdge === null ? {} : await runningEdge.health()),
      }));
    const app = createApp({
      orders: createPlatformOrderService(platform),
      positions: platform.positions,
      health: { checks: platform.health, venues: venueHealth },
      metrics,
      logger,
      logOrders: config.logging.log_orders,
    });
    if (runningEdge !== null) app.route('/', runningEdge.router); // /healthz, /readyz
    const host = options.host ?? config.server.host;
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
        },
      },
      `HTTP API listening on ${url} — health ${url}/api/health, orders ${url}/api/orders, docs ${url}/api/docs, metrics ${url}/metrics`,
    );

    let closing: Promise<void> | null = null;
    const close = () => {
      closing ??= (async () => {
        await closeServer(server, options.shutdownTimeoutMs ?? 10_000);
        await runningEdge?.stop();
        await started.stop();
        await platform.close();
        await local?.exchange.stop();
        logger.info('stopped');
      })();
      return closing;
    };
    return {
      config,
      platform,
      venues: started,
      edge: runningEdge,
      localExchange: local,
      app,
      metrics,
      logger,
      port,
      url,
      close,
    };
  } catch (err) {
    await edge?.stop().catch(() => undefined);
    await venues?.stop().catch(() => undefined);
    await platform.close().catch(() => undefined);
    await local?.exchange.stop().catch(() => undefined);
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
  let running: RunningService;
  try {
    running = await start();
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
