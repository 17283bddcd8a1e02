/**
 * The local TWS's account: one seeded moving market (`SyntheticMarketStream`) and one
 * `MatchingEngine` per listed contract, the orders of every API client, executions with IB's
 * commissions, positions (shared/domain/position.ts), cash and margin. The server turns what
 * happens here into TWS API messages; nothing here knows the wire.
 *
 * Money: stocks and ETFs move cash by quantity × price; futures move cash only by realised PnL
 * (variation), quantity × multiplier × price change. Commissions follow IB's fixed schedule per
 * order (per unit, a minimum and a maximum per order), charged as the order fills.
 */
import { Dec, fmt, toDec } from '../../shared/domain/decimal.ts';
import { isMultipleOf } from '../../shared/domain/instrument.ts';
import { applyFill, unrealizedPnl } from '../../shared/domain/position.ts';
import { NANOS_PER_MILLI, NANOS_PER_SECOND, type Nanos } from '../../shared/domain/time.ts';
import type { Fill, Position } from '../../shared/domain/types.ts';
import type { Clock } from '../../shared/ports/clock.ts';
import { type FillModel, MatchingEngine, type SimEvent, type SimFilled } from '../../shared/sim/index.ts';
import { type MarketEvent, SyntheticMarketStream } from '../../stateful/venues/simulated/market-model.ts';
import {
  type ContractQuery,
  DEFAULT_START_PRICES,
  type ListedContract,
  listContract,
  matchContracts,
  type TwsInstrument,
} from './instruments.ts';
import { isLiquid, isTrading, nextLiquidOpen, type TwsSession } from './session.ts';

const ZERO = new Dec(0);
/** IB's "unset" double. */
export const UNSET_DOUBLE = '1.7976931348623157E308';

export type OrderStatus = 'PreSubmitted' | 'Submitted' | 'Filled' | 'Cancelled' | 'Inactive';
export type Tif = 'DAY' | 'GTC' | 'IOC';

export interface TwsOrder {
  clientId: number;
  orderId: number;
  permId: number;
  listed: ListedContract;
  action: 'BUY' | 'SELL';
  totalQuantity: Dec;
  orderType: 'LMT' | 'MKT';
  lmtPrice: Dec | null;
  tif: Tif;
  account: string;
  orderRef: string;
  outsideRth: boolean;
  status: OrderStatus;
  filled: Dec;
  /** Σ shares × price of the fills. */
  filledValue: Dec;
  lastFillPrice: Dec | null;
  commission: Dec;
  engineId: string;
  createdMs: number;
  /** Accepted outside regular hours without `outsideRth` (or a market order): held, PreSubmitted, until they open. */
  held: boolean;
  /** When it became Filled, Cancelled or Inactive (Unix ms), null while open. */
  doneMs: number | null;
}

export interface TwsExecution {
  execId: string;
  order: TwsOrder;
  shares: Dec;
  price: Dec;
  cumQty: Dec;
  avgPrice: Dec;
  timeMs: number;
  /** IB's lastLiquidity: 1 added (maker), 2 removed (taker). */
  liquidity: 1 | 2;
  commission: Dec;
  /** Realised PnL of the fill net of its commission, or null when it opened (IB's unset). */
  realizedPnl: Dec | null;
}

/** What the server hears from the broker. */
export interface BrokerSink {
  orderChanged(order: TwsOrder): void;
  executed(exec: TwsExecution): void;
  positionChanged(listed: ListedContract): void;
  marketChanged(listed: ListedContract): void;
  /** A warning about an accepted order (TWS's 399 "Order Message"). */
  warned(order: TwsOrder, code: number, message: string): void;
}

/** An order request as decoded from placeOrder. */
export interface PlaceRequest {
  clientId: number;
  orderId: number;
  contract: ContractQuery;
  action: string;
  totalQuantity: string | null;
  orderType: string;
  lmtPrice: string | null;
  tif: string;
  account: string;
  orderRef: string;
  outsideRth: boolean;
}

/** An IB error: code and text exactly as TWS sends them. */
export interface IbError {
  code: number;
  message: string;
  /** The order was known to TWS and is now Inactive. */
  inactive?: TwsOrder | undefined;
}

