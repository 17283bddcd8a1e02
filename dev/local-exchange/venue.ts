/**
 * The local exchange's state: one seeded moving market (`SyntheticMarketStream`) and one
 * `MatchingEngine` per symbol, the orders, trades and balances of the single account, and the
 * public market state in Binance's shapes (depth with update ids, trades, 24 h statistics).
 *
 * Everything runs on the injected clock: `sync()` brings every symbol to `clock.now()` (market
 * events in time order, our orders matched between them) and publishes what changed. Every REST
 * request and WebSocket API call syncs first, and a timer does it when `autoTick` is on, so the
 * market moves continuously and a request always sees the market as of its arrival.
 *
 * Orders reach the engine with zero latency: the engine's outcome (accept, fills, IOC expiry) is
 * known before the HTTP reply is written, as at Binance where a MARKET order's FULL reply carries
 * its fills.
 */
import { createHash } from 'node:crypto';
import { Dec, toDec } from '../../shared/domain/decimal.ts';
import { floorToStep, isMultipleOf } from '../../shared/domain/instrument.ts';
import { NANOS_PER_SECOND, type Nanos } from '../../shared/domain/time.ts';
import type { InstrumentSpec, Side } from '../../shared/domain/types.ts';
import type { Clock } from '../../shared/ports/clock.ts';
import {
  applySimEvent,
  type FillModel,
  MatchingEngine,
  newSimOrderView,
  type SimEvent,
  type SimFilled,
  type SimOrderView,
} from '../../shared/sim/index.ts';
import { type MarketEvent, SyntheticMarketStream } from '../../stateful/venues/simulated/market-model.ts';
import { BinanceError, Errors } from './errors.ts';
import { d8, nsToMs, type SymbolInfo, symbolInfoOf, up8 } from './format.ts';

export type OrderType = 'LIMIT' | 'MARKET' | 'LIMIT_MAKER';
export type TimeInForce = 'GTC' | 'IOC' | 'FOK';
export type OrderStatus = 'NEW' | 'PARTIALLY_FILLED' | 'FILLED' | 'CANCELED' | 'EXPIRED';
export type ExecType = 'NEW' | 'TRADE' | 'CANCELED' | 'EXPIRED';
export type RespType = 'ACK' | 'RESULT' | 'FULL';

/**
 * Who pays fees in which asset:
 * - `quote` (default): every fee in the quote asset (buys pay price × qty + fee, sells receive
 *   price × qty − fee), as the matching engine computes it and as the simulated venue books it;
 * - `binance`: as Binance without BNB: a buy pays its fee in the base asset it receives
 *   (qty × rate), a sell in the quote asset.
 */
export type FeeMode = 'quote' | 'binance';

export interface VenueOptions {
  instruments: readonly InstrumentSpec[];
  clock: Clock;
  seed: number;
  startingBalances: Record<string, string>;
  quoteIntervalMs: readonly [number, number];
  feeMode: FeeMode;
  fillModel: FillModel;
  bookLevels: number;
  startPrices: Record<string, number>;
}

export interface ExFill {
  tradeId: number;
  price: Dec;
  qty: Dec;
  quoteQty: Dec;
  commission: Dec;
  commissionAsset: string;
  isMaker: boolean;
  timeMs: number;
}

export interface ExOrder {
  info: SymbolInfo;
  orderId: number;
  /** The id the engine knows the order by (unique forever, unlike client order ids). */
  engineId: string;
  clientOrderId: string;
  side: Side;
  type: OrderType;
  timeInForce: TimeInForce;
  /** Limit price; zero for MARKET. */
  price: Dec;
  origQty: Dec;
  origQuoteOrderQty: Dec;
  executedQty: Dec;
  cumQuote: Dec;
  status: OrderStatus;
  timeMs: number;
  updateTimeMs: number;
  /** Client id of the cancel request that canceled it (Binance reports it as `clientOrderId`). */
  cancelClientOrderId: string | null;
  reserveAsset: string;
  /** Still locked for this order. */
  reserved: Dec;
  /** Locked per unit of quantity (released as the order fills). */
  reservePerUnit: Dec;
  fills: ExFill[];
  /** The engine's events about it, through the one mapping (shared/sim/order-view.ts). */
  view: SimOrderView;
}

export interface MyTrade {
  symbol: string;
  id: number;
  orderId: number;
  price: Dec;
  qty: Dec;
  quoteQty: Dec;
  commission: Dec;
  commissionAsset: string;
  timeMs: number;
  isBuyer: boolean;
  isMaker: boolean;
}

export interface PublicTrade {
  id: number;
  price: Dec;
  qty: Dec;
  timeMs: number;
  isBuyerMaker: boolean;
}

interface Balance {
  free: Dec;
  locked: Dec;
}

interface MinuteBar {
  openMs: number;
  open: Dec;
  high: Dec;
  low: Dec;
  close: Dec;
  volume: Dec;
  quoteVolume: Dec;
  count: number;
  firstId: number;
  lastId: number;
}

type PriceMap = Map<string, string>;

interface Book {
  info: SymbolInfo;
  stream: SyntheticMarketStream;
  engine: MatchingEngine;
  /** The book as last published on WebSocket / served by REST (exact decimals as keys). */
  bids: PriceMap;
  asks: PriceMap;
  lastUpdateId: number;
  nextTradeId: number;
  trades: PublicTrade[];
  bars: MinuteBar[];
  last: PublicTrade | null;
}

