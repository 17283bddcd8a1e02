/**
 * `npm start` for real: the service process (node + tsx, stateful/main.ts) on a free port with the
 * embedded defaults and a temporary data folder, called over HTTP with fetch, then stopped with
 * SIGTERM (graceful shutdown: exit code 0, journals closed, state kept for the next start).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type MainProcess, startMainProcess } from './support/main-process.ts';

type Service = MainProcess;

function startService(dataDir: string): Promise<Service> {
  return startMainProcess({ EXEC_DATA_DIR: dataDir, EXEC_CONFIG: '', LOG_LEVEL: 'info' });
}

describe('npm start (stateful/main.ts) on a free port', () => {
  let dataDir: string;
  let service: Service;

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'api-server-'));
    service = await startService(dataDir);
  });

  afterAll(async () => {
    if (service && service.child.exitCode === null) {
      service.child.kill('SIGKILL');
      await service.exited;
    }
    await rm(dataDir, { recursive: true, force: true });
  });

  it('prints where to look and serves health with every component', async () => {
    const listening = service.lines.find((l) => String(l.message).startsWith('HTTP API listening'));
    expect(listening?.endpoints).toMatchObject({
      health: `${service.url}/api/health`,
      metrics: `${service.url}/metrics`,
    });
    expect(service.lines.find((l) => l.message === 'configuration loaded')).toBeDefined();

    const res = await fetch(`${service.url}/api/health`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as { status: string; components: Record<string, { ok: boolean }> };
    expect(body.status).toBe('ok');
    expect(Object.keys(body.components)).toEqual(
      expect.arrayContaining([
        'order_store',
        'position_store',
        'bus',
        'blob_store',
        'venue:SIM',
        'venue:BINANCE-SPOT',
      ]),
    );
  });

  it('answers the API over HTTP: orders, positions, errors, OpenAPI and metrics', async () => {
    const list = await fetch(`${service.url}/api/orders?status=PENDING&limit=5`);
    expect(list.status).toBe(200);
    expect(await list.json()).toMatchObject({ orders: expect.any(Array), limit: 5 });

    const bad = await fetch(`${service.url}/api/orders?status=BOGUS`);
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({
      error: { code: 'invalid_query', issues: [{ path: 'status' }] },
    });

    const unknown = await fetch(`${service.url}/api/orders/OP-NOT-THERE`);
    expect(unknown.status).toBe(404);

    const malformed = await fetch(`${service.url}/api/orders`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: '{"operation_id":',
    });
    expect(malformed.status).toBe(400);
    expect(await malformed.json()).toMatchObject({ error: { code: 'invalid_json' } });

    const positions = await fetch(`${service.url}/api/positions`);
    expect(positions.status).toBe(200);

    const doc = (await (await fetch(`${service.url}/api/openapi.json`)).json()) as {
      openapi: string;
      paths: object;
    };
    expect(doc.openapi).toBe('3.1.0');
    expect(Object.keys(doc.paths)).toContain('/api/orders/{operation_id}');

    const metrics = await (await fetch(`${service.url}/metrics`)).text();
    expect(metrics).toContain('exec_http_requests_total{method="GET",route="/api/health",status="200"} 1');
    expect(metrics).toContain('process_resident_memory_bytes');
  });

  it('takes orders over HTTP: 201 new, 200 duplicate, 400 naming the field, DELETE cancels', async () => {
    const order = {
      operation_id: 'OP-IT-1',
      instrument_key: 'BINANCE-SPOT:SPOT_PAIR:BTC-USDT',
      side: 'BUY',
      quantity: '0.01',
      price: '60000',
      order_type: 'LIMIT',
      time_in_force: 'GTC',
      strategy_id: 'momentum-btc-v1',
      reference_price: '60000',
    };
    const send = (body: unknown) =>
      fetch(`${service.url}/api/orders`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify(body),
      });
    const created = await send(order);
    expect(created.status).toBe(201);
    expect(created.headers.get('location')).toBe('/api/orders/OP-IT-1');
    const reply = (await created.json()) as Record<string, unknown>;
    expect(Object.keys(reply).sort()).toEqual([
      'fills',
      'operation_id',
      'order_id',
      'rejection_reason',
      'status',
      'venue',
    ]);

    // The simulated venue works the order meanwhile, so the duplicate's reply is the same order
    // (same ids, venue) in whatever state it has reached by now.
    const duplicate = await send(order);
    expect(duplicate.status).toBe(200);
    const again = (await duplicate.json()) as Record<string, unknown>;
    expect({ ...again, status: undefined, fills: undefined }).toEqual({
      ...reply,
      status: undefined,
      fills: undefined,
    });
    expect(['PENDING', 'SUBMITTED', 'ACCEPTED', 'PARTIALLY_FILLED', 'FILLED', 'EXPIRED']).toContain(
      again.status,
    );

    const invalid = await send({ ...order, operation_id: 'OP-IT-2', side: 'HOLD', quantity: 'lots' });
    expect(invalid.status).toBe(400);
    const paths = ((await invalid.json()) as { error: { issues: Array<{ path: string }> } }).error.issues.map(
      (i) => i.path,
    );
    expect(paths).toEqual(expect.arrayContaining(['side', 'quantity']));

    const detail = (await (await fetch(`${service.url}/api/orders/OP-IT-1`)).json()) as {
      timeline: Array<{ ts_event: string }>;
    };
    expect(detail.timeline.length).toBeGreaterThan(0);
    expect(detail.timeline[0]?.ts_event).toMatch(/^\d{19}$/);

    if (['PENDING', 'SUBMITTED', 'ACCEPTED', 'PARTIALLY_FILLED'].includes(String(again.status))) {
      const cancel = await fetch(`${service.url}/api/orders/OP-IT-1`, {
        method: 'DELETE',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ reason: 'integration test' }),
      });
      // 409 when the venue finished the order between the two requests.
      expect([200, 202, 409]).toContain(cancel.status);
    }
    const metrics = await (await fetch(`${service.url}/metrics`)).text();
    expect(metrics).toMatch(
      /exec_orders_submitted_total\{outcome="(routed|denied|unroutable)",via="http"\} 1/,
    );
    expect(metrics).toContain('exec_orders_submitted_total{outcome="duplicate",via="http"} 1');
  });

  it('logs each request as one JSON line with its request id', async () => {
    const res = await fetch(`${service.url}/api/positions`, { headers: { 'X-Request-Id': 'it-req-1' } });
    expect(res.headers.get('x-request-id')).toBe('it-req-1');
    await new Promise((r) => setTimeout(r, 100));
    const line = service.lines.find((l) => l.request_id === 'it-req-1');
    expect(line).toMatchObject({
      message: 'http request',
      route: '/api/positions',
      status: 200,
      severity: 'INFO',
    });
  });

  it('shuts down gracefully on SIGTERM', async () => {
    service.child.kill('SIGTERM');
    expect(await service.exited).toBe(0);
    const messages = service.lines.map((l) => l.message);
    expect(messages).toContain('shutting down');
    expect(messages).toContain('stopped');
    await expect(fetch(`${service.url}/api/health`)).rejects.toThrow();
  });

  it('keeps its orders across a restart (journals under EXEC_DATA_DIR)', async () => {
    service = await startService(dataDir);
    const res = await fetch(`${service.url}/api/orders/OP-IT-1`);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ operation_id: 'OP-IT-1' });
    service.child.kill('SIGINT');
    expect(await service.exited).toBe(0);
  });
});
