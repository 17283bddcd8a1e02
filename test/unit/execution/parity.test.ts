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
import { LocalAlgoStateStore } from '../../../infra/local/algo-state.local.ts';
import { LocalMarketStateStore } from '../../../infra/local/market-state.local.ts';
import { LocalOrderStore } from '../../../infra/local/order-store.local.ts';
import { LocalPositionStore } from '../../../infra/local/position-store.local.ts';
import { LocalTradingStateStore } from '../../../infra/local/trading-state.local.ts';
import { createShadowVenue, type ShadowVenue } from '../../../infra/shadow/venue.ts';
import { ExecutionRecorder } from '../../../shared/app/execution-recorder.ts';
import { routedAttributes, routedSubmitMessage, venueCancelMessage } from '../../../shared/app/messages.ts';
import { CachedTradingStateReader } from '../../../shared/app/trading-state-cache.ts';
import { DEFAULT_BACKTEST_SETTINGS, type WindowSimulation } from '../../../shared/backtest/model.ts';
import { planWindows } from '../../../shared/backtest/planner.ts';
import { simulateWindow, type TradingStateChangeAt } from '../../../shared/backtest/window.ts';
import type { AppConfig } from '../../../shared/config/schema.ts';
import { BOOK_ASK, BOOK_BID, SIDE_BUY, SIDE_SELL } from '../../../shared/data/tick-columns.ts';
import { Dec, fmt } from '../../../shared/domain/decimal.ts';
import { isoToNanos, type Nanos } from '../../../shared/domain/time.ts';
import type { ExecAlgorithm, Side, TradingState } from '../../../shared/domain/types.ts';
import { TestClock } from '../../../shared/ports/clock.ts';
import { StaticInstrumentCatalog } from '../../../shared/ports/instrument-catalog.ts';
import { riskLimitsFromConfig } from '../../../shared/risk/config.ts';
import { createVenueEdge, type VenueEdge } from '../../../stateful/edge/index.ts';
import { SPEC, signal } from '../backtest/fixtures.ts';
import { edgeConfig, RecordingBus } from '../edge/harness.ts';
import { FakeDataVenue } from '../shadow/fake-data-venue.ts';
import { createRoutedOrder } from '../venues/fixtures.ts';

const VENUE = 'BINANCE-SPOT';
const ACCOUNT = 'binance-main';
const KEY = SPEC.instrument_key;
const T0_ISO = '2025-07-01T00:05:00Z';
const T0 = isoToNanos(T0_ISO);
const MS = 1_000_000n;
const STRATEGY = 's1';

// ---------------------------------------------------------------------------------------------
// One tick set: a book every 500 ms (one level a side), trade prints between them
// ---------------------------------------------------------------------------------------------

type Tick =
  | { t: Nanos; kind: 'book'; bid: number; ask: number; size: number }
  | { t: Nanos; kind: 'trade'; price: number; size: number; side: Side };

/** From 1 s before the window to 120 s into it; the mid wanders in a fixed pattern. */
function script(): Tick[] {
  const out: Tick[] = [];
  for (let i = -2; i <= 240; i++) {
    const t = T0 + BigInt(i) * 500n * MS;
    const mid = 100 + Math.round(6 * Math.sin(i / 9)) / 2; // multiples of the 0.5 tick
    out.push({ t, kind: 'book', bid: mid - 0.5, ask: mid + 0.5, size: 0.3 });
    if (i % 3 === 0) {
      const side: Side = i % 2 === 0 ? 'SELL' : 'BUY';
      // A print through the book now and then: resting limits at or beyond it fill.
      const price = side === 'SELL' ? mid - 1.5 : mid + 1.5;
      out.push({ t: t + 200n * MS, kind: 'trade', price, size: 0.4, side });
    }
  }
  return out;
}

function windowTicks(ticks: readonly Tick[]) {
  const books = ticks.filter((x) => x.kind === 'book');
  const prints = ticks.filter((x) => x.kind === 'trade');
  const n = books.length * 2;
  const book = {
    ts: new BigInt64Array(n),
    side: new Int8Array(n),
    level: new Int32Array(n),
    price: new Float64Array(n),
    size: new Float64Array(n),
  };
  books.forEach((b, i) => {
    book.ts[2 * i] = b.t;
    book.ts[2 * i + 1] = b.t;
    book.side[2 * i] = BOOK_BID;
    book.side[2 * i + 1] = BOOK_ASK;
    book.price[2 * i] = b.bid;
    book.price[2 * i + 1] = b.ask;
    book.size[2 * i] = b.size;
    book.size[2 * i + 1] = b.size;
  });
  const trades = {
    ts: new BigInt64Array(prints.length),
    price: new Float64Array(prints.length),
    size: new Float64Array(prints.length),
    side: new Int8Array(prints.length),
  };
  prints.forEach((p, i) => {
    trades.ts[i] = p.t;
    trades.price[i] = p.price;
    trades.size[i] = p.size;
    trades.side[i] = p.side === 'BUY' ? SIDE_BUY : SIDE_SELL;
  });
  return { book, trades };
}