export const IbErrors = {
  noSecurityDefinition: (): IbError => ({
    code: 200,
    message: 'No security definition has been found for the request',
  }),
  rejected: (reason: string, order?: TwsOrder): IbError => ({
    code: 201,
    message: `Order rejected - reason:${reason}`,
    inactive: order,
  }),
  cancelled: (reason = ''): IbError => ({ code: 202, message: `Order Canceled - reason:${reason}` }),
  duplicateOrderId: (): IbError => ({ code: 103, message: 'Duplicate order id' }),
  priceVariation: (): IbError => ({
    code: 110,
    message: 'The price does not conform to the minimum price variation for this contract.',
  }),
  cannotModifyFilled: (): IbError => ({ code: 104, message: "Can't modify a filled order." }),
  modifyMismatch: (): IbError => ({
    code: 105,
    message: 'Order being modified does not match original order.',
  }),
  cannotFindOrder: (id: number): IbError => ({ code: 135, message: `Can't find order with id =${id}` }),
  cannotCancel: (id: number, state: string): IbError => ({
    code: 10148,
    message: `OrderId ${id} that needs to be cancelled cannot be cancelled, state: ${state}.`,
  }),
  validation: (field: string, cause: string): IbError => ({
    code: 321,
    message: `Error validating request.-'${field}' : cause - ${cause}`,
  }),
  unsupportedOrderType: (): IbError => ({
    code: 387,
    message: 'Unsupported order type for this exchange and security type.',
  }),
};

interface Book {
  listed: ListedContract;
  stream: SyntheticMarketStream;
  engine: MatchingEngine;
  last: Dec | null;
  lastSize: Dec | null;
}

export interface BrokerOptions {
  instruments: readonly TwsInstrument[];
  clock: Clock;
  seed: number;
  account: string;
  startingCash: string;
  /** One session for every contract, or `'instrument'`: each contract's own hours. */
  session: TwsSession | 'instrument';
  quoteIntervalMs: readonly [number, number];
  fillModel: FillModel;
  startPrices: Record<string, number>;
  firstOrderId: number;
}

const nsToMs = (ns: Nanos): number => Number(ns / NANOS_PER_MILLI);

export class TwsBroker {
  private readonly books = new Map<number, Book>();
  readonly listed: ListedContract[] = [];
  private readonly orders = new Map<string, TwsOrder>();
  private readonly byEngineId = new Map<string, TwsOrder>();
  readonly executions: TwsExecution[] = [];
  private readonly positions = new Map<number, Position>();
  private cashBalance: Dec;
  private sink: BrokerSink | null = null;
  private nextPermId = 1_360_000_001;
  private execSeq = 1;
  private modifications = 0;
  private highestOrderId: number;
  private lastSync: Nanos;

  constructor(private readonly o: BrokerOptions) {
    const now = o.clock.now();
    this.lastSync = now;
    this.cashBalance = toDec(o.startingCash);
    this.highestOrderId = o.firstOrderId - 1;
    for (const inst of o.instruments) {
      const listed = listContract(inst);
      if (this.books.has(inst.conId)) throw new RangeError(`local TWS: conId ${inst.conId} listed twice`);
      const symbol = listed.contract.symbol;
      const startPrice =
        o.startPrices[symbol] ?? o.startPrices[listed.key] ?? DEFAULT_START_PRICES[symbol] ?? 100;
      const stream = new SyntheticMarketStream({
        spec: inst.spec,
        seed: o.seed,
        startNs: now,
        startPrice,
        quoteIntervalMs: o.quoteIntervalMs,
        levels: 5,
        dailyVol: 0.012,
        // A level shows about 2M USD of value (SPY ~3000 shares, ES ~6 contracts), a print ~100k.
        levelNotional: 2_000_000 / Number(listed.multiplier),
        tradeNotional: 100_000 / Number(listed.multiplier),
      });
      const engine = new MatchingEngine({
        instrument: inst.spec,
        epochNs: now,
        seed: o.seed,
        fillModel: o.fillModel,
        lateData: 'clamp',
        feeCurrency: listed.contract.currency,
      });
      this.books.set(inst.conId, { listed, stream, engine, last: null, lastSize: null });
      this.listed.push(listed);
    }
  }

  attach(sink: BrokerSink): void {
    this.sink = sink;
  }

  get account(): string {
    return this.o.account;
  }

  nowMs(): number {
    return nsToMs(this.o.clock.now());
  }

  sessionOf(listed: ListedContract): TwsSession {
    return this.o.session === 'instrument' ? listed.inst.hours : this.o.session;
  }

