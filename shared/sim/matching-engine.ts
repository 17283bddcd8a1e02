/**
 * Deterministic, event-driven matching engine for one instrument: the simulated venue of backtests,
 * local runs and SHADOW mode. The full model (fill rules, liquidity consumption, latency, fees, time
 * base, determinism) is written down in docs/matching-engine.md; the short version:
 *
 * - Time: inputs carry integer nanoseconds. Inside, time is a JS number of nanoseconds RELATIVE to
 *   `epochNs` (fixed per engine), exact for 2^53 ns ≈ 104 days either side of the epoch; events leave
 *   with `ts_event = epochNs + BigInt(t)`. Market data at time T is applied before an order or
 *   cancel that reaches the matching at the same T.
 * - Quantities are integers of `step_size` units and prices integers of `tick_size` inside the
 *   matching; fills leave as decimal strings built from those integers, so they are on the grid
 *   and sum exactly.
 * - A market (or marketable) order takes only displayed liquidity, level by level, never at a price
 *   better than the book and never more than the displayed size minus what our own orders already
 *   took at that price since the level last changed.
 * - A resting limit order fills as MAKER at its limit price when a trade prints strictly through it,
 *   when the opposite quote reaches it (against the displayed size), or at the touch per the fill
 *   model (default: never).
 *
 * Pure: no I/O, no wall clock, every random draw from seeded generators.
 */
import { Dec, type DecimalString, fmt, toDec } from '../domain/decimal.ts';
import { checkOrderPrecision, feeFor } from '../domain/instrument.ts';
import { parseInstrumentId } from '../domain/instrument-id.ts';
import type { Nanos } from '../domain/time.ts';
import type { InstrumentSpec, Liquidity, Side, TimeInForce } from '../domain/types.ts';
import { bookSideCode, relativeNanos, sideCode } from './columns.ts';
import { deriveSeed, Mulberry32 } from './prng.ts';
import type {
  BookColumns,
  BookSideName,
  FillModel,
  LatencyModel,
  MatchingEngineConfig,
  QuoteColumns,
  SimCancelReason,
  SimEvent,
  SimOrder,
  SimOrderState,
  SimOrderStatus,
  SimRejectReason,
  SlippageModel,
  TradeColumns,
} from './types.ts';

const NS_PER_DAY = 86_400_000_000_000n;
const CONSUMED_CAPACITY = 32;

const ST_PENDING = 0;
const ST_WORKING = 1;
const ST_DONE = 2;

const TIMER_ACTIVATE = 0;
const TIMER_CANCEL = 1;
const TIMER_EXPIRE = 2;

// Random streams: independent so that e.g. a latency draw never shifts a fill-model draw.
const STREAM_LATENCY = 1;
const STREAM_FILL = 2;
const STREAM_SLIPPAGE = 3;

/** One order inside the engine (mutable, never leaves it). */
interface Ord {
  readonly id: string;
  readonly order: SimOrder;
  readonly priceStr: DecimalString | null;
  readonly sgn: number; // +1 BUY, -1 SELL
  readonly market: boolean;
  readonly tif: TimeInForce;
  readonly seq: number;
  /** Limit price as a number (NaN for market). */
  limit: number;
  /** Limit in ticks (+∞ for a market BUY, −∞ for a market SELL). */
  limitTicks: number;
  /** Quantity and filled quantity in step units. */
  qty: number;
  filled: number;
  state: number;
  status: SimOrderStatus;
  actT: number;
  nFills: number;
  /** Queue model: displayed units ahead of us at our price. */
  queueAhead: number;
}

interface Timer {
  t: number;
  seq: number;
  kind: number;
  id: string;
}

/**
 * One side of the book: levels 0..depth-1 (0 = best), empty levels have size 0; plus the liquidity
 * our own orders consumed, keyed by price and remembered with the displayed size it was taken from.
 */
class BookSide {
  readonly px: Float64Array;
  readonly sz: Float64Array;
  depth = 0;
  readonly cPx = new Float64Array(CONSUMED_CAPACITY);
  readonly cDisp = new Float64Array(CONSUMED_CAPACITY);
  readonly cUnits = new Float64Array(CONSUMED_CAPACITY);
  cCount = 0;

  constructor(levels: number) {
    this.px = new Float64Array(levels).fill(Number.NaN);
    this.sz = new Float64Array(levels);
  }

  /**
   * Units already consumed by us at price `p` whose level still shows `displayed`. A different
   * displayed size means the level was updated since: the record is dropped and the level is fresh.
   */
  consumedAt(p: number, displayed: number): number {
    for (let j = 0; j < this.cCount; j++) {
      if (this.cPx[j] === p) {
        if (this.cDisp[j] === displayed) return this.cUnits[j]!;
        this.removeAt(j);
        return 0;
      }
    }
    return 0;
  }

  addConsumed(p: number, displayed: number, units: number): void {
    for (let j = 0; j < this.cCount; j++) {
      if (this.cPx[j] === p) {
        this.cDisp[j] = displayed;
        this.cUnits[j] = this.cUnits[j]! + units;
        return;
      }
    }
    if (this.cCount === CONSUMED_CAPACITY) this.removeAt(0); // oldest record goes first
    const k = this.cCount++;
    this.cPx[k] = p;
    this.cDisp[k] = displayed;
    this.cUnits[k] = units;
  }

  /** Drop the record at price `p` (its level was updated away). */
  dropPrice(p: number): void {
    for (let j = 0; j < this.cCount; j++) {
      if (this.cPx[j] === p) {
        this.removeAt(j);
        return;
      }
    }
  }