// ---------------------------------------------------------------------------------------------
// A scenario and what both shells make of it
// ---------------------------------------------------------------------------------------------

interface Scenario {
  quantity: string;
  side?: Side;
  algorithm: ExecAlgorithm;
  params?: Record<string, unknown>;
  limit_price?: string;
  /** Seconds after the start. */
  cancel_at_s?: number;
  trading_states?: Array<{ at_s: number; state: TradingState }>;
  risk?: Partial<AppConfig['risk']>;
}

interface ChildView {
  child: string;
  quantity: string;
  status: string;
  filled: string;
  submitted: string;
}
interface FillView {
  child: string;
  price: string;
  quantity: string;
  fee: string;
  liquidity: string;
  ts: string;
}
interface Outcome {
  children: ChildView[];
  fills: FillView[];
  position: string;
}

const NO_LATENCY = { insert_ms: 0, cancel_ms: 0, jitter_ms: 0 };

function config(sc: Scenario): AppConfig {
  const base = edgeConfig();
  return {
    ...base,
    venues: base.venues.map((v) => ({ ...v, mode: 'SHADOW' as const })),
    // No velocity limits unless the scenario sets them (the configuration's defaults are per second).
    risk: { ...base.risk, max_orders_per_second: 1000, max_orders_per_minute: 100_000, ...sc.risk },
  };
}

/** `<parent>-S2` → `S2`; a direct order (its own child) → `N1`. */
function childName(id: string, parentId: string): string {
  return id === parentId ? 'N1' : id.slice(parentId.length + 1);
}

function fromBacktest(r: WindowSimulation): Outcome {
  const parentId = r.window_id;
  const children = r.orders
    .filter((o) => o.parent_order_id !== null)
    .map((o) => ({
      child: childName(o.order_id, parentId),
      quantity: o.quantity,
      status: o.status,
      filled: o.filled_quantity,
      submitted: o.ts_submitted_ns,
    }));
  const fills = r.fills.map((f) => ({
    child: childName(f.order_id, parentId),
    price: f.price,
    quantity: f.quantity,
    fee: f.fee,
    liquidity: f.liquidity,
    ts: f.ts_ns,
  }));
  let pos = new Dec(0);
  for (const f of r.fills) pos = f.side === 'BUY' ? pos.plus(f.quantity) : pos.minus(f.quantity);
  return { children, fills, position: fmt(pos) };
}

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

/** The venue edge over a ShadowVenue whose market data session replays the same ticks live. */
class ShadowRun {
  readonly clock = new TestClock(T0 - 1000n * MS);
  readonly orders = LocalOrderStore.memory();
  readonly positions = LocalPositionStore.memory();
  readonly bus = new RecordingBus();
  readonly algoStates = LocalAlgoStateStore.memory();
  readonly tradingStore = LocalTradingStateStore.memory();
  readonly reader = new CachedTradingStateReader(this.tradingStore, { pollMs: 500, clock: this.clock });
  readonly data = new FakeDataVenue(VENUE);
  readonly shadow: ShadowVenue;
  readonly edge: VenueEdge;

  constructor(readonly sc: Scenario) {
    this.shadow = createShadowVenue({
      id: VENUE,
      account_id: ACCOUNT,
      data: this.data,
      instruments: [SPEC],
      clock: this.clock,
      seed: 42,
      latency: 0,
      tickMs: 0,
      startingCash: '10000000',
      startingBalances: { BTC: '1000' },
      fillModel: { kind: 'conservative' },
    });
    this.edge = createVenueEdge(
      {
        config: config(sc),
        venues: new Map([[VENUE, this.shadow]]),
        orders: this.orders,
        positions: this.positions,
        bus: this.bus,
        clock: this.clock,
        recorder: new ExecutionRecorder({
          orders: this.orders,
          positions: this.positions,
          bus: this.bus,
          clock: this.clock,
        }),
        algoStates: this.algoStates,
        tradingState: this.reader,
        market: new LocalMarketStateStore(),
        instruments: new StaticInstrumentCatalog([SPEC]),
      },
      { tickMs: 0, tradingStatePollMs: 1, fillGraceMs: 0, orderPollMs: 0, bookPollMs: 0, seed: 42 },
    );
  }

  private async settle(): Promise<void> {
    for (let i = 0; i < 10; i++) {
      await this.bus.inner.idle();
      await new Promise<void>((r) => setImmediate(r));
      await this.edge.idle();
    }
  }

