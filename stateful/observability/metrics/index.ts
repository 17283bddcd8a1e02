/**
 * Prometheus metrics (prom-client) of the service, in a registry of its own (not prom-client's
 * global one, so several apps in one process — tests — never collide). `GET /metrics` renders it.
 *
 * Names (prefix `exec_` by default):
 * - `exec_http_requests_total{method,route,status}` and
 *   `exec_http_request_duration_seconds{method,route,status}`: every HTTP request, by the route
 *   pattern it matched (`/api/orders/:operation_id`, never the raw URL, so cardinality is bounded;
 *   unmatched paths count as `unmatched`).
 * - `exec_orders_submitted_total{outcome,via}`: order instructions by outcome (`routed`, `denied`,
 *   `unroutable`, `duplicate`, `invalid`, `error`) and where they came from (`http`, `pubsub`,
 *   `internal`).
 * - `exec_order_cancels_total{outcome,via}`: cancel requests by outcome.
 * - `exec_health_component_up{component}`: 1/0 per component at the last health check.
 * - the default Node.js process metrics (`process_*`, `nodejs_*`), unprefixed as is the convention.
 */
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { CancelOutcome, OrderService, SubmitOutcome } from '../../../shared/app/order-service.ts';

export interface Metrics {
  readonly registry: Registry;
  readonly httpRequests: Counter<'method' | 'route' | 'status'>;
  readonly httpDuration: Histogram<'method' | 'route' | 'status'>;
  readonly ordersSubmitted: Counter<'outcome' | 'via'>;
  readonly orderCancels: Counter<'outcome' | 'via'>;
  readonly componentUp: Gauge<'component'>;
}

export interface CreateMetricsOptions {
  /** Prefix of our metric names (default `exec_`). */
  prefix?: string | undefined;
  /** Also collect prom-client's default process metrics (default true). */
  defaultMetrics?: boolean | undefined;
  /** Labels added to every series (e.g. `{service: 'stateful'}`). */
  defaultLabels?: Record<string, string> | undefined;
}

/** Request-latency buckets in seconds: 1 ms … 10 s. */
export const HTTP_DURATION_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export function createMetrics(options: CreateMetricsOptions = {}): Metrics {
  const prefix = options.prefix ?? 'exec_';
  const registry = new Registry();
  if (options.defaultLabels) registry.setDefaultLabels(options.defaultLabels);
  if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: registry });
  return {
    registry,
    httpRequests: new Counter({
      name: `${prefix}http_requests_total`,
      help: 'HTTP requests by method, matched route and status code',
      labelNames: ['method', 'route', 'status'] as const,
      registers: [registry],
    }),
    httpDuration: new Histogram({
      name: `${prefix}http_request_duration_seconds`,
      help: 'HTTP request duration in seconds by method, matched route and status code',
      labelNames: ['method', 'route', 'status'] as const,
      buckets: HTTP_DURATION_BUCKETS,
      registers: [registry],
    }),
    ordersSubmitted: new Counter({
      name: `${prefix}orders_submitted_total`,
      help: 'Order instructions submitted, by outcome (routed, denied, unroutable, duplicate, invalid, error) and source',
      labelNames: ['outcome', 'via'] as const,
      registers: [registry],
    }),
    orderCancels: new Counter({
      name: `${prefix}order_cancels_total`,
      help: 'Cancel requests, by outcome (cancel_requested, canceled, not_found, not_cancelable, invalid, error) and source',
      labelNames: ['outcome', 'via'] as const,
      registers: [registry],
    }),
    componentUp: new Gauge({
      name: `${prefix}health_component_up`,
      help: '1 when the component was healthy at the last health check, else 0',
      labelNames: ['component'] as const,
      registers: [registry],
    }),
  };
}

/**
 * The same OrderService, counting every submit and cancel in `metrics` by outcome and source. A
 * call that throws (a transient failure) counts as outcome `error` and is rethrown.
 */
export function meterOrderService(service: OrderService, metrics: Metrics): OrderService {
  return {
    async submit(input, source): Promise<SubmitOutcome> {
      try {
        const outcome = await service.submit(input, source);
        metrics.ordersSubmitted.inc({ outcome: outcome.kind, via: source.via });
        return outcome;
      } catch (err) {
        metrics.ordersSubmitted.inc({ outcome: 'error', via: source.via });
        throw err;
      }
    },
    async cancel(input, source): Promise<CancelOutcome> {
      try {
        const outcome = await service.cancel(input, source);
        metrics.orderCancels.inc({ outcome: outcome.kind, via: source.via });
        return outcome;
      } catch (err) {
        metrics.orderCancels.inc({ outcome: 'error', via: source.via });
        throw err;
      }
    },
    get: (operationId) => service.get(operationId),
    list: (query) => service.list(query),
  };
}
