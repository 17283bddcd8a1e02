/**
 * The SHADOW venue: live market data, simulated execution (docs/shadow-mode.md). It implements the
 * whole Venue port, so the venue edge runs a SHADOW venue exactly as a LIVE one:
 *
 * - **Market data** comes from `data`, a live venue session used ONLY for its public streams
 *   (`watch` books and public trades) and `fetchBook`. Its private events (orders and trades of
 *   whatever account it holds) are ignored.
 * - **Execution** is our deterministic MatchingEngine (shared/sim), one per instrument, fed with
 *   every live book snapshot (L2: a market order walks the levels) and public trade (a resting
 *   limit fills when the market trades through it; `fillModel` decides the touch).
 * - **The account** is synthetic (./account.ts): 100,000 USD by default, moved by the fills.
 *   Spot orders beyond the free balance are refused as a venue refuses them.
 * - **Events**: order updates and executions are emitted to the `watch` handler like a live
 *   venue's private stream (`trade`, then the `order` update), the market data is forwarded with
 *   the instrument keys of this venue. `fetchOpenOrders`, `fetchOrder`, `fetchTrades`,
 *   `fetchBalances`, `fetchPositions` answer from the same state.
 *
 * Deterministic: given the data stream (and the clock at each submit / cancel) and the seed, the
 * fills, ids and balances are the same. Time: ONE clock for matching, the receive clock — engines
 * advance to `clock.now()` when a market event arrives (the event is forwarded stamped with it as
 * `ts_init`, which the edge records), to the edge's send time at each submit and cancel
 * (`sentAt`, else `clock.now()`), and to `clock.now()` at each `advance()` (a timer calls it every
 * `tickMs` when there is latency, so delayed orders activate in a quiet market too). A replay of a
 * recording clocks its matching by the recorded `ts_init` and send times: the same instants.
 */
import { Dec, type DecimalString, fmt, toDec } from '../../shared/domain/decimal.ts';
import { checkOrderPrecision } from '../../shared/domain/instrument.ts';
import { canonicalInstrumentId, parseInstrumentId } from '../../shared/domain/instrument-id.ts';
import { NANOS_PER_MILLI, NANOS_PER_SECOND, type Nanos } from '../../shared/domain/time.ts';
import type { Fill, InstrumentSpec } from '../../shared/domain/types.ts';
import type { TradingSchedule } from '../../shared/execution/session.ts';
import type { Clock } from '../../shared/ports/clock.ts';
import {
  type Venue,
  type VenueBalance,
  type VenueBook,
  VenueError,
  type VenueEvent,
  type VenueHealthState,
  type VenueInstrumentRules,
  type VenueOrderRequest,
  type VenueOrderState,
  type VenueOrderStatus,
  type VenuePosition,
  type VenueTrade,
} from '../../shared/ports/venue.ts';
import {
  applySimEvent,
  deriveSeed,
  type FillModel,
  MatchingEngine,
  newSimOrderView,
  type SimEvent,
  type SimOrderPhase,
  type SimOrderView,
  toSeed,
} from '../../shared/sim/index.ts';
import { type RateBudget, type RateBudgetSource, rateLimitBudgetsOf } from '../ccxt/limits.ts';
import { ShadowAccount } from './account.ts';

export interface ShadowLatency {
  /** Order entry latency (default 0). */
  insert_ms?: number | undefined;
  /** Cancel latency (default insert_ms). */
  cancel_ms?: number | undefined;
  /** Uniform extra latency in [0, jitter_ms) (seeded; default 0). */
  jitter_ms?: number | undefined;
}

