/**
 * The local Deribit's state: one seeded moving market (`SyntheticMarketStream`) and one
 * `MatchingEngine` per instrument (inverse perpetual, dated futures, options), the account's
 * orders, trades and positions, and a coin account per currency — in Deribit's JSON shapes.
 *
 * Money follows Deribit: perpetual and future amounts are USD (multiples of the instrument's
 * `contract_size`, 10 USD for BTC), their PnL and fees are in the coin (`applyFill` with the
 * inverse valuation of shared/domain/position.ts); option amounts are coin and their premium is
 * quoted in coin. The account's `balance` is the starting coin plus realised PnL, minus fees, minus
 * option premium paid (plus received); `equity` adds unrealised PnL and the options' mark value.
 * There is no margin model: `available_funds` is the equity, and an order is refused with
 * `not_enough_funds` only when the equity is not positive.
 *
 * Everything runs on the injected clock: `sync()` brings every instrument to `clock.now()`.
 */
import { Dec, fmt, toDec } from '../../shared/domain/decimal.ts';
import { contractSizeOf, isMultipleOf, valuationOf } from '../../shared/domain/instrument.ts';
import { type ParsedInstrumentId, parseInstrumentIdOrThrow } from '../../shared/domain/instrument-id.ts';
import { applyFill, unrealizedPnl } from '../../shared/domain/position.ts';
import { NANOS_PER_MILLI, NANOS_PER_SECOND, type Nanos } from '../../shared/domain/time.ts';
import type { Fill, InstrumentSpec, Position, Side } from '../../shared/domain/types.ts';
import type { Clock } from '../../shared/ports/clock.ts';
import { type FillModel, MatchingEngine, type SimEvent, type SimFilled } from '../../shared/sim/index.ts';
import { type MarketEvent, SyntheticMarketStream } from '../../stateful/venues/simulated/market-model.ts';

/** A JSON-RPC error as Deribit sends it (`code`, `message`, `data.reason`, `data.param`). */
export class DeribitError extends Error {
  constructor(
    readonly code: number,
    message: string,
    readonly data?: { reason?: string; param?: string } | undefined,
  ) {
    super(message);
    this.name = 'DeribitError';
  }
}

export const Errors = {
  invalidParams: (param: string, reason: string) =>
    new DeribitError(-32602, 'Invalid params', { reason, param }),
  methodNotFound: () => new DeribitError(-32601, 'Method not found'),
  orderNotFound: () => new DeribitError(10004, 'order_not_found'),
  alreadyClosed: () => new DeribitError(10010, 'already_closed'),
  notEnoughFunds: () => new DeribitError(10009, 'not_enough_funds'),
  unknownInstrument: (name: string) =>
    new DeribitError(10020, 'invalid_or_unsupported_instrument', { reason: `unknown instrument ${name}` }),
  unauthorized: (reason: string) => new DeribitError(13009, 'unauthorized', { reason }),
  tooManyRequests: () => new DeribitError(10028, 'too_many_requests'),
  rejected: (reason: string) => new DeribitError(11030, `other_reject ${reason}`, { reason }),
  postOnlyReject: () => new DeribitError(11054, 'post_only_reject'),
};

export interface DeribitInstrument {
  /** Deribit's name: `BTC-PERPETUAL`, `BTC-31DEC27`, `BTC-31DEC27-100000-C`. */
  name: string;
  key: string;
  spec: InstrumentSpec;
  id: ParsedInstrumentId;
  kind: 'future' | 'option';
  perpetual: boolean;
  /** Deribit's `contract_size`: 10 (USD) for BTC futures, 1 (coin) for options. */
  deribitContractSize: string;
  expiryMs: number;
}

export type OrderState = 'open' | 'filled' | 'cancelled' | 'rejected';

export interface DOrder {
  order_id: string;
  engineId: string;
  label: string;
  inst: DeribitInstrument;
  direction: 'buy' | 'sell';
  order_type: 'limit' | 'market';
  time_in_force: 'good_til_cancelled' | 'immediate_or_cancel' | 'fill_or_kill';
  post_only: boolean;
  reduce_only: boolean;
  amount: Dec;
  price: Dec | null;
  filled: Dec;
  /** Σ amount × price of the fills (average_price = this / filled). */
  filledValue: Dec;
  commission: Dec;
  state: OrderState;
  cancel_reason: string;
  created: number;
  updated: number;
}

