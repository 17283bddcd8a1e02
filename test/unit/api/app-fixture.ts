/** The API under test: createApp over the fake OrderService and the embedded (in-memory) stores. */
import { Writable } from 'node:stream';
import { LocalPositionStore } from '../../../infra/local/position-store.local.ts';
import type { ComponentStatus, HealthCheck } from '../../../stateful/api/health/index.ts';
import { createApp } from '../../../stateful/api/index.ts';
import { createLogger } from '../../../stateful/observability/logger/index.ts';
import { createMetrics } from '../../../stateful/observability/metrics/index.ts';
import { FakeOrderService } from './fake-order-service.ts';

export interface Fixture {
  app: ReturnType<typeof createApp>;
  service: FakeOrderService;
  positions: LocalPositionStore;
  metrics: ReturnType<typeof createMetrics>;
  /** Log lines written so far, parsed. */
  logs: Array<Record<string, unknown>>;
  /** Health answers per component; tests flip them. */
  health: Record<string, ComponentStatus>;
}

export function fixture(
  options: { maxBodyBytes?: number; checks?: Record<string, HealthCheck> } = {},
): Fixture {
  const service = new FakeOrderService();
  const positions = LocalPositionStore.memory();
  const metrics = createMetrics({ defaultMetrics: false });
  const logs: Array<Record<string, unknown>> = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const line of chunk.toString('utf8').split('\n'))
        if (line.trim()) logs.push(JSON.parse(line) as Record<string, unknown>);
      cb();
    },
  });
  const health: Record<string, ComponentStatus> = {
    order_store: { ok: true, detail: 'memory only' },
    position_store: { ok: true },
    bus: { ok: true },
    blob_store: { ok: true },
  };
  const checks: Record<string, HealthCheck> = options.checks ?? {
    order_store: async () => health.order_store ?? { ok: false },
    position_store: async () => health.position_store ?? { ok: false },
    bus: async () => health.bus ?? { ok: false },
    blob_store: async () => health.blob_store ?? { ok: false },
  };
  const app = createApp({
    orders: service,
    positions,
    health: { checks, venues: async () => ({ SIM: { ok: true, detail: 'simulated' } }), timeoutMs: 200 },
    metrics,
    logger: createLogger({ level: 'debug', destination }),
    maxBodyBytes: options.maxBodyBytes,
  });
  return { app, service, positions, metrics, logs, health };
}

export const JSON_HEADERS = { 'Content-Type': 'application/json' };

export function post(app: Fixture['app'], body: unknown, headers: Record<string, string> = JSON_HEADERS) {
  return app.request('/api/orders', {
    method: 'POST',
    headers,
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

/** The issues' paths of a 400 body. */
export function issuePaths(body: unknown): string[] {
  const err = (body as { error?: { issues?: Array<{ path: string }> } }).error;
  return (err?.issues ?? []).map((i) => i.path);
}