export interface ShadowVenueOptions {
  /** This venue's id (the VENUE part of its instrument keys), e.g. `BINANCE-SPOT`. */
  id: string;
  account_id: string;
  /** The live venue session used ONLY for market data (public streams and fetchBook). */
  data: Venue;
  /** The instruments this venue lists (keys with another VENUE part are moved to `id`). */
  instruments: readonly InstrumentSpec[];
  clock: Clock;
  /** Seed of the engines (latency jitter, fill model draws). Default 42. */
  seed?: number | undefined;
  /** Starting cash (default "100000"). */
  startingCash?: DecimalString | undefined;
  /** Currency of the starting cash (default "USD"; see ./account.ts for USD stablecoins). */
  cashCurrency?: string | undefined;
  /** Other starting balances (e.g. BTC to sell, or the margin asset of inverse contracts). */
  startingBalances?: Readonly<Record<string, DecimalString>> | undefined;
  /** Order entry and cancel latency; a number is both, in ms. Default 0. */
  latency?: ShadowLatency | number | undefined;
  /** Passive fills at the touch (default conservative: only trades through the price fill). */
  fillModel?: FillModel | undefined;
  /** Replace the instruments' maker / taker fees. */
  fees?: { maker: DecimalString; taker: DecimalString } | undefined;
  /** Refuse spot orders beyond the free balance (default true). */
  checkBalances?: boolean | undefined;
  /** Book depth asked of `data.fetchBook` when watching starts (default 20). */
  bookDepth?: number | undefined;
  /** Timer period of `advance()`; 0 = none. Default 50 ms with latency, else 0. */
  tickMs?: number | undefined;
  /** `close()` closes `data` too (default true: the shadow venue owns its data session). */
  ownsData?: boolean | undefined;
}

interface Book {
  key: string;
  dataKey: string;
  spec: InstrumentSpec;
  engine: MatchingEngine;
  base: string;
  quote: string;
  spot: boolean;
}

interface ShadowOrder {
  req: VenueOrderRequest;
  /** The engine's events about it, through the one mapping (shared/sim/order-view.ts). */
  view: SimOrderView;
  key: string;
  venue_order_id: string;
  status: VenueOrderStatus;
  filled: Dec;
  notional: Dec;
  reason: string | undefined;
  ts_event: Nanos;
  mid_at_arrival: DecimalString | null;
}

const DAY_NS = 86_400n * NANOS_PER_SECOND;

/** The venue's status of an order in each phase of the engine mapping. */
const VENUE_STATUS: Record<SimOrderPhase, VenueOrderStatus> = {
  PENDING: 'NEW',
  WORKING: 'NEW',
  PARTIALLY_FILLED: 'PARTIALLY_FILLED',
  FILLED: 'FILLED',
  CANCELED: 'CANCELED',
  EXPIRED: 'EXPIRED',
  REJECTED: 'REJECTED',
};
const AVG_PRICE_DECIMALS = 12;

/** Create the SHADOW venue (see the module doc). */
export function createShadowVenue(opts: ShadowVenueOptions): ShadowVenue {
  return new ShadowVenue(opts);
}

export class ShadowVenue implements Venue, RateBudgetSource {
  readonly id: string;
  readonly account_id: string;
  readonly mode = 'SHADOW' as const;

  private readonly o: ShadowVenueOptions;
  private readonly books = new Map<string, Book>();
  private readonly byDataKey = new Map<string, Book>();
  private readonly orders = new Map<string, ShadowOrder>();
  private readonly trades: VenueTrade[] = [];
  private readonly account: ShadowAccount;
  private readonly handlers: Array<(event: VenueEvent) => void> = [];
  private readonly watched = new Set<string>();
  private readonly checkBalances: boolean;
  private orderSeq = 0;
  private tradeSeq = 0;
  private connected = false;
  private closed = false;
  private dataWatching = false;
  private timer: ReturnType<typeof setInterval> | null = null;
  private lastError: string | null = null;

