import { describe, expect, it } from 'vitest';
import { relativeColumn } from '../../../shared/backtest/feed.ts';
import {
  type BacktestSettings,
  DEFAULT_BACKTEST_SETTINGS,
  type WindowPlan,
} from '../../../shared/backtest/model.ts';
import { planWindows } from '../../../shared/backtest/planner.ts';
import type { ResolvedSignal } from '../../../shared/backtest/signals.ts';
import { simulateWindow } from '../../../shared/backtest/window.ts';
import { BOOK_ASK, BOOK_BID, type BookColumns } from '../../../shared/data/tick-columns.ts';
import { NO_LIMITS, type RiskLimits } from '../../../shared/risk/limits.ts';
import { toRelativeNanos } from '../../../shared/sim/columns.ts';
import { flatQuotes, SEC, signal, T0, T0_NS, trades } from './fixtures.ts';

const MS = 1_000_000n;
/** No latency jitter: activation times are exact (start + 5 ms). */
const SETTINGS: BacktestSettings = {
  ...DEFAULT_BACKTEST_SETTINGS,
  latency: { insert_ms: 5, cancel_ms: 5, jitter_ms: 0 },
};
const everySecond = Array.from({ length: 300 }, (_, i) => i + 0.5);

function windowOf(target: string, over: Partial<ResolvedSignal> = {}): WindowPlan {
  const plan = planWindows([signal(1, T0, target, over)], { window_minutes: 5, seed: 42 });
  const w = plan.windows[0];
  if (!w) throw new Error('no window');
  return w;
}

function run(
  w: WindowPlan,
  ticks: Parameters<typeof simulateWindow>[0]['ticks'],
  limits: RiskLimits = NO_LIMITS,
) {
  return simulateWindow({ window: w, settings: SETTINGS, limits, ticks });
}

const at = (ns: string) => BigInt(ns) - T0_NS;