export interface DTrade {
  trade_id: string;
  trade_seq: number;
  order: DOrder;
  amount: Dec;
  price: Dec;
  fee: Dec;
  liquidity: 'M' | 'T';
  timestamp: number;
  mark_price: Dec;
}

export interface ExchangeSinks {
  /** A public channel's new data (book snapshots, trades); `wants` says whether anyone listens. */
  wants(channel: string): boolean;
  publish(channel: string, data: unknown): void;
  /** A private event: `user.orders` or `user.trades` data. */
  privateEvent(kind: 'orders' | 'trades', data: unknown): void;
}

export interface ExchangeOptions {
  instruments: readonly InstrumentSpec[];
  clock: Clock;
  seed: number;
  startingBalances: Record<string, string>;
  quoteIntervalMs: readonly [number, number];
  fillModel: FillModel;
  bookLevels: number;
  startPrices: Record<string, number>;
}

interface Book {
  inst: DeribitInstrument;
  stream: SyntheticMarketStream;
  engine: MatchingEngine;
  changeId: number;
  last: Dec | null;
  nextTradeSeq: number;
}

const MONTHS = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];

/** Deribit's name for an instrument id (`DERIBIT:FUTURE:BTC-USD-20271231` → `BTC-31DEC27`). */
export function deribitName(id: ParsedInstrumentId): string {
  if (id.instrument_type === 'PERPETUAL') return `${id.base}-PERPETUAL`;
  if (id.instrument_type === 'SPOT_PAIR' || id.instrument_type === 'STOCK') {
    throw new RangeError(`the local Deribit lists no ${id.instrument_type}`);
  }
  const y = id.expiry.slice(2, 4);
  const m = MONTHS[Number(id.expiry.slice(4, 6)) - 1] ?? '';
  const day = String(Number(id.expiry.slice(6, 8)));
  const date = `${day}${m}${y}`;
  if (id.instrument_type === 'FUTURE') return `${id.base}-${date}`;
  return `${id.base}-${date}-${id.strike}-${id.option_type}`;
}

const ZERO = new Dec(0);
/** Fees are charged in whole 10^-10 of the coin, so they travel as exact JSON numbers. */
const FEE_DECIMALS = 10;
const nsToMs = (ns: Nanos): number => Number(ns / NANOS_PER_MILLI);

export class DeribitExchange {
  private readonly books = new Map<string, Book>();
  private readonly orders = new Map<string, DOrder>();
  private readonly byEngineId = new Map<string, DOrder>();
  private readonly trades: DTrade[] = [];
  private readonly positions = new Map<string, Position>();
  /** Coin cash per currency: start + realised PnL − fees − option premium paid. */
  private readonly cash = new Map<string, Dec>();
  private sinks: ExchangeSinks | null = null;
  private nextOrderId = 10_000_001;
  private nextTradeId = 1;
  private lastSync: Nanos;