  constructor(opts: ShadowVenueOptions) {
    this.id = opts.id;
    this.account_id = opts.account_id;
    this.o = opts;
    this.checkBalances = opts.checkBalances ?? true;
    const latency = typeof opts.latency === 'number' ? { insert_ms: opts.latency } : (opts.latency ?? {});
    const insertNs = msToNs(latency.insert_ms ?? 0);
    const cancelNs = msToNs(latency.cancel_ms ?? latency.insert_ms ?? 0);
    const jitterNs = msToNs(latency.jitter_ms ?? 0);
    const seed = toSeed(opts.seed ?? 42);
    const now = opts.clock.now();
    const keys: string[] = [];
    for (const raw of opts.instruments) {
      const key = onVenue(raw.instrument_key, this.id);
      if (this.books.has(key)) continue;
      const parsed = parseInstrumentId(key);
      const spec: InstrumentSpec = {
        ...raw,
        instrument_key: key,
        ...(opts.fees === undefined ? {} : { maker_fee: opts.fees.maker, taker_fee: opts.fees.taker }),
      };
      const book: Book = {
        key,
        dataKey: onVenue(key, opts.data.id),
        spec,
        engine: new MatchingEngine({
          instrument: spec,
          epochNs: now,
          latency: { insertNs, cancelNs, insertJitterNs: jitterNs, cancelJitterNs: jitterNs },
          seed: deriveSeed(seed, hashKey(key)),
          fillModel: opts.fillModel ?? { kind: 'conservative' },
          lateData: 'clamp',
        }),
        base: parsed.success ? parsed.data.base : '',
        quote: parsed.success ? parsed.data.quote : '',
        spot: parsed.success && parsed.data.instrument_type === 'SPOT_PAIR',
      };
      this.books.set(key, book);
      this.byDataKey.set(book.dataKey, book);
      keys.push(key);
    }
    this.account = new ShadowAccount({
      account_id: opts.account_id,
      startingCash: opts.startingCash ?? '100000',
      cashCurrency: opts.cashCurrency ?? 'USD',
      instrumentKeys: keys,
      startingBalances: opts.startingBalances,
    });
    const tickMs = Math.max(
      0,
      Math.trunc(opts.tickMs ?? (insertNs > 0 || cancelNs > 0 || jitterNs > 0 ? 50 : 0)),
    );
    if (tickMs > 0) {
      this.timer = setInterval(() => {
        if (!this.closed) this.advance();
      }, tickMs);
      this.timer.unref?.();
    }
  }

  // -------------------------------------------------------------------------------------------
  // Lifecycle
  // -------------------------------------------------------------------------------------------

  async connect(): Promise<void> {
    this.assertOpen();
    await this.o.data.connect();
    this.connected = true;
  }

  async watch(instrumentKeys: string[], handler: (event: VenueEvent) => void): Promise<void> {
    this.assertOpen();
    if (!this.handlers.includes(handler)) this.handlers.push(handler);
    const fresh: Book[] = [];
    for (const k of instrumentKeys) {
      const book = this.books.get(canonicalKeyOf(k)) ?? this.books.get(onVenue(k, this.id));
      if (book === undefined) {
        throw new VenueError('rejected', this.id, `watch: ${k} is not listed on the shadow venue ${this.id}`);
      }
      if (!this.watched.has(book.key)) fresh.push(book);
    }
    this.emit({ kind: 'connection', state: 'up', stream: 'private', ts_event: this.o.clock.now() });
    if (fresh.length === 0 && this.dataWatching) return;
    for (const b of fresh) this.watched.add(b.key);
    // A first snapshot so that orders can fill before the stream's first update.
    const depth = this.o.bookDepth ?? 20;
    for (const b of fresh) {
      try {
        this.onBookReceived(await this.o.data.fetchBook(b.dataKey, depth), b);
      } catch (err) {
        this.lastError = `first book of ${b.dataKey}: ${errorText(err)}`;
      }
    }
    await this.o.data.watch(
      fresh.map((b) => b.dataKey),
      (ev) => this.onData(ev),
    );
    this.dataWatching = true;
  }

  health(): { state: VenueHealthState; detail?: string | undefined } {
    if (this.closed) return { state: 'down', detail: 'closed' };
    if (!this.connected)
      return { state: 'down', detail: `SHADOW on ${this.o.data.id} market data: not connected` };
    const data = this.o.data.health();
    const working = [...this.orders.values()].filter((o) => isOpen(o.status)).length;
    const detail = `SHADOW on ${this.o.data.id} market data (${data.state}${data.detail ? `: ${data.detail}` : ''}); ${this.books.size} instruments, ${working} open orders${this.lastError ? `; ${this.lastError}` : ''}`;
    return { state: data.state, detail };
  }

  /**
   * The venue budgets of the market-data session: its requests (book snapshots, market loads,
   * stream subscriptions) spend the real venue's budgets. Null when it does not pace by venue
   * budgets (the synthetic market of a SIMULATED venue).
   */
  rateLimitBudgets(): RateBudget[] | null {
    return rateLimitBudgetsOf(this.o.data);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    if (this.o.ownsData ?? true) await this.o.data.close();
  }

