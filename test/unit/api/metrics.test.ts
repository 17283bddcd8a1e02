import { describe, expect, it } from 'vitest';
import { LocalPositionStore } from '../../../infra/local/position-store.local.ts';
import { createApp } from '../../../stateful/api/index.ts';
import { fixture, post } from './app-fixture.ts';
import { instruction } from './fake-order-service.ts';

describe('GET /metrics', () => {
  it('serves Prometheus text with our metric names and the process metrics', async () => {
    const app = createApp({
      orders: fixture().service,
      positions: LocalPositionStore.memory(),
      health: { checks: {} },
    });
    const res = await app.request('/metrics');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await res.text();
    for (const name of [
      'exec_http_requests_total',
      'exec_http_request_duration_seconds',
      'exec_orders_submitted_total',
      'exec_order_cancels_total',
      'exec_health_component_up',
      'process_cpu_user_seconds_total',
      'nodejs_eventloop_lag_seconds',
    ]) {
      expect(text).toContain(`# TYPE ${name}`);
    }
  });

  it('counts requests by method, route pattern and status, and times them', async () => {
    const { app } = fixture();
    await app.request('/api/orders/OP-1');
    await app.request('/api/orders/OP-2');
    await app.request('/api/positions');
    await app.request('/no/such/path');
    const text = await (await app.request('/metrics')).text();
    expect(text).toContain(
      'exec_http_requests_total{method="GET",route="/api/orders/:operation_id",status="404"} 2',
    );
    expect(text).toContain('exec_http_requests_total{method="GET",route="/api/positions",status="200"} 1');
    expect(text).toContain('exec_http_requests_total{method="GET",route="unmatched",status="404"} 1');
    expect(text).toMatch(
      /exec_http_request_duration_seconds_count\{method="GET",route="\/api\/orders\/:operation_id",status="404"\} 2/,
    );
    expect(text).not.toContain('OP-1');
  });

  it('counts orders submitted by outcome and cancels by outcome', async () => {
    const { app, service } = fixture();
    await post(app, instruction({ operation_id: 'A' }));
    await post(app, instruction({ operation_id: 'A' }));
    await post(app, instruction({ operation_id: 'B', quantity: '-1' }));
    service.decide = () => ({ kind: 'denied', rule: 'r', reason: 'no' });
    await post(app, instruction({ operation_id: 'C' }));
    service.failNext = Object.assign(new Error('deadline'), { code: 4 });
    await post(app, instruction({ operation_id: 'D' }));
    await app.request('/api/orders/A', { method: 'DELETE' });
    await app.request('/api/orders/C', { method: 'DELETE' });
    const text = await (await app.request('/metrics')).text();
    expect(text).toContain('exec_orders_submitted_total{outcome="routed",via="http"} 1');
    expect(text).toContain('exec_orders_submitted_total{outcome="duplicate",via="http"} 1');
    expect(text).toContain('exec_orders_submitted_total{outcome="invalid",via="http"} 1');
    expect(text).toContain('exec_orders_submitted_total{outcome="denied",via="http"} 1');
    expect(text).toContain('exec_orders_submitted_total{outcome="error",via="http"} 1');
    expect(text).toContain('exec_order_cancels_total{outcome="canceled",via="http"} 1');
    expect(text).toContain('exec_order_cancels_total{outcome="not_cancelable",via="http"} 1');
  });

  it('keeps each app in its own registry', async () => {
    const a = fixture();
    const b = fixture();
    await a.app.request('/api/positions');
    const text = await (await b.app.request('/metrics')).text();
    expect(text).not.toContain('route="/api/positions"');
  });
});