  /** L1: the top level changed; records at any other price no longer describe a displayed level. */
  dropAllBut(p: number): void {
    for (let j = this.cCount - 1; j >= 0; j--) if (this.cPx[j] !== p) this.removeAt(j);
  }

  private removeAt(j: number): void {
    const last = this.cCount - 1;
    for (let k = j; k < last; k++) {
      this.cPx[k] = this.cPx[k + 1]!;
      this.cDisp[k] = this.cDisp[k + 1]!;
      this.cUnits[k] = this.cUnits[k + 1]!;
    }
    this.cCount = last;
  }

  /** Index of the first non-empty level, or -1. */
  best(): number {
    for (let i = 0; i < this.depth; i++) if (this.sz[i]! > 0) return i;
    return -1;
  }

  /** Set a level; returns false when nothing changed. */
  set(level: number, p: number, s: number): boolean {
    const size = s > 0 && !Number.isNaN(p) ? s : 0;
    const oldP = this.px[level]!;
    if (size === this.sz[level] && (p === oldP || size === 0)) return false;
    if (this.cCount !== 0 && oldP !== p) this.dropPrice(oldP);
    this.px[level] = p;
    this.sz[level] = size;
    if (size > 0) {
      if (level >= this.depth) this.depth = level + 1;
    } else if (level === this.depth - 1) {
      while (this.depth > 0 && !(this.sz[this.depth - 1]! > 0)) this.depth--;
    }
    return true;
  }
}

function quoteAssetOf(instrumentKey: string): string {
  const parsed = parseInstrumentId(instrumentKey);
  if (parsed.success) return parsed.data.quote;
  const payload = instrumentKey.split(':').pop() ?? '';
  return payload.split('@')[0]?.split('-')[1] ?? '';
}

function nonNegativeInt(x: number | undefined, what: string): number {
  const v = x ?? 0;
  if (!Number.isSafeInteger(v) || v < 0)
    throw new RangeError(`${what} must be a non-negative integer, got ${v}`);
  return v;
}

export type SubmitResult = 'queued' | 'duplicate';

export class MatchingEngine {
  readonly instrument: InstrumentSpec;
  private epoch: Nanos;
  readonly feeCurrency: string;
  readonly latency: Readonly<LatencyModel>;
  readonly fillModel: FillModel;

  private readonly stepDec: Dec;
  private readonly tickDec: Dec;
  private readonly stepNum: number;
  private readonly tickNum: number;
  private readonly halfTick: number;
  private readonly maxLevels: number;
  private readonly clampLate: boolean;
  private readonly queueModel: boolean;
  private readonly touchProb: number;
  private readonly slippage: SlippageModel | null;

  private readonly rngLatency: Mulberry32;
  private readonly rngFill: Mulberry32;
  private readonly rngSlip: Mulberry32;

  private readonly bids: BookSide;
  private readonly asks: BookSide;
  private hasBook = false;
  private hasL2 = false;
  private lastPx = Number.NaN;
  private lastSz = Number.NaN;
  private lastT = Number.NaN;

  /** Current engine time (relative ns). */
  private t = Number.NEGATIVE_INFINITY;
  private seq = 0;

  private readonly orders = new Map<string, Ord>();
  private readonly timers: Timer[] = [];
  private nextTimer = Number.POSITIVE_INFINITY;

  /** Working orders: resting limits sorted by priority, market orders waiting for liquidity. */
  private restingBuys: Ord[] = [];
  private restingSells: Ord[] = [];
  private waiting: Ord[] = [];
  private working = 0;
  private dirty = false;
  /** A trade at or below this may fill a resting BUY (best buy limit + half a tick). */
  private buyTrigger = Number.NEGATIVE_INFINITY;
  /** A trade at or above this may fill a resting SELL. */
  private sellTrigger = Number.POSITIVE_INFINITY;
  /** Market orders waiting and no book ever seen: trades are their only liquidity. */
  private tradeFeedsMarkets = false;

  private events: SimEvent[] = [];

  constructor(config: MatchingEngineConfig) {
    this.instrument = config.instrument;
    this.epoch = config.epochNs;
    this.stepDec = toDec(config.instrument.step_size);
    this.tickDec = toDec(config.instrument.tick_size);
    if (!this.stepDec.gt(0))
      throw new RangeError(`step_size must be > 0, got ${config.instrument.step_size}`);
    if (!this.tickDec.gt(0))
      throw new RangeError(`tick_size must be > 0, got ${config.instrument.tick_size}`);
    this.stepNum = this.stepDec.toNumber();
    this.tickNum = this.tickDec.toNumber();
    this.halfTick = this.tickNum / 2;
    this.feeCurrency = config.feeCurrency ?? quoteAssetOf(config.instrument.instrument_key);
    const lat = config.latency ?? {};
    this.latency = {
      insertNs: nonNegativeInt(lat.insertNs, 'latency.insertNs'),
      cancelNs: nonNegativeInt(lat.cancelNs, 'latency.cancelNs'),
      insertJitterNs: nonNegativeInt(lat.insertJitterNs, 'latency.insertJitterNs'),
      cancelJitterNs: nonNegativeInt(lat.cancelJitterNs, 'latency.cancelJitterNs'),
    };
    this.fillModel = config.fillModel ?? { kind: 'conservative' };
    this.queueModel = this.fillModel.kind === 'queue';
    this.touchProb = this.fillModel.kind === 'probabilistic' ? this.fillModel.probFillAtTouch : 0;
    if (!(this.touchProb >= 0 && this.touchProb <= 1)) {
      throw new RangeError(`fillModel.probFillAtTouch must be within [0, 1], got ${this.touchProb}`);
    }
    this.slippage = config.slippage ?? null;
    if (this.slippage && !(this.slippage.fixedBps >= 0 && (this.slippage.randomBps ?? 0) >= 0)) {
      throw new RangeError('slippage bps must be non-negative');
    }
    this.maxLevels = config.maxLevels ?? 50;
    if (!Number.isSafeInteger(this.maxLevels) || this.maxLevels < 1) {
      throw new RangeError(`maxLevels must be a positive integer, got ${this.maxLevels}`);
    }
    this.clampLate = config.lateData === 'clamp';
    const seed = config.seed ?? 0;
    this.rngLatency = new Mulberry32(deriveSeed(seed, STREAM_LATENCY));
    this.rngFill = new Mulberry32(deriveSeed(seed, STREAM_FILL));
    this.rngSlip = new Mulberry32(deriveSeed(seed, STREAM_SLIPPAGE));
    this.bids = new BookSide(this.maxLevels);
    this.asks = new BookSide(this.maxLevels);
  }