  // -------------------------------------------------------------------------------------------
  // Orders
  // -------------------------------------------------------------------------------------------

  async submit(req: VenueOrderRequest, sentAt?: Nanos): Promise<VenueOrderState> {
    this.assertOpen();
    const existing = this.orders.get(req.client_order_id);
    if (existing !== undefined) return this.stateOf(existing); // idempotent by client order id
    const book = this.bookOf(req.instrument_key, 'submit');
    // The edge's send time (what it recorded), so a replay sends the order at the same instant.
    const now = sentAt ?? this.o.clock.now();
    this.advanceBook(book, now);
    const issues = checkOrderPrecision(
      book.spec,
      req.quantity,
      req.order_type === 'LIMIT' ? req.price : null,
      req.order_type === 'MARKET' ? (book.engine.mid() ?? undefined) : undefined,
    );
    if (req.order_type === 'LIMIT' && (req.price === null || req.price === '')) {
      throw new VenueError(
        'rejected',
        this.id,
        `INVALID_ORDER: a LIMIT order needs a price (${req.client_order_id})`,
      );
    }
    if (issues.length > 0) {
      throw new VenueError(
        'rejected',
        this.id,
        `INVALID_ORDER: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')} (${req.client_order_id})`,
      );
    }
    if (this.checkBalances && book.spot) this.checkFunds(book, req);
    this.orderSeq++;
    const order: ShadowOrder = {
      req: { ...req },
      key: book.key,
      venue_order_id: `${this.id}-S${this.orderSeq}`,
      view: newSimOrderView(),
      status: 'NEW',
      filled: new Dec(0),
      notional: new Dec(0),
      reason: undefined,
      ts_event: now,
      mid_at_arrival: null,
    };
    this.orders.set(req.client_order_id, order);
    book.engine.submit(
      {
        order_id: req.client_order_id,
        side: req.side,
        order_type: req.order_type,
        quantity: req.quantity,
        price: req.order_type === 'LIMIT' ? req.price : null,
        time_in_force: req.time_in_force,
      },
      now,
    );
    this.advanceBook(book, now);
    return this.stateOf(order);
  }

  async cancel(clientOrderId: string, instrumentKey: string, sentAt?: Nanos): Promise<VenueOrderState> {
    this.assertOpen();
    const book = this.bookOf(instrumentKey, 'cancel');
    const order = this.orders.get(clientOrderId);
    if (order === undefined || order.key !== book.key) {
      throw new VenueError('not_found', this.id, `cancel: no order ${clientOrderId} in ${book.key}`);
    }
    if (!isOpen(order.status)) return this.stateOf(order);
    const now = sentAt ?? this.o.clock.now();
    this.advanceBook(book, now);
    if (isOpen(order.status)) {
      book.engine.cancel(clientOrderId, now);
      this.advanceBook(book, now);
    }
    return this.stateOf(order);
  }

  async fetchOrder(clientOrderId: string, instrumentKey: string): Promise<VenueOrderState | null> {
    this.assertOpen();
    const book = this.bookOf(instrumentKey, 'fetchOrder');
    const order = this.orders.get(clientOrderId);
    return order === undefined || order.key !== book.key ? null : this.stateOf(order);
  }

  async fetchOpenOrders(instrumentKey?: string): Promise<VenueOrderState[]> {
    this.assertOpen();
    const key = instrumentKey === undefined ? null : this.bookOf(instrumentKey, 'fetchOpenOrders').key;
    return [...this.orders.values()]
      .filter((o) => isOpen(o.status) && (key === null || o.key === key))
      .map((o) => this.stateOf(o));
  }

  async fetchTrades(instrumentKey: string, sinceNs: Nanos): Promise<VenueTrade[]> {
    this.assertOpen();
    const key = this.bookOf(instrumentKey, 'fetchTrades').key;
    return this.trades
      .filter((t) => t.instrument_key === key && t.ts_event >= sinceNs)
      .map((t) => ({ ...t }));
  }

  async fetchBalances(): Promise<VenueBalance[]> {
    this.assertOpen();
    return this.account.balances(this.locked());
  }

