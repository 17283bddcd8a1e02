/**
 * The embedded stack end to end, as `npm start` runs it: the platform's ports from the embedded
 * configuration (local journaled stores in a temp folder, the in-process bus, the embedded market
 * state, risk ledger and instrument catalog), the order pipeline, the simulated venues on their
 * timers and the wall clock. An order goes in through the OrderService (and the HTTP API) and is
 * watched until FILLED.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPlatform, createPlatformOrderService, type Platform } from '../../infra/compose.ts';
import type { OrderService } from '../../shared/app/order-service.ts';
import { EMBEDDED_CONFIG, parseConfig } from '../../shared/config/schema.ts';
import { toDec } from '../../shared/domain/decimal.ts';
import type { OrderStatus } from '../../shared/domain/types.ts';
import { createApp } from '../../stateful/api/index.ts';
import { type SimulatedVenues, startSimulatedVenues } from '../../stateful/venues/index.ts';

let dir: string;
let platform: Platform;
let service: OrderService;
let venues: SimulatedVenues;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sim-venue-it-'));
  const config = parseConfig(EMBEDDED_CONFIG, { env: { EXEC_DATA_DIR: dir } });
  platform = await createPlatform(config, { env: {}, warn: () => undefined });
  service = createPlatformOrderService(platform);
  venues = await startSimulatedVenues({
    config,
    orders: platform.orders,
    positions: platform.positions,
    bus: platform.bus,
    clock: platform.clock,
    instruments: platform.instruments,
    market: platform.marketState,
    ledger: platform.riskLedger,
    options: { tickMs: 20 },
  });
});

afterAll(async () => {
  await venues?.stop();
  await platform?.close();
  await rm(dir, { recursive: true, force: true });
});

async function waitFor(operationId: string, statuses: OrderStatus[], timeoutMs = 15_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const detail = await service.get(operationId);
    if (detail !== null && statuses.includes(detail.order.status)) return detail;
    if (Date.now() > deadline) {
      throw new Error(
        `${operationId} is ${detail?.order.status ?? 'missing'}, waited for ${statuses.join('/')}`,
      );
    }
    await new Promise((r) => setTimeout(r, 20));
  }
}

const base = {
  instrument_key: 'BINANCE-SPOT:SPOT_PAIR:BTC-USDT',
  side: 'BUY',
  price: null,
  order_type: 'MARKET',
  time_in_force: 'GTC',
  strategy_id: 'it-sim-venue',
  exec_algorithm: 'NORMAL',
  exec_algorithm_params: {},
};

describe('simulated venue in the embedded stack', () => {
  it('starts one venue per SIMULATED venue and reports them healthy', async () => {
    expect(venues.venues.map((v) => v.id)).toEqual(['SIM', 'BINANCE-SPOT']);
    const health = await venues.health();
    expect(health.SIM?.ok).toBe(true);
    expect(health['BINANCE-SPOT']?.ok).toBe(true);
    const quotes = await platform.marketState.getQuotes([
      { venue: 'BINANCE-SPOT', instrument_key: 'BINANCE-SPOT:SPOT_PAIR:BTC-USDT' },
      { venue: 'SIM', instrument_key: 'SIM:SPOT_PAIR:BTC-USDT' },
    ]);
    expect(quotes.every((q) => q !== null && q.asks.length > 0 && q.bids.length > 0)).toBe(true);
  });

  it('a MARKET order goes from submit to FILLED, with fills, a position and the reservation released', async () => {
    const outcome = await service.submit(
      { ...base, operation_id: 'IT-MKT-1', quantity: '0.01' },
      { via: 'internal' },
    );
    expect(outcome.kind).toBe('routed');
    const detail = await waitFor('IT-MKT-1', ['FILLED', 'REJECTED', 'CANCELED', 'DENIED']);
    expect(detail.order.status).toBe('FILLED');
    expect(detail.fills.length).toBeGreaterThan(0);
    expect(detail.fills.reduce((s, f) => s.plus(f.quantity), toDec(0)).eq('0.01')).toBe(true);
    const types = detail.timeline.map((e) => e.type);
    expect(types.slice(0, 5)).toEqual([
      'OrderReceived',
      'OrderRiskApproved',
      'OrderRouted',
      'OrderSubmitted',
      'OrderAccepted',
    ]);
    expect(types.at(-1)).toBe('OrderFilled');
    const venue = detail.order.venue ?? '';
    const positions = await platform.positions.list({ instrument_key: base.instrument_key });
    expect(positions.find((p) => p.account_id === detail.order.account_id)?.venues[venue]).toBe('0.01');
    const ledger = await platform.riskLedger.get('global');
    expect(ledger.open['IT-MKT-1']).toBeUndefined();
    // The same operation again is the same order.
    expect(
      (await service.submit({ ...base, operation_id: 'IT-MKT-1', quantity: '0.01' }, { via: 'internal' }))
        .kind,
    ).toBe('duplicate');
  });

  it('a TWAP parent shows its child fills on GET /api/orders/:operation_id', async () => {
    const app = createApp({
      orders: service,
      positions: platform.positions,
      health: { checks: {}, venues: () => venues.health() },
    });
    const res = await app.request('/api/orders', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        ...base,
        operation_id: 'IT-TWAP-1',
        quantity: '0.002',
        exec_algorithm: 'TWAP',
        exec_algorithm_params: { duration_sec: 2, max_slices: 2 },
      }),
    });
    expect(res.status).toBe(201);
    await waitFor('IT-TWAP-1', ['FILLED', 'EXPIRED', 'REJECTED', 'CANCELED']);
    const got = await app.request('/api/orders/IT-TWAP-1');
    expect(got.status).toBe(200);
    const body = JSON.stringify(await got.json());
    expect(body).toContain('"FILLED"');
    expect(body).toMatch(/-S1-F1/);
    expect(body).toMatch(/-S2-F1/);
    const health = await app.request('/api/health');
    expect(JSON.stringify(await health.json())).toContain('venue:SIM');
  });

  it('a LIMIT far from the market rests, and DELETE-style cancel ends it CANCELED', async () => {
    const outcome = await service.submit(
      { ...base, operation_id: 'IT-LMT-1', quantity: '0.001', order_type: 'LIMIT', price: '58000' },
      { via: 'internal' },
    );
    expect(outcome.kind).toBe('routed');
    await waitFor('IT-LMT-1', ['ACCEPTED']);
    const cancel = await service.cancel(
      { operation_id: 'IT-LMT-1', reason: 'integration test' },
      { via: 'internal' },
    );
    expect(cancel.kind).toBe('cancel_requested');
    const detail = await waitFor('IT-LMT-1', ['CANCELED', 'FILLED']);
    expect(detail.order.status).toBe('CANCELED');
    expect((await platform.riskLedger.get('global')).open['IT-LMT-1']).toBeUndefined();
  });
});
