/**
 * A rebalance backtest on tick data end to end: `npm run data:generate` makes a small two-asset
 * tick market (BTC, ETH, 2025-07-01 and -02); daily bars of the same instruments are written from
 * those ticks (each day's last trade) plus one day past them; `npm run rebalance -- backtest
 * --ticks` runs two weights files with a TWAP. The first rebalance (the close of 07-01 = 07-02
 * 00:00) runs BTC on its ticks — a window of the TWAP, its child orders, the matching engine —
 * and ETH on daily bars (its 07-02 ticks are removed); the second (07-03 00:00, no ticks that day)
 * runs on daily bars. The five files are written and summary.json says which ran where.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { readParquetBytes } from '../../../infra/parquet/reader.ts';
import { encodeDailyBars } from '../../../infra/rebalance/daily-data.ts';
import { openBlobLocation } from '../../../infra/ticks/blob-location.ts';
import { loadWindow } from '../../../infra/ticks/loader.ts';
import { main as generate } from '../../../scripts/generate-data.ts';
import { main } from '../../../scripts/rebalance.ts';
import { type DailyBars, dailyBarsKey } from '../../../shared/data/daily.ts';
import { tickFileKey } from '../../../shared/data/tick-layout.ts';
import { isoToNanos } from '../../../shared/domain/time.ts';

const BTC = 'BINANCE-SPOT:SPOT_PAIR:BTC-USDT';
const ETH = 'BINANCE-SPOT:SPOT_PAIR:ETH-USDT';
const DAY_NS = 86_400_000_000_000n;
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'rebalance-ticks-'));
  vi.spyOn(console, 'log').mockImplementation(() => {});
  await generate([
    'node',
    'generate-data',
    '--out',
    `${dir}/data`,
    '--days',
    '2',
    '--start',
    '2025-07-01',
    '--seed',
    '7',
    '--trades-per-day',
    '20000',
    '--instruments',
    `${BTC},${ETH}`,
    '--signals-per-day',
    '0',
    '--quiet',
  ]);
  vi.restoreAllMocks();
  const data = await openBlobLocation(`${dir}/data`);
  // Daily bars from the ticks: each day's last trade is its close (ts_event = the next midnight).
  for (const key of [BTC, ETH]) {
    const closes: number[] = [];
    for (const day of ['2025-07-01', '2025-07-02']) {
      const from = isoToNanos(`${day}T00:00:00Z`);
      const w = await loadWindow(data, {
        instrument_key: key,
        fromNs: from,
        toNs: from + DAY_NS,
        kinds: ['trades'],
      });
      const n = w.trades?.price.length ?? 0;
      closes.push(w.trades?.price[n - 1] as number);
    }
    closes.push((closes[1] as number) * 1.01);
    const bars: DailyBars = {
      instrument_key: key,
      ts: new BigInt64Array([
        isoToNanos('2025-07-02T00:00:00Z'),
        isoToNanos('2025-07-03T00:00:00Z'),
        isoToNanos('2025-07-04T00:00:00Z'),
      ]),
      open: Float64Array.from(closes),
      high: Float64Array.from(closes),
      low: Float64Array.from(closes),
      close: Float64Array.from(closes),
      volume: new Float64Array(3).fill(1000),
    };
    await data.put(dailyBarsKey(key), encodeDailyBars(bars));
  }
  // ETH has no ticks on 07-02: its orders that day fall back to the daily bars.
  for (const kind of ['trades', 'quotes'] as const) await data.delete(tickFileKey(ETH, '2025-07-02', kind));
  const weights = (asOf: string, btc: string, eth: string) =>
    `${JSON.stringify({
      schema_version: 1,
      strategy_id: 'rb-ticks',
      as_of: asOf,
      weights: { [BTC]: btc, [ETH]: eth },
      exec_algorithm: 'TWAP',
      exec_algorithm_params: { duration_sec: 120, max_slices: 4 },
    })}\n`;
  await data.put('weights/rb-ticks/2025-07-01.json', weights('2025-07-01T12:00:00Z', '0.4', '0.3'));
  await data.put('weights/rb-ticks/2025-07-02.json', weights('2025-07-02T12:00:00Z', '0.2', '0.5'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('rebalance backtest on tick data', () => {
  it('runs orders on ticks where they exist, on daily bars otherwise, and writes the five files', async () => {
    vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    const code = await main([
      'backtest',
      '--weights',
      `${dir}/data/weights/rb-ticks`,
      '--data',
      `${dir}/data`,
      '--out',
      `${dir}/out`,
      '--run-id',
      'ticks1',
      '--ticks',
      '--window-minutes',
      '5',
    ]);
    vi.restoreAllMocks();
    expect(code).toBe(0);
    const root = `${dir}/out/backtest_results/ticks1`;
    const summary = JSON.parse(await readFile(`${root}/summary.json`, 'utf8'));
    expect(summary.signals.applied).toBe(2);
    expect(summary.execution.tick_data).toBe(true);
    expect(summary.execution.on_ticks).toEqual([{ instrument_key: BTC, day: '2025-07-02', orders: 1 }]);
    expect(summary.execution.on_daily_bars).toEqual([
      { instrument_key: ETH, day: '2025-07-02', orders: 1 },
      { instrument_key: BTC, day: '2025-07-03', orders: 1 },
      { instrument_key: ETH, day: '2025-07-03', orders: 1 },
    ]);
    // The TWAP sliced the BTC order into child orders that filled against the ticks.
    expect(summary.child_orders).toBeGreaterThanOrEqual(2);
    expect(summary.windows.total).toBe(1);
    expect(summary.bytes_read).toBeGreaterThan(0);
    expect(summary.divergence.annualized_return_divergence).not.toBeNull();

    // Four rebalance orders, the BTC one followed by its TWAP's children (parent_order_id set).
    const orders = await readParquetBytes(new Uint8Array(await readFile(`${root}/orders.parquet`)));
    expect(Number(orders.metadata.num_rows)).toBe(4 + summary.child_orders);
    const parents = Array.from(orders.columns.get('parent_order_id') as ArrayLike<string | null>);
    expect(parents.filter((p) => p !== null)).toHaveLength(summary.child_orders);
    // Tick fills pay the spread: slippage against the planned close is not zero.
    expect(summary.slippage_bps).not.toBe(0);
    const fills = await readParquetBytes(new Uint8Array(await readFile(`${root}/fills.parquet`)));
    // Several TWAP slices for BTC, one bar fill for each other order.
    expect(Number(fills.metadata.num_rows)).toBeGreaterThanOrEqual(summary.child_orders + 3 - 1);
    const equity = await readParquetBytes(new Uint8Array(await readFile(`${root}/equity_curve.parquet`)));
    expect(Number(equity.metadata.num_rows)).toBe(3);
    const positions = await readParquetBytes(new Uint8Array(await readFile(`${root}/positions.parquet`)));
    expect(Number(positions.metadata.num_rows)).toBeGreaterThan(0);
  });
});