  async fetchPositions(): Promise<VenuePosition[]> {
    this.assertOpen();
    return this.account.openPositions();
  }

  async fetchInstrumentRules(instrumentKeys: string[]): Promise<VenueInstrumentRules[]> {
    this.assertOpen();
    const out: VenueInstrumentRules[] = [];
    for (const k of instrumentKeys) {
      const b = this.books.get(canonicalKeyOf(k)) ?? this.books.get(onVenue(k, this.id));
      if (b === undefined) continue;
      out.push({
        instrument_key: b.key,
        tick_size: b.spec.tick_size,
        step_size: b.spec.step_size,
        min_qty: b.spec.min_qty,
        max_qty: b.spec.max_qty,
        min_notional: b.spec.min_notional,
      });
    }
    return out;
  }

  /**
   * The data venue's trading sessions for the instrument (an IBKR data session's contract hours):
   * the edge gates SHADOW orders by the same schedule as LIVE ones. Null: always open.
   */
  async tradingSchedule(instrumentKey: string): Promise<TradingSchedule | null> {
    this.assertOpen();
    const data = this.o.data;
    if (data.tradingSchedule === undefined) return null;
    const b =
      this.books.get(canonicalKeyOf(instrumentKey)) ?? this.books.get(onVenue(instrumentKey, this.id));
    // Not listed here: no sessions to gate by; `submit` refuses the order as before.
    if (b === undefined) return null;
    return data.tradingSchedule(b.dataKey);
  }

  async fetchBook(instrumentKey: string, depth: number): Promise<VenueBook> {
    this.assertOpen();
    const book = this.bookOf(instrumentKey, 'fetchBook');
    const live = await this.o.data.fetchBook(book.dataKey, depth);
    this.onBookReceived(live, book);
    return { ...live, instrument_key: book.key };
  }

  // -------------------------------------------------------------------------------------------
  // Beyond the port (the edge and tests)
  // -------------------------------------------------------------------------------------------

  /** Bring every engine to `clock.now()`: latency-delayed orders activate, cancels take effect. */
  advance(): void {
    if (this.closed) return;
    const now = this.o.clock.now();
    for (const b of this.books.values()) this.advanceBook(b, now);
  }

  /**
   * Continue the synthetic account after a restart: apply the fills recorded before it (our stored
   * fills of this venue's orders, in any order; each fill id once) to the balances and positions.
   * Call it before trading. They are not executions of this session: `fetchTrades` does not list them.
   */
  restoreAccount(fills: readonly Fill[]): void {
    const seen = new Set<string>();
    const sorted = [...fills].sort((a, b) =>
      a.ts_event !== b.ts_event
        ? a.ts_event < b.ts_event
          ? -1
          : 1
        : a.fill_id < b.fill_id
          ? -1
          : a.fill_id > b.fill_id
            ? 1
            : 0,
    );
    for (const f of sorted) {
      const id = `${f.operation_id}|${f.fill_id}`;
      if (seen.has(id)) continue;
      seen.add(id);
      this.account.apply({ ...f, instrument_key: onVenue(f.instrument_key, this.id) });
    }
  }

  /** The mid when the order reached the matching (the engine's), for drift; null before or without a book. */
  midAtArrival(clientOrderId: string): DecimalString | null {
    return this.orders.get(clientOrderId)?.mid_at_arrival ?? null;
  }

  /** The instrument keys this venue lists. */
  instrumentKeys(): string[] {
    return [...this.books.keys()].sort();
  }

  // -------------------------------------------------------------------------------------------
  // Market data in
  // -------------------------------------------------------------------------------------------

  private onData(ev: VenueEvent): void {
    if (this.closed) return;
    switch (ev.kind) {
      case 'book': {
        const book = this.byDataKey.get(canonicalKeyOf(ev.book.instrument_key));
        if (book === undefined) return;
        this.onBookReceived(ev.book, book);
        return;
      }
      case 'public_trade': {
        const book = this.byDataKey.get(canonicalKeyOf(ev.instrument_key));
        if (book === undefined) return;
        const tsInit = this.o.clock.now();
        this.emit({ ...ev, instrument_key: book.key, ts_init: tsInit });
        book.engine.onTrade(tsInit, Number(ev.price), Number(ev.size), ev.side);
        this.advanceBook(book, tsInit);
        return;
      }
      case 'connection':
        // The data session's market streams are ours; its private stream (its own account) is not.
        if (ev.stream === 'public') this.emit(ev);
        return;
      case 'order':
      case 'trade':
        return;
    }
  }