  // ---------------------------------------------------------------------------------------------
  // Time
  // ---------------------------------------------------------------------------------------------

  /** Relative engine time of an absolute timestamp (exact within 2^53 ns of the epoch). */
  toRelative(tsNs: Nanos): number {
    return relativeNanos(tsNs, this.epoch);
  }

  /** Absolute timestamp of a relative engine time. */
  toAbsolute(t: number): Nanos {
    return this.epoch + BigInt(Math.round(t));
  }

  /** Base of the engine's relative time (bigint ns since the Unix epoch). */
  get epochNs(): Nanos {
    return this.epoch;
  }

  /**
   * Move the relative time base to `newEpochNs` (e.g. daily in a long-running SHADOW engine, whose
   * relative times must stay within 2^53 ns ≈ 104 days of the base). Every pending time shifts
   * with it; nothing else changes. Columnar batches after this call must be relative to the new base.
   */
  rebase(newEpochNs: Nanos): void {
    const shift = relativeNanos(newEpochNs, this.epoch);
    if (shift === 0) return;
    this.epoch = newEpochNs;
    if (this.t !== Number.NEGATIVE_INFINITY) this.t -= shift;
    if (!Number.isNaN(this.lastT)) this.lastT -= shift;
    for (const tm of this.timers) tm.t -= shift;
    for (const o of this.orders.values()) o.actT -= shift;
    this.nextTimer = this.timers.length > 0 ? this.timers[0]!.t : Number.POSITIVE_INFINITY;
  }

  /** The engine's current time (absolute), or null before any input. */
  now(): Nanos | null {
    return this.t === Number.NEGATIVE_INFINITY ? null : this.toAbsolute(this.t);
  }

  /**
   * Time has reached `tsNs` and all market data up to it has been delivered: orders whose latency
   * elapsed at or before it become active, cancels take effect, DAY orders expire. A time before
   * the engine's current time is a no-op.
   */
  advanceTo(tsNs: Nanos): void {
    this.advanceToRelative(this.toRelative(tsNs));
  }

  advanceToRelative(t: number): void {
    if (t < this.t) return;
    if (t >= this.nextTimer) this.runTimers(t, true);
    this.t = t;
  }

  /** Relative time of the next pending activation / cancel / expiry (+∞ when none). */
  nextTimerRelative(): number {
    return this.nextTimer;
  }

  /** Absolute time of the next pending activation / cancel / expiry, or null. */
  nextTimerAt(): Nanos | null {
    return this.nextTimer === Number.POSITIVE_INFINITY ? null : this.toAbsolute(this.nextTimer);
  }

  // ---------------------------------------------------------------------------------------------
  // Orders
  // ---------------------------------------------------------------------------------------------

  /**
   * Send an order at `tsNs` (clamped to the engine's current time). It reaches the matching after
   * the insert latency; every outcome (accepted, rejected, fills…) is an event. A second submit with
   * an order_id the engine already knows is ignored and returns 'duplicate' (client order ids are
   * idempotency keys, as at a real venue).
   */
  submit(order: SimOrder, tsNs: Nanos): SubmitResult {
    return this.submitRelative(order, this.toRelative(tsNs));
  }

  submitRelative(order: SimOrder, tRel: number): SubmitResult {
    if (this.orders.has(order.order_id)) return 'duplicate';
    const t = Math.max(tRel, this.t);
    const actT = t + this.latency.insertNs + this.jitter(this.latency.insertJitterNs);
    const frozen: SimOrder = { ...order };
    const o: Ord = {
      id: order.order_id,
      order: frozen,
      priceStr: order.price ?? null,
      sgn: order.side === 'BUY' ? 1 : -1,
      market: order.order_type === 'MARKET',
      tif: order.time_in_force,
      seq: this.seq++,
      limit: Number.NaN,
      limitTicks: order.side === 'BUY' ? Number.POSITIVE_INFINITY : Number.NEGATIVE_INFINITY,
      qty: 0,
      filled: 0,
      state: ST_PENDING,
      status: 'SUBMITTED',
      actT,
      nFills: 0,
      queueAhead: 0,
    };
    this.orders.set(o.id, o);
    this.addTimer(actT, TIMER_ACTIVATE, o.id);
    return 'queued';
  }