  constructor(private readonly o: ExchangeOptions) {
    const now = o.clock.now();
    this.lastSync = now;
    for (const spec of o.instruments) {
      const id = parseInstrumentIdOrThrow(spec.instrument_key);
      if (id.venue !== 'DERIBIT')
        throw new RangeError(`local Deribit: ${spec.instrument_key} is not a DERIBIT instrument`);
      const name = deribitName(id);
      if (this.books.has(name)) throw new RangeError(`local Deribit: ${name} listed twice`);
      const option = id.instrument_type === 'OPTION';
      if (id.instrument_type === 'SPOT_PAIR' || id.instrument_type === 'STOCK') {
        throw new RangeError(`local Deribit: ${spec.instrument_key} is not a derivative`);
      }
      const expiryMs =
        id.instrument_type === 'PERPETUAL'
          ? 32_503_680_000_000
          : Date.UTC(
              Number(id.expiry.slice(0, 4)),
              Number(id.expiry.slice(4, 6)) - 1,
              Number(id.expiry.slice(6, 8)),
              8,
            );
      const inst: DeribitInstrument = {
        name,
        key: spec.instrument_key,
        spec,
        id,
        kind: option ? 'option' : 'future',
        perpetual: id.instrument_type === 'PERPETUAL',
        deribitContractSize: option ? '1' : spec.step_size,
        expiryMs,
      };
      const startPrice = o.startPrices[name] ?? o.startPrices[spec.instrument_key];
      const stream = new SyntheticMarketStream({
        spec,
        seed: o.seed,
        startNs: now,
        startPrice,
        quoteIntervalMs: o.quoteIntervalMs,
        levels: o.bookLevels,
        // Book sizes as Deribit shows them: USD amounts for inverse contracts, coin for options.
        ...(valuationOf(spec.instrument_key) === 'INVERSE'
          ? { levelNotional: 50_000 * (startPrice ?? 60_000), tradeNotional: 2_000 * (startPrice ?? 60_000) }
          : option
            ? { levelNotional: 1, tradeNotional: 0.05 }
            : {}),
      });
      const engine = new MatchingEngine({
        instrument: spec,
        epochNs: now,
        seed: o.seed,
        fillModel: o.fillModel,
        lateData: 'clamp',
        feeCurrency: id.base,
      });
      this.books.set(name, { inst, stream, engine, changeId: 1, last: null, nextTradeSeq: 1 });
      if (!this.cash.has(id.base)) this.cash.set(id.base, ZERO);
    }
    for (const [currency, amount] of Object.entries(o.startingBalances))
      this.cash.set(currency, toDec(amount));
  }

  attach(sinks: ExchangeSinks): void {
    this.sinks = sinks;
  }

  nowMs(): number {
    return nsToMs(this.o.clock.now());
  }

  instruments(currency?: string, kind?: string): DeribitInstrument[] {
    return [...this.books.values()]
      .map((b) => b.inst)
      .filter(
        (i) => (currency === undefined || i.id.base === currency) && (kind === undefined || i.kind === kind),
      );
  }

  currencies(): string[] {
    return [...this.cash.keys()];
  }

  instrument(name: string | undefined): DeribitInstrument {
    return this.book(name).inst;
  }

  private book(name: string | undefined): Book {
    if (name === undefined || name === '') throw Errors.invalidParams('instrument_name', 'missing');
    const b = this.books.get(name);
    if (b === undefined) throw Errors.unknownInstrument(name);
    return b;
  }

  // -------------------------------------------------------------------------------------------
  // Time and market
  // -------------------------------------------------------------------------------------------

  /** Bring every instrument to `clock.now()`: market events, fills, book and trade channels. */
  sync(): void {
    const now = this.o.clock.now();
    if (now < this.lastSync) return;
    this.lastSync = now;
    for (const b of this.books.values()) this.advance(b, now);
  }

  private advance(b: Book, now: Nanos): void {
    const prints: unknown[] = [];
    let changed = false;
    for (const ev of b.stream.takeUntil(now)) {
      this.feed(b, ev, prints);
      changed ||= ev.kind === 'book';
      b.engine.advanceTo(ev.ts);
      this.drain(b, prints);
    }
    b.engine.advanceTo(now);
    this.drain(b, prints);
    if (now - b.engine.epochNs > 86_400n * NANOS_PER_SECOND) b.engine.rebase(now);
    this.publishMarket(b, changed, prints);
  }

  private feed(b: Book, ev: MarketEvent, prints: unknown[]): void {
    if (ev.kind === 'book') {
      b.engine.onBookSnapshot(ev.ts, ev.bids, ev.asks);
      return;
    }
    b.engine.onTrade(ev.ts, ev.price, ev.size, ev.aggressor);
    b.last = toDec(ev.price);
    prints.push(
      this.publicTrade(
        b,
        toDec(ev.price),
        toDec(ev.size),
        ev.aggressor === 'BUY' ? 'buy' : 'sell',
        nsToMs(ev.ts),
      ),
    );
  }