/** Sinks the server attaches: public stream messages and private user-data events. */
export interface VenueSinks {
  /** True when some connection listens to this stream (lower-case Binance stream name). */
  wants(stream: string): boolean;
  publish(stream: string, payload: object): void;
  privateEvent(payload: object): void;
}

const MAX_PUBLIC_TRADES = 5_000;
const DAY_MS = 86_400_000;
const CLIENT_ID_RE = /^[.A-Z:/a-z0-9_-]{1,36}$/;
const CLIENT_ID_LEGAL = '^[\\.A-Z\\:/a-z0-9_-]{1,36}$';

export interface NewOrderParams {
  symbol: string;
  side: string | undefined;
  type: string | undefined;
  timeInForce: string | undefined;
  quantity: string | undefined;
  quoteOrderQty: string | undefined;
  price: string | undefined;
  newClientOrderId: string | undefined;
  newOrderRespType: string | undefined;
}

export class LocalVenue {
  private readonly books = new Map<string, Book>();
  private readonly balances = new Map<string, Balance>();
  private readonly orders: ExOrder[] = [];
  private readonly ordersById = new Map<number, ExOrder>();
  private readonly ordersByEngineId = new Map<string, ExOrder>();
  private readonly myTrades: MyTrade[] = [];
  /** Open orders by `${symbol}:${clientOrderId}` (client ids are unique among open orders). */
  private readonly openByClientId = new Map<string, ExOrder>();
  private nextOrderId = 1;
  private nextCancelId = 1;
  private accountUpdateMs = 0;
  private sinks: VenueSinks | null = null;
  private readonly clock: Clock;
  private readonly feeMode: FeeMode;
  readonly seed: number;
  private lastSync: Nanos;

  constructor(opts: VenueOptions) {
    this.clock = opts.clock;
    this.feeMode = opts.feeMode;
    this.seed = opts.seed;
    const now = this.clock.now();
    this.lastSync = now;
    for (const spec of opts.instruments) {
      const info = symbolInfoOf(spec);
      if (this.books.has(info.symbol)) throw new RangeError(`local exchange: ${info.symbol} listed twice`);
      const startPrice = opts.startPrices[info.symbol] ?? opts.startPrices[spec.instrument_key];
      const book: Book = {
        info,
        stream: new SyntheticMarketStream({
          spec,
          seed: opts.seed,
          startNs: now,
          startPrice,
          quoteIntervalMs: opts.quoteIntervalMs,
          levels: opts.bookLevels,
        }),
        engine: new MatchingEngine({
          instrument: spec,
          epochNs: now,
          seed: opts.seed,
          fillModel: opts.fillModel,
          lateData: 'clamp',
        }),
        bids: new Map(),
        asks: new Map(),
        lastUpdateId: 1_000_000 + (hashInt(`${opts.seed}:${info.symbol}:depth`) % 1_000_000),
        nextTradeId: 1,
        trades: [],
        bars: [],
        last: null,
      };
      this.books.set(info.symbol, book);
      for (const asset of [info.base, info.quote]) this.balance(asset);
    }
    for (const [asset, amount] of Object.entries(opts.startingBalances)) {
      const amt = toDec(amount);
      if (amt.lt(0)) throw new RangeError(`local exchange: starting balance of ${asset} is negative`);
      this.balance(asset).free = amt;
    }
    this.accountUpdateMs = nsToMs(now);
  }

  attach(sinks: VenueSinks): void {
    this.sinks = sinks;
  }

  nowMs(): number {
    return nsToMs(this.clock.now());
  }

  symbols(): SymbolInfo[] {
    return [...this.books.values()].map((b) => b.info);
  }

  symbolInfo(symbol: string): SymbolInfo {
    return this.book(symbol).info;
  }

  private book(symbol: string | undefined): Book {
    if (symbol === undefined || symbol === '') throw Errors.mandatory('symbol');
    const book = this.books.get(symbol.toUpperCase());
    if (book === undefined) throw Errors.invalidSymbol();
    return book;
  }

  private balance(asset: string): Balance {
    let b = this.balances.get(asset);
    if (b === undefined) {
      b = { free: new Dec(0), locked: new Dec(0) };
      this.balances.set(asset, b);
    }
    return b;
  }

  // -------------------------------------------------------------------------------------------
  // Time
  // -------------------------------------------------------------------------------------------

  /** Bring every symbol to `clock.now()`: market events, fills, depth and trade streams. */
  sync(): void {
    const now = this.clock.now();
    if (now < this.lastSync) return;
    this.lastSync = now;
    for (const book of this.books.values()) this.advance(book, now);
  }

  private advance(book: Book, now: Nanos): void {
    const trades: PublicTrade[] = [];
    for (const ev of book.stream.takeUntil(now)) {
      this.feed(book, ev, trades);
      book.engine.advanceTo(ev.ts);
      this.drain(book, trades);
    }
    book.engine.advanceTo(now);
    this.drain(book, trades);
    if (now - book.engine.epochNs > 86_400n * NANOS_PER_SECOND) book.engine.rebase(now);
    this.publishMarket(book, trades, now);
  }

  private feed(book: Book, ev: MarketEvent, trades: PublicTrade[]): void {
    if (ev.kind === 'book') {
      book.engine.onBookSnapshot(ev.ts, ev.bids, ev.asks);
      return;
    }
    book.engine.onTrade(ev.ts, ev.price, ev.size, ev.aggressor);
    const t = this.recordPublicTrade(
      book,
      toDec(ev.price),
      toDec(ev.size),
      nsToMs(ev.ts),
      ev.aggressor === 'SELL',
    );
    trades.push(t);
  }

