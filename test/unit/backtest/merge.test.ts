import { describe, expect, it } from 'vitest';
import { MergeInputError, mergeRun } from '../../../shared/backtest/merge.ts';
import {
  bps,
  maxDrawdown,
  NS_PER_MINUTE,
  resampleEquity,
  returnsOf,
  sharpeRatio,
} from '../../../shared/backtest/metrics.ts';
import {
  DEFAULT_BACKTEST_SETTINGS,
  type Manifest,
  type OrderRow,
  type WindowPartial,
  type WindowPlan,
} from '../../../shared/backtest/model.ts';
import { planWindows } from '../../../shared/backtest/planner.ts';
import { NO_LIMITS } from '../../../shared/risk/limits.ts';
import { BTC, SEC, signal } from './fixtures.ts';

const MS = 1_000_000n;

function manifestOf(windows: WindowPlan[]): Manifest {
  return {
    version: 1,
    run_id: 'run-1',
    settings: DEFAULT_BACKTEST_SETTINGS,
    risk_limits: NO_LIMITS,
    signals: {
      source: 'sig.jsonl',
      sha256: 'abc',
      count: windows.length,
      strategies: ['s1'],
      instruments: [BTC],
    },
    period: { start: 'x', end: 'y' },
    windows,
    skipped: [],
  };
}

function order(w: WindowPlan, over: Partial<OrderRow>): OrderRow {
  return {
    order_id: w.window_id,
    parent_order_id: null,
    operation_id: w.window_id,
    instrument_key: BTC,
    venue: 'BINANCE-SPOT',
    side: w.side,
    order_type: 'MARKET',
    time_in_force: 'GTC',
    quantity: w.quantity,
    price: null,
    status: 'FILLED',
    ts_submitted_ns: w.start_ns,
    ts_last_ns: w.start_ns,
    filled_quantity: w.quantity,
    filled_notional: '0',
    fees: '0',
    mid_at_arrival: null,
    reason: null,
    ...over,
  };
}

/** A window that filled its whole quantity with one child at `price`, marks at start and end. */
function partial(w: WindowPlan, price: string, fee: string, arrival: number, endMark: number): WindowPartial {
  const start = BigInt(w.start_ns);
  const child = `${w.window_id}-N1`;
  const notional = String(Number(price) * Number(w.quantity));
  return {
    version: 1,
    run_id: 'run-1',
    window_id: w.window_id,
    index: w.index,
    instrument_key: BTC,
    strategy_id: 's1',
    exec_algorithm: 'NORMAL',
    start_ns: w.start_ns,
    end_ns: w.end_ns,
    arrival_mid: String(arrival),
    end_reason: 'FILLED',
    orders: [
      order(w, { filled_notional: notional, fees: fee, mid_at_arrival: String(arrival) }),
      order(w, {
        order_id: child,
        parent_order_id: w.window_id,
        operation_id: child,
        filled_notional: notional,
        fees: fee,
        mid_at_arrival: String(arrival),
        ts_last_ns: (start + 5n * MS).toString(),
      }),
    ],
    fills: [
      {
        fill_id: `${child}-F1`,
        order_id: child,
        parent_order_id: w.window_id,
        instrument_key: BTC,
        venue: 'BINANCE-SPOT',
        side: w.side,
        quantity: w.quantity,
        price,
        fee,
        fee_currency: 'USDT',
        liquidity: 'TAKER',
        ts_ns: (start + 5n * MS).toString(),
      },
    ],
    marks: [
      { ts_ns: w.start_ns, mid: arrival },
      { ts_ns: w.end_ns, mid: endMark },
    ],
    risk_denials: [],
    warnings: [],
    ticks: { trades: 0, quotes: 10, book: 0 },
    io: {
      bytes_read: 100,
      bytes_total: 1000,
      requests: 2,
      files: [
        {
          key: 'f/quotes.parquet',
          bytes_total: 1000,
          bytes_read: 100,
          row_group_bytes: 80,
          rows_read: 10,
          rows_in_window: 10,
        },
      ],
    },
  };
}

const plan = planWindows([signal(1, '2025-07-01T00:05:00Z', '1'), signal(2, '2025-07-01T00:20:00Z', '0')], {
  window_minutes: 5,
  seed: 1,
});
const [w0, w1] = plan.windows as [WindowPlan, WindowPlan];
const manifest = manifestOf(plan.windows);
const parts = new Map([
  [w0.window_id, partial(w0, '101', '0.202', 100.5, 102)],
  [w1.window_id, partial(w1, '103', '0.206', 103.5, 103.5)],
]);