  find(q: ContractQuery): ListedContract[] {
    return matchContracts(this.listed, q);
  }

  /** The next order id to hand out (`nextValidId`): above every id used by any client. */
  nextValidId(): number {
    return this.highestOrderId + 1;
  }

  // ------------------------------------------------------------------------------------------
  // Market
  // ------------------------------------------------------------------------------------------

  /** Bring every contract to `clock.now()`: market events, fills, DAY expiry outside the session. */
  sync(): void {
    const now = this.o.clock.now();
    if (now < this.lastSync) return;
    this.lastSync = now;
    for (const b of this.books.values()) this.advance(b, now);
    this.expireDayOrders();
    this.releaseHeldOrders();
  }

  private advance(b: Book, now: Nanos): void {
    let changed = false;
    for (const ev of b.stream.takeUntil(now)) {
      this.feed(b, ev);
      changed = true;
      b.engine.advanceTo(ev.ts);
      this.drain(b);
    }
    b.engine.advanceTo(now);
    this.drain(b);
    if (now - b.engine.epochNs > 86_400n * NANOS_PER_SECOND) b.engine.rebase(now);
    if (changed) this.sink?.marketChanged(b.listed);
  }

  private feed(b: Book, ev: MarketEvent): void {
    if (ev.kind === 'book') {
      b.engine.onBookSnapshot(ev.ts, ev.bids, ev.asks);
      return;
    }
    b.engine.onTrade(ev.ts, ev.price, ev.size, ev.aggressor);
    b.last = toDec(ev.price);
    b.lastSize = toDec(ev.size);
  }

  /** Best bid, ask and last as exact decimals (null when there is none). */
  quote(listed: ListedContract): {
    bid: { price: string; size: string } | null;
    ask: { price: string; size: string } | null;
    last: { price: string; size: string } | null;
  } {
    const b = this.bookOf(listed);
    const bid = b.engine.bestBid();
    const ask = b.engine.bestAsk();
    const lvl = (l: { price: number; size: number } | null) =>
      l === null ? null : { price: fmt(toDec(l.price)), size: fmt(toDec(l.size)) };
    return {
      bid: lvl(bid),
      ask: lvl(ask),
      last: b.last === null ? null : { price: fmt(b.last), size: fmt(b.lastSize ?? ZERO) },
    };
  }

  /** The mark: the mid, else the last trade. */
  mark(listed: ListedContract): Dec | null {
    const b = this.bookOf(listed);
    const mid = b.engine.mid();
    if (mid !== null) return toDec(mid);
    return b.last;
  }

  private bookOf(listed: ListedContract): Book {
    const b = this.books.get(listed.inst.conId);
    if (b === undefined) throw new RangeError(`local TWS: conId ${listed.inst.conId} is not listed`);
    return b;
  }

  // ------------------------------------------------------------------------------------------
  // Orders
  // ------------------------------------------------------------------------------------------

  private static key(clientId: number, orderId: number): string {
    return `${clientId}:${orderId}`;
  }

  order(clientId: number, orderId: number): TwsOrder | undefined {
    return this.orders.get(TwsBroker.key(clientId, orderId));
  }

  allOrders(): TwsOrder[] {
    return [...this.orders.values()];
  }

  openOrders(clientId: number | null): TwsOrder[] {
    return this.allOrders().filter(
      (o) =>
        (clientId === null || o.clientId === clientId) &&
        (o.status === 'PreSubmitted' || o.status === 'Submitted'),
    );
  }

  /**
   * reqCompletedOrders: the orders of the account that are done (Filled, Cancelled, Inactive), oldest
   * first, whichever client placed them (TWS lists every API order of the day).
   */
  completedOrders(): TwsOrder[] {
    return this.allOrders()
      .filter((o) => o.status === 'Filled' || o.status === 'Cancelled' || o.status === 'Inactive')
      .sort((a, b) => (a.doneMs ?? 0) - (b.doneMs ?? 0));
  }

  /** What the account's operator does in TWS: cancel the open order carrying `orderRef`. */
  cancelByRef(orderRef: string): TwsOrder | IbError {
    const o = this.openOrders(null).find((x) => x.orderRef === orderRef);
    if (o === undefined) return IbErrors.cannotFindOrder(0);
    return this.cancel(o.clientId, o.orderId);
  }

  ordersWithRef(orderRef: string): number {
    return this.allOrders().filter((o) => o.orderRef === orderRef).length;
  }

