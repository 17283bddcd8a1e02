/**
 * The rebalance backtest on daily bars (pure): orders go through the planner, the risk engine and the
 * bar fill model; NAV is watched; the vectorized reference agrees on a generated market.
 */
import { describe, expect, it } from 'vitest';
import { generateDailyMarket, sampleWeightsSeries } from '../../../shared/data/daily.ts';
import { toDec } from '../../../shared/domain/decimal.ts';
import { indexInstruments } from '../../../shared/domain/instrument.ts';
import type { InstrumentSpec } from '../../../shared/domain/types.ts';
import { type RebalanceBacktestInput, runRebalanceBacktest } from '../../../shared/rebalance/backtest.ts';
import { DEFAULT_REBALANCE, rebalanceIdOf } from '../../../shared/rebalance/instructions.ts';
import { annualizedReturn, runVectorized } from '../../../shared/rebalance/vectorized.ts';
import { parseWeightsFile, type WeightsFile } from '../../../shared/rebalance/weights.ts';
import type { RiskLimits } from '../../../shared/risk/limits.ts';

const LIMITS: RiskLimits = {
  enabled: true,
  max_orders_per_second: 10,
  max_orders_per_minute: 100,
  max_notional_per_order: '1000000',
  max_total_notional: '10000000',
  max_position_global: null,
  price_tolerance_bps: 500,
  min_free_balance: '0',
  per_strategy: {},
  per_instrument: {},
};

const A = 'SIM:SPOT_PAIR:AAA-USDT';
const SPEC: InstrumentSpec = {
  instrument_key: A,
  tick_size: '0.01',
  step_size: '0.001',
  min_qty: '0.001',
  max_qty: '1000000',
  min_notional: '5',
  maker_fee: '0.001',
  taker_fee: '0.001',
};
const DAY = 86_400_000_000_000n;
const T0 = 1_735_776_000_000_000_000n; // 2025-01-02T00:00:00Z

function weights(
  asOf: bigint,
  w: Record<string, string>,
): { rebalance_id: string; source: string; file: WeightsFile } {
  const doc = {
    schema_version: 1,
    strategy_id: 's',
    as_of: new Date(Number(asOf / 1_000_000n)).toISOString(),
    weights: w,
  };
  const r = parseWeightsFile(doc);
  if (!r.success) throw r.error;
  return { rebalance_id: rebalanceIdOf(JSON.stringify(doc)), source: `w-${asOf}`, file: r.data };
}

function base(over: Partial<RebalanceBacktestInput>): RebalanceBacktestInput {
  return {
    times: [T0, T0 + DAY, T0 + 2n * DAY, T0 + 3n * DAY],
    closes: new Map([[A, Float64Array.from([100, 110, 110, 110])]]),
    weights: [],
    instrument: (k) => (k === A ? SPEC : undefined),
    defaults: DEFAULT_REBALANCE,
    starting_cash: '10000',
    slippage_bps: 10,
    limits: LIMITS,
    trading_state: 'ACTIVE',
    flat_nav_snapshots: 3,
    ...over,
  };
}

describe('runRebalanceBacktest', () => {
  it('buys at the close plus slippage on the tick, pays the fee, and values the NAV at each close', () => {
    const r = runRebalanceBacktest(base({ weights: [weights(T0, { [A]: '0.5' })] }));
    // equity 10000, investable 9800, target 9800 × 0.5 / 100 = 49 → BUY 49 at 100 × 1.001 = 100.1
    expect(r.orders).toMatchObject([{ side: 'BUY', quantity: '49', status: 'FILLED' }]);
    expect(r.fills).toMatchObject([{ price: '100.1', quantity: '49', fee: '4.9049' }]);
    // cash 10000 − 4904.9 − 4.9049 = 5090.1951; NAV at 110: 5090.1951 + 5390 = 10480.1951
    expect(r.snapshots.map((s) => s.nav)).toEqual(['9990.1951', '10480.1951', '10480.1951', '10480.1951']);
    expect(r.alerts).toMatchObject([{ kind: 'NAV_FLAT', snapshots: 3 }]);
    expect(r.rebalances).toMatchObject([{ status: 'APPLIED', orders: 1, denied: 0 }]);
  });

  it('a later file supersedes an earlier one due at the same close; files after the last bar are not reached', () => {
    const r = runRebalanceBacktest(
      base({
        weights: [
          weights(T0 - 1000n, { [A]: '0.9' }),
          weights(T0, { [A]: '0.1' }),
          weights(T0 + 10n * DAY, { [A]: '0.5' }),
        ],
      }),
    );
    expect(r.rebalances.map((x) => x.status)).toEqual(['SUPERSEDED', 'APPLIED', 'NOT_REACHED']);
    expect(r.orders).toMatchObject([{ quantity: '9.8' }]);
  });

  it('orders go through the risk engine: a denial is recorded, no fill', () => {
    const r = runRebalanceBacktest(
      base({
        weights: [weights(T0, { [A]: '0.5' })],
        limits: { ...LIMITS, max_notional_per_order: '1000' },
      }),
    );
    expect(r.orders[0]?.status).toBe('DENIED');
    expect(r.orders[0]?.reason).toMatch(/^max_notional_per_order/);
    expect(r.fills).toEqual([]);
  });

  it('an instrument without a definition is skipped with its reason; the held one is closed', () => {
    const r = runRebalanceBacktest(
      base({
        weights: [weights(T0, { [A]: '0.5' }), weights(T0 + DAY, { 'SIM:SPOT_PAIR:BBB-USDT': '0.1' })],
      }),
    );
    expect(r.rebalances[1]?.skipped.map((s) => [s.instrument_key, s.reason])).toEqual([
      ['SIM:SPOT_PAIR:BBB-USDT', 'UNKNOWN_INSTRUMENT'],
    ]);
    expect(r.orders.map((o) => [o.side, o.quantity])).toEqual([
      ['BUY', '49'],
      ['SELL', '49'],
    ]);
  });

  it('matches the vectorized reference on a generated 20-asset market within 0.1% annualized', () => {
    const market = generateDailyMarket({ seed: 7, assets: 20, days: 120, start: '2025-01-01' });
    const index = indexInstruments(market.specs);
    const series = sampleWeightsSeries(market, { seed: 7, every: 5 }).map((w) => {
      const r = parseWeightsFile(w.document);
      if (!r.success) throw r.error;
      return { rebalance_id: rebalanceIdOf(JSON.stringify(w.document)), source: w.day, file: r.data };
    });
    const closes = new Map(market.bars.map((b) => [b.instrument_key, b.close]));
    const r = runRebalanceBacktest(
      base({
        times: market.closes,
        closes,
        weights: series,
        instrument: (k) => index.get(k),
        starting_cash: '100000',
        slippage_bps: 5,
      }),
    );
    expect(r.orders.length).toBeGreaterThan(100);
    expect(r.orders.every((o) => o.status === 'FILLED')).toBe(true);
    const vec = runVectorized({
      closes,
      times: market.closes,
      rebalances: r.applied,
      costRate: () => 0.0005 + 0.001,
      startingNav: 100000,
    });
    const years = Number((market.closes.at(-1) as bigint) - (market.closes[0] as bigint)) / (365 * 86400e9);
    const ev = annualizedReturn(100000, Number(r.snapshots.at(-1)?.nav), years) as number;
    const vc = annualizedReturn(100000, vec.nav.at(-1) as number, years) as number;
    expect(Math.abs(ev - vc)).toBeLessThan(0.001);
    // Cash never goes negative.
    expect(r.snapshots.every((s) => toDec(s.cash).gte(0))).toBe(true);
  });
});
