/**
 * An in-memory venue implementing the Venue port, for the edge's unit tests: it keeps orders by
 * client order id (a second submit with a known id returns the existing order, as a real venue's
 * duplicate check does), fills MARKET orders at once at `price`, lets LIMIT orders rest until the
 * test fills them, streams order and trade events to the watcher (asynchronously, like a socket),
 * and injects faults: errors before or after the venue took an order, dropped stream events,
 * a circuit breaker, a connection that goes down and up.
 */
import { Dec, fmt, toDec } from '../../../shared/domain/decimal.ts';
import { isMultipleOf } from '../../../shared/domain/instrument.ts';
import type { Nanos } from '../../../shared/domain/time.ts';
import type { Clock } from '../../../shared/ports/clock.ts';
import {
  type Venue,
  type VenueBalance,
  type VenueBook,
  VenueError,
  type VenueErrorKind,
  type VenueEvent,
  type VenueHealthState,
  type VenueInstrumentRules,
  type VenueOrderRequest,
  type VenueOrderState,
  type VenuePosition,
  type VenueTrade,
} from '../../../shared/ports/venue.ts';

export type FaultOp = 'submit' | 'cancel' | 'fetchOrder' | 'fetchTrades';

export interface Fault {
  op: FaultOp;
  kind: VenueErrorKind;
  /** submit only: the venue took the order, but the answer was lost (outcome unknown to the caller). */
  afterSend?: boolean;
  /** Only for this client order id (default: the next call of `op`). */
  clientOrderId?: string;
}

interface Held {
  req: VenueOrderRequest;
  state: VenueOrderState;
}

export class FakeVenue implements Venue {
  readonly mode = 'LIVE' as const;
  /** Fill price of market orders (and the book's mid). */
  price = '60000';
  /** The instrument's step: quantities off it are refused (as a real venue's lot-size filter does). */
  stepSize = '0.00001';
  /** Stream events are swallowed while true (a WebSocket that silently stopped delivering). */
  dropEvents = false;
  /** Every submit call, in order (a resend with the same client id is a second call, not a second order). */
  readonly submitCalls: VenueOrderRequest[] = [];
  readonly cancelCalls: string[] = [];
  readonly fetchOrderCalls: string[] = [];
  readonly trades: VenueTrade[] = [];
  connects = 0;
  closes = 0;
  private readonly orders = new Map<string, Held>();
  private readonly faults: Fault[] = [];
  private handler: ((ev: VenueEvent) => void) | null = null;
  private state: VenueHealthState = 'up';
  private seq = 0;
  private tradeSeq = 0;

  constructor(
    readonly id: string,
    readonly account_id: string,
    private readonly clock: Clock,
  ) {}

  // --- test controls ------------------------------------------------------------------------

  fail(f: Fault): void {
    this.faults.push(f);
  }

  setHealth(state: VenueHealthState): void {
    this.state = state;
  }

  /** Orders the venue holds (distinct client order ids), in creation order. */
  orderIds(): string[] {
    return [...this.orders.keys()];
  }

  order(clientOrderId: string): VenueOrderState | null {
    return this.orders.get(clientOrderId)?.state ?? null;
  }

  /** Fill a resting order (all of it by default) at `price`. */
  fill(clientOrderId: string, quantity?: string, price?: string): VenueTrade {
    const h = this.orders.get(clientOrderId);
    if (h === undefined) throw new Error(`no order ${clientOrderId}`);
    const left = toDec(h.state.quantity).minus(h.state.filled_quantity);
    const q = quantity === undefined ? left : Dec.min(toDec(quantity), left);
    return this.execute(h, q, price ?? h.req.price ?? this.price, 'MAKER');
  }

  /** The private stream drops (and later comes back). */
  streamDown(): void {
    this.deliver({
      kind: 'connection',
      state: 'down',
      stream: 'private',
      reason: 'test',
      ts_event: this.clock.now(),
    });
  }

  streamUp(): void {
    this.deliver({ kind: 'connection', state: 'up', stream: 'private', ts_event: this.clock.now() });
  }