describe('simulateWindow', () => {
  it('NORMAL: one market child takes the ask after the insert latency (hand-computed)', () => {
    const r = run(windowOf('1'), { quotes: flatQuotes(T0_NS, everySecond, 100, 101, 10) });
    expect(r.arrival_mid).toBe('100.5');
    expect(r.end_reason).toBe('FILLED');
    const [parent, child] = r.orders;
    expect(parent).toMatchObject({
      order_id: 'w000000',
      parent_order_id: null,
      status: 'FILLED',
      quantity: '1',
      filled_quantity: '1',
      filled_notional: '101',
      fees: '0.202',
      mid_at_arrival: '100.5',
    });
    expect(child).toMatchObject({
      order_id: 'w000000-N1',
      parent_order_id: 'w000000',
      order_type: 'MARKET',
      time_in_force: 'GTC',
      status: 'FILLED',
      mid_at_arrival: '100.5',
    });
    expect(r.fills).toEqual([
      {
        fill_id: 'w000000-N1-F1',
        order_id: 'w000000-N1',
        parent_order_id: 'w000000',
        instrument_key: 'BINANCE-SPOT:SPOT_PAIR:BTC-USDT',
        venue: 'BINANCE-SPOT',
        side: 'BUY',
        quantity: '1',
        price: '101',
        fee: '0.202',
        fee_currency: 'USDT',
        liquidity: 'TAKER',
        ts_ns: (T0_NS + 5n * MS).toString(),
      },
    ]);
    // Marks every 10 s from the start to the end, all at the mid.
    expect(r.marks).toHaveLength(31);
    expect(r.marks.every((m) => m.mid === 100.5)).toBe(true);
    expect(at(r.marks[30]!.ts_ns)).toBe(300n * SEC);
    expect(r.warnings).toEqual([]);
    expect(r.ticks).toEqual({ trades: 0, quotes: 300, book: 0 });
  });

  it('TWAP: slices at 0, 60, 120, 180 s of 0.2, 0.2, 0.2 and 0.4, each an IOC market child', () => {
    const w = windowOf('1', {
      exec_algorithm: 'TWAP',
      exec_algorithm_params: { duration_sec: 240, max_slices: 4 },
    });
    const r = run(w, { quotes: flatQuotes(T0_NS, everySecond, 100, 101, 10) });
    const children = r.orders.slice(1);
    expect(
      children.map((c) => [c.order_id, c.quantity, c.time_in_force, c.status, at(c.ts_submitted_ns) / SEC]),
    ).toEqual([
      ['w000000-S1', '0.2', 'IOC', 'FILLED', 0n],
      ['w000000-S2', '0.2', 'IOC', 'FILLED', 60n],
      ['w000000-S3', '0.2', 'IOC', 'FILLED', 120n],
      ['w000000-S4', '0.4', 'IOC', 'FILLED', 180n],
    ]);
    expect(r.fills.map((f) => [f.price, at(f.ts_ns)])).toEqual([
      ['101', 5n * MS],
      ['101', 60n * SEC + 5n * MS],
      ['101', 120n * SEC + 5n * MS],
      ['101', 180n * SEC + 5n * MS],
    ]);
    expect(r.orders[0]?.status).toBe('FILLED');
    expect(r.end_reason).toBe('FILLED');
  });

  it('children pass the same pre-trade risk as live: a velocity denial is recorded and carried over', () => {
    const w = windowOf('1', {
      exec_algorithm: 'TWAP',
      exec_algorithm_params: { duration_sec: 60, max_slices: 4 },
    });
    const limits: RiskLimits = { ...NO_LIMITS, max_orders_per_minute: 2 };
    const r = run(w, { quotes: flatQuotes(T0_NS, everySecond, 100, 101, 10) }, limits);
    expect(r.orders.slice(1).map((c) => [c.order_id, c.quantity, c.status, c.filled_quantity])).toEqual([
      ['w000000-S1', '0.2', 'FILLED', '0.2'],
      ['w000000-S2', '0.2', 'FILLED', '0.2'],
      ['w000000-S3', '0.2', 'DENIED', '0'],
      ['w000000-S4', '0.6', 'DENIED', '0'], // its own 0.4 plus the denied slice's 0.2
    ]);
    expect(r.risk_denials.map((d) => [d.order_id, d.rule, d.limit, d.observed])).toEqual([
      ['w000000-S3', 'orders_per_minute_global', '2', '3'],
      ['w000000-S4', 'orders_per_minute_global', '2', '3'],
    ]);
    expect(r.orders[2]?.reason).toBeNull();
    expect(r.orders[3]?.reason).toMatch(/^orders_per_minute_global: /);
    expect(r.orders[0]).toMatchObject({ status: 'EXPIRED', filled_quantity: '0.4' });
    expect(r.orders[0]?.reason).toBe('SCHEDULE_COMPLETE: filled 0.4 of 1');
  });

  it('the parent is checked like an intake order: too large → DENIED, no child', () => {
    const limits: RiskLimits = { ...NO_LIMITS, max_notional_per_order: '50' };
    const r = run(windowOf('1'), { quotes: flatQuotes(T0_NS, everySecond, 100, 101, 10) }, limits);
    expect(r.orders).toHaveLength(1);
    expect(r.orders[0]).toMatchObject({ status: 'DENIED' });
    expect(r.end_reason).toBe('DENIED');
    expect(r.risk_denials[0]?.rule).toBe('max_notional_per_order');
    expect(r.warnings[0]).toMatch(/parent order denied by risk rule max_notional_per_order/);
  });

  it('an empty window (no ticks) is recorded with a warning: no reference price, nothing trades', () => {
    const r = run(windowOf('1'), {});
    expect(r.arrival_mid).toBeNull();
    expect(r.fills).toEqual([]);
    expect(r.marks).toEqual([]);
    expect(r.orders[0]?.status).toBe('DENIED');
    expect(r.risk_denials[0]?.rule).toBe('reference_price');
    expect(r.warnings[0]).toMatch(
      /^window w000000 \(BINANCE-SPOT:SPOT_PAIR:BTC-USDT .*\): no ticks in the window/,
    );
  });

  it('trades only: a GTC market order takes prints on its own side', () => {
    const r = run(windowOf('0.5'), {
      trades: trades(T0_NS, [
        [10, 100, 1, 'SELL'],
        [20, 101, 0.3, 'BUY'],
        [30, 101.5, 1, 'BUY'],
      ]),
    });
    expect(r.arrival_mid).toBe('100');
    expect(r.fills.map((f) => [f.quantity, f.price, at(f.ts_ns) / SEC])).toEqual([
      ['0.3', '101', 20n],
      ['0.2', '101.5', 30n],
    ]);
    expect(r.orders[0]?.status).toBe('FILLED');
    expect(r.warnings[0]).toMatch(/no quotes/);
  });

  it('with L2 rows the book comes from them (quotes ignored) and a market order walks the levels', () => {
    const n = 4;
    const book: BookColumns = {
      ts: new BigInt64Array(n).fill(T0_NS + SEC),
      side: Int8Array.from([BOOK_BID, BOOK_BID, BOOK_ASK, BOOK_ASK]),
      level: Int32Array.from([0, 1, 0, 1]),
      price: Float64Array.from([100, 99.5, 101, 101.5]),
      size: Float64Array.from([1, 5, 0.4, 5]),
    };
    const r = run(windowOf('1'), { book, quotes: flatQuotes(T0_NS, [0.5], 199, 200, 10) });
    expect(r.arrival_mid).toBe('100.5');
    expect(r.fills.map((f) => [f.quantity, f.price])).toEqual([
      ['0.4', '101'],
      ['0.6', '101.5'],
    ]);
    expect(r.ticks).toEqual({ trades: 0, quotes: 1, book: 4 });
  });

  it('ICEBERG refills at the fill time of the previous child', () => {
    const w = windowOf('1', {
      exec_algorithm: 'ICEBERG',
      exec_algorithm_params: { display_quantity: '0.3' },
    });
    const r = run(w, { quotes: flatQuotes(T0_NS, everySecond, 100, 101, 10) });
    const kids = r.orders.slice(1);
    expect(kids.map((k) => [k.order_id, k.quantity, at(k.ts_submitted_ns)])).toEqual([
      ['w000000-R1', '0.3', 0n],
      ['w000000-R2', '0.3', 5n * MS],
      ['w000000-R3', '0.3', 10n * MS],
      ['w000000-R4', '0.1', 15n * MS],
    ]);
    expect(r.orders[0]?.status).toBe('FILLED');
  });

  it('at the window end the algorithm stops and open children are canceled', () => {
    // 5 to buy, 1 displayed at the ask and the level never changes: 1 fills, the rest waits.
    const r = run(windowOf('5'), { quotes: flatQuotes(T0_NS, everySecond, 100, 101, 1) });
    expect(r.fills.map((f) => f.quantity)).toEqual(['1']);
    expect(r.orders[1]).toMatchObject({
      status: 'CANCELED',
      filled_quantity: '1',
      reason: 'WINDOW_END: canceled at the end of the window',
    });
    expect(at(r.orders[1]!.ts_last_ns)).toBe(300n * SEC + 5n * MS);
    expect(r.orders[0]).toMatchObject({ status: 'EXPIRED', reason: 'WINDOW_END: filled 1 of 5' });
    expect(r.end_reason).toBe('WINDOW_END');
  });

  it('is deterministic: the same inputs and seed give the same result', () => {
    const w = windowOf('1', {
      exec_algorithm: 'TWAP',
      exec_algorithm_params: { duration_sec: 240, max_slices: 8, jitter_pct: 0.3 },
    });
    const ticks = { quotes: flatQuotes(T0_NS, everySecond, 100, 101, 10) };
    const settings = DEFAULT_BACKTEST_SETTINGS; // with latency jitter
    const a = simulateWindow({ window: w, settings, limits: NO_LIMITS, ticks });
    const b = simulateWindow({ window: w, settings, limits: NO_LIMITS, ticks });
    expect(b).toEqual(a);
    const c = simulateWindow({ window: { ...w, seed: w.seed + 1 }, settings, limits: NO_LIMITS, ticks });
    expect(c.fills.map((f) => f.ts_ns)).not.toEqual(a.fills.map((f) => f.ts_ns));
  });

  it('recorded timing (a replay): steps at the recorded wake-ups only, each child sent at its recorded time', () => {
    const w = windowOf('1', {
      exec_algorithm: 'TWAP',
      exec_algorithm_params: { duration_sec: 240, max_slices: 4 },
    });
    // The edge stepped late (wall clock) and sent each child after its store writes.
    const stepsMs = [200n, 60_300n, 120_250n];
    const sendsMs = [320n, 60_390n, 120_510n];
    const ns = (ms: bigint) => (T0_NS + ms * MS).toString();
    const r = simulateWindow({
      window: w,
      settings: SETTINGS,
      limits: NO_LIMITS,
      ticks: { quotes: flatQuotes(T0_NS, everySecond, 100, 101, 10) },
      recorded_timing: {
        steps: stepsMs.map(ns),
        sends: new Map(sendsMs.map((t, i) => [`w000000-S${i + 1}`, ns(t)])),
      },
    });
    const children = r.orders.slice(1);
    // Three recorded steps, three children: the algorithm's own 180 s wake-up was never recorded.
    expect(children.map((c) => [c.order_id, c.quantity, at(c.ts_submitted_ns)])).toEqual([
      ['w000000-S1', '0.2', 320n * MS],
      ['w000000-S2', '0.2', 60_390n * MS],
      ['w000000-S3', '0.2', 120_510n * MS],
    ]);
    // Each reaches the matching at its send time plus the insert latency.
    expect(r.fills.map((f) => at(f.ts_ns))).toEqual(sendsMs.map((t) => (t + 5n) * MS));
    expect(r.orders[0]).toMatchObject({ status: 'EXPIRED', filled_quantity: '0.6' });
  });

  it('recorded timing: a cancel reaches the engine at its recorded time, not at the decision', () => {
    // A LIMIT parent resting below the market, canceled at 10 s; the edge sent the cancel at 10.2 s.
    const ns = (ms: bigint) => (T0_NS + ms * MS).toString();
    const r = simulateWindow({
      window: windowOf('1'),
      settings: SETTINGS,
      limits: NO_LIMITS,
      ticks: { quotes: flatQuotes(T0_NS, everySecond, 100, 101, 10) },
      limit_price: '99',
      cancel: { ts_ns: ns(10_000n), reason: 'USER_CANCEL' },
      recorded_timing: {
        steps: [ns(100n), ns(10_000n)],
        sends: new Map([[windowOf('1').window_id, ns(150n)]]),
        cancels: new Map([[windowOf('1').window_id, ns(10_200n)]]),
      },
    });
    const child = r.orders[1]!;
    expect(at(child.ts_submitted_ns)).toBe(150n * MS);
    expect(child.status).toBe('CANCELED');
    // The cancel takes effect after its latency from the recorded send time.
    expect(at(child.ts_last_ns)).toBe(10_205n * MS);
    expect(r.fills).toEqual([]);
  });

  it("other parents' orders share the engine: liquidity they took is not there for this parent", () => {
    const ns = (ms: bigint) => (T0_NS + ms * MS).toString();
    const w = windowOf('1');
    const input = {
      window: w,
      settings: SETTINGS,
      limits: NO_LIMITS,
      ticks: { quotes: flatQuotes(T0_NS, everySecond, 100, 101, 10) },
      recorded_timing: { steps: [ns(150n)], sends: new Map([[w.window_id, ns(150n)]]) },
      parent_start_ns: ns(120n),
    };
    const alone = simulateWindow(input);
    expect(alone.fills.map((f) => [f.price, at(f.ts_ns)])).toEqual([['101', 155n * MS]]);
    expect(at(alone.orders[0]!.ts_submitted_ns)).toBe(120n * MS);
    // Another parent bought the whole displayed ask (10 at 101) 50 ms earlier, before this one started.
    const shared = simulateWindow({
      ...input,
      other_orders: [
        {
          ts_ns: ns(100n),
          order: {
            order_id: 'OTHER-1',
            side: 'BUY',
            order_type: 'MARKET',
            quantity: '10',
            price: null,
            time_in_force: 'IOC',
          },
        },
      ],
    });
    expect(shared.fills.filter((f) => at(f.ts_ns) <= 155n * MS)).toEqual([]);
    expect(shared.fills.every((f) => f.order_id.startsWith(w.window_id))).toBe(true);
    expect(() => simulateWindow({ ...input, recorded_timing: undefined })).toThrow(/recorded timing/);
  });

  it('recorded timing of a direct order: its one decision and send at the recorded send time', () => {
    const r = simulateWindow({
      window: windowOf('1'),
      settings: SETTINGS,
      limits: NO_LIMITS,
      ticks: { quotes: flatQuotes(T0_NS, everySecond, 100, 101, 10) },
      recorded_timing: {
        steps: [(T0_NS + 138n * MS).toString()],
        sends: new Map([['w000000-N1', (T0_NS + 138n * MS).toString()]]),
      },
    });
    expect(at(r.orders[1]!.ts_submitted_ns)).toBe(138n * MS);
    expect(r.fills.map((f) => [f.price, at(f.ts_ns)])).toEqual([['101', 143n * MS]]);
  });

  it('a window cut short by a later one says so', () => {
    const plan = planWindows(
      [signal(1, T0, '1'), signal(2, '2025-07-01T00:06:00Z', '2', { strategy_id: 's2' })],
      {
        window_minutes: 5,
        seed: 1,
      },
    );
    const r = run(plan.windows[0]!, { quotes: flatQuotes(T0_NS, [0.5, 30, 59.5], 100, 101, 10) });
    expect(r.warnings[0]).toMatch(/ends early at 2025-07-01T00:06:00\.000000000Z: window w000001/);
    expect(at(r.marks.at(-1)!.ts_ns)).toBe(60n * SEC);
  });
});

describe('relativeColumn', () => {
  it('gives the same values as the BigInt conversion, across 32-bit boundaries and before the epoch', () => {
    const epoch = 1_751_328_300_000_000_000n;
    const values = [
      epoch,
      epoch + 1n,
      epoch - 1n,
      epoch + 4_294_967_295n,
      epoch + 4_294_967_296n,
      epoch + 86_400_000_000_000n + 123n,
      epoch - 3_600_000_000_123n,
      epoch + 2n ** 52n,
    ];
    const ts = BigInt64Array.from(values);
    expect(Array.from(relativeColumn(ts, epoch))).toEqual(Array.from(toRelativeNanos(ts, epoch)));
    expect(Array.from(relativeColumn(ts.subarray(3), epoch))).toEqual(
      values.slice(3).map((v) => Number(v - epoch)),
    );
    expect(() => relativeColumn(BigInt64Array.from([epoch + 2n ** 53n]), epoch)).toThrow(RangeError);
  });
});
