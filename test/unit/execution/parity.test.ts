/**
 * Backtest ↔ SHADOW parity: one signal and one tick set run through the backtest window (simulated
 * clock + MatchingEngine) AND through the venue edge with a ShadowVenue fed the same ticks as a live
 * feed (same timestamps, a TestClock moved to each tick). Both shells run the one execution core, so
 * the child orders, the fills and the resulting position must be identical, field by field.
 *
 * Coverage: NORMAL, TWAP, VWAP, ICEBERG, a LIMIT parent, a cancel mid-TWAP, a child denied by the
 * velocity limit, a HALTED transition mid-TWAP (and the resume).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_BACKTEST_SETTINGS } from '../../../shared/backtest/model.ts';
import { planWindows } from '../../../shared/backtest/planner.ts';
import { simulateWindow, type TradingStateChangeAt } from '../../../shared/backtest/window.ts';
import { riskLimitsFromConfig } from '../../../shared/risk/config.ts';
import { signal } from '../backtest/fixtures.ts';
import {
  config,
  expectParity,
  fromBacktest,
  MS,
  NO_LATENCY,
  type Outcome,
  type Scenario,
  ShadowRun,
  STRATEGY,
  script,
  T0,
  T0_ISO,
  windowTicks,
} from './parity-harness.ts';

function runBacktest(sc: Scenario): Outcome {
  const side = sc.side ?? 'BUY';
  const target = side === 'BUY' ? sc.quantity : `-${sc.quantity}`;
  const plan = planWindows(
    [
      signal(1, T0_ISO, target, {
        strategy_id: STRATEGY,
        exec_algorithm: sc.algorithm,
        exec_algorithm_params: sc.params ?? {},
      }),
    ],
    { window_minutes: 2, seed: 42 },
  );
  const w = plan.windows[0];
  if (w === undefined) throw new Error('no window');
  const changes: TradingStateChangeAt[] = (sc.trading_states ?? []).map((c) => ({
    ts_ns: (T0 + BigInt(c.at_s * 1000) * MS).toString(),
    scope: 'global',
    state: c.state,
  }));
  const r = simulateWindow({
    window: w,
    settings: { ...DEFAULT_BACKTEST_SETTINGS, latency: NO_LATENCY },
    limits: riskLimitsFromConfig(config(sc).risk),
    ticks: windowTicks(script()),
    trading_state_changes: changes,
    limit_price: sc.limit_price ?? null,
    ...(sc.cancel_at_s === undefined
      ? {}
      : { cancel: { ts_ns: (T0 + BigInt(sc.cancel_at_s * 1000) * MS).toString(), reason: 'USER_CANCEL' } }),
  });
  return fromBacktest(r);
}

let running: ShadowRun | null = null;
afterEach(async () => {
  await running?.stop();
  running = null;
});

async function both(sc: Scenario): Promise<{ backtest: Outcome; shadow: Outcome }> {
  const backtest = runBacktest(sc);
  running = new ShadowRun(sc);
  const shadow = await running.run();
  return { backtest, shadow };
}

const at = (s: number) => (T0 + BigInt(s * 1000) * MS).toString();

describe('backtest window ↔ venue edge over a ShadowVenue: identical orders, fills, positions', () => {
  it('NORMAL market order', async () => {
    const r = await both({ quantity: '0.5', algorithm: 'NORMAL' });
    expectParity(r);
    expect(r.shadow.fills.map((f) => f.ts)).toContain(at(0));
  });

  it('TWAP 60 s in 3 slices', async () => {
    const r = await both({ quantity: '0.9', algorithm: 'TWAP', params: { duration_sec: 60, max_slices: 3 } });
    expectParity(r);
    expect(r.shadow.children.map((c) => c.submitted)).toEqual([at(0), at(20), at(40)]);
  });

  it('VWAP 60 s in 4 slices', async () => {
    const r = await both({
      quantity: '1.2',
      algorithm: 'VWAP',
      params: { duration_sec: 60, max_slices: 4 },
    });
    expectParity(r);
  });

  it('ICEBERG: display 0.2, refills as each fills', async () => {
    const r = await both({
      quantity: '0.6',
      side: 'SELL',
      algorithm: 'ICEBERG',
      params: { display_quantity: '0.2' },
      limit_price: '99.5',
    });
    expectParity(r);
    expect(r.shadow.children.length).toBeGreaterThan(1);
  });

  it('a LIMIT parent below the market: children rest and fill only when prints trade through', async () => {
    const r = await both({
      quantity: '0.6',
      algorithm: 'TWAP',
      params: { duration_sec: 60, max_slices: 3 },
      limit_price: '99',
    });
    expectParity(r);
    expect(r.shadow.fills.every((f) => Number(f.price) <= 99)).toBe(true);
  });

  it('a cancel mid-TWAP cancels the resting child; no later slice', async () => {
    const r = await both({
      quantity: '0.6',
      algorithm: 'TWAP',
      params: { duration_sec: 60, max_slices: 3 },
      limit_price: '99',
      cancel_at_s: 25,
    });
    expectParity(r);
    expect(r.shadow.children.map((c) => c.child)).toEqual(['S1', 'S2']);
  });

  it('a child denied by the velocity limit (ICEBERG refills faster than 1 order / s)', async () => {
    const r = await both({
      quantity: '0.6',
      algorithm: 'ICEBERG',
      params: { display_quantity: '0.2' },
      risk: { max_orders_per_second: 1 },
    });
    expectParity(r);
    expect(r.shadow.children.some((c) => c.status === 'DENIED')).toBe(true);
  });

  it('HALTED mid-TWAP cancels the resting child and pauses; ACTIVE resumes the schedule', async () => {
    const r = await both({
      quantity: '0.9',
      algorithm: 'TWAP',
      params: { duration_sec: 60, max_slices: 3 },
      limit_price: '97',
      trading_states: [
        { at_s: 20.5, state: 'HALTED' },
        { at_s: 45, state: 'ACTIVE' },
      ],
    });
    expectParity(r);
    expect(r.shadow.children.map((c) => [c.child, c.status, c.submitted])).toEqual([
      ['S1', 'FILLED', at(0)],
      ['S2', 'CANCELED', at(20)], // canceled by HALTED at 20.5 s, nothing filled
      ['S3', 'FILLED', at(45)], // sent when trading resumed, with S2's quantity carried over
    ]);
  });
});