  private publicTrade(b: Book, price: Dec, amount: Dec, direction: 'buy' | 'sell', ts: number): unknown {
    const seq = b.nextTradeSeq++;
    return {
      trade_id: `${b.inst.id.base}-P${b.inst.name}-${seq}`,
      trade_seq: seq,
      instrument_name: b.inst.name,
      timestamp: ts,
      price: Number(price.toFixed()),
      amount: Number(amount.toFixed()),
      direction,
      tick_direction: 0,
      mark_price: this.markNumber(b),
      index_price: this.markNumber(b),
    };
  }

  private publishMarket(b: Book, changed: boolean, prints: unknown[]): void {
    const s = this.sinks;
    if (s === null) return;
    const tradeChannels = ['raw', '100ms', 'agg2'].map((i) => `trades.${b.inst.name}.${i}`);
    if (prints.length > 0) for (const ch of tradeChannels) if (s.wants(ch)) s.publish(ch, prints);
    if (!changed) return;
    b.changeId++;
    for (const interval of ['raw', '100ms', 'agg2']) {
      const ch = `book.${b.inst.name}.${interval}`;
      if (!s.wants(ch)) continue;
      s.publish(ch, this.bookSnapshotMessage(b));
    }
  }

  /** A full book as a `snapshot` message of the `book.<name>.<interval>` channel. */
  bookSnapshotMessage(b: Book | string): unknown {
    const book = typeof b === 'string' ? this.book(b) : b;
    const levels = (side: 'BID' | 'ASK') =>
      book.engine.levels(side).map((l) => ['new', l.price, l.size] as const);
    return {
      type: 'snapshot',
      timestamp: this.nowMs(),
      instrument_name: book.inst.name,
      change_id: book.changeId,
      bids: levels('BID'),
      asks: levels('ASK'),
    };
  }

  /** `public/get_order_book`. */
  orderBook(name: string | undefined, depth: number): unknown {
    const b = this.book(name);
    const side = (s: 'BID' | 'ASK') =>
      b.engine
        .levels(s)
        .slice(0, depth)
        .map((l) => [l.price, l.size]);
    const bids = side('BID');
    const asks = side('ASK');
    const mark = this.markNumber(b);
    return {
      timestamp: this.nowMs(),
      state: 'open',
      instrument_name: b.inst.name,
      change_id: b.changeId,
      bids,
      asks,
      best_bid_price: bids[0]?.[0] ?? 0,
      best_bid_amount: bids[0]?.[1] ?? 0,
      best_ask_price: asks[0]?.[0] ?? 0,
      best_ask_amount: asks[0]?.[1] ?? 0,
      mark_price: mark,
      index_price: mark,
      last_price: b.last === null ? null : Number(b.last.toFixed()),
      settlement_price: mark,
      open_interest: 0,
      stats: { volume: 0, low: null, high: null, price_change: null },
    };
  }

  /** The mark: the engine's mid (else the last trade), as an exact decimal. */
  mark(name: string): Dec | null {
    return this.markOf(this.book(name));
  }

  private markOf(b: Book): Dec | null {
    const mid = b.engine.mid();
    if (mid !== null) return toDec(mid);
    return b.last;
  }

  private markNumber(b: Book): number {
    const m = this.markOf(b);
    return m === null ? 0 : Number(m.toFixed());
  }

  // -------------------------------------------------------------------------------------------
  // Orders
  // -------------------------------------------------------------------------------------------