  private recordPublicTrade(
    book: Book,
    price: Dec,
    qty: Dec,
    timeMs: number,
    isBuyerMaker: boolean,
  ): PublicTrade {
    const t: PublicTrade = { id: book.nextTradeId++, price, qty, timeMs, isBuyerMaker };
    book.trades.push(t);
    if (book.trades.length > MAX_PUBLIC_TRADES) book.trades.splice(0, book.trades.length - MAX_PUBLIC_TRADES);
    book.last = t;
    const minute = timeMs - (timeMs % 60_000);
    let bar = book.bars[book.bars.length - 1];
    if (bar === undefined || bar.openMs !== minute) {
      bar = {
        openMs: minute,
        open: price,
        high: price,
        low: price,
        close: price,
        volume: new Dec(0),
        quoteVolume: new Dec(0),
        count: 0,
        firstId: t.id,
        lastId: t.id,
      };
      book.bars.push(bar);
      // Keep a little more than a day of one-minute bars.
      if (book.bars.length > 1_500) book.bars.splice(0, book.bars.length - 1_500);
    }
    if (price.gt(bar.high)) bar.high = price;
    if (price.lt(bar.low)) bar.low = price;
    bar.close = price;
    bar.volume = bar.volume.plus(qty);
    bar.quoteVolume = bar.quoteVolume.plus(qty.times(price));
    bar.count++;
    bar.lastId = t.id;
    return t;
  }

  /** Apply the engine's outcomes (fills, expiries, cancels) to orders, balances and streams. */
  private drain(book: Book, trades: PublicTrade[]): void {
    for (const ev of book.engine.drainEvents()) this.onEngineEvent(book, ev, trades);
  }

  private onEngineEvent(book: Book, ev: SimEvent, trades: PublicTrade[]): void {
    const order = this.ordersByEngineId.get(ev.order_id);
    if (order === undefined) return;
    order.view = applySimEvent(order.view, ev);
    switch (ev.type) {
      case 'accepted':
        return;
      case 'filled':
        this.onFill(book, order, ev, trades);
        return;
      case 'canceled':
        this.finish(order, ev.reason === 'USER_CANCEL' ? 'CANCELED' : 'EXPIRED', nsToMs(ev.ts_event));
        return;
      case 'expired':
        this.finish(order, 'EXPIRED', nsToMs(ev.ts_event));
        return;
      case 'rejected':
        // Orders are checked before they reach the engine; a rejection here is a bug, not a state.
        this.finish(order, 'EXPIRED', nsToMs(ev.ts_event));
        return;
      case 'cancel_rejected':
        return;
    }
  }

  private onFill(book: Book, order: ExOrder, ev: SimFilled, trades: PublicTrade[]): void {
    const info = order.info;
    const qty = toDec(ev.quantity);
    const price = toDec(ev.price);
    const quoteQty = qty.times(price);
    const isMaker = ev.liquidity === 'MAKER';
    const timeMs = nsToMs(ev.ts_event);
    const spec = info.spec;
    const rate = toDec(isMaker ? spec.maker_fee : spec.taker_fee);
    let commission: Dec;
    let commissionAsset: string;
    if (this.feeMode === 'binance' && order.side === 'BUY') {
      commission = up8(qty.times(rate));
      commissionAsset = info.base;
    } else {
      commission = up8(toDec(ev.fee));
      commissionAsset = info.quote;
    }
    const pub = this.recordPublicTrade(book, price, qty, timeMs, order.side === 'BUY' ? isMaker : !isMaker);
    trades.push(pub);
    const fill: ExFill = {
      tradeId: pub.id,
      price,
      qty,
      quoteQty,
      commission,
      commissionAsset,
      isMaker,
      timeMs,
    };
    order.fills.push(fill);
    order.executedQty = order.view.filled;
    order.cumQuote = order.view.notional;
    order.status = order.view.phase === 'FILLED' ? 'FILLED' : 'PARTIALLY_FILLED';
    order.updateTimeMs = timeMs;
    if (order.status === 'FILLED') this.closed(order);

    // Balances: release the reservation of this quantity, pay, receive.
    const base = this.balance(info.base);
    const quote = this.balance(info.quote);
    const release =
      order.status === 'FILLED'
        ? order.reserved
        : Dec.min(order.reserved, up8(order.reservePerUnit.times(qty)));
    order.reserved = order.reserved.minus(release);
    const reserve = this.balance(order.reserveAsset);
    reserve.locked = reserve.locked.minus(release);
    reserve.free = reserve.free.plus(release);
    if (order.side === 'BUY') {
      quote.free = quote.free.minus(quoteQty);
      base.free = base.free.plus(qty);
    } else {
      base.free = base.free.minus(qty);
      quote.free = quote.free.plus(quoteQty);
    }
    const feeBal = this.balance(commissionAsset);
    feeBal.free = feeBal.free.minus(commission);
    this.accountUpdateMs = timeMs;

    this.myTrades.push({
      symbol: info.symbol,
      id: pub.id,
      orderId: order.orderId,
      price,
      qty,
      quoteQty,
      commission,
      commissionAsset,
      timeMs,
      isBuyer: order.side === 'BUY',
      isMaker,
    });
    this.emitExecution(order, 'TRADE', timeMs, fill);
    this.emitAccount([info.base, info.quote, commissionAsset], timeMs);
  }

