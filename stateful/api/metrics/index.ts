/**
 * `GET /metrics` (Prometheus text exposition from the service's prom-client registry) and the
 * middleware that counts and times every HTTP request by its matched route pattern.
 */
import { Hono, type MiddlewareHandler } from 'hono';
import { matchedRoutes } from 'hono/route';
import type { Registry } from 'prom-client';
import type { Metrics } from '../../observability/metrics/index.ts';
import type { ApiEnv } from '../types.ts';

/** The route pattern that served the request (`/api/orders/:operation_id`), or `unmatched`. */
export function routeLabel(c: Parameters<MiddlewareHandler>[0]): string {
  const routes = matchedRoutes(c);
  // A catch-all (the console's pages) labels only requests no other route took.
  let catchAll: string | null = null;
  for (let i = routes.length - 1; i >= 0; i--) {
    const r = routes[i];
    if (!r || r.method === 'ALL') continue;
    if (r.path === '*' || r.path === '/*') catchAll ??= r.path;
    else return r.path;
  }
  return catchAll ?? 'unmatched';
}

/** Count and time every request (`exec_http_requests_total`, `exec_http_request_duration_seconds`). */
export function httpMetrics(metrics: Metrics): MiddlewareHandler<ApiEnv> {
  return async (c, next) => {
    const started = performance.now();
    try {
      await next();
    } finally {
      const labels = { method: c.req.method, route: routeLabel(c), status: String(c.res.status) };
      metrics.httpRequests.inc(labels);
      metrics.httpDuration.observe(labels, (performance.now() - started) / 1000);
    }
  };
}

export function metricsRoutes(registry: Registry): Hono<ApiEnv> {
  const app = new Hono<ApiEnv>();
  app.get('/', async (c) => {
    const text = await registry.metrics();
    return c.body(text, 200, { 'Content-Type': registry.contentType, 'Cache-Control': 'no-store' });
  });
  return app;
}