  place(p: {
    direction: 'buy' | 'sell';
    instrument_name: string | undefined;
    amount: string | undefined;
    type: string | undefined;
    price: string | undefined;
    label: string | undefined;
    time_in_force: string | undefined;
    post_only: boolean;
    reduce_only: boolean;
  }): { order: DOrder; trades: DTrade[] } {
    const b = this.book(p.instrument_name);
    const inst = b.inst;
    const type = p.type ?? 'limit';
    if (type !== 'limit' && type !== 'market')
      throw Errors.invalidParams('type', `order type ${type} is not supported here`);
    if (p.amount === undefined) throw Errors.invalidParams('amount', 'missing');
    let amount: Dec;
    try {
      amount = toDec(p.amount);
    } catch {
      throw Errors.invalidParams('amount', `${p.amount} is not a number`);
    }
    if (!amount.gt(0)) throw Errors.invalidParams('amount', 'must be positive');
    if (!isMultipleOf(amount, inst.spec.step_size)) {
      throw new DeribitError(10002, 'qty_too_low', {
        reason: `amount ${fmt(amount)} must be a multiple of contract size ${inst.spec.step_size}`,
        param: 'amount',
      });
    }
    if (amount.lt(inst.spec.min_qty)) throw new DeribitError(10002, 'qty_too_low', { param: 'amount' });
    let price: Dec | null = null;
    if (type === 'limit') {
      if (p.price === undefined) throw Errors.invalidParams('price', 'missing');
      price = toDec(p.price);
      if (!price.gt(0) || !isMultipleOf(price, inst.spec.tick_size)) {
        throw new DeribitError(10011, 'price_not_allowed', {
          reason: `price ${p.price} must be a positive multiple of tick size ${inst.spec.tick_size}`,
          param: 'price',
        });
      }
    }
    const tif = p.time_in_force ?? 'good_til_cancelled';
    if (tif !== 'good_til_cancelled' && tif !== 'immediate_or_cancel' && tif !== 'fill_or_kill') {
      throw Errors.invalidParams('time_in_force', `${tif} is not supported`);
    }
    if (!this.equity(inst.id.base).gt(0)) throw Errors.notEnoughFunds();
    if (p.post_only && price !== null) {
      const cross = p.direction === 'buy' ? b.engine.bestAsk() : b.engine.bestBid();
      if (cross !== null && (p.direction === 'buy' ? price.gte(cross.price) : price.lte(cross.price))) {
        throw Errors.postOnlyReject();
      }
    }
    const nowMs = this.nowMs();
    const id = String(this.nextOrderId++);
    const order: DOrder = {
      order_id: id,
      engineId: `d${id}`,
      label: p.label ?? '',
      inst,
      direction: p.direction,
      order_type: type,
      time_in_force: tif,
      post_only: p.post_only,
      reduce_only: p.reduce_only,
      amount,
      price,
      filled: ZERO,
      filledValue: ZERO,
      commission: ZERO,
      state: 'open',
      cancel_reason: '',
      created: nowMs,
      updated: nowMs,
    };
    this.orders.set(id, order);
    this.byEngineId.set(order.engineId, order);
    this.emitOrder(order);
    const tradesBefore = this.trades.length;
    const now = this.o.clock.now();
    const side: Side = p.direction === 'buy' ? 'BUY' : 'SELL';
    const r = b.engine.submit(
      {
        order_id: order.engineId,
        side,
        order_type: type === 'market' ? 'MARKET' : 'LIMIT',
        quantity: fmt(amount),
        price: price === null ? null : fmt(price),
        time_in_force:
          type === 'market' || tif === 'immediate_or_cancel'
            ? 'IOC'
            : tif === 'fill_or_kill'
              ? 'FOK'
              : p.post_only
                ? 'GTX'
                : 'GTC',
      },
      now,
    );
    if (r !== 'queued') throw Errors.rejected('duplicate engine order id');
    const prints: unknown[] = [];
    b.engine.advanceTo(now);
    this.drain(b, prints);
    this.publishMarket(b, true, prints);
    return { order, trades: this.trades.slice(tradesBefore).filter((t) => t.order === order) };
  }

  cancel(orderId: string | undefined): DOrder {
    const order = this.find(orderId);
    if (order.state !== 'open') throw new DeribitError(11044, 'not_open_order');
    const b = this.book(order.inst.name);
    const now = this.o.clock.now();
    b.engine.cancel(order.engineId, now);
    b.engine.advanceTo(now);
    const prints: unknown[] = [];
    this.drain(b, prints);
    if (order.state === 'open') this.finish(order, 'cancelled', 'user_request');
    return order;
  }

  find(orderId: string | undefined): DOrder {
    if (orderId === undefined || orderId === '') throw Errors.invalidParams('order_id', 'missing');
    const o = this.orders.get(orderId);
    if (o === undefined) throw Errors.orderNotFound();
    return o;
  }