  /** An order ends (cancel, expiry): release what is still locked and report it. */
  private finish(order: ExOrder, status: 'CANCELED' | 'EXPIRED', timeMs: number): void {
    if (order.status === 'FILLED' || order.status === 'CANCELED' || order.status === 'EXPIRED') return;
    order.status = status;
    order.updateTimeMs = timeMs;
    this.closed(order);
    const released = order.reserved;
    if (released.gt(0)) {
      const bal = this.balance(order.reserveAsset);
      bal.locked = bal.locked.minus(released);
      bal.free = bal.free.plus(released);
      order.reserved = new Dec(0);
      this.accountUpdateMs = timeMs;
    }
    this.emitExecution(order, status, timeMs, null);
    if (released.gt(0)) this.emitAccount([order.reserveAsset], timeMs);
  }

  private closed(order: ExOrder): void {
    const key = `${order.info.symbol}:${order.clientOrderId}`;
    if (this.openByClientId.get(key) === order) this.openByClientId.delete(key);
  }

  // -------------------------------------------------------------------------------------------
  // Publishing
  // -------------------------------------------------------------------------------------------

  private publishMarket(book: Book, trades: PublicTrade[], now: Nanos): void {
    const sinks = this.sinks;
    const snap = book.stream.book();
    const eventMs = nsToMs(now);
    const sym = book.info.symbol;
    const lower = sym.toLowerCase();
    if (sinks !== null) {
      const wantsTrade = sinks.wants(`${lower}@trade`);
      const wantsAgg = sinks.wants(`${lower}@aggtrade`);
      for (const t of trades) {
        if (wantsTrade) {
          sinks.publish(`${lower}@trade`, {
            e: 'trade',
            E: eventMs,
            s: sym,
            t: t.id,
            p: d8(t.price),
            q: d8(t.qty),
            T: t.timeMs,
            m: t.isBuyerMaker,
            M: true,
          });
        }
        if (wantsAgg) {
          sinks.publish(`${lower}@aggtrade`, {
            e: 'aggTrade',
            E: eventMs,
            s: sym,
            a: t.id,
            p: d8(t.price),
            q: d8(t.qty),
            f: t.id,
            l: t.id,
            T: t.timeMs,
            m: t.isBuyerMaker,
            M: true,
          });
        }
      }
    }
    if (snap === null) return;
    const bids: PriceMap = new Map(snap.bids.map((l) => [l.price, l.size]));
    const asks: PriceMap = new Map(snap.asks.map((l) => [l.price, l.size]));
    const db = diff(book.bids, bids);
    const da = diff(book.asks, asks);
    if (db.length === 0 && da.length === 0) return;
    const U = book.lastUpdateId + 1;
    book.lastUpdateId += db.length + da.length;
    book.bids = bids;
    book.asks = asks;
    if (sinks === null) return;
    const depthUpdate = {
      e: 'depthUpdate',
      E: eventMs,
      s: sym,
      U,
      u: book.lastUpdateId,
      b: db.map(([p, q]) => [d8(p), d8(q)]),
      a: da.map(([p, q]) => [d8(p), d8(q)]),
    };
    for (const rate of ['', '@100ms', '@1000ms']) {
      const stream = `${lower}@depth${rate}`;
      if (sinks.wants(stream)) sinks.publish(stream, depthUpdate);
    }
    for (const levels of [5, 10, 20]) {
      for (const rate of ['', '@100ms', '@1000ms']) {
        const stream = `${lower}@depth${levels}${rate}`;
        if (sinks.wants(stream)) {
          const d = this.depth(sym, levels);
          sinks.publish(stream, { lastUpdateId: d.lastUpdateId, bids: d.bids, asks: d.asks });
        }
      }
    }
    if (sinks.wants(`${lower}@bookticker`)) {
      const top = this.bookTicker(sym);
      sinks.publish(`${lower}@bookticker`, {
        u: book.lastUpdateId,
        s: sym,
        b: top.bidPrice,
        B: top.bidQty,
        a: top.askPrice,
        A: top.askQty,
      });
    }
    for (const name of ['ticker', 'miniticker']) {
      const stream = `${lower}@${name}`;
      if (sinks.wants(stream)) sinks.publish(stream, this.tickerEvent(book, name === 'miniticker', eventMs));
    }
  }

  private emitExecution(order: ExOrder, execType: ExecType, timeMs: number, fill: ExFill | null): void {
    if (this.sinks === null) return;
    const canceled = execType === 'CANCELED';
    this.sinks.privateEvent({
      e: 'executionReport',
      E: timeMs,
      s: order.info.symbol,
      c: canceled && order.cancelClientOrderId !== null ? order.cancelClientOrderId : order.clientOrderId,
      S: order.side,
      o: order.type,
      f: order.timeInForce,
      q: d8(order.origQty),
      p: d8(order.price),
      P: d8(0),
      F: d8(0),
      g: -1,
      C: canceled ? order.clientOrderId : '',
      x: execType,
      X: order.status,
      r: 'NONE',
      i: order.orderId,
      l: d8(fill?.qty ?? 0),
      z: d8(order.executedQty),
      L: d8(fill?.price ?? 0),
      n: d8(fill?.commission ?? 0),
      N: fill?.commissionAsset ?? null,
      T: timeMs,
      t: fill?.tradeId ?? -1,
      v: 0,
      I: this.nextEventSeq(),
      w: order.status === 'NEW' || order.status === 'PARTIALLY_FILLED',
      m: fill?.isMaker ?? false,
      M: false,
      O: order.timeMs,
      Z: d8(order.cumQuote),
      Y: d8(fill?.quoteQty ?? 0),
      Q: d8(order.origQuoteOrderQty),
      W: order.timeMs,
      V: 'EXPIRE_MAKER',
    });
  }