  publishBook(bid: string, ask: string, size = '5'): void {
    const book: VenueBook = {
      instrument_key: `${this.id}:SPOT_PAIR:BTC-USDT`,
      bids: [{ price: bid, size }],
      asks: [{ price: ask, size }],
      ts_event: this.clock.now(),
    };
    this.deliver({ kind: 'book', book });
  }

  // --- the port -----------------------------------------------------------------------------

  async connect(): Promise<void> {
    this.connects++;
  }

  async submit(req: VenueOrderRequest): Promise<VenueOrderState> {
    this.submitCalls.push(req);
    const fault = this.takeFault('submit', req.client_order_id);
    if (fault !== null && fault.afterSend !== true)
      throw new VenueError(fault.kind, this.id, `injected ${fault.kind}`);
    if (this.state === 'circuit_open') throw new VenueError('circuit_open', this.id, 'circuit open');
    const known = this.orders.get(req.client_order_id);
    if (known !== undefined) {
      if (fault !== null) throw new VenueError(fault.kind, this.id, `injected ${fault.kind} (after send)`);
      return { ...known.state };
    }
    if (!isMultipleOf(toDec(req.quantity), toDec(this.stepSize)) || !toDec(req.quantity).gt(0)) {
      // As a venue's lot-size filter refuses it: never at the venue.
      throw new VenueError(
        'rejected',
        this.id,
        `quantity ${req.quantity} is not a multiple of ${this.stepSize}`,
      );
    }
    const h: Held = {
      req,
      state: {
        client_order_id: req.client_order_id,
        venue_order_id: `V${++this.seq}`,
        instrument_key: req.instrument_key,
        side: req.side,
        status: 'NEW',
        quantity: req.quantity,
        filled_quantity: '0',
        avg_price: null,
        ts_event: this.clock.now(),
      },
    };
    this.orders.set(req.client_order_id, h);
    this.deliver({ kind: 'order', order: { ...h.state } });
    if (req.order_type === 'MARKET') this.execute(h, toDec(req.quantity), this.price, 'TAKER');
    else if (req.time_in_force === 'IOC' || req.time_in_force === 'FOK')
      this.closeOrder(h, 'CANCELED', 'IOC_REMAINDER');
    if (fault !== null) throw new VenueError(fault.kind, this.id, `injected ${fault.kind} (after send)`);
    return { ...h.state };
  }

  async cancel(clientOrderId: string, _instrumentKey: string): Promise<VenueOrderState> {
    this.cancelCalls.push(clientOrderId);
    const fault = this.takeFault('cancel', clientOrderId);
    if (fault !== null) throw new VenueError(fault.kind, this.id, `injected ${fault.kind}`);
    const h = this.orders.get(clientOrderId);
    if (h === undefined) throw new VenueError('not_found', this.id, `unknown order ${clientOrderId}`);
    if (h.state.status !== 'NEW' && h.state.status !== 'PARTIALLY_FILLED') {
      throw new VenueError('rejected', this.id, `order ${clientOrderId} is ${h.state.status}`);
    }
    this.closeOrder(h, 'CANCELED', 'USER_CANCEL');
    return { ...h.state };
  }

  async fetchOrder(clientOrderId: string, _instrumentKey: string): Promise<VenueOrderState | null> {
    this.fetchOrderCalls.push(clientOrderId);
    const fault = this.takeFault('fetchOrder', clientOrderId);
    if (fault !== null) throw new VenueError(fault.kind, this.id, `injected ${fault.kind}`);
    const h = this.orders.get(clientOrderId);
    return h === undefined ? null : { ...h.state };
  }

  async fetchOpenOrders(instrumentKey?: string): Promise<VenueOrderState[]> {
    return [...this.orders.values()]
      .filter((h) => h.state.status === 'NEW' || h.state.status === 'PARTIALLY_FILLED')
      .filter((h) => instrumentKey === undefined || h.req.instrument_key === instrumentKey)
      .map((h) => ({ ...h.state }));
  }