  /**
   * Validate and accept an order, then match it. Returns the order (already reported through the
   * sink) or the IB error to send; a rejection after validation also makes the order Inactive.
   */
  place(r: PlaceRequest, reject: string | null): TwsOrder | IbError {
    const existing = this.orders.get(TwsBroker.key(r.clientId, r.orderId));
    const matches = this.find(r.contract);
    const listed = matches[0];
    if (listed === undefined || matches.length > 1) return IbErrors.noSecurityDefinition();
    const spec = listed.inst.spec;
    if (r.action !== 'BUY' && r.action !== 'SELL')
      return IbErrors.validation('action', `"${r.action}" is not BUY or SELL`);
    if (r.totalQuantity === null)
      return IbErrors.validation('totalQuantity', 'the order quantity is missing');
    const qty = toDec(r.totalQuantity);
    if (!qty.gt(0))
      return IbErrors.validation('totalQuantity', `the order quantity ${r.totalQuantity} must be positive`);
    if (r.orderType !== 'LMT' && r.orderType !== 'MKT') return IbErrors.unsupportedOrderType();
    let price: Dec | null = null;
    if (r.orderType === 'LMT') {
      if (r.lmtPrice === null) return IbErrors.validation('lmtPrice', 'a limit order needs a limit price');
      price = toDec(r.lmtPrice);
      if (!price.gt(0))
        return IbErrors.validation('lmtPrice', `the limit price ${r.lmtPrice} must be positive`);
      if (!isMultipleOf(price, spec.tick_size)) return IbErrors.priceVariation();
    }
    const tif = r.tif === '' ? 'DAY' : r.tif;
    if (tif !== 'DAY' && tif !== 'GTC' && tif !== 'IOC') {
      return IbErrors.validation('tif', `time in force "${r.tif}" is not supported (DAY, GTC, IOC)`);
    }
    if (r.account !== '' && r.account !== this.o.account) {
      return IbErrors.validation('account', `account ${r.account} is not managed by this login`);
    }
    if (existing !== undefined)
      return this.modify(existing, { listed, action: r.action, orderType: r.orderType, qty, price, tif });
    const nowMs = this.nowMs();
    const order: TwsOrder = {
      clientId: r.clientId,
      orderId: r.orderId,
      permId: this.nextPermId++,
      listed,
      action: r.action,
      totalQuantity: qty,
      orderType: r.orderType,
      lmtPrice: price,
      tif,
      account: this.o.account,
      orderRef: r.orderRef,
      outsideRth: r.outsideRth,
      status: 'PreSubmitted',
      filled: ZERO,
      filledValue: ZERO,
      lastFillPrice: null,
      commission: ZERO,
      engineId: `${r.clientId}-${r.orderId}`,
      createdMs: nowMs,
      held: false,
      doneMs: null,
    };
    this.orders.set(TwsBroker.key(r.clientId, r.orderId), order);
    this.byEngineId.set(order.engineId, order);
    this.highestOrderId = Math.max(this.highestOrderId, r.orderId);
    const refuse = (reason: string): IbError => {
      order.status = 'Inactive';
      order.doneMs = nowMs;
      return IbErrors.rejected(reason, order);
    };
    if (reject !== null) return refuse(reject);
    if (!isMultipleOf(qty, spec.step_size) || qty.lt(spec.min_qty)) {
      return refuse(
        `The order size ${fmt(qty)} is not a multiple of the size increment ${spec.step_size} or is below the minimum size ${spec.min_qty}.`,
      );
    }
    const session = this.sessionOf(listed);
    if (!isTrading(session, nowMs)) {
      return refuse(
        `The contract is not available for trading at this time: outside the trading hours of the ${session.name} session (${session.timeZoneId}).`,
      );
    }
    const margin = this.marginCheck(order);
    if (margin !== null) return refuse(margin);

    this.sink?.orderChanged(order);
    if (!isLiquid(session, nowMs) && (!order.outsideRth || order.orderType === 'MKT')) {
      // TWS keeps it PreSubmitted until regular hours (market orders always wait for them).
      order.held = true;
      const opens = nextLiquidOpen(session, nowMs);
      this.sink?.warned(
        order,
        399,
        `Order Message:\n${order.action} ${fmt(qty)} ${listed.contract.symbol} ${listed.contract.exchange}\nWarning: your order will not be placed at the exchange until ${opens ?? 'the next session'}`,
      );
      return order;
    }
    this.submit(order);
    return order;
  }