  private eventSeq = 1;
  private nextEventSeq(): number {
    return this.eventSeq++;
  }

  private emitAccount(assets: string[], timeMs: number): void {
    if (this.sinks === null) return;
    const unique = [...new Set(assets)];
    this.sinks.privateEvent({
      e: 'outboundAccountPosition',
      E: timeMs,
      u: this.accountUpdateMs,
      B: unique.map((a) => {
        const b = this.balance(a);
        return { a, f: d8(b.free), l: d8(b.locked) };
      }),
    });
  }

  // -------------------------------------------------------------------------------------------
  // Market data (REST)
  // -------------------------------------------------------------------------------------------

  depth(
    symbol: string,
    limit: number,
  ): { lastUpdateId: number; bids: [string, string][]; asks: [string, string][] } {
    const book = this.book(symbol);
    const side = (m: PriceMap, desc: boolean): [string, string][] =>
      [...m.entries()]
        .sort((x, y) => (desc ? toDec(y[0]).cmp(x[0]) : toDec(x[0]).cmp(y[0])))
        .slice(0, limit)
        .map(([p, q]) => [d8(p), d8(q)]);
    return { lastUpdateId: book.lastUpdateId, bids: side(book.bids, true), asks: side(book.asks, false) };
  }

  bookTicker(symbol: string): {
    symbol: string;
    bidPrice: string;
    bidQty: string;
    askPrice: string;
    askQty: string;
  } {
    const d = this.depth(symbol, 1);
    const bid = d.bids[0] ?? [d8(0), d8(0)];
    const ask = d.asks[0] ?? [d8(0), d8(0)];
    return {
      symbol: this.book(symbol).info.symbol,
      bidPrice: bid[0],
      bidQty: bid[1],
      askPrice: ask[0],
      askQty: ask[1],
    };
  }

  recentTrades(symbol: string, limit: number): PublicTrade[] {
    const trades = this.book(symbol).trades;
    return trades.slice(Math.max(0, trades.length - limit));
  }

  /** Trades with `id >= fromId`, or within [start, end], oldest first, at most `limit`. */
  tradesFrom(
    symbol: string,
    q: {
      fromId?: number | undefined;
      startTime?: number | undefined;
      endTime?: number | undefined;
      limit: number;
    },
  ): PublicTrade[] {
    return historyPage(this.book(symbol).trades, (t) => t.id, q.fromId, q);
  }

  /** One-minute bars aggregated to `intervalMs` (klines). */
  klines(
    symbol: string,
    intervalMs: number,
    q: { startTime?: number | undefined; endTime?: number | undefined; limit: number },
  ): Array<[number, string, string, string, string, string, number, string, number, string, string, string]> {
    const bars = this.book(symbol).bars;
    const out: MinuteBar[] = [];
    for (const b of bars) {
      const openMs = b.openMs - (b.openMs % intervalMs);
      const cur = out[out.length - 1];
      if (cur === undefined || cur.openMs !== openMs) {
        out.push({ ...b, openMs });
        continue;
      }
      if (b.high.gt(cur.high)) cur.high = b.high;
      if (b.low.lt(cur.low)) cur.low = b.low;
      cur.close = b.close;
      cur.volume = cur.volume.plus(b.volume);
      cur.quoteVolume = cur.quoteVolume.plus(b.quoteVolume);
      cur.count += b.count;
      cur.lastId = b.lastId;
    }
    let sel = out.filter(
      (b) =>
        (q.startTime === undefined || b.openMs >= q.startTime) &&
        (q.endTime === undefined || b.openMs <= q.endTime),
    );
    sel = q.startTime !== undefined ? sel.slice(0, q.limit) : sel.slice(Math.max(0, sel.length - q.limit));
    return sel.map((b) => [
      b.openMs,
      d8(b.open),
      d8(b.high),
      d8(b.low),
      d8(b.close),
      d8(b.volume),
      b.openMs + intervalMs - 1,
      d8(b.quoteVolume),
      b.count,
      '0',
      '0',
      '0',
    ]);
  }

