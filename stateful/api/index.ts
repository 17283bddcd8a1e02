/**
 * The HTTP API of the service (SPEC "HTTP API"), as a hono app that any shell can serve:
 * `stateful/main.ts` serves it with @hono/node-server; tests call `app.request()` in-process.
 *
 *   POST   /api/orders                  submit an order instruction
 *   GET    /api/orders?status=&venue=&strategy_id=&instrument_key=&parent_order_id=&from=&to=&limit=
 *   GET    /api/orders/:operation_id    the order + timeline + fills
 *   DELETE /api/orders/:operation_id    cancel
 *   GET    /api/positions?account_id=&instrument_key=
 *   GET    /api/positions/view          positions per instrument, marked to the latest mid
 *   GET    /api/health                  every component; 200 all ok, 503 otherwise
 *   GET    /api/events?...              the execution event stream (orders, trading state, venues)
 *   GET    /api/trading-state           platform and strategy trading states with their history
 *   PUT    /api/trading-state           set ACTIVE / REDUCING / HALTED (reason required)
 *   GET    /api/instruments, /api/venues, /api/services   catalog, venue states, service detection
 *   GET    /api/tca?...                 transaction-cost analysis of live orders
 *   GET    /api/backtests[/:run_id[/equity|orders|fills]]  backtest runs from the results store
 *   POST   /api/backtests, GET /api/backtests/_inputs       start a run here (where a runner is configured)
 *   GET    /*                           the ops console (console/dist), when built
 *   GET    /metrics                     Prometheus text
 *   GET    /api/openapi.json, /api/docs the OpenAPI 3.1 document and a readable page
 *
 * Every error goes through one `onError` (stateful/api/errors); every JSON body through one
 * replacer (stateful/api/json). Each request gets an id (`X-Request-Id`, taken from the request
 * when the caller sends one) and the caller's verified identity (stateful/api/auth), is counted and
 * timed by route, and logged as one line.
 */
import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { requestId } from 'hono/request-id';
import type { Logger } from 'pino';
import type { OrderService } from '../../shared/app/order-service.ts';
import type { BlobStore } from '../../shared/ports/blob-store.ts';
import type { PositionStore } from '../../shared/ports/position-store.ts';
import { silentLogger } from '../observability/logger/index.ts';
import { createMetrics, type Metrics, meterOrderService } from '../observability/metrics/index.ts';
import { type AuthOptions, authMiddleware } from './auth/index.ts';
import { backtestRoutes } from './backtests/index.ts';
import type { BacktestRunner } from './backtests/runner.ts';
import { type CatalogDeps, catalogRoutes } from './catalog/index.ts';
import { mountConsole } from './console-assets.ts';
import { devRoutes, type LocalExchangeControl } from './dev/index.ts';
import { ApiError, createErrorHandler, notFoundHandler } from './errors/index.ts';
import { type EventFeed, eventRoutes } from './events/index.ts';
import { type HealthCheck, healthRoutes, type VenueHealth } from './health/index.ts';
import { httpMetrics, metricsRoutes, routeLabel } from './metrics/index.ts';
import { type OpenApiInfo, openApiRoutes } from './openapi/index.ts';
import { type OrderReader, orderRoutes } from './orders/index.ts';
import { type PositionMarks, positionRoutes } from './positions/index.ts';
import { tcaRoutes } from './tca/index.ts';
import { type TradingStateDeps, tradingStateRoutes } from './trading-state/index.ts';
import type { ApiEnv } from './types.ts';

export type { OrderReader } from './orders/index.ts';
export { storeOrderReader } from './orders/index.ts';

/** Largest request body accepted (413 above it). An order instruction is well under 10 KiB. */
export const DEFAULT_MAX_BODY_BYTES = 1024 * 1024;