  byLabel(currency: string, label: string): DOrder[] {
    return [...this.orders.values()].filter((o) => o.label === label && o.inst.id.base === currency);
  }

  openOrders(filter: { currency?: string | undefined; instrument?: string | undefined }): DOrder[] {
    return [...this.orders.values()].filter(
      (o) =>
        o.state === 'open' &&
        (filter.instrument === undefined || o.inst.name === filter.instrument) &&
        (filter.currency === undefined || o.inst.id.base === filter.currency),
    );
  }

  userTrades(filter: {
    instrument?: string | undefined;
    currency?: string | undefined;
    startMs?: number | undefined;
    count: number;
  }): { trades: DTrade[]; has_more: boolean } {
    const all = this.trades.filter(
      (t) =>
        (filter.instrument === undefined || t.order.inst.name === filter.instrument) &&
        (filter.currency === undefined || t.order.inst.id.base === filter.currency) &&
        (filter.startMs === undefined || t.timestamp >= filter.startMs),
    );
    return { trades: all.slice(0, filter.count), has_more: all.length > filter.count };
  }

  /** Trades of an order (the `trades` of a buy/sell reply). */
  tradesOf(order: DOrder): DTrade[] {
    return this.trades.filter((t) => t.order === order);
  }

  private drain(b: Book, prints: unknown[]): void {
    for (const ev of b.engine.drainEvents()) this.onEngineEvent(b, ev, prints);
  }

  private onEngineEvent(b: Book, ev: SimEvent, prints: unknown[]): void {
    const order = this.byEngineId.get(ev.order_id);
    if (order === undefined) return;
    switch (ev.type) {
      case 'filled':
        this.onFill(b, order, ev, prints);
        return;
      case 'canceled':
        if (order.state === 'open')
          this.finish(
            order,
            'cancelled',
            ev.reason === 'USER_CANCEL' ? 'user_request' : 'immediate_or_cancel',
          );
        return;
      case 'expired':
      case 'rejected':
        if (order.state === 'open')
          this.finish(order, ev.type === 'rejected' ? 'rejected' : 'cancelled', ev.type);
        return;
      default:
        return;
    }
  }

  private onFill(b: Book, order: DOrder, ev: SimFilled, prints: unknown[]): void {
    const amount = toDec(ev.quantity);
    const price = toDec(ev.price);
    // Coin (feeFor: inverse value × rate; option premium × rate), rounded up to Deribit's 10^-10 BTC.
    const fee = toDec(ev.fee).toDecimalPlaces(FEE_DECIMALS, Dec.ROUND_UP);
    const timestamp = nsToMs(ev.ts_event);
    const trade: DTrade = {
      trade_id: `${order.inst.id.base}-${this.nextTradeId++}`,
      trade_seq: b.nextTradeSeq,
      order,
      amount,
      price,
      fee,
      liquidity: ev.liquidity === 'MAKER' ? 'M' : 'T',
      timestamp,
      mark_price: this.markOf(b) ?? price,
    };
    this.trades.push(trade);
    prints.push(this.publicTrade(b, price, amount, order.direction, timestamp));
    b.last = price;
    order.filled = order.filled.plus(amount);
    order.filledValue = order.filledValue.plus(amount.times(price));
    order.commission = order.commission.plus(fee);
    order.updated = timestamp;
    this.book_(order, trade);
    if (order.filled.gte(order.amount)) {
      order.state = 'filled';
    }
    this.emitTrade(trade);
    this.emitOrder(order);
  }