  /**
   * A placeOrder with the id of an order of the same client is a modification, as in TWS: an open
   * order takes the new quantity, limit price and TIF (its unfilled rest is re-entered in the book,
   * losing its queue place); a filled one is error 104; a cancelled or rejected one's id is a
   * duplicate (103); another contract, side or order type is error 105.
   */
  private modify(
    order: TwsOrder,
    m: {
      listed: ListedContract;
      action: 'BUY' | 'SELL';
      orderType: 'LMT' | 'MKT';
      qty: Dec;
      price: Dec | null;
      tif: Tif;
    },
  ): TwsOrder | IbError {
    if (order.status === 'Filled') return IbErrors.cannotModifyFilled();
    if (order.status !== 'Submitted' && order.status !== 'PreSubmitted') return IbErrors.duplicateOrderId();
    if (m.listed !== order.listed || m.action !== order.action || m.orderType !== order.orderType) {
      return IbErrors.modifyMismatch();
    }
    if (!m.qty.gt(order.filled) || !isMultipleOf(m.qty, order.listed.inst.spec.step_size)) {
      return IbErrors.validation(
        'totalQuantity',
        `the new quantity ${fmt(m.qty)} must be a multiple of ${order.listed.inst.spec.step_size} above the filled ${fmt(order.filled)}`,
      );
    }
    order.totalQuantity = m.qty;
    order.lmtPrice = m.price;
    order.tif = m.tif;
    if (order.held) {
      this.sink?.orderChanged(order);
      return order;
    }
    // Take the rest out of the book under its old engine id (its cancel event is not the order's).
    const b = this.bookOf(order.listed);
    const now = this.o.clock.now();
    this.byEngineId.delete(order.engineId);
    b.engine.cancel(order.engineId, now);
    b.engine.advanceTo(now);
    this.drain(b);
    order.engineId = `${order.clientId}-${order.orderId}-m${++this.modifications}`;
    this.byEngineId.set(order.engineId, order);
    this.submit(order);
    return order;
  }

  /** Send an accepted order to the matching engine: Submitted, and fills if marketable. */
  private submit(order: TwsOrder): void {
    const b = this.bookOf(order.listed);
    order.held = false;
    order.status = 'Submitted';
    this.sink?.orderChanged(order);
    const now = this.o.clock.now();
    b.engine.submit(
      {
        order_id: order.engineId,
        side: order.action,
        order_type: order.orderType === 'MKT' ? 'MARKET' : 'LIMIT',
        quantity: fmt(order.totalQuantity.minus(order.filled)),
        price: order.lmtPrice === null ? null : fmt(order.lmtPrice),
        time_in_force: order.orderType === 'MKT' || order.tif === 'IOC' ? 'IOC' : 'GTC',
      },
      now,
    );
    b.engine.advanceTo(now);
    this.drain(b);
  }

  /** Held orders whose regular hours have begun go to the engine. */
  private releaseHeldOrders(): void {
    const nowMs = this.nowMs();
    for (const o of this.openOrders(null)) {
      if (o.held && isLiquid(this.sessionOf(o.listed), nowMs)) this.submit(o);
    }
  }

  /** Cancel an open order of a client. Returns the order or the IB error. */
  cancel(clientId: number, orderId: number): TwsOrder | IbError {
    const order = this.order(clientId, orderId);
    if (order === undefined) return IbErrors.cannotFindOrder(orderId);
    if (order.status !== 'Submitted' && order.status !== 'PreSubmitted') {
      return IbErrors.cannotCancel(orderId, order.status);
    }
    if (!order.held) {
      const b = this.bookOf(order.listed);
      const now = this.o.clock.now();
      b.engine.cancel(order.engineId, now);
      b.engine.advanceTo(now);
      this.drain(b);
    }
    if (order.status === 'Submitted' || order.status === 'PreSubmitted') this.finish(order, 'Cancelled');
    return order;
  }

  /** reqGlobalCancel: every open order of every client. */
  cancelAll(): TwsOrder[] {
    const open = this.openOrders(null);
    for (const o of open) this.cancel(o.clientId, o.orderId);
    return open;
  }

  private expireDayOrders(): void {
    if (this.o.session !== 'instrument' && this.o.session.trading === null) return;
    const nowMs = this.nowMs();
    for (const o of this.openOrders(null)) {
      if (o.tif !== 'DAY' || isTrading(this.sessionOf(o.listed), nowMs)) continue;
      this.cancel(o.clientId, o.orderId);
    }
  }

