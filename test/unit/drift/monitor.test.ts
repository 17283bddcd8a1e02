import { Registry } from 'prom-client';
import { beforeEach, describe, expect, it } from 'vitest';
import { LocalTradingStateStore } from '../../../infra/local/trading-state.local.ts';
import type { Fill } from '../../../shared/domain/types.ts';
import { DriftAlertMessageSchema } from '../../../shared/drift/messages.ts';
import { TestClock } from '../../../shared/ports/clock.ts';
import { GLOBAL_SCOPE, type TradingStateStore } from '../../../shared/ports/trading-state-store.ts';
import { createDriftMonitor, type DriftMonitorDeps } from '../../../stateful/edge/drift/monitor.ts';
import { RecordingBus, T0 } from '../venues/fixtures.ts';

const SEC = 1_000_000_000n;
const KEY = 'BINANCE-SPOT:SPOT_PAIR:BTC-USDT';

let n = 0;
function fill(side: 'BUY' | 'SELL', price: string, ts: bigint, over: Partial<Fill> = {}): Fill {
  n++;
  return {
    fill_id: `F${n}`,
    order_id: 'ord_1',
    operation_id: `OP-${n}`,
    instrument_key: KEY,
    venue: 'BINANCE-SPOT',
    side,
    quantity: '0.1',
    price,
    fee: '0',
    fee_currency: 'USDT',
    liquidity: 'TAKER',
    ts_event: ts,
    ...over,
  };
}

