/**
 * The two shells of the parity tests over one tick set: the backtest window (simulated clock +
 * MatchingEngine) and the venue edge with a ShadowVenue fed the same ticks as a live feed (same
 * timestamps, a TestClock moved to each tick), and what each made of an order (children, fills,
 * position) in one comparable shape. Used by test/unit/execution/parity.test.ts (signals) and
 * test/unit/rebalance/tick-parity.test.ts (rebalance orders).
 */
import { expect } from 'vitest';
import { LocalAlgoStateStore } from '../../../infra/local/algo-state.local.ts';
import { LocalMarketStateStore } from '../../../infra/local/market-state.local.ts';
import { LocalOrderStore } from '../../../infra/local/order-store.local.ts';
import { LocalPositionStore } from '../../../infra/local/position-store.local.ts';
import { LocalTradingStateStore } from '../../../infra/local/trading-state.local.ts';
import { createShadowVenue, type ShadowVenue } from '../../../infra/shadow/venue.ts';
import { ExecutionRecorder } from '../../../shared/app/execution-recorder.ts';
import { routedAttributes, routedSubmitMessage, venueCancelMessage } from '../../../shared/app/messages.ts';
import { CachedTradingStateReader } from '../../../shared/app/trading-state-cache.ts';
import type { WindowSimulation } from '../../../shared/backtest/model.ts';
import type { AppConfig } from '../../../shared/config/schema.ts';
import { BOOK_ASK, BOOK_BID, SIDE_BUY, SIDE_SELL } from '../../../shared/data/tick-columns.ts';
import { Dec, fmt } from '../../../shared/domain/decimal.ts';
import { isoToNanos, type Nanos } from '../../../shared/domain/time.ts';
import type { ExecAlgorithm, InstrumentSpec, Side, TradingState } from '../../../shared/domain/types.ts';
import { TestClock } from '../../../shared/ports/clock.ts';
import { StaticInstrumentCatalog } from '../../../shared/ports/instrument-catalog.ts';
import type { Venue } from '../../../shared/ports/venue.ts';
import { createVenueEdge, type VenueEdge } from '../../../stateful/edge/index.ts';
import { SPEC } from '../backtest/fixtures.ts';
import { edgeConfig, RecordingBus } from '../edge/harness.ts';
import { FakeDataVenue } from '../shadow/fake-data-venue.ts';
import { createRoutedOrder } from '../venues/fixtures.ts';

export const VENUE = 'BINANCE-SPOT';
export const ACCOUNT = 'binance-main';
export const KEY = SPEC.instrument_key;
export const T0_ISO = '2025-07-01T00:05:00Z';
export const T0 = isoToNanos(T0_ISO);
export const MS = 1_000_000n;
export const STRATEGY = 's1';

// ---------------------------------------------------------------------------------------------
// One tick set: a book every 500 ms (one level a side), trade prints between them
// ---------------------------------------------------------------------------------------------

export type Tick =
  | { t: Nanos; kind: 'book'; bid: number; ask: number; size: number }
  | { t: Nanos; kind: 'trade'; price: number; size: number; side: Side };

/** From 1 s before the window to 120 s into it; the mid wanders in a fixed pattern. */
export function script(): Tick[] {
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

export function windowTicks(ticks: readonly Tick[]) {
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

export interface Scenario {
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

export interface ChildView {
  child: string;
  quantity: string;
  status: string;
  filled: string;
  submitted: string;
}
export interface FillView {
  child: string;
  price: string;
  quantity: string;
  fee: string;
  liquidity: string;
  ts: string;
}
export interface Outcome {
  children: ChildView[];
  fills: FillView[];
  position: string;
}

export const NO_LATENCY = { insert_ms: 0, cancel_ms: 0, jitter_ms: 0 };

export function config(sc: Scenario): AppConfig {
  const base = edgeConfig();
  return {
    ...base,
    venues: base.venues.map((v) => ({ ...v, mode: 'SHADOW' as const })),
    // No velocity limits unless the scenario sets them (the configuration's defaults are per second).
    risk: { ...base.risk, max_orders_per_second: 1000, max_orders_per_minute: 100_000, ...sc.risk },
  };
}

/** `<parent>-S2` → `S2`; a direct order (its own child) → `N1`. */
export function childName(id: string, parentId: string): string {
  return id === parentId ? 'N1' : id.slice(parentId.length + 1);
}

export function fromBacktest(r: WindowSimulation): Outcome {
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

/** The stores, bus and clock an edge of a parity test runs over (kept across an edge restart). */
export interface ParityStores {
  orders: LocalOrderStore;
  positions: LocalPositionStore;
  bus: RecordingBus;
  algoStates: LocalAlgoStateStore;
  reader: CachedTradingStateReader;
  clock: TestClock;
}

/** A venue edge over `venues` as the parity tests run it: every timer driven by `tick()` and the clock. */
export function parityEdge(
  s: ParityStores,
  cfg: AppConfig,
  venues: ReadonlyMap<string, Venue>,
  spec: InstrumentSpec,
): VenueEdge {
  return createVenueEdge(
    {
      config: cfg,
      venues,
      orders: s.orders,
      positions: s.positions,
      bus: s.bus,
      clock: s.clock,
      recorder: new ExecutionRecorder({
        orders: s.orders,
        positions: s.positions,
        bus: s.bus,
        clock: s.clock,
      }),
      algoStates: s.algoStates,
      tradingState: s.reader,
      market: new LocalMarketStateStore(),
      instruments: new StaticInstrumentCatalog([spec]),
    },
    { tickMs: 0, tradingStatePollMs: 1, fillGraceMs: 0, orderPollMs: 0, bookPollMs: 0, seed: 42 },
  );
}

/** The venue edge over a ShadowVenue whose market data session replays the same ticks live. */
export class ShadowRun {
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
    this.edge = parityEdge(this, config(sc), new Map([[VENUE, this.shadow]]), SPEC);
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

/** Children the edge finished (the window cancels the rest at its end; the edge keeps working). */
export function finished(o: Outcome): ChildView[] {
  return o.children.filter((c) => ['FILLED', 'CANCELED', 'EXPIRED', 'REJECTED', 'DENIED'].includes(c.status));
}

export function expectParity(r: { backtest: Outcome; shadow: Outcome }) {
  if (process.env.PARITY_DEBUG) console.log(JSON.stringify(r, null, 1));
  expect(r.shadow.fills.length).toBeGreaterThan(0);
  expect(r.shadow.fills).toEqual(r.backtest.fills);
  expect(finished(r.shadow)).toEqual(finished(r.backtest));
  expect(r.shadow.children.map((c) => c.child)).toEqual(r.backtest.children.map((c) => c.child));
  expect(r.shadow.position).toBe(r.backtest.position);
}