  private push(x: Tick): void {
    if (x.kind === 'book')
      this.data.book(KEY, [[String(x.bid), String(x.size)]], [[String(x.ask), String(x.size)]], x.t);
    else this.data.trade(KEY, String(x.price), String(x.size), x.side, x.t);
  }

  async run(): Promise<Outcome> {
    const ticks = script();
    const first = ticks[0] as Tick;
    this.push(first); // the book the shadow venue reads when watching starts
    await this.edge.start();
    const end = T0 + 120_000n * MS;
    const times = [...new Set(ticks.filter((x) => x.t > first.t && x.t <= end).map((x) => x.t))];
    let op: string | null = null;
    for (const t of times) {
      this.clock.set(t);
      for (const x of ticks) if (x.t === t) this.push(x); // books before prints at equal times
      await this.settle();
      const s = (t - T0) / MS;
      for (const c of this.sc.trading_states ?? []) {
        if (BigInt(c.at_s * 1000) === s) {
          await this.tradingStore.set(
            { kind: 'global' },
            { state: c.state, reason: 'parity', updated_by: 'test' },
            t,
          );
          this.reader.invalidate();
        }
      }
      if (t === T0) op = await this.route();
      if (this.sc.cancel_at_s !== undefined && BigInt(this.sc.cancel_at_s * 1000) === s && op !== null) {
        const order = await this.orders.get(op);
        if (order === null) throw new Error('no parent');
        await this.bus.publish(
          'orders.routed',
          venueCancelMessage(order, 'USER_CANCEL', t),
          routedAttributes(order, 'cancel'),
        );
      }
      await this.settle();
      await this.edge.tick();
      await this.settle();
    }
    if (op === null) throw new Error('never routed');
    return this.outcome(op);
  }

  private async route(): Promise<string> {
    const side = this.sc.side ?? 'BUY';
    const order = await createRoutedOrder(
      this.orders,
      'OP-PARITY',
      {
        side,
        quantity: this.sc.quantity,
        strategy_id: STRATEGY,
        instrument_key: KEY,
        exec_algorithm: this.sc.algorithm,
        exec_algorithm_params: this.sc.params ?? {},
        ...(this.sc.limit_price === undefined
          ? {}
          : { order_type: 'LIMIT' as const, price: this.sc.limit_price }),
      },
      { venue: VENUE, account_id: ACCOUNT, ts: T0 },
    );
    await this.bus.publish(
      'orders.routed',
      routedSubmitMessage(order, '100', T0),
      routedAttributes(order, 'submit'),
    );
    await this.settle();
    return order.operation_id;
  }

  private async outcome(op: string): Promise<Outcome> {
    const order = await this.orders.get(op);
    if (order === null) throw new Error('no parent');
    const parentId = order.order_id;
    const rec = await this.algoStates.get(op);
    const trades = await this.shadow.fetchTrades(KEY, 0n);
    let children: ChildView[];
    if (rec !== null) {
      children = rec.state.children.map((c) => ({
        child: childName(c.order_id, parentId),
        quantity: c.quantity,
        status: c.status,
        filled: c.filled_quantity,
        submitted: c.ts_submitted_ns,
      }));
    } else {
      // A direct order: its own only child.
      const st = await this.shadow.fetchOrder(parentId, KEY);
      children =
        st === null
          ? []
          : [
              {
                child: 'N1',
                quantity: order.quantity,
                status: order.status,
                filled: order.filled_quantity,
                submitted: order.ts_created.toString(),
              },
            ];
    }
    const fills = trades.map((t) => ({
      child: childName(t.client_order_id ?? '', parentId),
      price: t.price,
      quantity: t.quantity,
      fee: t.fee,
      liquidity: t.liquidity,
      ts: t.ts_event.toString(),
    }));
    const pos = await this.positions.get(ACCOUNT, KEY);
    return { children, fills, position: pos?.quantity ?? '0' };
  }

  async stop(): Promise<void> {
    await this.edge.stop();
    await this.shadow.close();
    await this.bus.close();
  }
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

/** Children the edge finished (the window cancels the rest at its end; the edge keeps working). */
function finished(o: Outcome): ChildView[] {
  return o.children.filter((c) => ['FILLED', 'CANCELED', 'EXPIRED', 'REJECTED', 'DENIED'].includes(c.status));
}

function expectParity(r: { backtest: Outcome; shadow: Outcome }) {
  if (process.env.PARITY_DEBUG) console.log(JSON.stringify(r, null, 1));
  expect(r.shadow.fills.length).toBeGreaterThan(0);
  expect(r.shadow.fills).toEqual(r.backtest.fills);
  expect(finished(r.shadow)).toEqual(finished(r.backtest));
  expect(r.shadow.children.map((c) => c.child)).toEqual(r.backtest.children.map((c) => c.child));
  expect(r.shadow.position).toBe(r.backtest.position);
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
