/**
 * The API over the real composition: createPlatform with the embedded defaults (journals in a
 * temporary folder) and the real order pipeline (createPlatformOrderService) — what `npm start`
 * serves, called in-process.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createPlatform, createPlatformOrderService, type Platform } from '../../../infra/compose.ts';
import { EMBEDDED_CONFIG, parseConfig } from '../../../shared/config/schema.ts';
import { isoToNanos } from '../../../shared/domain/time.ts';
import { TestClock } from '../../../shared/ports/clock.ts';
import { createApp } from '../../../stateful/api/index.ts';
import { issuePaths, post } from './app-fixture.ts';
import { instruction } from './fake-order-service.ts';

const BTC = 'BINANCE-SPOT:SPOT_PAIR:BTC-USDT';

let dir: string;
let platform: Platform;
let clock: TestClock;
let app: ReturnType<typeof createApp>;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'api-pipeline-'));
  clock = new TestClock(isoToNanos('2025-07-01T12:00:00Z'));
  const config = parseConfig(
    { ...EMBEDDED_CONFIG, storage: { ...EMBEDDED_CONFIG.storage, data_dir: dir } },
    { env: {} },
  );
  platform = await createPlatform(config, { env: {}, clock });
  app = createApp({
    orders: createPlatformOrderService(platform),
    positions: platform.positions,
    health: { checks: platform.health },
  });
  // What the venue edge would have written: a fresh book and an UP venue.
  await platform.marketState.putQuote({
    venue: 'BINANCE-SPOT',
    instrument_key: BTC,
    bid: '59999.5',
    ask: '60000.5',
    mid: '60000',
    bids: [{ price: '59999.5', size: '5' }],
    asks: [{ price: '60000.5', size: '5' }],
    ts_event: clock.now(),
  });
  await platform.marketState.putVenueState({
    venue: 'BINANCE-SPOT',
    status: 'UP',
    latency_ms: 5,
    recent_orders: 0,
    recent_rejections: 0,
    balances: { USDT: '1000000' },
    ts_updated: clock.now(),
  });
});

afterEach(async () => {
  await platform.close();
  await rm(dir, { recursive: true, force: true });
});

describe('the API over the real order pipeline', () => {
  it('takes the SPEC example: 201 routed, 200 for the duplicate, then the order with its full timeline', async () => {
    const first = await post(
      app,
      instruction({ exec_algorithm_params: { duration_sec: 300, max_slices: 10 } }),
    );
    expect(first.status).toBe(201);
    const reply = (await first.json()) as { status: string; venue: string | null; order_id: string };
    expect(reply).toMatchObject({
      operation_id: 'OP-12345',
      status: 'PENDING',
      venue: 'BINANCE-SPOT',
      rejection_reason: null,
    });
    expect(reply.order_id).toMatch(/^ord_[0-9a-f]{32}$/);

    const again = await post(app, instruction());
    expect(again.status).toBe(200);
    expect(await again.json()).toEqual(reply);

    const detail = (await (await app.request('/api/orders/OP-12345')).json()) as {
      timeline: Array<{ type: string; ts_event: string }>;
    };
    expect(detail.timeline.map((e) => e.type)).toEqual(['OrderReceived', 'OrderRiskApproved', 'OrderRouted']);
    expect(detail.timeline[0]?.ts_event).toBe(clock.now().toString());
  });

  it('answers a risk denial with 201 and the rule in the reason', async () => {
    const res = await post(app, instruction({ operation_id: 'OP-BIG', quantity: '100000' }));
    expect(res.status).toBe(201);
    const body = (await res.json()) as { status: string; rejection_reason: string };
    expect(body.status).toBe('DENIED');
    expect(body.rejection_reason.length).toBeGreaterThan(0);
  });

  it('400 naming the field for invalid input', async () => {
    const res = await post(app, instruction({ quantity: '-1', exec_algorithm_params: { duration_sec: 0 } }));
    expect(res.status).toBe(400);
    const body = await res.json();
    expect(issuePaths(body)).toEqual(
      expect.arrayContaining(['quantity', 'exec_algorithm_params.duration_sec']),
    );
  });

  it('cancels: 200 canceled at once for an order not yet at a venue; 409 afterwards; 404 for an unknown one', async () => {
    await post(app, instruction());
    const cancel = await app.request('/api/orders/OP-12345', { method: 'DELETE' });
    expect(cancel.status).toBe(200);
    expect(await cancel.json()).toMatchObject({ status: 'CANCELED' });
    const again = await app.request('/api/orders/OP-12345', { method: 'DELETE' });
    expect(again.status).toBe(409);
    expect(await again.json()).toMatchObject({ error: { code: 'not_cancelable' } });
    expect((await app.request('/api/orders/OP-NONE', { method: 'DELETE' })).status).toBe(404);
  });

  it('lists what it recorded, by status', async () => {
    await post(app, instruction({ operation_id: 'A' }));
    await post(app, instruction({ operation_id: 'B', quantity: '100000' }));
    const res = await app.request('/api/orders?status=DENIED');
    expect(
      ((await res.json()) as { orders: Array<{ operation_id: string }> }).orders.map((o) => o.operation_id),
    ).toEqual(['B']);
  });

  it('reports every port in health', async () => {
    const res = await app.request('/api/health');
    expect(res.status).toBe(200);
    const body = (await res.json()) as { components: Record<string, unknown> };
    expect(Object.keys(body.components)).toEqual(
      expect.arrayContaining([
        'order_store',
        'position_store',
        'bus',
        'blob_store',
        'risk_ledger',
        'trading_state',
        'market_state',
        'instruments',
      ]),
    );
  });
});