  /**
   * Request a cancel at `tsNs`; it takes effect after the cancel latency (never before the order
   * itself reached the matching). Fills in between still happen. The outcome is a `canceled` or a
   * `cancel_rejected` event.
   */
  cancel(orderId: string, tsNs: Nanos): void {
    this.cancelRelative(orderId, this.toRelative(tsNs));
  }

  cancelRelative(orderId: string, tRel: number): void {
    const t0 = Math.max(tRel, this.t);
    let t = t0 + this.latency.cancelNs + this.jitter(this.latency.cancelJitterNs);
    const o = this.orders.get(orderId);
    if (o && o.state === ST_PENDING && t < o.actT) t = o.actT;
    this.addTimer(t, TIMER_CANCEL, orderId);
  }

  /** A snapshot of an order, or undefined when the engine never saw it. */
  getOrder(orderId: string): SimOrderState | undefined {
    const o = this.orders.get(orderId);
    if (!o) return undefined;
    return {
      order_id: o.id,
      side: o.order.side,
      order_type: o.order.order_type,
      time_in_force: o.tif,
      quantity: o.order.quantity,
      price: o.priceStr,
      status: o.status,
      filled_quantity: this.qtyStr(o.filled),
      leaves_quantity:
        o.state === ST_DONE ? '0' : o.qty > 0 ? this.qtyStr(o.qty - o.filled) : o.order.quantity,
    };
  }

  /** Number of orders working (accepted, not finished). */
  workingOrderCount(): number {
    return this.working;
  }

  /** Events produced since the last call, in the order they happened. */
  drainEvents(): SimEvent[] {
    const out = this.events;
    this.events = [];
    return out;
  }

  // ---------------------------------------------------------------------------------------------
  // Market data: per event
  // ---------------------------------------------------------------------------------------------

  /** A trade print: price, size, aggressor side (null when unknown). */
  onTrade(tsNs: Nanos, price: number, size: number, aggressor: Side | null): void {
    const t = this.enter(this.toRelative(tsNs));
    this.trade(t, price, size, sideCode(aggressor));
    this.lastPx = price;
    this.lastSz = size;
    this.lastT = t;
  }

  /** A top-of-book quote (L1). A side with size 0 or a NaN price is empty. */
  onQuote(tsNs: Nanos, bidPx: number, bidSz: number, askPx: number, askSz: number): void {
    const t = this.enter(this.toRelative(tsNs));
    this.quote(t, bidPx, bidSz, askPx, askSz);
  }

  /** One L2 row: level `level` (0 = best) of `side` becomes (price, size); size 0 empties it. */
  onBookLevel(tsNs: Nanos, side: BookSideName, level: number, price: number, size: number): void {
    const t = this.enter(this.toRelative(tsNs));
    this.bookLevel(t, bookSideCode(side), level, price, size);
  }