export interface ApiDeps {
  /** The order use cases; a reader only (get/list) when this process runs no order intake. */
  orders: OrderService | OrderReader;
  positions: Pick<PositionStore, 'list'>;
  health: {
    /** Named component checks: `order_store`, `position_store`, `bus`, `blob_store`, ... */
    checks: Readonly<Record<string, HealthCheck>>;
    /** Health of each venue (shown as `venue:<id>`). */
    venues?: VenueHealth | undefined;
    /** Per-check time limit (default 3000 ms). */
    timeoutMs?: number | undefined;
  };
  /** Metrics registry (default: a new one with the process metrics). */
  metrics?: Metrics | undefined;
  /** Request and error log (default silent). */
  logger?: Logger | undefined;
  /** Log one line per order submitted or canceled over HTTP (config `logging.log_orders`, default true). */
  logOrders?: boolean | undefined;
  maxBodyBytes?: number | undefined;
  /**
   * Who may call what (stateful/api/auth). Default: auth off — every caller is the local operator
   * (`npm start` then listens on loopback only) and no rate limits.
   */
  auth?: AuthOptions | undefined;
  openapi?: OpenApiInfo | undefined;
  /** Latest mids for `GET /api/positions/view` (absent: no unrealized PnL or exposure). */
  marks?: PositionMarks | undefined;
  /** `GET|PUT /api/trading-state` (absent: not served). */
  tradingState?: TradingStateDeps | undefined;
  /** `GET /api/events` (absent: not served). */
  events?: EventFeed | undefined;
  /** `GET /api/instruments`, `/api/venues`, `/api/services`. */
  catalog?: CatalogDeps | undefined;
  /** `GET /api/tca` reads orders, timelines and fills here (absent: not served). */
  tca?: Parameters<typeof tcaRoutes>[0] | undefined;
  /** `GET /api/backtests...` reads the results store here (absent: not served). */
  backtests?: BlobStore | undefined;
  /** `POST /api/backtests` starts runs here (absent: 503, no runner in this deployment). */
  backtestRunner?: BacktestRunner | undefined;
  /** `GET|PUT /api/dev/local-exchange`: only when the local exchange runs in this process. */
  localExchange?: LocalExchangeControl | undefined;
  /** Serve the built console from this folder at `/` (absent or not built: not served). */
  consoleDir?: string | undefined;
}

/** Requests that probes and scrapers make all the time: logged at debug, not info. */
const QUIET_ROUTES = new Set(['/api/health', '/metrics']);

export function createApp(deps: ApiDeps): Hono<ApiEnv> {
  const logger = deps.logger ?? silentLogger();
  const metrics = deps.metrics ?? createMetrics();
  const orders =
    'submit' in deps.orders && 'cancel' in deps.orders
      ? meterOrderService(deps.orders, metrics)
      : deps.orders;

  const app = new Hono<ApiEnv>();
  app.use(requestId());
  app.use(httpMetrics(metrics));
  app.use(async (c, next) => {
    const started = performance.now();
    await next();
    const route = routeLabel(c);
    const line = {
      request_id: c.get('requestId'),
      method: c.req.method,
      path: c.req.path,
      route,
      status: c.res.status,
      duration_ms: Math.round((performance.now() - started) * 1000) / 1000,
    };
    if (QUIET_ROUTES.has(route) && c.res.status < 500) logger.debug(line, 'http request');
    else logger.info(line, 'http request');
  });
  app.use(
    '/api/*',
    bodyLimit({
      maxSize: deps.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES,
      onError: (c) => {
        // The rest of the body is never read: the connection cannot carry another request.
        c.header('Connection', 'close');
        throw new ApiError(
          413,
          'payload_too_large',
          `request body exceeds ${deps.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES} bytes`,
        );
      },
    }),
  );
  // The one wiring point of authentication, authorization and per-caller rate limits: sets `caller`.
  app.use(
    authMiddleware({
      strategyOfOrder: async (id) => (await orders.get(id))?.order.strategy_id ?? null,
      ...(deps.auth ?? { mode: 'none' }),
    }),
  );

  app.route('/api/orders', orderRoutes(orders, { logger: (deps.logOrders ?? true) ? logger : undefined }));
  app.route('/api/positions', positionRoutes(deps.positions, deps.marks));
  if (deps.tradingState !== undefined) app.route('/api/trading-state', tradingStateRoutes(deps.tradingState));
  if (deps.events !== undefined) app.route('/api/events', eventRoutes(deps.events));
  if (deps.catalog !== undefined) app.route('/api', catalogRoutes(deps.catalog));
  if (deps.tca !== undefined) app.route('/api/tca', tcaRoutes(deps.tca));
  if (deps.backtests !== undefined)
    app.route('/api/backtests', backtestRoutes(deps.backtests, deps.backtestRunner));
  if (deps.localExchange !== undefined) app.route('/api/dev', devRoutes(deps.localExchange));
  app.route(
    '/api/health',
    healthRoutes({
      checks: deps.health.checks,
      venues: deps.health.venues,
      timeoutMs: deps.health.timeoutMs,
      gauge: metrics.componentUp,
    }),
  );
  app.route('/api', openApiRoutes(deps.openapi));
  app.route('/metrics', metricsRoutes(metrics.registry));
  if (deps.consoleDir !== undefined) mountConsole(app, deps.consoleDir);

  app.notFound(notFoundHandler);
  app.onError(createErrorHandler(logger));
  return app;
}
