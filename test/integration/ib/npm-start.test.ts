/**
 * `EXEC_LOCAL_TWS=live npm start`: the service process runs the local TWS in-process and an IBKR
 * venue LIVE on it. An ETF order POSTed to the API goes through the IBKR adapter (the real
 * `@stoqey/ib` client) to the local TWS and comes back FILLED with IB's order id, its fill and the
 * position.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toDec } from '../../../shared/domain/decimal.ts';
import { eventually } from '../edge/support.ts';
import { type MainProcess, startMainProcess } from '../support/main-process.ts';

const ES = 'IBKR:FUTURE:ES-USD-20270319@CME';

/** The service process with the embedded default and `EXEC_LOCAL_TWS=mode` (the local exchange off). */
function serviceWith(mode: 'live' | 'shadow'): { start(): Promise<MainProcess>; stop(): Promise<void> } {
  let dataDir: string | null = null;
  let service: MainProcess | null = null;
  return {
    async start() {
      dataDir = await mkdtemp(join(tmpdir(), `ib-npm-start-${mode}-`));
      service = await startMainProcess(
        {
          EXEC_DATA_DIR: dataDir,
          EXEC_CONFIG: '',
          EXEC_LOCAL_EXCHANGE: 'off',
          EXEC_LOCAL_TWS: mode,
          LOG_LEVEL: 'info',
          METADATA_SERVER_DETECTION: 'none',
        },
        { startTimeoutMs: 60_000 },
      );
      return service;
    },
    async stop() {
      if (service !== null && service.child.exitCode === null) {
        service.child.kill('SIGKILL');
        await service.exited;
      }
      if (dataDir !== null) await rm(dataDir, { recursive: true, force: true });
    },
  };
}

interface OrderView {
  status: string;
  venue: string | null;
  fills: Array<{ fill_id: string; quantity: string; price: string; fee?: string }>;
  order: { venue_order_id: string | null; filled_quantity: string };
}

describe('npm start with EXEC_LOCAL_TWS=live: an IBKR venue LIVE on the in-process local TWS', () => {
  const run = serviceWith('live');
  let service: MainProcess;
  beforeAll(async () => {
    service = await run.start();
  });
  afterAll(() => run.stop());

  it('is ready with IBKR LIVE, and an ETF market order is FILLED through the adapter with its fill and position', async () => {
    expect(service.lines.some((l) => String(l.message).startsWith('local TWS listening on 127.0.0.1:'))).toBe(
      true,
    );
    const ready = (await (await fetch(`${service.url}/readyz`)).json()) as {
      status: string;
      venues: Array<{ venue: string; mode: string }>;
    };
    expect(ready.status).toBe('ready');
    expect(ready.venues.map((v) => [v.venue, v.mode])).toContainEqual(['IBKR', 'LIVE']);
    const res = await fetch(`${service.url}/api/orders`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({
        operation_id: 'OP-IB-1',
        instrument_key: 'IBKR:STOCK:SPY-USD@ARCA',
        side: 'BUY',
        quantity: '10',
        order_type: 'MARKET',
        strategy_id: 'demo',
        venue: 'IBKR',
      }),
    });
    expect(res.status).toBe(201);
    const o = await eventually(async () => {
      const v = (await (await fetch(`${service.url}/api/orders/OP-IB-1`)).json()) as OrderView;
      return v.status === 'FILLED' ? v : undefined;
    });
    expect(o.venue).toBe('IBKR');
    expect(o.order.venue_order_id).toMatch(/^\d+$/);
    expect(o.order.filled_quantity).toBe('10');
    expect(o.fills.reduce((n, f) => n + Number(f.quantity), 0)).toBe(10);
    // The position follows the final status (the recorder applies the fill).
    const position = await eventually(async () => {
      const body = (await (await fetch(`${service.url}/api/positions`)).json()) as {
        positions: Array<{ account_id: string; instrument_key: string; quantity: string }>;
      };
      return body.positions.find(
        (p) =>
          p.account_id === 'IBKR' && p.instrument_key === 'IBKR:STOCK:SPY-USD@ARCA' && p.quantity === '10',
      );
    });
    expect(position.quantity).toBe('10');
  });

  it('an ES round trip is valued with the contract size 50: realized PnL = (sell − buy) × 50', async () => {
    const place = async (id: string, side: 'BUY' | 'SELL') => {
      const res = await fetch(`${service.url}/api/orders`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({
          operation_id: id,
          instrument_key: ES,
          side,
          quantity: '1',
          order_type: 'MARKET',
          strategy_id: 'es-demo',
          venue: 'IBKR',
        }),
      });
      expect(res.status).toBe(201);
      return eventually(async () => {
        const v = (await (await fetch(`${service.url}/api/orders/${id}`)).json()) as OrderView;
        return v.status === 'FILLED' ? v : undefined;
      });
    };
    const buy = await place('OP-IB-ES-1', 'BUY');
    const sell = await place('OP-IB-ES-2', 'SELL');
    const px = (o: OrderView) => toDec(o.fills[0]?.price ?? 'NaN');
    expect(buy.fills).toHaveLength(1);
    expect(sell.fills).toHaveLength(1);
    const want = px(sell).minus(px(buy)).times(50);
    const position = await eventually(async () => {
      const body = (await (await fetch(`${service.url}/api/positions`)).json()) as {
        positions: Array<{
          account_id: string;
          instrument_key: string;
          quantity: string;
          realized_pnl: string;
        }>;
      };
      return body.positions.find(
        (p) => p.account_id === 'IBKR' && p.instrument_key === ES && p.quantity === '0',
      );
    });
    expect(toDec(position.realized_pnl).eq(want)).toBe(true);
  });
});

describe('npm start with EXEC_LOCAL_TWS=shadow: IBKR SHADOW on the local TWS market data', () => {
  const run = serviceWith('shadow');
  let service: MainProcess;
  beforeAll(async () => {
    service = await run.start();
  });
  afterAll(() => run.stop());

  it('is ready with IBKR SHADOW; an ETF order fills in our engine at the TWS quotes', async () => {
    const ready = (await (await fetch(`${service.url}/readyz`)).json()) as {
      venues: Array<{ venue: string; mode: string }>;
    };
    expect(ready.venues.map((v) => [v.venue, v.mode])).toContainEqual(['IBKR', 'SHADOW']);
    const res = await fetch(`${service.url}/api/orders`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({
        operation_id: 'OP-IB-SH-1',
        instrument_key: 'IBKR:STOCK:SPY-USD@ARCA',
        side: 'BUY',
        quantity: '10',
        order_type: 'MARKET',
        strategy_id: 'demo',
        venue: 'IBKR',
      }),
    });
    expect(res.status).toBe(201);
    const o = await eventually(async () => {
      const v = (await (await fetch(`${service.url}/api/orders/OP-IB-SH-1`)).json()) as OrderView;
      return v.status === 'FILLED' ? v : undefined;
    });
    expect(o.venue).toBe('IBKR');
    expect(o.order.filled_quantity).toBe('10');
    // SPY trades around 680 at the local TWS: the shadow fill took its book.
    expect(toDec(o.fills[0]?.price ?? '0').gt(100)).toBe(true);
  });
});
