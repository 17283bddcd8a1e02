/**
 * `npm start` with the embedded default, for real: the service process runs the local exchange
 * in-process and BINANCE-SPOT as a LIVE venue on it. An order POSTed to the API is routed to
 * BINANCE-SPOT, sent through the real ccxt client (signed REST, WebSocket streams), filled by the
 * exchange's matching engine, and visible in the API with the exchange's order id and its fills.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type MainProcess, startMainProcess } from '../support/main-process.ts';
import { eventually } from './support.ts';

type Service = MainProcess;

function startService(dataDir: string): Promise<Service> {
  return startMainProcess(
    {
      EXEC_DATA_DIR: dataDir,
      EXEC_CONFIG: '',
      EXEC_LOCAL_EXCHANGE: '',
      BINANCE_SPOT_API_KEY: '',
      BINANCE_SPOT_API_SECRET: '',
      LOG_LEVEL: 'info',
      METADATA_SERVER_DETECTION: 'none',
    },
    { startTimeoutMs: 60_000 },
  );
}

interface OrderView {
  status: string;
  venue: string | null;
  fills: Array<{ fill_id: string; quantity: string; price: string }>;
  order: { venue_order_id: string | null; client_order_id: string | null; filled_quantity: string };
  timeline: Array<{ type: string }>;
}

describe('npm start: a LIVE BINANCE-SPOT on the in-process local exchange', () => {
  let dataDir: string;
  let service: Service;

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'edge-npm-start-'));
    service = await startService(dataDir);
  });

  afterAll(async () => {
    if (service && service.child.exitCode === null) {
      service.child.kill('SIGKILL');
      await service.exited;
    }
    await rm(dataDir, { recursive: true, force: true });
  });

  const post = (body: unknown) =>
    fetch(`${service.url}/api/orders`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(body),
    });
  const get = async (op: string) =>
    (await (await fetch(`${service.url}/api/orders/${op}`)).json()) as OrderView;

  it('is ready: the venue connected, the API healthy', async () => {
    expect(
      service.lines.some((l) =>
        String(l.message).startsWith('local exchange listening on http://127.0.0.1:'),
      ),
    ).toBe(true);
    const ready = await fetch(`${service.url}/readyz`);
    expect(ready.status).toBe(200);
    // Both venues run behind the edge: SIM as a ShadowVenue on the seeded moving market.
    const body = (await ready.json()) as { status: string; venues: Array<{ venue: string; mode: string }> };
    expect(body.status).toBe('ready');
    expect(body.venues.map((v) => [v.venue, v.mode]).sort()).toEqual([
      ['BINANCE-SPOT', 'LIVE'],
      ['SIM', 'SIMULATED'],
    ]);
    expect((await fetch(`${service.url}/healthz`)).status).toBe(200);
    const health = (await (await fetch(`${service.url}/api/health`)).json()) as {
      components: Record<string, { ok: boolean; detail?: string }>;
    };
    expect(health.components['venue:BINANCE-SPOT']).toMatchObject({
      ok: true,
      detail: expect.stringContaining('LIVE'),
    });
  });

  it('a MARKET order goes through ccxt to the local exchange and comes back FILLED with its venue order id and fills', async () => {
    const res = await post({
      operation_id: 'OP-START-1',
      instrument_key: 'BINANCE-SPOT:SPOT_PAIR:BTC-USDT',
      side: 'BUY',
      quantity: '0.01',
      order_type: 'MARKET',
      strategy_id: 'demo',
      venue: 'BINANCE-SPOT',
    });
    expect(res.status).toBe(201);
    const o = await eventually(async () => {
      const v = await get('OP-START-1');
      return v.status === 'FILLED' ? v : undefined;
    });
    expect(o.venue).toBe('BINANCE-SPOT');
    expect(o.order.venue_order_id).toMatch(/^\d+$/);
    expect(o.order.filled_quantity).toBe('0.01');
    expect(o.fills.length).toBeGreaterThan(0);
    expect(o.fills.every((f) => /-T\d+$/.test(f.fill_id))).toBe(true);
    expect(o.timeline.map((e) => e.type)).toEqual(
      expect.arrayContaining(['OrderSubmitted', 'OrderAccepted', 'OrderFilled']),
    );
    const positions = (await (await fetch(`${service.url}/api/positions`)).json()) as {
      positions: Array<{ account_id: string; quantity: string }>;
    };
    expect(positions.positions.find((p) => p.account_id === 'BINANCE-SPOT')?.quantity).toBe('0.01');
  });

  it('a TWAP runs on the durable scheduler: one exchange order per slice, fills on the parent', async () => {
    const res = await post({
      operation_id: 'OP-START-TWAP',
      instrument_key: 'BINANCE-SPOT:SPOT_PAIR:BTC-USDT',
      side: 'BUY',
      quantity: '0.03',
      order_type: 'MARKET',
      strategy_id: 'demo',
      venue: 'BINANCE-SPOT',
      exec_algorithm: 'TWAP',
      exec_algorithm_params: { duration_sec: 3, max_slices: 3 },
    });
    expect(res.status).toBe(201);
    const o = await eventually(async () => {
      const v = await get('OP-START-TWAP');
      return v.status === 'FILLED' ? v : undefined;
    });
    expect(o.order.filled_quantity).toBe('0.03');
    expect(new Set(o.fills.map((f) => f.fill_id.replace(/-T\d+$/, ''))).size).toBe(3);
    const metrics = await (await fetch(`${service.url}/metrics`)).text();
    expect(metrics).toMatch(/exec_edge_orders_total\{venue="BINANCE-SPOT",kind="child",outcome="sent"\} 3/);
  });

  it('SIM runs through the edge like production: a MARKET order FILLED, a TWAP in slices on the durable scheduler', async () => {
    const res = await post({
      operation_id: 'OP-START-SIM',
      instrument_key: 'SIM:SPOT_PAIR:BTC-USDT',
      side: 'BUY',
      quantity: '0.02',
      order_type: 'MARKET',
      strategy_id: 'demo',
      venue: 'SIM',
    });
    expect(res.status).toBe(201);
    const o = await eventually(async () => {
      const v = await get('OP-START-SIM');
      return v.status === 'FILLED' ? v : undefined;
    });
    expect(o.venue).toBe('SIM');
    expect(o.order.filled_quantity).toBe('0.02');
    expect(o.fills.length).toBeGreaterThan(0);
    const twap = await post({
      operation_id: 'OP-START-SIM-TWAP',
      instrument_key: 'SIM:SPOT_PAIR:BTC-USDT',
      side: 'BUY',
      quantity: '0.03',
      order_type: 'MARKET',
      strategy_id: 'demo',
      venue: 'SIM',
      exec_algorithm: 'TWAP',
      exec_algorithm_params: { duration_sec: 3, max_slices: 3 },
    });
    expect(twap.status).toBe(201);
    const t = await eventually(async () => {
      const v = await get('OP-START-SIM-TWAP');
      return v.status === 'FILLED' ? v : undefined;
    });
    expect(new Set(t.fills.map((f) => f.fill_id.replace(/-T\d+$/, ''))).size).toBe(3);
    const metrics = await (await fetch(`${service.url}/metrics`)).text();
    expect(metrics).toMatch(/exec_edge_orders_total\{venue="SIM",kind="child",outcome="sent"\} 3/);
  });

  it('stops cleanly on SIGTERM (exit 0)', async () => {
    service.child.kill('SIGTERM');
    expect(await service.exited).toBe(0);
  });
});