describe('mergeRun (hand-computed: buy 1 @ 101, sell 1 @ 103)', () => {
  const { tables, summary } = mergeRun(manifest, parts, { bytes_read: 50, requests: 1 });
  const t0 = BigInt(w0.start_ns);
  const t1 = BigInt(w1.start_ns);

  it('orders and fills keep every row with SPEC types', () => {
    expect(tables.orders.map((o) => [o.order_id, o.parent_order_id, o.quantity, o.price, o.status])).toEqual([
      ['w000000', null, 1, null, 'FILLED'],
      ['w000000-N1', 'w000000', 1, null, 'FILLED'],
      ['w000001', null, 1, null, 'FILLED'],
      ['w000001-N1', 'w000001', 1, null, 'FILLED'],
    ]);
    expect(tables.fills.map((f) => [f.fill_id, f.side, f.quantity, f.price, f.fee, f.ts_event])).toEqual([
      ['w000000-N1-F1', 'BUY', 1, 101, 0.202, t0 + 5n * MS],
      ['w000001-N1-F1', 'SELL', 1, 103, 0.206, t1 + 5n * MS],
    ]);
  });

  it('the position path applies the fills in time order, marked at the latest mid', () => {
    expect(
      tables.positions.map((p) => [
        p.ts_event - t0,
        p.quantity,
        p.avg_price,
        p.realized_pnl,
        p.unrealized_pnl,
      ]),
    ).toEqual([
      [5n * MS, 1, 101, 0, -0.5], // bought at 101, mid 100.5
      [300n * SEC, 1, 101, 0, 1], // window end, mid 102
      [t1 - t0 + 5n * MS, 0, null, 2, 0], // sold at 103
      [t1 - t0 + 300n * SEC, 0, null, 2, 0],
    ]);
  });

  it('the equity curve: cash = start + realised − fees, equity = cash + unrealised', () => {
    expect(tables.equity.map((e) => [e.ts_event - t0, e.equity, e.cash, e.exposure])).toEqual([
      [0n, 100000, 100000, 0],
      [5n * MS, 99999.298, 99999.798, 100.5],
      [300n * SEC, 100000.798, 99999.798, 102],
      [t1 - t0, 100002.298, 99999.798, 103.5],
      [t1 - t0 + 5n * MS, 100001.592, 100001.592, 0],
      [t1 - t0 + 300n * SEC, 100001.592, 100001.592, 0],
    ]);
  });

  it('the summary metrics', () => {
    expect(summary).toMatchObject({
      run_id: 'run-1',
      status: 'completed',
      orders: 4,
      parent_orders: 2,
      child_orders: 2,
      fills: 2,
      pnl: 1.592,
      realized_pnl: 2,
      unrealized_pnl: 0,
      fees: 0.408,
      final_equity: 100001.592,
      traded_notional: 204,
      turnover: 0.00204,
      fill_ratio: 1,
      bytes_read: 250,
      bytes_total: 1000,
    });
    // IS: (101 − 100.5 + 0.202) + (103.5 − 103 + 0.206) over 100.5 + 103.5
    expect(summary.implementation_shortfall_bps).toBeCloseTo((1.408 / 204) * 10_000, 6);
    // Slippage vs the child's mid at arrival (no fees): 0.5 + 0.5 over 204
    expect(summary.slippage_bps).toBeCloseTo((1 / 204) * 10_000, 6);
    expect(summary.max_drawdown_abs).toBeCloseTo(0.706, 9);
    expect(summary.max_drawdown).toBeCloseTo(0.706 / 100002.298, 12);
    expect(summary.per_algorithm).toMatchObject({ NORMAL: { windows: 2, fills: 2, fill_ratio: 1 } });
    expect(typeof summary.sharpe).toBe('number');
    expect(summary).not.toHaveProperty('wall_seconds');
  });

  it('does not depend on the order the partials arrive in', () => {
    const reversed = new Map([...parts].reverse());
    expect(mergeRun(manifest, reversed, { bytes_read: 50, requests: 1 })).toEqual(
      mergeRun(manifest, parts, { bytes_read: 50, requests: 1 }),
    );
  });
});

describe('mergeRun input checks', () => {
  it('a missing partial names the window', () => {
    expect(() => mergeRun(manifest, new Map([[w0.window_id, parts.get(w0.window_id)!]]))).toThrow(
      new MergeInputError('1 of 2 windows have no partial result: w000001'),
    );
  });

  it('a partial of another run is refused', () => {
    const foreign = new Map(parts);
    foreign.set(w1.window_id, { ...parts.get(w1.window_id)!, run_id: 'other' });
    expect(() => mergeRun(manifest, foreign)).toThrow(/partial w000001 belongs to run other/);
  });
});

describe('metrics', () => {
  it('resamples equity on a grid with the last value at or before each point', () => {
    const p = [
      { ts: 0n, equity: 100 },
      { ts: 90n * SEC, equity: 110 },
      { ts: 130n * SEC, equity: 99 },
    ];
    expect(resampleEquity(p, 0n, 180n * SEC, NS_PER_MINUTE)).toEqual([100, 100, 110, 99]);
  });

  it('Sharpe: mean / sample sd × √periods; null when flat or too short', () => {
    const r = returnsOf([100, 110, 99, 108.9]); // +10 %, −10 %, +10 %
    expect(r.map((x) => Number(x.toFixed(12)))).toEqual([0.1, -0.1, 0.1]);
    const mean = 0.1 / 3;
    const sd = Math.sqrt(((0.1 - mean) ** 2 * 2 + (-0.1 - mean) ** 2) / 2);
    expect(sharpeRatio(r, 4)).toBeCloseTo((mean / sd) * 2, 12);
    expect(sharpeRatio([0.01], 4)).toBeNull();
    expect(sharpeRatio([0, 0, 0], 4)).toBeNull();
  });

  it('max drawdown as a fraction of the peak and in currency', () => {
    expect(maxDrawdown([100, 120, 90, 130, 117])).toEqual({ fraction: 0.25, amount: 30 });
    expect(maxDrawdown([1, 2, 3])).toEqual({ fraction: 0, amount: 0 });
  });

  it('bps', () => {
    expect(bps(1, 10_000)).toBe(1);
    expect(bps(1, 0)).toBeNull();
  });
});
