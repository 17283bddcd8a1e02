/**
 * `npm start`'s SIMULATED venues as the service runs them: `start()` (stateful/main.ts) on the
 * embedded configuration (local journaled stores in a temp folder, the in-process bus, the embedded
 * market state, risk ledger and instrument catalog) with SIM and BINANCE-SPOT both SIMULATED, so both
 * run behind the venue edge as ShadowVenues on the seeded moving market (stateful/edge/runtime.ts,
 * stateful/venues/simulated/data-venue.ts), on the wall clock. Orders go in through the OrderService
 * and the HTTP API and are watched to their end.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPlatformOrderService } from '../../infra/compose.ts';
import type { OrderService } from '../../shared/app/order-service.ts';
import { EMBEDDED_CONFIG, parseConfig } from '../../shared/config/schema.ts';
import { toDec } from '../../shared/domain/decimal.ts';
import type { OrderStatus } from '../../shared/domain/types.ts';
import { type RunningService, start } from '../../stateful/main.ts';
import { silentLogger } from '../../stateful/observability/logger/index.ts';
import { eventually } from './edge/support.ts';

let dir: string;
let running: RunningService;
let service: OrderService;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sim-venue-it-'));
  const env = { EXEC_DATA_DIR: dir };
  const config = parseConfig(EMBEDDED_CONFIG, { env });
  running = await start({ config, env, port: 0, host: '127.0.0.1', logger: silentLogger() });
  service = createPlatformOrderService(running.platform);
});

afterAll(async () => {
  await running?.close();
  await rm(dir, { recursive: true, force: true });
});

async function waitFor(operationId: string, statuses: OrderStatus[], timeoutMs = 20_000) {
  return eventually(
    async () => {
      const detail = await service.get(operationId);
      return detail !== null && statuses.includes(detail.order.status) ? detail : undefined;
    },
    timeoutMs,
    `${operationId} ${statuses.join('/')}`,
  );
}

const api = (path: string, init: { method: string; body: unknown } | undefined = undefined) =>
  fetch(
    `${running.url}${path}`,
    init === undefined
      ? undefined
      : {
          method: init.method,
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(init.body),
        },
  );

const childrenSent = async (venue: string): Promise<number> => {
  const text = await (await api('/metrics')).text();
  const m = text.match(
    new RegExp(`exec_edge_orders_total\\{venue="${venue}",kind="child",outcome="sent"\\} (\\d+)`),
  );
  return Number(m?.[1] ?? 0);
};

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
const sim = { ...base, instrument_key: 'SIM:SPOT_PAIR:BTC-USDT', venue: 'SIM' };

/** A TWAP BUY of 0.002 on SIM in 2 slices over `durationSec`, through the HTTP API. */
const postTwap = (operationId: string, durationSec: number) =>
  api('/api/orders', {
    method: 'POST',
    body: {
      ...sim,
      operation_id: operationId,
      quantity: '0.002',
      exec_algorithm: 'TWAP',
      exec_algorithm_params: { duration_sec: durationSec, max_slices: 2 },
    },
  });