  /** Replace the whole L2 book (e.g. from a venue depth snapshot): [price, size] pairs, best first. */
  onBookSnapshot(
    tsNs: Nanos,
    bids: ReadonlyArray<readonly [number, number]>,
    asks: ReadonlyArray<readonly [number, number]>,
  ): void {
    const t = this.enter(this.toRelative(tsNs));
    this.hasBook = true;
    this.hasL2 = true;
    const load = (book: BookSide, levels: ReadonlyArray<readonly [number, number]>) => {
      const n = Math.min(levels.length, this.maxLevels);
      for (let i = 0; i < n; i++) {
        const [p, s] = levels[i]!;
        book.set(i, p, s);
      }
      for (let i = n; i < book.depth; i++) book.set(i, Number.NaN, 0);
      book.depth = Math.min(book.depth, n);
    };
    load(this.bids, bids);
    load(this.asks, asks);
    this.refreshFlags();
    if (this.working !== 0) {
      this.matchBook(t);
      if (this.queueModel) this.queuesFromBook();
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Market data: columnar batches (the hot path)
  // ---------------------------------------------------------------------------------------------

  /** Trades rows [from, to) of `c`; `c.ts` relative to the engine epoch, non-decreasing. */
  onTrades(c: TradeColumns, from = 0, to = c.ts.length): void {
    if (to <= from) return;
    const ts = c.ts;
    const px = c.price;
    let now = this.t;
    for (let i = from; i < to; i++) {
      let t = ts[i]!;
      if (t < now) {
        this.t = now;
        t = this.late(t);
      }
      if (t > this.nextTimer) this.runTimers(t, false);
      now = t;
      const p = px[i]!;
      if (p <= this.buyTrigger || p >= this.sellTrigger || this.tradeFeedsMarkets) {
        this.t = t;
        this.trade(t, p, c.size[i]!, c.side[i]!);
      }
    }
    this.t = now;
    this.lastPx = px[to - 1]!;
    this.lastSz = c.size[to - 1]!;
    this.lastT = now;
  }

  /** Quotes rows [from, to) of `c`. */
  onQuotes(c: QuoteColumns, from = 0, to = c.ts.length): void {
    const ts = c.ts;
    const bp = c.bidPx;
    const bs = c.bidSz;
    const ap = c.askPx;
    const as = c.askSz;
    let now = this.t;
    for (let i = from; i < to; i++) {
      let t = ts[i]!;
      if (t < now) t = this.late(t);
      if (t > this.nextTimer) this.runTimers(t, false);
      now = t;
      this.t = t;
      this.quote(t, bp[i]!, bs[i]!, ap[i]!, as[i]!);
    }
  }

  /** L2 rows [from, to) of `c`. */
  onBookLevels(c: BookColumns, from = 0, to = c.ts.length): void {
    const ts = c.ts;
    let now = this.t;
    for (let i = from; i < to; i++) {
      let t = ts[i]!;
      if (t < now) t = this.late(t);
      if (t > this.nextTimer) this.runTimers(t, false);
      now = t;
      this.t = t;
      this.bookLevel(t, c.side[i]!, c.level[i]!, c.price[i]!, c.size[i]!);
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Book queries
  // ---------------------------------------------------------------------------------------------

  bestBid(): { price: number; size: number } | null {
    const i = this.bids.best();
    return i < 0 ? null : { price: this.bids.px[i]!, size: this.bids.sz[i]! };
  }

  bestAsk(): { price: number; size: number } | null {
    const i = this.asks.best();
    return i < 0 ? null : { price: this.asks.px[i]!, size: this.asks.sz[i]! };
  }

  /** Mid price as a number, or null without a two-sided book. */
  mid(): number | null {
    const b = this.bestBid();
    const a = this.bestAsk();
    return b && a ? (b.price + a.price) / 2 : null;
  }

  lastTrade(): { price: number; size: number; ts_event: Nanos } | null {
    return Number.isNaN(this.lastT)
      ? null
      : { price: this.lastPx, size: this.lastSz, ts_event: this.toAbsolute(this.lastT) };
  }

  /** Displayed levels of one side, best first (for depth-aware routing and tests). */
  levels(side: 'BID' | 'ASK'): Array<{ price: number; size: number }> {
    const b = side === 'BID' ? this.bids : this.asks;
    const out: Array<{ price: number; size: number }> = [];
    for (let i = 0; i < b.depth; i++) if (b.sz[i]! > 0) out.push({ price: b.px[i]!, size: b.sz[i]! });
    return out;
  }

  // ---------------------------------------------------------------------------------------------
  // Internals: time and timers
  // ---------------------------------------------------------------------------------------------

  private late(t: number): number {
    if (this.clampLate) return this.t;
    throw new RangeError(
      `market data out of order: ${this.toAbsolute(t)} is before the engine time ${this.toAbsolute(this.t)}`,
    );
  }

  private enter(tRel: number): number {
    let t = tRel;
    if (t < this.t) t = this.late(t);
    if (t > this.nextTimer) this.runTimers(t, false);
    this.t = t;
    return t;
  }

  private jitter(maxNs: number): number {
    return maxNs > 0 ? Math.floor(this.rngLatency.next() * maxNs) : 0;
  }

  private addTimer(t: number, kind: number, id: string): void {
    const tm: Timer = { t, seq: this.seq++, kind, id };
    const q = this.timers;
    let lo = 0;
    let hi = q.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const m = q[mid]!;
      if (m.t < t || (m.t === t && m.seq < tm.seq)) lo = mid + 1;
      else hi = mid;
    }
    q.splice(lo, 0, tm);
    this.nextTimer = q[0]!.t;
  }

  /** Run timers with time < limit (or ≤ limit when inclusive), in (time, sequence) order. */
  private runTimers(limit: number, inclusive: boolean): void {
    const q = this.timers;
    while (q.length > 0) {
      const tm = q[0]!;
      if (inclusive ? tm.t > limit : tm.t >= limit) break;
      q.shift();
      this.nextTimer = q.length > 0 ? q[0]!.t : Number.POSITIVE_INFINITY;
      if (tm.t > this.t) this.t = tm.t;
      if (tm.kind === TIMER_ACTIVATE) this.activate(tm.id, tm.t);
      else if (tm.kind === TIMER_CANCEL) this.applyCancel(tm.id, tm.t);
      else this.expire(tm.id, tm.t);
    }
    this.nextTimer = q.length > 0 ? q[0]!.t : Number.POSITIVE_INFINITY;
  }

  // ---------------------------------------------------------------------------------------------
  // Internals: order lifecycle
  // ---------------------------------------------------------------------------------------------

  private reject(o: Ord, t: number, reason: SimRejectReason, message: string): void {
    o.state = ST_DONE;
    o.status = 'REJECTED';
    this.events.push({ type: 'rejected', order_id: o.id, ts_event: this.toAbsolute(t), reason, message });
  }

  private activate(id: string, t: number): void {
    const o = this.orders.get(id);
    if (!o || o.state !== ST_PENDING) return;
    const ord = o.order;
    if (!o.market && (ord.price === null || ord.price === undefined)) {
      this.reject(o, t, 'LIMIT_PRICE_REQUIRED', 'a LIMIT order needs a price');
      return;
    }
    if (o.market && o.tif === 'GTX') {
      this.reject(o, t, 'MARKET_ORDER_NOT_POST_ONLY', 'a MARKET order cannot be post-only (GTX)');
      return;
    }
    let issues: ReturnType<typeof checkOrderPrecision>;
    try {
      issues = checkOrderPrecision(this.instrument, ord.quantity, o.market ? null : (ord.price ?? null));
    } catch (e) {
      issues = [{ path: 'order', message: e instanceof Error ? e.message : String(e) }];
    }
    if (issues.length > 0) {
      this.reject(o, t, 'INVALID_ORDER', issues.map((i) => `${i.path}: ${i.message}`).join('; '));
      return;
    }
    const units = toDec(ord.quantity).div(this.stepDec);
    if (!units.lte(Number.MAX_SAFE_INTEGER)) {
      this.reject(o, t, 'INVALID_ORDER', `quantity: ${ord.quantity} is more than 2^53 step units`);
      return;
    }
    o.qty = units.toNumber();
    if (!o.market) {
      o.limit = Number(ord.price);
      o.limitTicks = toDec(ord.price as string)
        .div(this.tickDec)
        .toNumber();
    }
    const crosses = this.crossesBook(o);
    if (o.tif === 'GTX' && crosses) {
      this.reject(
        o,
        t,
        'POST_ONLY_WOULD_CROSS',
        `post-only ${ord.side} at ${ord.price} would cross the book on arrival`,
      );
      return;
    }
    o.state = ST_WORKING;
    o.status = 'ACCEPTED';
    this.working++;
    this.events.push({
      type: 'accepted',
      order_id: o.id,
      ts_event: this.toAbsolute(t),
      mid_at_arrival: this.midString(),
    });
    if (o.tif === 'FOK' && this.available(o) < o.qty) {
      this.finish(o, t, 'FOK_NOT_FILLABLE', 'FOK: the displayed liquidity cannot fill the whole quantity');
      this.afterMatch();
      return;
    }
    if (crosses) this.take(o, t, false);
    if (o.state === ST_WORKING) {
      if (o.tif === 'IOC' || o.tif === 'FOK') {
        this.finish(o, t, 'IOC_REMAINDER', 'IOC: the part not filled on arrival is canceled');
      } else {
        if (o.market) this.waiting.push(o);
        else this.rest(o);
        if (o.tif === 'DAY') {
          const abs = this.toAbsolute(t);
          const end = (abs / NS_PER_DAY + 1n) * NS_PER_DAY;
          this.addTimer(Number(end - this.epoch), TIMER_EXPIRE, o.id);
        }
      }
    }
    this.afterMatch();
  }

  /** Would this order take liquidity on arrival? Market orders: whenever the opposite side shows any. */
  private crossesBook(o: Ord): boolean {
    const b = o.sgn > 0 ? this.asks : this.bids;
    const i = b.best();
    if (i < 0) return false;
    if (o.market) return true;
    const pt = this.ticksAdverse(b.px[i]!, o.sgn);
    return o.sgn > 0 ? pt <= o.limitTicks : pt >= o.limitTicks;
  }

  private rest(o: Ord): void {
    const list = o.sgn > 0 ? this.restingBuys : this.restingSells;
    let k = 0;
    while (k < list.length) {
      const x = list[k]!;
      const better = o.sgn > 0 ? x.limitTicks > o.limitTicks : x.limitTicks < o.limitTicks;
      if (!(better || (x.limitTicks === o.limitTicks && x.seq < o.seq))) break;
      k++;
    }
    list.splice(k, 0, o);
    if (this.queueModel) o.queueAhead = this.displayedAt(o.sgn > 0 ? this.bids : this.asks, o.limitTicks);
  }

  private finish(o: Ord, t: number, reason: SimCancelReason, message: string): void {
    if (o.state === ST_WORKING) this.working--;
    o.state = ST_DONE;
    o.status = 'CANCELED';
    this.dirty = true;
    this.events.push({
      type: 'canceled',
      order_id: o.id,
      ts_event: this.toAbsolute(t),
      reason,
      message,
      filled_quantity: this.qtyStr(o.filled),
    });
  }

  private applyCancel(id: string, t: number): void {
    const o = this.orders.get(id);
    if (!o) {
      this.events.push({
        type: 'cancel_rejected',
        order_id: id,
        ts_event: this.toAbsolute(t),
        reason: 'UNKNOWN_ORDER',
        message: `no order ${id}`,
      });
      return;
    }
    if (o.state !== ST_WORKING) {
      this.events.push({
        type: 'cancel_rejected',
        order_id: id,
        ts_event: this.toAbsolute(t),
        reason: 'ORDER_CLOSED',
        message: `order ${id} is already ${o.status}`,
      });
      return;
    }
    this.finish(o, t, 'USER_CANCEL', 'canceled on request');
    this.afterMatch();
  }

  private expire(id: string, t: number): void {
    const o = this.orders.get(id);
    if (!o || o.state !== ST_WORKING) return;
    this.working--;
    o.state = ST_DONE;
    o.status = 'EXPIRED';
    this.dirty = true;
    this.events.push({
      type: 'expired',
      order_id: o.id,
      ts_event: this.toAbsolute(t),
      reason: 'DAY_END',
      message: 'DAY order expired at the end of the UTC day',
      filled_quantity: this.qtyStr(o.filled),
    });
    this.afterMatch();
  }

  /** Drop finished orders from the working lists and recompute the fast-path triggers. */
  private afterMatch(): void {
    if (this.dirty) {
      this.dirty = false;
      const alive = (o: Ord) => o.state === ST_WORKING;
      this.restingBuys = this.restingBuys.filter(alive);
      this.restingSells = this.restingSells.filter(alive);
      this.waiting = this.waiting.filter(alive);
    }
    this.refreshFlags();
  }

  private refreshFlags(): void {
    const b = this.restingBuys[0];
    const s = this.restingSells[0];
    this.buyTrigger = b ? b.limit + this.halfTick : Number.NEGATIVE_INFINITY;
    this.sellTrigger = s ? s.limit - this.halfTick : Number.POSITIVE_INFINITY;
    this.tradeFeedsMarkets = this.waiting.length > 0 && !this.hasBook;
  }

  // ---------------------------------------------------------------------------------------------
  // Internals: matching
  // ---------------------------------------------------------------------------------------------

  /** Units of the opposite side this order could take now (within its limit), net of consumption. */
  private available(o: Ord): number {
    const b = o.sgn > 0 ? this.asks : this.bids;
    let sum = 0;
    for (let i = 0; i < b.depth; i++) {
      const s = b.sz[i]!;
      if (!(s > 0)) continue;
      const p = b.px[i]!;
      const pt = this.ticksAdverse(p, o.sgn);
      if (o.sgn > 0 ? pt > o.limitTicks : pt < o.limitTicks) break;
      const a = this.units(s) - b.consumedAt(p, s);
      if (a > 0) sum += a;
    }
    return sum;
  }

  /**
   * Take displayed liquidity from the opposite side, best level first, within the order's limit.
   * `maker`: the order was resting and the quote came to it (fills at its limit price as MAKER);
   * otherwise it is a taker at each level's price.
   */
  private take(o: Ord, t: number, maker: boolean): void {
    const b = o.sgn > 0 ? this.asks : this.bids;
    for (let i = 0; i < b.depth && o.filled < o.qty; i++) {
      const s = b.sz[i]!;
      if (!(s > 0)) continue;
      const p = b.px[i]!;
      const pt = this.ticksAdverse(p, o.sgn);
      if (o.sgn > 0 ? pt > o.limitTicks : pt < o.limitTicks) break;
      const avail = this.units(s) - b.consumedAt(p, s);
      if (avail <= 0) continue;
      const f = Math.min(avail, o.qty - o.filled);
      b.addConsumed(p, s, f);
      let fillTicks = maker ? o.limitTicks : pt;
      if (!maker && o.market && this.slippage !== null && !this.hasL2) fillTicks = this.slipped(p, o.sgn);
      this.fill(o, f, fillTicks, maker ? 'MAKER' : 'TAKER', t);
    }
  }

  private slipped(p: number, sgn: number): number {
    const sl = this.slippage!;
    const bps = sl.fixedBps + (sl.randomBps ? this.rngSlip.next() * sl.randomBps : 0);
    return this.ticksAdverse(p * (1 + (sgn * bps) / 10_000), sgn);
  }

  private fill(o: Ord, units: number, priceTicks: number, liquidity: Liquidity, t: number): void {
    o.filled += units;
    o.nFills++;
    const quantity = this.qtyStr(units);
    const price = fmt(new Dec(priceTicks).times(this.tickDec));
    const done = o.filled >= o.qty;
    this.events.push({
      type: 'filled',
      order_id: o.id,
      ts_event: this.toAbsolute(t),
      fill_id: `${o.id}-F${o.nFills}`,
      side: o.order.side,
      quantity,
      price,
      fee: feeFor(this.instrument, quantity, price, liquidity),
      fee_currency: this.feeCurrency,
      liquidity,
      cum_quantity: this.qtyStr(o.filled),
      leaves_quantity: this.qtyStr(o.qty - o.filled),
    });
    if (done) {
      o.state = ST_DONE;
      o.status = 'FILLED';
      this.working--;
      this.dirty = true;
    } else {
      o.status = 'PARTIALLY_FILLED';
    }
  }

  /** A trade print while orders work (slow path). */
  private trade(t: number, p: number, size: number, aggressor: number): void {
    if (this.working === 0) return;
    let avail = this.units(size);
    if (avail <= 0) return;
    if (this.tradeFeedsMarkets) {
      // No book ever seen: a waiting market order takes the liquidity a same-side aggressor found.
      for (const o of this.waiting) {
        if (avail <= 0) break;
        if (o.state !== ST_WORKING || o.sgn !== aggressor) continue;
        const f = Math.min(avail, o.qty - o.filled);
        avail -= f;
        const ticks = this.slippage !== null ? this.slipped(p, o.sgn) : this.ticksAdverse(p, o.sgn);
        this.fill(o, f, ticks, 'TAKER', t);
      }
    }
    const pt = this.ticksNearest(p);
    if (avail > 0 && p <= this.buyTrigger) avail = this.tradeAgainst(this.restingBuys, 1, pt, avail, t);
    if (avail > 0 && p >= this.sellTrigger) this.tradeAgainst(this.restingSells, -1, pt, avail, t);
    this.afterMatch();
  }

  /** Fill resting orders of one side (priority order) from a trade at `pt` ticks; returns units left. */
  private tradeAgainst(list: Ord[], sgn: number, pt: number, units: number, t: number): number {
    let avail = units;
    for (const o of list) {
      if (avail <= 0) break;
      if (o.state !== ST_WORKING) continue;
      const through = sgn > 0 ? pt < o.limitTicks : pt > o.limitTicks;
      if (through) {
        const f = Math.min(avail, o.qty - o.filled);
        avail -= f;
        this.fill(o, f, o.limitTicks, 'MAKER', t);
      } else if (pt === o.limitTicks) {
        if (this.queueModel) {
          const ahead = o.queueAhead;
          if (avail <= ahead) {
            o.queueAhead = ahead - avail;
            avail = 0;
          } else {
            avail -= ahead;
            o.queueAhead = 0;
            const f = Math.min(avail, o.qty - o.filled);
            avail -= f;
            this.fill(o, f, o.limitTicks, 'MAKER', t);
          }
        } else if (this.touchProb > 0 && this.rngFill.next() < this.touchProb) {
          const f = Math.min(avail, o.qty - o.filled);
          avail -= f;
          this.fill(o, f, o.limitTicks, 'MAKER', t);
        }
      } else {
        break; // sorted by priority: no later order can be reached by this print
      }
    }
    return avail;
  }

  /** The book changed while orders work: waiting market orders and crossed resting orders fill. */
  private matchBook(t: number): void {
    for (const o of this.waiting) if (o.state === ST_WORKING) this.take(o, t, false);
    for (const o of this.restingBuys) if (o.state === ST_WORKING) this.take(o, t, true);
    for (const o of this.restingSells) if (o.state === ST_WORKING) this.take(o, t, true);
    this.afterMatch();
  }

  private quote(t: number, bp: number, bs: number, ap: number, as: number): void {
    const b = this.bids;
    const a = this.asks;
    let bidCh = false;
    let askCh = false;
    if (bp !== b.px[0] || bs !== b.sz[0]) {
      if (b.cCount !== 0) b.dropAllBut(bp);
      b.px[0] = bp;
      // biome-ignore lint/complexity/useMathMinMax: a NaN size must become 0 (Math.max keeps NaN)
      b.sz[0] = bs > 0 ? bs : 0;
      bidCh = true;
    }
    if (ap !== a.px[0] || as !== a.sz[0]) {
      if (a.cCount !== 0) a.dropAllBut(ap);
      a.px[0] = ap;
      // biome-ignore lint/complexity/useMathMinMax: a NaN size must become 0 (Math.max keeps NaN)
      a.sz[0] = as > 0 ? as : 0;
      askCh = true;
    }
    if (!this.hasBook) {
      this.hasBook = true;
      if (b.depth < 1) b.depth = 1;
      if (a.depth < 1) a.depth = 1;
      this.refreshFlags();
    }
    if (this.working !== 0 && (bidCh || askCh)) {
      if (
        (askCh && ap <= this.buyTrigger) ||
        (bidCh && bp >= this.sellTrigger) ||
        this.waiting.length !== 0
      ) {
        this.matchBook(t);
      }
      if (this.queueModel) {
        if (bidCh) this.queueUpdate(this.restingBuys, bp, bs);
        if (askCh) this.queueUpdate(this.restingSells, ap, as);
      }
    }
  }

  private bookLevel(t: number, side: number, level: number, p: number, s: number): void {
    if (!(level >= 0 && level < this.maxLevels)) return;
    const book = side > 0 ? this.bids : this.asks;
    const changed = book.set(level, p, s);
    if (!this.hasL2) {
      this.hasL2 = true;
      this.hasBook = true;
      this.refreshFlags();
    }
    if (!changed || this.working === 0) return;
    if ((s > 0 && (side > 0 ? p >= this.sellTrigger : p <= this.buyTrigger)) || this.waiting.length !== 0) {
      this.matchBook(t);
    }
    if (this.queueModel) this.queueUpdate(side > 0 ? this.restingBuys : this.restingSells, p, s);
  }

  /** Queue model: the displayed size at a resting order's price dropped below its queue: shrink. */
  private queueUpdate(list: Ord[], p: number, s: number): void {
    if (list.length === 0 || Number.isNaN(p)) return;
    const pt = this.ticksNearest(p);
    const u = s > 0 ? this.units(s) : 0;
    for (const o of list) if (o.limitTicks === pt && o.queueAhead > u) o.queueAhead = u;
  }

  private queuesFromBook(): void {
    for (const o of this.restingBuys)
      o.queueAhead = Math.min(o.queueAhead, this.displayedAt(this.bids, o.limitTicks));
    for (const o of this.restingSells)
      o.queueAhead = Math.min(o.queueAhead, this.displayedAt(this.asks, o.limitTicks));
  }

  private displayedAt(b: BookSide, ticks: number): number {
    for (let i = 0; i < b.depth; i++) {
      const s = b.sz[i]!;
      if (s > 0 && this.ticksNearest(b.px[i]!) === ticks) return this.units(s);
    }
    return 0;
  }

  // ---------------------------------------------------------------------------------------------
  // Internals: units
  // ---------------------------------------------------------------------------------------------

  /** Displayed size → whole step units (floored; float noise of an on-grid size is forgiven). */
  private units(size: number): number {
    const x = size / this.stepNum;
    const r = Math.round(x);
    const tol = x > 1e6 ? x * 1e-15 : 1e-9;
    return Math.abs(x - r) <= tol ? r : Math.floor(x);
  }

  private ticksNearest(p: number): number {
    return Math.round(p / this.tickNum);
  }

  /** A price in ticks rounded against the order (up for a BUY, down for a SELL). */
  private ticksAdverse(p: number, sgn: number): number {
    const x = p / this.tickNum;
    const r = Math.round(x);
    const tol = Math.abs(x) > 1e6 ? Math.abs(x) * 1e-15 : 1e-9;
    if (Math.abs(x - r) <= tol) return r;
    return sgn > 0 ? Math.ceil(x) : Math.floor(x);
  }

  private qtyStr(units: number): DecimalString {
    return fmt(new Dec(units).times(this.stepDec));
  }

  private midString(): DecimalString | null {
    const bi = this.bids.best();
    const ai = this.asks.best();
    if (bi < 0 || ai < 0) return null;
    const ticks = this.ticksNearest(this.bids.px[bi]!) + this.ticksNearest(this.asks.px[ai]!);
    return fmt(new Dec(ticks).times(this.tickDec).div(2));
  }
}