  ticker24(symbol: string): Record<string, string | number> {
    const book = this.book(symbol);
    const nowMs = this.nowMs();
    const fromMs = nowMs - DAY_MS;
    const bars = book.bars.filter((b) => b.openMs >= fromMs - 60_000);
    const top = this.bookTicker(symbol);
    const last = book.last;
    const first = bars[0];
    const lastPrice = last?.price ?? new Dec(0);
    const open = first?.open ?? lastPrice;
    let high = open;
    let low = open;
    let volume = new Dec(0);
    let quoteVolume = new Dec(0);
    let count = 0;
    for (const b of bars) {
      if (b.high.gt(high)) high = b.high;
      if (b.low.lt(low)) low = b.low;
      volume = volume.plus(b.volume);
      quoteVolume = quoteVolume.plus(b.quoteVolume);
      count += b.count;
    }
    const change = lastPrice.minus(open);
    return {
      symbol: book.info.symbol,
      priceChange: d8(change),
      priceChangePercent: open.isZero() ? '0.000' : change.div(open).times(100).toFixed(3),
      weightedAvgPrice: d8(volume.isZero() ? lastPrice : quoteVolume.div(volume).toDecimalPlaces(8)),
      prevClosePrice: d8(open),
      lastPrice: d8(lastPrice),
      lastQty: d8(last?.qty ?? 0),
      bidPrice: top.bidPrice,
      bidQty: top.bidQty,
      askPrice: top.askPrice,
      askQty: top.askQty,
      openPrice: d8(open),
      highPrice: d8(high),
      lowPrice: d8(low),
      volume: d8(volume),
      quoteVolume: d8(quoteVolume.toDecimalPlaces(8)),
      openTime: first?.openMs ?? nowMs,
      closeTime: nowMs,
      firstId: first?.firstId ?? -1,
      lastId: last?.id ?? -1,
      count,
    };
  }

  private tickerEvent(book: Book, mini: boolean, eventMs: number): object {
    const t = this.ticker24(book.info.symbol);
    const common = {
      E: eventMs,
      s: book.info.symbol,
      c: t.lastPrice,
      o: t.openPrice,
      h: t.highPrice,
      l: t.lowPrice,
      v: t.volume,
      q: t.quoteVolume,
    };
    if (mini) return { e: '24hrMiniTicker', ...common };
    return {
      e: '24hrTicker',
      ...common,
      p: t.priceChange,
      P: t.priceChangePercent,
      w: t.weightedAvgPrice,
      x: t.prevClosePrice,
      Q: t.lastQty,
      b: t.bidPrice,
      B: t.bidQty,
      a: t.askPrice,
      A: t.askQty,
      O: t.openTime,
      C: t.closeTime,
      F: t.firstId,
      L: t.lastId,
      n: t.count,
    };
  }

  /** Mid of the best bid and ask (Binance's avgPrice stands in for it), or null without a book. */
  mid(symbol: string): Dec | null {
    const book = this.book(symbol);
    const bid = book.engine.bestBid();
    const ask = book.engine.bestAsk();
    if (bid === null || ask === null) return null;
    return toDec(bid.price).plus(toDec(ask.price)).div(2);
  }

  // -------------------------------------------------------------------------------------------
  // Orders
  // -------------------------------------------------------------------------------------------