  private marginCheck(order: TwsOrder): string | null {
    const ewl = toDec(this.netLiquidation());
    let required = ZERO;
    for (const listed of this.listed) {
      let q = toDec(this.positions.get(listed.inst.conId)?.quantity ?? '0');
      if (listed === order.listed)
        q = order.action === 'BUY' ? q.plus(order.totalQuantity) : q.minus(order.totalQuantity);
      if (q.isZero()) continue;
      const px =
        listed === order.listed && order.lmtPrice !== null ? order.lmtPrice : (this.mark(listed) ?? ZERO);
      required = required.plus(q.abs().times(px).times(listed.multiplier).times(listed.inst.initialMargin));
    }
    if (required.lte(ewl)) return null;
    return `YOUR ORDER IS NOT ACCEPTED. IN ORDER TO OBTAIN THE DESIRED POSITION YOUR EQUITY WITH LOAN VALUE [${ewl.toFixed(2)} USD] MUST EXCEED THE INITIAL MARGIN [${required.toFixed(2)} USD]`;
  }

  private drain(b: Book): void {
    for (const ev of b.engine.drainEvents()) this.onEngineEvent(ev);
  }

  private onEngineEvent(ev: SimEvent): void {
    const order = this.byEngineId.get(ev.order_id);
    if (order === undefined) return;
    switch (ev.type) {
      case 'filled':
        this.onFill(order, ev);
        return;
      case 'canceled':
      case 'expired':
      case 'rejected':
        if (order.status === 'Submitted' || order.status === 'PreSubmitted') this.finish(order, 'Cancelled');
        return;
      default:
        return;
    }
  }

  private commissionTarget(order: TwsOrder, cum: Dec, cumValue: Dec): Dec {
    const c = order.listed.inst.commission;
    let target = Dec.max(toDec(c.minPerOrder), cum.times(c.perUnit));
    if (c.maxFractionOfValue !== null) target = Dec.min(target, cumValue.times(c.maxFractionOfValue));
    return target;
  }

  private onFill(order: TwsOrder, ev: SimFilled): void {
    const shares = toDec(ev.quantity);
    const price = toDec(ev.price);
    const listed = order.listed;
    order.filled = order.filled.plus(shares);
    order.filledValue = order.filledValue.plus(shares.times(price));
    order.lastFillPrice = price;
    const target = this.commissionTarget(order, order.filled, order.filledValue.times(listed.multiplier));
    const commission = target.minus(order.commission);
    order.commission = target;
    const timeMs = nsToMs(ev.ts_event);
    const execId = `0000e1a7.${order.permId.toString(16)}.${String(this.execSeq++).padStart(2, '0')}.01`;

    const before = this.positions.get(listed.inst.conId) ?? null;
    const fill: Fill = {
      fill_id: execId,
      order_id: String(order.orderId),
      operation_id: order.orderRef,
      instrument_key: listed.key,
      venue: 'IBKR',
      side: order.action,
      quantity: fmt(shares),
      price: fmt(price),
      fee: fmt(commission),
      fee_currency: listed.contract.currency,
      liquidity: ev.liquidity,
      ts_event: ev.ts_event,
    };
    const after = applyFill(before, fill, this.o.account, { contract_size: listed.multiplier });
    this.positions.set(listed.inst.conId, after);
    const realised = toDec(after.realized_pnl).minus(before === null ? ZERO : toDec(before.realized_pnl));
    const closing =
      before !== null &&
      !toDec(before.quantity).isZero() &&
      toDec(before.quantity).isNeg() !== (order.action === 'SELL');
    if (listed.contract.secType === 'STK') {
      const value = shares.times(price);
      this.cashBalance =
        order.action === 'BUY' ? this.cashBalance.minus(value) : this.cashBalance.plus(value);
    } else {
      this.cashBalance = this.cashBalance.plus(realised);
    }
    this.cashBalance = this.cashBalance.minus(commission);

    if (order.filled.gte(order.totalQuantity)) {
      order.status = 'Filled';
      order.doneMs = this.nowMs();
    }
    const exec: TwsExecution = {
      execId,
      order,
      shares,
      price,
      cumQty: order.filled,
      avgPrice: order.filledValue.div(order.filled),
      timeMs,
      liquidity: ev.liquidity === 'MAKER' ? 1 : 2,
      commission,
      realizedPnl: closing ? realised.minus(commission) : null,
    };
    this.executions.push(exec);
    this.sink?.executed(exec);
    this.sink?.orderChanged(order);
    this.sink?.positionChanged(listed);
  }