  /** Position and cash of a fill. */
  private book_(order: DOrder, t: DTrade): void {
    const inst = order.inst;
    const before = this.positions.get(inst.name) ?? null;
    const fill: Fill = {
      fill_id: t.trade_id,
      order_id: order.order_id,
      operation_id: order.label,
      instrument_key: inst.key,
      venue: 'DERIBIT',
      side: order.direction === 'buy' ? 'BUY' : 'SELL',
      quantity: fmt(t.amount),
      price: fmt(t.price),
      fee: fmt(t.fee),
      fee_currency: inst.id.base,
      liquidity: t.liquidity === 'M' ? 'MAKER' : 'TAKER',
      ts_event: BigInt(t.timestamp) * NANOS_PER_MILLI,
    };
    const opts = { contract_size: contractSizeOf(inst.spec) };
    const after = applyFill(before, fill, 'deribit', opts);
    this.positions.set(inst.name, after);
    const c = this.cash.get(inst.id.base) ?? ZERO;
    if (inst.kind === 'option') {
      // Premium changes hands in coin; the position is valued at the mark in the equity.
      const premium = t.amount.times(t.price);
      this.cash.set(
        inst.id.base,
        (order.direction === 'buy' ? c.minus(premium) : c.plus(premium)).minus(t.fee),
      );
    } else {
      const realised = toDec(after.realized_pnl).minus(before === null ? ZERO : toDec(before.realized_pnl));
      this.cash.set(inst.id.base, c.plus(realised).minus(t.fee));
    }
  }

  private finish(order: DOrder, state: OrderState, reason: string): void {
    order.state = state;
    order.cancel_reason = reason;
    order.updated = this.nowMs();
    this.emitOrder(order);
  }

  private emitOrder(order: DOrder): void {
    this.sinks?.privateEvent('orders', orderJson(order));
  }

  private emitTrade(t: DTrade): void {
    this.sinks?.privateEvent('trades', [tradeJson(t)]);
  }

  // -------------------------------------------------------------------------------------------
  // Account
  // -------------------------------------------------------------------------------------------

  /** Open positions (`private/get_positions`), optionally of one currency and kind. */
  positionList(currency?: string, kind?: string): unknown[] {
    const out: unknown[] = [];
    for (const b of this.books.values()) {
      const inst = b.inst;
      if (currency !== undefined && inst.id.base !== currency) continue;
      if (kind !== undefined && inst.kind !== kind) continue;
      const p = this.positions.get(inst.name);
      if (p === undefined) continue;
      const q = toDec(p.quantity);
      if (q.isZero()) continue;
      out.push(this.positionJson(b, p));
    }
    return out;
  }

  private positionJson(b: Book, p: Position): unknown {
    const inst = b.inst;
    const q = toDec(p.quantity);
    const mark = this.markOf(b) ?? toDec(p.avg_entry_price ?? '1');
    const opts = { contract_size: contractSizeOf(inst.spec) };
    const upnl =
      inst.kind === 'option'
        ? q.times(mark.minus(toDec(p.avg_entry_price ?? '0')))
        : toDec(unrealizedPnl(p, fmt(mark), opts));
    const sizeCurrency = inst.kind === 'option' ? q : q.div(mark);
    return {
      instrument_name: inst.name,
      kind: inst.kind,
      size: Number(q.toFixed()),
      direction: q.isNeg() ? 'sell' : 'buy',
      average_price: Number(p.avg_entry_price ?? '0'),
      mark_price: Number(mark.toFixed()),
      index_price: Number(mark.toFixed()),
      floating_profit_loss: Number(upnl.toFixed()),
      realized_profit_loss: Number(p.realized_pnl),
      total_profit_loss: Number(upnl.plus(toDec(p.realized_pnl)).toFixed()),
      size_currency: Number(sizeCurrency.toDecimalPlaces(10).toFixed()),
      initial_margin: 0,
      maintenance_margin: 0,
      leverage: 1,
      settlement_price: Number(mark.toFixed()),
      estimated_liquidation_price: null,
    };
  }

  /** Equity of a currency: cash + unrealised PnL of futures + options at the mark. */
  equity(currency: string): Dec {
    let e = this.cash.get(currency) ?? ZERO;
    for (const b of this.books.values()) {
      if (b.inst.id.base !== currency) continue;
      const p = this.positions.get(b.inst.name);
      if (p === undefined || toDec(p.quantity).isZero()) continue;
      const mark = this.markOf(b);
      if (mark === null) continue;
      if (b.inst.kind === 'option') e = e.plus(toDec(p.quantity).times(mark));
      else e = e.plus(toDec(unrealizedPnl(p, fmt(mark), { contract_size: contractSizeOf(b.inst.spec) })));
    }
    return e;
  }