  newOrder(p: NewOrderParams): { order: ExOrder; respType: RespType; transactTime: number } {
    const book = this.book(p.symbol);
    const info = book.info;
    const spec = info.spec;
    const side = parseSide(p.side);
    const type = parseType(p.type);
    let respType: RespType;
    if (p.newOrderRespType === undefined) respType = type === 'LIMIT_MAKER' ? 'ACK' : 'FULL';
    else if (p.newOrderRespType === 'ACK' || p.newOrderRespType === 'RESULT' || p.newOrderRespType === 'FULL')
      respType = p.newOrderRespType;
    else throw Errors.invalidRespType();

    let timeInForce: TimeInForce = 'GTC';
    if (type === 'LIMIT') {
      if (p.timeInForce === undefined) throw Errors.mandatory('timeInForce');
      if (p.timeInForce !== 'GTC' && p.timeInForce !== 'IOC' && p.timeInForce !== 'FOK')
        throw Errors.invalidTimeInForce();
      timeInForce = p.timeInForce;
    } else if (p.timeInForce !== undefined) {
      throw Errors.notRequired('timeInForce');
    }
    let price = new Dec(0);
    if (type === 'MARKET') {
      if (p.price !== undefined) throw Errors.notRequired('price');
    } else {
      if (p.price === undefined) throw Errors.mandatory('price');
      price = parsePositive(p.price, 'price');
      if (!isMultipleOf(price, spec.tick_size) || price.lt(spec.tick_size))
        throw Errors.filterFailure('PRICE_FILTER');
    }
    const clientOrderId =
      p.newClientOrderId ??
      `web_${createHash('sha256').update(`${this.seed}:${this.nextOrderId}`).digest('hex').slice(0, 24)}`;
    if (!CLIENT_ID_RE.test(clientOrderId)) throw Errors.illegalChars('newClientOrderId', CLIENT_ID_LEGAL);
    if (this.openByClientId.has(`${info.symbol}:${clientOrderId}`)) throw Errors.duplicateOrder();

    const mid = this.mid(info.symbol);
    let qty: Dec;
    let quoteOrderQty = new Dec(0);
    if (p.quantity !== undefined) {
      if (p.quoteOrderQty !== undefined) throw Errors.notRequired('quoteOrderQty');
      qty = parsePositive(p.quantity, 'quantity');
    } else if (p.quoteOrderQty !== undefined && type === 'MARKET') {
      quoteOrderQty = parsePositive(p.quoteOrderQty, 'quoteOrderQty');
      qty = floorToStep(this.quantityForQuote(book, side, quoteOrderQty), spec.step_size);
    } else {
      throw type === 'MARKET'
        ? Errors.mandatoryOneOf('quantity', 'quoteOrderQty')
        : Errors.mandatory('quantity');
    }
    if (!isMultipleOf(qty, spec.step_size) || qty.lt(spec.min_qty) || qty.gt(spec.max_qty))
      throw Errors.filterFailure('LOT_SIZE');
    const refPrice = type === 'MARKET' ? mid : price;
    if (refPrice !== null && qty.times(refPrice).lt(spec.min_notional))
      throw Errors.filterFailure('NOTIONAL');

    if (type === 'LIMIT_MAKER') {
      const cross = side === 'BUY' ? book.engine.bestAsk() : book.engine.bestBid();
      if (cross !== null && (side === 'BUY' ? price.gte(cross.price) : price.lte(cross.price)))
        throw Errors.wouldMatch();
    }

    // Reserve funds: a buy locks its worst-case cost in the quote asset, a sell its quantity.
    let reserveAsset: string;
    let reservePerUnit: Dec;
    if (side === 'SELL') {
      reserveAsset = info.base;
      reservePerUnit = new Dec(1);
    } else {
      reserveAsset = info.quote;
      // No displayed asks: a MARKET buy can only expire unfilled, so it locks nothing.
      const worst = type === 'MARKET' ? (this.worstPrice(book, 'BUY') ?? new Dec(0)) : price;
      const feeFactor =
        this.feeMode === 'quote'
          ? new Dec(1).plus(Dec.max(toDec(spec.maker_fee), toDec(spec.taker_fee), 0))
          : new Dec(1);
      reservePerUnit = worst.times(feeFactor);
    }
    const reserved = up8(reservePerUnit.times(qty));
    const bal = this.balance(reserveAsset);
    if (bal.free.lt(reserved)) throw Errors.insufficientBalance();

    const nowMs = this.nowMs();
    const orderId = this.nextOrderId++;
    const order: ExOrder = {
      info,
      orderId,
      engineId: String(orderId),
      clientOrderId,
      side,
      type,
      timeInForce,
      price,
      origQty: qty,
      origQuoteOrderQty: quoteOrderQty,
      executedQty: new Dec(0),
      cumQuote: new Dec(0),
      view: newSimOrderView(),
      status: 'NEW',
      timeMs: nowMs,
      updateTimeMs: nowMs,
      cancelClientOrderId: null,
      reserveAsset,
      reserved,
      reservePerUnit,
      fills: [],
    };
    bal.free = bal.free.minus(reserved);
    bal.locked = bal.locked.plus(reserved);
    this.accountUpdateMs = nowMs;
    this.orders.push(order);
    this.ordersById.set(orderId, order);
    this.ordersByEngineId.set(order.engineId, order);
    this.openByClientId.set(`${info.symbol}:${clientOrderId}`, order);
    this.emitExecution(order, 'NEW', nowMs, null);
    this.emitAccount([reserveAsset], nowMs);

    const now = this.clock.now();
    const result = book.engine.submit(
      {
        order_id: order.engineId,
        side,
        order_type: type === 'MARKET' ? 'MARKET' : 'LIMIT',
        quantity: qty.toFixed(),
        price: type === 'MARKET' ? null : price.toFixed(),
        time_in_force: type === 'MARKET' ? 'IOC' : type === 'LIMIT_MAKER' ? 'GTX' : timeInForce,
      },
      now,
    );
    if (result !== 'queued') throw Errors.unknown('the matching engine refused a new order id');
    const trades: PublicTrade[] = [];
    book.engine.advanceTo(now);
    this.drain(book, trades);
    this.publishMarket(book, trades, now);
    return { order, respType, transactTime: nowMs };
  }

  /** Base quantity a quote amount buys (walking the asks) or sells for (walking the bids). */
  private quantityForQuote(book: Book, side: Side, quote: Dec): Dec {
    const levels = book.engine.levels(side === 'BUY' ? 'ASK' : 'BID');
    let left = quote;
    let qty = new Dec(0);
    for (const l of levels) {
      const px = toDec(l.price);
      const sz = toDec(l.size);
      const cost = px.times(sz);
      if (cost.gte(left)) return qty.plus(left.div(px));
      qty = qty.plus(sz);
      left = left.minus(cost);
    }
    return qty;
  }

  /** The deepest displayed price on the side a market order takes: no fill can be worse. */
  private worstPrice(book: Book, side: Side): Dec | null {
    const levels = book.engine.levels(side === 'BUY' ? 'ASK' : 'BID');
    const last = levels[levels.length - 1];
    return last === undefined ? null : toDec(last.price);
  }

  findOrder(symbol: string, orderId: string | undefined, origClientOrderId: string | undefined): ExOrder {
    const book = this.book(symbol);
    if (orderId === undefined && origClientOrderId === undefined)
      throw Errors.mandatoryOneOf('orderId', 'origClientOrderId');
    let order: ExOrder | undefined;
    if (orderId !== undefined) {
      const id = Number(orderId);
      if (!Number.isSafeInteger(id)) throw Errors.illegalValue('orderId');
      order = this.ordersById.get(id);
      if (order !== undefined && origClientOrderId !== undefined && order.clientOrderId !== origClientOrderId)
        order = undefined;
    } else {
      // The latest order with that client id (client ids are unique among open orders only).
      for (let i = this.orders.length - 1; i >= 0; i--) {
        const o = this.orders[i];
        if (o !== undefined && o.clientOrderId === origClientOrderId && o.info.symbol === book.info.symbol) {
          order = o;
          break;
        }
      }
    }
    if (order === undefined || order.info.symbol !== book.info.symbol) throw Errors.noSuchOrder();
    return order;
  }