  /**
   * A book snapshot reached us (stream, first snapshot or `fetchBook`): reported to the watchers as
   * market data stamped with its receive time, and fed to the engine at that time.
   */
  private onBookReceived(live: VenueBook, book: Book): void {
    const tsInit = this.o.clock.now();
    this.emit({ kind: 'book', book: { ...live, instrument_key: book.key }, ts_init: tsInit });
    book.engine.onBookSnapshot(
      tsInit,
      live.bids.map((l) => [Number(l.price), Number(l.size)] as const),
      live.asks.map((l) => [Number(l.price), Number(l.size)] as const),
    );
    this.advanceBook(book, tsInit);
  }

  // -------------------------------------------------------------------------------------------
  // Engine events out
  // -------------------------------------------------------------------------------------------

  private advanceBook(book: Book, ts: Nanos): void {
    // Our clock may run behind the venue's timestamps: never ask the engine to go back (it would
    // not run what is due at its own time, e.g. an order just submitted there).
    const engineNow = book.engine.now();
    book.engine.advanceTo(engineNow !== null && engineNow > ts ? engineNow : ts);
    for (const ev of book.engine.drainEvents()) this.onEngineEvent(book, ev);
    const now = book.engine.now();
    if (now !== null && now - book.engine.epochNs > DAY_NS) book.engine.rebase(now);
  }

  private onEngineEvent(book: Book, ev: SimEvent): void {
    const order = this.orders.get(ev.order_id);
    if (order === undefined || ev.type === 'cancel_rejected') return;
    const v = applySimEvent(order.view, ev);
    order.view = v;
    order.status = VENUE_STATUS[v.phase];
    order.filled = v.filled;
    order.notional = v.notional;
    order.reason = v.reason ?? undefined;
    order.mid_at_arrival = v.mid_at_arrival;
    if (v.ts_event !== null) order.ts_event = v.ts_event;
    if (ev.type === 'filled') {
      this.tradeSeq++;
      const trade: VenueTrade = {
        trade_id: String(this.tradeSeq),
        venue_order_id: order.venue_order_id,
        client_order_id: order.req.client_order_id,
        instrument_key: book.key,
        side: ev.side,
        quantity: ev.quantity,
        price: ev.price,
        fee: ev.fee,
        fee_currency: ev.fee_currency,
        liquidity: ev.liquidity,
        ts_event: ev.ts_event,
      };
      this.trades.push(trade);
      this.account.apply(accountFill(trade, this.id));
      this.emit({ kind: 'trade', trade: { ...trade } });
    }
    this.emitOrder(order);
  }

  private emitOrder(order: ShadowOrder): void {
    this.emit({ kind: 'order', order: this.stateOf(order) });
  }

  private emit(event: VenueEvent): void {
    for (const h of this.handlers) {
      try {
        h(event);
      } catch (err) {
        this.lastError = `event handler failed: ${errorText(err)}`;
      }
    }
  }

  // -------------------------------------------------------------------------------------------
  // Helpers
  // -------------------------------------------------------------------------------------------

  private stateOf(o: ShadowOrder): VenueOrderState {
    return {
      client_order_id: o.req.client_order_id,
      venue_order_id: o.venue_order_id,
      instrument_key: o.key,
      side: o.req.side,
      status: o.status,
      quantity: o.req.quantity,
      filled_quantity: fmt(o.filled),
      avg_price: o.filled.isZero()
        ? null
        : fmt(o.notional.div(o.filled).toDecimalPlaces(AVG_PRICE_DECIMALS, Dec.ROUND_HALF_EVEN)),
      reason: o.reason,
      ts_event: o.ts_event,
    };
  }