  private finish(order: TwsOrder, status: OrderStatus): void {
    order.status = status;
    order.doneMs = this.nowMs();
    this.sink?.orderChanged(order);
  }

  // ------------------------------------------------------------------------------------------
  // Account
  // ------------------------------------------------------------------------------------------

  cash(): string {
    return fmt(this.cashBalance);
  }

  /** Positions of every contract traded (zero positions stay listed, as TWS does for the day). */
  positionOf(listed: ListedContract): Position | null {
    return this.positions.get(listed.inst.conId) ?? null;
  }

  positionList(): Array<{ instrument_key: string; symbol: string; position: string; avgCost: string }> {
    return this.listed.flatMap((l) => {
      const p = this.positionOf(l);
      if (p === null) return [];
      return [
        {
          instrument_key: l.key,
          symbol: l.contract.symbol,
          position: p.quantity,
          avgCost: this.avgCost(l, p),
        },
      ];
    });
  }

  /** IB's average cost: the entry price times the multiplier (0 when flat). */
  avgCost(listed: ListedContract, p: Position): string {
    return p.avg_entry_price === null ? '0' : fmt(toDec(p.avg_entry_price).times(listed.multiplier));
  }

  private valueOf(listed: ListedContract, p: Position): { gross: Dec; value: Dec } {
    const q = toDec(p.quantity);
    if (q.isZero()) return { gross: ZERO, value: ZERO };
    const mark = this.mark(listed) ?? toDec(p.avg_entry_price ?? '0');
    const gross = q.abs().times(mark).times(listed.multiplier);
    if (listed.contract.secType === 'STK') return { gross, value: q.times(mark) };
    return { gross, value: toDec(unrealizedPnl(p, fmt(mark), { contract_size: listed.multiplier })) };
  }

  netLiquidation(): string {
    let v = this.cashBalance;
    for (const l of this.listed) {
      const p = this.positionOf(l);
      if (p !== null) v = v.plus(this.valueOf(l, p).value);
    }
    return fmt(v);
  }

  /** The account summary values TWS reports, by tag (USD, exact decimals). */
  summary(): Record<string, string> {
    let gross = ZERO;
    let init = ZERO;
    let maint = ZERO;
    for (const l of this.listed) {
      const p = this.positionOf(l);
      if (p === null) continue;
      const g = this.valueOf(l, p).gross;
      if (l.contract.secType === 'STK') gross = gross.plus(g);
      init = init.plus(g.times(l.inst.initialMargin));
      maint = maint.plus(g.times(l.inst.maintenanceMargin));
    }
    const netLiq = toDec(this.netLiquidation());
    const available = netLiq.minus(init);
    const excess = netLiq.minus(maint);
    const two = (d: Dec) => d.toFixed(2);
    return {
      AccountType: 'INDIVIDUAL',
      NetLiquidation: two(netLiq),
      TotalCashValue: two(this.cashBalance),
      SettledCash: two(this.cashBalance),
      AccruedCash: '0.00',
      BuyingPower: two(Dec.max(ZERO, available.times(4))),
      EquityWithLoanValue: two(netLiq),
      PreviousDayEquityWithLoanValue: two(toDec(this.o.startingCash)),
      GrossPositionValue: two(gross),
      RegTEquity: two(netLiq),
      RegTMargin: two(init),
      SMA: two(Dec.max(ZERO, available)),
      InitMarginReq: two(init),
      MaintMarginReq: two(maint),
      AvailableFunds: two(available),
      ExcessLiquidity: two(excess),
      Cushion: netLiq.isZero() ? '0' : excess.div(netLiq).toFixed(6),
      FullInitMarginReq: two(init),
      FullMaintMarginReq: two(maint),
      FullAvailableFunds: two(available),
      FullExcessLiquidity: two(excess),
      LookAheadInitMarginReq: two(init),
      LookAheadMaintMarginReq: two(maint),
      LookAheadAvailableFunds: two(available),
      LookAheadExcessLiquidity: two(excess),
      Leverage: netLiq.isZero() ? '0' : gross.div(netLiq).toFixed(4),
    };
  }
}