  cancelOrder(
    symbol: string,
    orderId: string | undefined,
    origClientOrderId: string | undefined,
    newClientOrderId: string | undefined,
  ): ExOrder {
    let order: ExOrder;
    try {
      order = this.findOrder(symbol, orderId, origClientOrderId);
    } catch (err) {
      if (err instanceof BinanceError && err.code === -2013) throw Errors.unknownOrder();
      throw err;
    }
    if (!isOpen(order)) throw Errors.unknownOrder();
    this.cancelOpen(order, newClientOrderId);
    return order;
  }

  private cancelOpen(order: ExOrder, newClientOrderId: string | undefined): void {
    const cancelId = newClientOrderId ?? `cancel_${this.nextCancelId++}`;
    if (!CLIENT_ID_RE.test(cancelId)) throw Errors.illegalChars('newClientOrderId', CLIENT_ID_LEGAL);
    order.cancelClientOrderId = cancelId;
    const book = this.book(order.info.symbol);
    const now = this.clock.now();
    book.engine.cancel(order.engineId, now);
    book.engine.advanceTo(now);
    const trades: PublicTrade[] = [];
    this.drain(book, trades);
    this.publishMarket(book, trades, now);
  }

  cancelAll(symbol: string): ExOrder[] {
    const book = this.book(symbol);
    const open = this.orders.filter((o) => o.info.symbol === book.info.symbol && isOpen(o));
    if (open.length === 0) throw Errors.unknownOrder();
    for (const o of open) this.cancelOpen(o, undefined);
    return open;
  }

  openOrders(symbol: string | undefined): ExOrder[] {
    const sym = symbol === undefined ? undefined : this.book(symbol).info.symbol;
    return this.orders.filter((o) => isOpen(o) && (sym === undefined || o.info.symbol === sym));
  }

  allOrders(
    symbol: string,
    q: {
      orderId?: number | undefined;
      startTime?: number | undefined;
      endTime?: number | undefined;
      limit: number;
    },
  ): ExOrder[] {
    const sym = this.book(symbol).info.symbol;
    const mine = this.orders.filter((o) => o.info.symbol === sym);
    return historyPage(mine, (o) => o.orderId, q.orderId, q);
  }

  trades(
    symbol: string,
    q: {
      orderId?: number | undefined;
      fromId?: number | undefined;
      startTime?: number | undefined;
      endTime?: number | undefined;
      limit: number;
    },
  ): MyTrade[] {
    const sym = this.book(symbol).info.symbol;
    const id = q.orderId;
    const mine = this.myTrades.filter((t) => t.symbol === sym && (id === undefined || t.orderId === id));
    return historyPage(mine, (t) => t.id, q.fromId, q);
  }

  accountBalances(omitZero: boolean): Array<{ asset: string; free: string; locked: string }> {
    return [...this.balances.entries()]
      .filter(([, b]) => !omitZero || !b.free.isZero() || !b.locked.isZero())
      .map(([asset, b]) => ({ asset, free: d8(b.free), locked: d8(b.locked) }));
  }

  accountUpdateTime(): number {
    return this.accountUpdateMs;
  }

  /** Exact balances (tests and diagnostics). */
  balanceOf(asset: string): { free: string; locked: string } {
    const b = this.balances.get(asset);
    return b === undefined
      ? { free: '0', locked: '0' }
      : { free: b.free.toFixed(), locked: b.locked.toFixed() };
  }
}

export function isOpen(o: ExOrder): boolean {
  return o.status === 'NEW' || o.status === 'PARTIALLY_FILLED';
}

function parseSide(s: string | undefined): Side {
  if (s === undefined) throw Errors.mandatory('side');
  if (s !== 'BUY' && s !== 'SELL') throw Errors.invalidSide();
  return s;
}

function parseType(s: string | undefined): OrderType {
  if (s === undefined) throw Errors.mandatory('type');
  if (s !== 'LIMIT' && s !== 'MARKET' && s !== 'LIMIT_MAKER') throw Errors.invalidOrderType();
  return s;
}

function parsePositive(s: string, param: string): Dec {
  if (!/^\d+(\.\d+)?$/.test(s)) throw Errors.illegalValue(param);
  const d = toDec(s);
  if (!d.gt(0)) throw Errors.illegalValue(param);
  return d;
}

/** Changed levels between two books: [price, new size] with size 0 for a removed level. */
function diff(before: PriceMap, after: PriceMap): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (const [p, q] of after) if (before.get(p) !== q) out.push([p, q]);
  for (const p of before.keys()) if (!after.has(p)) out.push([p, '0']);
  return out;
}

function hashInt(s: string): number {
  return createHash('sha256').update(s).digest().readUInt32BE(0);
}

/**
 * Binance's history paging: from an id and/or a time range, the first `limit` rows; with neither a
 * starting id nor a start time, the LAST `limit` rows (the most recent).
 */
function historyPage<T extends { timeMs: number }>(
  rows: readonly T[],
  idOf: (row: T) => number,
  fromId: number | undefined,
  q: { startTime?: number | undefined; endTime?: number | undefined; limit: number },
): T[] {
  const { startTime, endTime, limit } = q;
  const out = rows.filter(
    (r) =>
      (fromId === undefined || idOf(r) >= fromId) &&
      (startTime === undefined || r.timeMs >= startTime) &&
      (endTime === undefined || r.timeMs <= endTime),
  );
  if (fromId === undefined && startTime === undefined) return out.slice(Math.max(0, out.length - limit));
  return out.slice(0, limit);
}