  /** Spot funds held by open orders: BUY limits hold leaves × price of the quote, SELLs their leaves of the base. */
  private locked(): Map<string, Dec> {
    const out = new Map<string, Dec>();
    const add = (asset: string, d: Dec) => {
      const a = this.account.assetOf(asset);
      out.set(a, (out.get(a) ?? new Dec(0)).plus(d));
    };
    for (const o of this.orders.values()) {
      if (!isOpen(o.status)) continue;
      const book = this.books.get(o.key);
      if (book === undefined || !book.spot) continue;
      const leaves = toDec(o.req.quantity).minus(o.filled);
      if (o.req.side === 'SELL') add(book.base, leaves);
      else if (o.req.order_type === 'LIMIT' && o.req.price !== null)
        add(book.quote, leaves.times(o.req.price));
    }
    return out;
  }

  private checkFunds(book: Book, req: VenueOrderRequest): void {
    const locked = this.locked();
    const free = (asset: string) =>
      this.account.total(asset).minus(locked.get(this.account.assetOf(asset)) ?? new Dec(0));
    if (req.side === 'SELL') {
      const have = free(book.base);
      if (have.lt(req.quantity)) {
        throw new VenueError(
          'rejected',
          this.id,
          `INSUFFICIENT_BALANCE: selling ${req.quantity} ${book.base} with ${fmt(have)} free (${req.client_order_id})`,
        );
      }
      return;
    }
    const px =
      req.order_type === 'LIMIT' && req.price !== null
        ? toDec(req.price)
        : estimatePrice(book.engine.bestAsk());
    if (px === null) return; // no book yet: the order waits for liquidity; nothing to value it at
    const rate = Dec.max(toDec(book.spec.taker_fee), toDec(book.spec.maker_fee), new Dec(0));
    const need = toDec(req.quantity).times(px).times(new Dec(1).plus(rate));
    const have = free(book.quote);
    if (have.lt(need)) {
      throw new VenueError(
        'rejected',
        this.id,
        `INSUFFICIENT_BALANCE: buying ${req.quantity} ${book.base} needs about ${fmt(need.toDecimalPlaces(8, Dec.ROUND_UP))} ${book.quote}, ${fmt(have)} free (${req.client_order_id})`,
      );
    }
  }

  private bookOf(instrumentKey: string, what: string): Book {
    const b =
      this.books.get(canonicalKeyOf(instrumentKey)) ?? this.books.get(onVenue(instrumentKey, this.id));
    if (b === undefined) {
      throw new VenueError(
        'rejected',
        this.id,
        `${what}: UNKNOWN_INSTRUMENT ${instrumentKey} is not listed on ${this.id}`,
      );
    }
    return b;
  }

  private assertOpen(): void {
    if (this.closed) throw new VenueError('transient', this.id, 'the shadow venue is closed');
  }
}

// ---------------------------------------------------------------------------------------------
// Pure helpers
// ---------------------------------------------------------------------------------------------

function isOpen(s: VenueOrderStatus): boolean {
  return s === 'NEW' || s === 'PARTIALLY_FILLED';
}

function msToNs(ms: number): number {
  if (!(Number.isFinite(ms) && ms >= 0))
    throw new RangeError(`latency must be a non-negative number of ms, got ${ms}`);
  return Math.round(ms * Number(NANOS_PER_MILLI));
}

function canonicalKeyOf(key: string): string {
  try {
    return canonicalInstrumentId(key);
  } catch {
    return key;
  }
}

function onVenue(key: string, venue: string): string {
  const p = parseInstrumentId(key);
  if (!p.success) return key;
  return canonicalInstrumentId({ ...p.data, venue });
}

function estimatePrice(level: { price: number; size: number } | null): Dec | null {
  return level === null || !(level.price > 0) ? null : toDec(level.price);
}

/** FNV-1a of the key: per-instrument engine seeds that do not depend on listing order. */
function hashKey(key: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

function accountFill(t: VenueTrade, venue: string): Fill {
  return {
    fill_id: t.trade_id,
    order_id: t.client_order_id ?? t.venue_order_id,
    operation_id: t.client_order_id ?? t.venue_order_id,
    instrument_key: t.instrument_key,
    venue,
    side: t.side,
    quantity: t.quantity,
    price: t.price,
    fee: t.fee,
    fee_currency: t.fee_currency,
    liquidity: t.liquidity,
    ts_event: t.ts_event,
  };
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