  async fetchTrades(instrumentKey: string, sinceNs: Nanos): Promise<VenueTrade[]> {
    const fault = this.takeFault('fetchTrades', null);
    if (fault !== null) throw new VenueError(fault.kind, this.id, `injected ${fault.kind}`);
    return this.trades
      .filter((t) => t.instrument_key === instrumentKey && t.ts_event >= sinceNs)
      .map((t) => ({ ...t }));
  }

  async fetchBalances(): Promise<VenueBalance[]> {
    return [
      { asset: 'USDT', free: '100000', total: '100000' },
      { asset: 'BTC', free: '0', total: '0' },
    ];
  }

  async fetchPositions(): Promise<VenuePosition[]> {
    return [];
  }

  async fetchInstrumentRules(instrumentKeys: string[]): Promise<VenueInstrumentRules[]> {
    return instrumentKeys.map((k) => ({
      instrument_key: k,
      tick_size: '0.01',
      step_size: '0.00001',
      min_qty: '0.00001',
      max_qty: '9000',
      min_notional: '5',
    }));
  }

  async fetchBook(instrumentKey: string, _depth: number): Promise<VenueBook> {
    const mid = toDec(this.price);
    return {
      instrument_key: instrumentKey,
      bids: [{ price: fmt(mid.minus('0.01')), size: '5' }],
      asks: [{ price: fmt(mid.plus('0.01')), size: '5' }],
      ts_event: this.clock.now(),
    };
  }

  async watch(_instrumentKeys: string[], handler: (event: VenueEvent) => void): Promise<void> {
    this.handler = handler;
    this.deliver({ kind: 'connection', state: 'up', stream: 'private', ts_event: this.clock.now() });
  }

  health(): { state: VenueHealthState; detail?: string | undefined } {
    return { state: this.state };
  }

  async close(): Promise<void> {
    this.closes++;
    this.handler = null;
  }

  // --- internals ----------------------------------------------------------------------------

  private takeFault(op: FaultOp, clientOrderId: string | null): Fault | null {
    const i = this.faults.findIndex(
      (f) => f.op === op && (f.clientOrderId === undefined || f.clientOrderId === clientOrderId),
    );
    if (i < 0) return null;
    const [f] = this.faults.splice(i, 1);
    return f ?? null;
  }

  private execute(h: Held, q: Dec, price: string, liquidity: 'MAKER' | 'TAKER'): VenueTrade {
    const filled = toDec(h.state.filled_quantity).plus(q);
    const trade: VenueTrade = {
      trade_id: String(++this.tradeSeq),
      venue_order_id: h.state.venue_order_id,
      client_order_id: h.req.client_order_id,
      instrument_key: h.req.instrument_key,
      side: h.req.side,
      quantity: fmt(q),
      price,
      fee: fmt(q.times(price).times('0.001')),
      fee_currency: 'USDT',
      liquidity,
      ts_event: this.clock.now(),
    };
    this.trades.push(trade);
    const done = filled.gte(h.state.quantity);
    h.state = {
      ...h.state,
      status: done ? 'FILLED' : 'PARTIALLY_FILLED',
      filled_quantity: fmt(filled),
      avg_price: price,
      ts_event: this.clock.now(),
    };
    this.deliver({ kind: 'trade', trade: { ...trade } });
    this.deliver({ kind: 'order', order: { ...h.state } });
    return trade;
  }

  private closeOrder(h: Held, status: 'CANCELED' | 'EXPIRED', reason: string): void {
    h.state = { ...h.state, status, reason, ts_event: this.clock.now() };
    this.deliver({ kind: 'order', order: { ...h.state } });
  }

  /** Stream events arrive asynchronously (after the REST answer, as from a socket). */
  private deliver(ev: VenueEvent): void {
    if (this.dropEvents && ev.kind !== 'connection') return;
    const handler = this.handler;
    if (handler === null) return;
    queueMicrotask(() => handler(ev));
  }
}