describe('createDriftMonitor', () => {
  let bus: RecordingBus;
  let trading: LocalTradingStateStore;
  let registry: Registry;
  let clock: TestClock;
  const monitor = (over: Partial<DriftMonitorDeps> = {}) =>
    createDriftMonitor({
      bus,
      tradingState: trading,
      metrics: registry,
      thresholds: { alert_bps: 5, persist_alerts: 3, persist_window_ms: 60_000, ewma_min_samples: 1000 },
      switchToReducing: true,
      clock,
      ...over,
    });

  beforeEach(() => {
    bus = new RecordingBus();
    trading = LocalTradingStateStore.memory();
    registry = new Registry();
    clock = new TestClock(T0);
  });

  it('publishes a drift_alert and counts it for a fill beyond the threshold; observes every fill', async () => {
    const m = monitor();
    const ok = await m.onFill(fill('BUY', '60001', T0), '60000');
    expect(ok).toMatchObject({ evaluated: true, alert: false, drift_bps: '0.1667' });
    expect(bus.on('exec.orders')).toHaveLength(0);
    const bad = await m.onFill(fill('SELL', '59940', T0 + SEC), '60000', { strategy_id: 'strat-1' });
    expect(bad).toMatchObject({
      evaluated: true,
      alert: true,
      drift_bps: '10',
      persistent: false,
      trading_state_set: null,
    });
    const [msg] = bus.on('exec.orders');
    const parsed = DriftAlertMessageSchema.parse(msg?.data);
    expect(parsed).toMatchObject({
      type: 'drift_alert',
      side: 'SELL',
      fill_price: '59940',
      mid_at_arrival: '60000',
      drift_bps: '10',
      threshold_bps: 5,
      strategy_id: 'strat-1',
      persistent: false,
    });
    expect(msg?.attributes).toMatchObject({
      type: 'drift_alert',
      drift_alert: 'true',
      venue: 'BINANCE-SPOT',
      instrument_key: KEY,
    });
    const text = await registry.metrics();
    expect(text).toContain(
      'exec_fill_drift_bps_count{venue="BINANCE-SPOT",instrument_key="BINANCE-SPOT:SPOT_PAIR:BTC-USDT",side="SELL"} 1',
    );
    expect(text).toContain(
      'exec_drift_alerts_total{venue="BINANCE-SPOT",instrument_key="BINANCE-SPOT:SPOT_PAIR:BTC-USDT"} 1',
    );
  });

  it('persistent drift switches the platform to REDUCING once, with the reason', async () => {
    const m = monitor();
    const steps = [];
    for (let i = 0; i < 4; i++)
      steps.push(await m.onFill(fill('BUY', '60060', T0 + BigInt(i) * SEC), '60000'));
    expect(steps.map((s) => (s.evaluated ? [s.persistent, s.trading_state_set] : null))).toEqual([
      [false, null],
      [false, null],
      [true, 'REDUCING'],
      [true, null],
    ]);
    const snap = await trading.snapshot();
    expect(snap.global).toMatchObject({ state: 'REDUCING', updated_by: 'drift-monitor' });
    expect(snap.global?.reason).toContain('persistent fill drift on BINANCE-SPOT');
    expect(await trading.history()).toHaveLength(1);
    expect(await registry.metrics()).toContain('exec_drift_reducing_switches_total{venue="BINANCE-SPOT"} 1');
  });

  it('never loosens a HALT, and only recommends when not configured to switch', async () => {
    await trading.set(GLOBAL_SCOPE, { state: 'HALTED', reason: 'ops', updated_by: 'ops' }, T0);
    const m = monitor();
    for (let i = 0; i < 3; i++) await m.onFill(fill('BUY', '60060', T0 + BigInt(i) * SEC), '60000');
    expect((await trading.snapshot()).global?.state).toBe('HALTED');

    const other = LocalTradingStateStore.memory();
    const passive = monitor({ tradingState: other, switchToReducing: false, metrics: new Registry() });
    let last = null;
    for (let i = 0; i < 3; i++)
      last = await passive.onFill(fill('BUY', '60060', T0 + BigInt(i) * SEC), '60000');
    expect(last).toMatchObject({ persistent: true, trading_state_set: null });
    expect((await other.snapshot()).global).toBeNull();
  });

  it('reduces the strategy when asked to; retries when the store failed', async () => {
    let failures = 1;
    const flaky: Pick<TradingStateStore, 'snapshot' | 'set'> = {
      snapshot: () => trading.snapshot(),
      set: async (scope, change, ts) => {
        if (failures > 0) {
          failures--;
          throw new Error('firestore unavailable');
        }
        return trading.set(scope, change, ts);
      },
    };
    const m = monitor({ tradingState: flaky, reduceScope: 'strategy' });
    const ctx = { strategy_id: 'strat-9' };
    for (let i = 0; i < 3; i++) await m.onFill(fill('BUY', '60060', T0 + BigInt(i) * SEC), '60000', ctx);
    expect((await trading.snapshot()).strategies['strat-9']).toBeUndefined();
    const next = await m.onFill(fill('BUY', '60060', T0 + 3n * SEC), '60000', ctx);
    expect(next).toMatchObject({ trading_state_set: 'REDUCING' });
    expect((await trading.snapshot()).strategies['strat-9']?.state).toBe('REDUCING');
    expect((await trading.snapshot()).global).toBeNull();
  });

  it('evaluates a fill once (redelivery), skips fills without a mid, shares metrics in one registry', async () => {
    const a = monitor();
    const b = monitor(); // a second monitor (another venue) in the same registry
    const f = fill('BUY', '60060', T0);
    expect((await a.onFill(f, '60000')).evaluated).toBe(true);
    expect(await a.onFill(f, '60000')).toEqual({ evaluated: false, reason: 'fill already evaluated' });
    expect(await b.onFill(fill('BUY', '1', T0), null)).toEqual({
      evaluated: false,
      reason: 'no mid at arrival',
    });
    expect(bus.on('exec.orders')).toHaveLength(1);
  });

  it('per-instrument thresholds', async () => {
    const m = monitor({ thresholds: { alert_bps: 5, per_instrument: { [KEY]: 20 } } });
    expect(await m.onFill(fill('BUY', '60060', T0), '60000')).toMatchObject({
      drift_bps: '10',
      alert: false,
    });
  });
});