  /** Exact cash balance of a currency (for assertions). */
  balance(currency: string): string {
    return fmt(this.cash.get(currency) ?? ZERO);
  }

  accountSummary(currency: string): unknown {
    if (!this.cash.has(currency)) throw Errors.invalidParams('currency', `unknown currency ${currency}`);
    const equity = this.equity(currency);
    const cash = this.cash.get(currency) ?? ZERO;
    const num = (d: Dec) => Number(d.toFixed());
    return {
      currency,
      balance: num(cash),
      equity: num(equity),
      available_funds: num(equity),
      available_withdrawal_funds: num(Dec.max(ZERO, cash)),
      margin_balance: num(equity),
      initial_margin: 0,
      maintenance_margin: 0,
      total_pl: num(equity.minus(cash)),
      session_upl: num(equity.minus(cash)),
      session_rpl: 0,
      fee_balance: 0,
      portfolio_margining_enabled: false,
    };
  }
}

// ---------------------------------------------------------------------------------------------
// JSON shapes
// ---------------------------------------------------------------------------------------------

const num = (d: Dec): number => Number(d.toFixed());

export function orderJson(o: DOrder): Record<string, unknown> {
  return {
    order_id: o.order_id,
    label: o.label,
    instrument_name: o.inst.name,
    direction: o.direction,
    amount: num(o.amount),
    filled_amount: num(o.filled),
    average_price: o.filled.isZero() ? 0 : num(o.filledValue.div(o.filled)),
    price: o.price === null ? 'market_price' : num(o.price),
    order_state: o.state,
    order_type: o.order_type,
    time_in_force: o.time_in_force,
    post_only: o.post_only,
    reject_post_only: o.post_only,
    reduce_only: o.reduce_only,
    creation_timestamp: o.created,
    last_update_timestamp: o.updated,
    commission: num(o.commission),
    cancel_reason: o.cancel_reason === '' ? undefined : o.cancel_reason,
    api: true,
    web: false,
    replaced: false,
    is_liquidation: false,
    max_show: num(o.amount),
    profit_loss: 0,
  };
}

export function tradeJson(t: DTrade): Record<string, unknown> {
  return {
    trade_id: t.trade_id,
    trade_seq: t.trade_seq,
    instrument_name: t.order.inst.name,
    order_id: t.order.order_id,
    order_type: t.order.order_type,
    label: t.order.label,
    direction: t.order.direction,
    amount: num(t.amount),
    price: num(t.price),
    fee: num(t.fee),
    fee_currency: t.order.inst.id.base,
    liquidity: t.liquidity,
    timestamp: t.timestamp,
    mark_price: num(t.mark_price),
    index_price: num(t.mark_price),
    state: t.order.state,
    tick_direction: 0,
    matching_id: null,
    post_only: t.order.post_only,
    reduce_only: t.order.reduce_only,
  };
}

/** `public/get_instruments` entry. */
export function instrumentJson(i: DeribitInstrument): Record<string, unknown> {
  const s = i.spec;
  return {
    instrument_name: i.name,
    kind: i.kind,
    base_currency: i.id.base,
    counter_currency: i.id.quote,
    quote_currency: i.kind === 'option' ? i.id.base : i.id.quote,
    settlement_currency: i.id.base,
    settlement_period: i.perpetual ? 'perpetual' : 'month',
    is_active: true,
    contract_size: Number(i.deribitContractSize),
    min_trade_amount: Number(s.min_qty),
    tick_size: Number(s.tick_size),
    maker_commission: Number(s.maker_fee),
    taker_commission: Number(s.taker_fee),
    expiration_timestamp: i.expiryMs,
    creation_timestamp: 1_500_000_000_000,
    ...(i.id.instrument_type === 'OPTION'
      ? { strike: Number(i.id.strike), option_type: i.id.option_type === 'C' ? 'call' : 'put' }
      : {}),
    instrument_id: 0,
    price_index: `${i.id.base.toLowerCase()}_usd`,
  };
}
