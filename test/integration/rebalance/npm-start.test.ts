/**
 * `npm start` (the embedded default) with the weights-folder watcher, for real: a weights file
 * written to `<data_dir>/weights/` is planned on the live market state and the venue's cash,
 * published to orders.requests, taken by the ordinary intake (risk, routing) and filled; a bad file
 * is rejected with its reasons and makes no order; saving the same bytes again makes no second order.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type MainProcess, startMainProcess } from '../support/main-process.ts';

const BTC = 'BINANCE-SPOT:SPOT_PAIR:BTC-USDT';
const ETH = 'BINANCE-SPOT:SPOT_PAIR:ETH-USDT';

async function eventually<T>(fn: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 200));
  }
}

interface OrderRow {
  operation_id: string;
  instrument_key: string;
  side: string;
  quantity: string;
  status: string;
  strategy_id: string;
}

describe('npm start: the weights-folder watcher', () => {
  let dataDir: string;
  let service: MainProcess;

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'rebalance-npm-start-'));
    service = await startMainProcess(
      { EXEC_DATA_DIR: dataDir, EXEC_CONFIG: '', LOG_LEVEL: 'info', METADATA_SERVER_DETECTION: 'none' },
      { startTimeoutMs: 60_000 },
    );
    await eventually(async () =>
      service.lines.some((l) => String(l.message).startsWith('watching ')) ? true : undefined,
    );
  });

  afterAll(async () => {
    if (service && service.child.exitCode === null) {
      service.child.kill('SIGKILL');
      await service.exited;
    }
    await rm(dataDir, { recursive: true, force: true });
  });

  const orders = async (): Promise<OrderRow[]> => {
    const res = await fetch(`${service.url}/api/orders?strategy_id=rb-npm`);
    return ((await res.json()) as { orders: OrderRow[] }).orders;
  };

  it('a weights file becomes filled orders through the ordinary order path', async () => {
    const text = JSON.stringify({
      schema_version: 1,
      strategy_id: 'rb-npm',
      as_of: '2026-12-07T00:00:00Z',
      weights: { [BTC]: '0.3', [ETH]: '0.2' },
    });
    await writeFile(join(dataDir, 'weights', 'w1.json'), text);
    const filled = await eventually(async () => {
      const o = await orders();
      return o.length === 2 && o.every((x) => x.status === 'FILLED') ? o : undefined;
    });
    expect(filled.map((o) => [o.instrument_key, o.side]).sort()).toEqual([
      [BTC, 'BUY'],
      [ETH, 'BUY'],
    ]);
    expect(filled.every((o) => o.operation_id.startsWith('RB-'))).toBe(true);
    const line = service.lines.find((l) => l.status === 'PUBLISHED');
    expect(line).toMatchObject({ strategy_id: 'rb-npm', orders: 2 });
    const record = JSON.parse(
      await readFile(
        join(dataDir, 'blobs', 'portfolio', 'rb-npm', 'rebalances', `${String(line?.rebalance_id)}.json`),
        'utf8',
      ),
    );
    expect(record.prices.map((p: { source: string }) => p.source)).toEqual(['live_mid', 'live_mid']);

    // Every order final → portfolio_actual_state.json: holdings, NAV, actual vs target weights.
    const statePath = join(dataDir, 'blobs', 'portfolio', 'rb-npm', 'portfolio_actual_state.json');
    const state = await eventually(async () => {
      try {
        return JSON.parse(await readFile(statePath, 'utf8'));
      } catch {
        return undefined;
      }
    });
    expect(state).toMatchObject({
      schema_version: 1,
      strategy_id: 'rb-npm',
      rebalance_id: line?.rebalance_id,
    });
    expect(Number(state.nav)).toBeGreaterThan(0);
    expect(state.orders.map((o: { status: string }) => o.status)).toEqual(['FILLED', 'FILLED']);
    const btc = state.instruments.find((x: { instrument_key: string }) => x.instrument_key === BTC);
    expect(btc.target_weight).toBe('0.3');
    expect(Math.abs(Number(btc.actual_weight) - 0.3 * 0.98)).toBeLessThan(0.01);
    expect(service.lines.some((l) => l.event === 'PortfolioActualStateWritten')).toBe(true);

    // The same bytes under another name: a duplicate, no second order.
    await writeFile(join(dataDir, 'weights', 'w1-copy.json'), text);
    await eventually(async () => (service.lines.some((l) => l.status === 'DUPLICATE') ? true : undefined));
    expect((await orders()).length).toBe(2);
  });

  it('a bad weights file is rejected with its reasons and makes no order', async () => {
    await writeFile(
      join(dataDir, 'weights', 'bad.json'),
      JSON.stringify({ schema_version: 1, strategy_id: 'rb-npm', as_of: 'today', weights: { [BTC]: '1.5' } }),
    );
    const line = await eventually(async () => service.lines.find((l) => l.status === 'INVALID'));
    expect(line.issues).toEqual([
      { path: 'as_of', message: 'must be an ISO-8601 time with a zone, e.g. "2026-12-07T00:00:00Z"' },
      { path: `weights.${BTC}`, message: 'a weight must be between 0 and 1' },
    ]);
    expect((await orders()).length).toBe(2);
  });
});