describe('SIMULATED venues behind the venue edge (npm start)', () => {
  it('runs every SIMULATED venue in the edge, healthy, publishing books with depth for the router', async () => {
    const edge = running.edge;
    expect(edge).not.toBeNull();
    const health = await edge?.health();
    expect(Object.keys(health ?? {}).sort()).toEqual(['BINANCE-SPOT', 'SIM']);
    expect(health?.SIM?.ok).toBe(true);
    expect(health?.['BINANCE-SPOT']?.ok).toBe(true);
    const quotes = await eventually(async () => {
      const qs = await running.platform.marketState.getQuotes([
        { venue: 'BINANCE-SPOT', instrument_key: 'BINANCE-SPOT:SPOT_PAIR:BTC-USDT' },
        { venue: 'SIM', instrument_key: 'SIM:SPOT_PAIR:BTC-USDT' },
      ]);
      return qs.every((q) => q !== null) ? qs : undefined;
    });
    for (const q of quotes) {
      expect(q?.asks.length).toBeGreaterThan(0);
      expect(q?.bids.length).toBeGreaterThan(0);
      expect(toDec(q?.ask ?? '0').gt(q?.bid ?? '0')).toBe(true);
    }
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
    // The position and the released reservation follow the fill's storage at once, not atomically.
    await expect
      .poll(
        async () =>
          (await running.platform.positions.list({ instrument_key: base.instrument_key })).find(
            (p) => p.account_id === detail.order.account_id,
          )?.venues[venue],
        { timeout: 10_000 },
      )
      .toBe('0.01');
    await expect
      .poll(async () => (await running.platform.riskLedger.get('global')).open['IT-MKT-1'], {
        timeout: 10_000,
      })
      .toBeUndefined();
    // The same operation again is the same order.
    expect(
      (await service.submit({ ...base, operation_id: 'IT-MKT-1', quantity: '0.01' }, { via: 'internal' }))
        .kind,
    ).toBe('duplicate');
  });

  it('a TWAP parent on SIM shows one child per slice and its fills on GET /api/orders/:operation_id', async () => {
    const sent = await childrenSent('SIM');
    const res = await postTwap('IT-TWAP-1', 2);
    expect(res.status).toBe(201);
    const detail = await waitFor('IT-TWAP-1', ['FILLED', 'EXPIRED', 'REJECTED', 'CANCELED']);
    expect(detail.order).toMatchObject({ status: 'FILLED', filled_quantity: '0.002', venue: 'SIM' });
    const got = await api('/api/orders/IT-TWAP-1');
    expect(got.status).toBe(200);
    const body = (await got.json()) as {
      status: string;
      fills: Array<{ fill_id: string; quantity: string }>;
    };
    expect(body.status).toBe('FILLED');
    expect(new Set(body.fills.map((f) => f.fill_id.replace(/-T\d+$/, ''))).size).toBe(2);
    expect(body.fills.reduce((s, f) => s.plus(f.quantity), toDec(0)).eq('0.002')).toBe(true);
    expect(await childrenSent('SIM')).toBe(sent + 2);
    const health = await api('/api/health');
    expect(JSON.stringify(await health.json())).toContain('venue:SIM');
  });

  it('a LIMIT far from the market rests on SIM, and DELETE /api/orders/:id ends it CANCELED', async () => {
    const outcome = await service.submit(
      { ...sim, operation_id: 'IT-LMT-1', quantity: '0.001', order_type: 'LIMIT', price: '58000' },
      { via: 'internal' },
    );
    expect(outcome.kind).toBe('routed');
    await waitFor('IT-LMT-1', ['ACCEPTED']);
    const cancel = await fetch(`${running.url}/api/orders/IT-LMT-1`, { method: 'DELETE' });
    expect([200, 202]).toContain(cancel.status);
    const detail = await waitFor('IT-LMT-1', ['CANCELED', 'FILLED']);
    expect(detail.order).toMatchObject({ status: 'CANCELED', filled_quantity: '0' });
    expect(detail.timeline.map((e) => e.type).slice(-2)).toEqual(['OrderCancelRequested', 'OrderCanceled']);
    // The reservation is released right after the final status is stored.
    await expect
      .poll(async () => (await running.platform.riskLedger.get('global')).open['IT-LMT-1'], {
        timeout: 10_000,
      })
      .toBeUndefined();
  });

  it('honours HALTED mid-TWAP on SIM: no slice is sent while halted; ACTIVE resumes and the parent fills', async () => {
    const sent = await childrenSent('SIM');
    const t0 = Date.now();
    const res = await postTwap('IT-TWAP-HALT', 20);
    expect(res.status).toBe(201);
    // The first slice goes at once; the second is due 10 s later.
    await eventually(async () => {
      const d = await service.get('IT-TWAP-HALT');
      return d?.order.filled_quantity === '0.001' ? d : undefined;
    });
    const halt = await api('/api/trading-state', {
      method: 'PUT',
      body: { state: 'HALTED', reason: 'integration test' },
    });
    expect(halt.status).toBe(200);
    // Past the second slice's time: still halted, nothing more sent or filled.
    await new Promise((r) => setTimeout(r, Math.max(0, t0 + 12_000 - Date.now())));
    expect((await service.get('IT-TWAP-HALT'))?.order).toMatchObject({ filled_quantity: '0.001' });
    expect(await childrenSent('SIM')).toBe(sent + 1);
    const resume = await api('/api/trading-state', {
      method: 'PUT',
      body: { state: 'ACTIVE', reason: 'integration test over' },
    });
    expect(resume.status).toBe(200);
    const detail = await waitFor('IT-TWAP-HALT', ['FILLED', 'EXPIRED', 'CANCELED', 'REJECTED'], 30_000);
    expect(detail.order).toMatchObject({ status: 'FILLED', filled_quantity: '0.002' });
    expect(await childrenSent('SIM')).toBe(sent + 2);
  }, 60_000);
});
