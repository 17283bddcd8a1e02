/**
 * The Venue port: one session with one venue account (ccxt REST + WebSocket for Binance, Bybit,
 * OKX, Deribit; a SHADOW session that takes live data and fills with our matching engine; later
 * IBKR). Venue payloads are converted to these domain shapes inside the adapter: no ccxt type
 * crosses this boundary. Decimals are canonical decimal strings, time is bigint nanoseconds.
 */
import type { DecimalString } from '../domain/decimal.ts';
import type { Nanos } from '../domain/time.ts';
import type { Liquidity, OrderType, Side, TimeInForce, VenueMode } from '../domain/types.ts';
import type { TradingSchedule } from '../execution/session.ts';

export interface VenueOrderRequest {
  /** Derived from the operation id (deterministic), so a retry can never make a second order. */
  client_order_id: string;
  instrument_key: string;
  side: Side;
  order_type: OrderType;
  quantity: DecimalString;
  price: DecimalString | null;
  time_in_force: TimeInForce;
}

export const VENUE_ORDER_STATUSES = [
  'NEW',
  'PARTIALLY_FILLED',
  'FILLED',
  'CANCELED',
  'REJECTED',
  'EXPIRED',
] as const;
export type VenueOrderStatus = (typeof VENUE_ORDER_STATUSES)[number];

/** The venue's view of one order. */
export interface VenueOrderState {
  client_order_id: string;
  venue_order_id: string;
  instrument_key: string;
  side: Side;
  status: VenueOrderStatus;
  quantity: DecimalString;
  filled_quantity: DecimalString;
  avg_price: DecimalString | null;
  reason?: string | undefined;
  ts_event: Nanos;
}

/** One execution reported by the venue; `trade_id` is unique per venue and instrument. */
export interface VenueTrade {
  trade_id: string;
  venue_order_id: string;
  client_order_id: string | null;
  instrument_key: string;
  side: Side;
  quantity: DecimalString;
  price: DecimalString;
  fee: DecimalString;
  fee_currency: string;
  liquidity: Liquidity;
  ts_event: Nanos;
}

export interface VenueBalance {
  asset: string;
  free: DecimalString;
  total: DecimalString;
}

export interface VenuePosition {
  instrument_key: string;
  /** Signed: + long, - short. */
  quantity: DecimalString;
  entry_price: DecimalString | null;
}

/** Trading rules the venue publishes for an instrument (checked against our definitions at start). */
export interface VenueInstrumentRules {
  instrument_key: string;
  tick_size: DecimalString | null;
  step_size: DecimalString | null;
  min_qty: DecimalString | null;
  max_qty: DecimalString | null;
  min_notional: DecimalString | null;
  /**
   * Value of one unit of the order quantity the venue takes (`InstrumentSpec.contract_size`): base
   * units per contract for linear contracts (OKX BTC-USDT-SWAP 0.01), quote units for inverse ones
   * (OKX BTC-USD-SWAP 100; Deribit takes inverse amounts in USD, so 1), an IBKR future's
   * multiplier. Absent or null: unknown to the adapter (1 is assumed).
   */
  contract_size?: DecimalString | null | undefined;
}

export interface BookLevel {
  price: DecimalString;
  size: DecimalString;
}

export interface VenueBook {
  instrument_key: string;
  bids: BookLevel[];
  asks: BookLevel[];
  ts_event: Nanos;
}

export type VenueEvent =
  | { kind: 'order'; order: VenueOrderState }
  | { kind: 'trade'; trade: VenueTrade }
  /**
   * Market data. `ts_init`: the receive time, set by a venue that clocks its own matching by it
   * (ShadowVenue); the edge records the event with it, so a replay clocks the matching the same way.
   */
  | { kind: 'book'; book: VenueBook; ts_init?: Nanos | undefined }
  | {
      kind: 'public_trade';
      instrument_key: string;
      price: DecimalString;
      size: DecimalString;
      side: Side;
      ts_event: Nanos;
      ts_init?: Nanos | undefined;
    }
  /** The private stream (re)connected: the consumer gap-fills by querying orders/trades since the gap. */
  | {
      kind: 'connection';
      state: 'up' | 'down';
      stream: 'private' | 'public';
      reason?: string | undefined;
      ts_event: Nanos;
    };

export type VenueHealthState = 'up' | 'degraded' | 'down' | 'circuit_open';

/** Classified venue failures; adapters map every vendor error to one of these. */
export type VenueErrorKind =
  | 'transient' // network, timeout, 5xx: retry with back-off
  | 'rate_limited' // 429 / 418: back off harder
  | 'rejected' // the venue refused the order (bad params, insufficient funds, post-only would cross)
  | 'not_found' // unknown order
  | 'auth' // bad keys / signature
  | 'circuit_open'; // our breaker refused the call without reaching the venue

export class VenueError extends Error {
  constructor(
    readonly kind: VenueErrorKind,
    readonly venue: string,
    message: string,
    override readonly cause?: unknown,
  ) {
    super(`${venue}: ${message}`);
    this.name = 'VenueError';
  }
}

export interface Venue {
  readonly id: string;
  readonly account_id: string;
  readonly mode: VenueMode;
  connect(): Promise<void>;
  /**
   * Send a new order. Idempotent by client_order_id: when the outcome of a send is unknown (timeout,
   * crash before the ack) the adapter looks the order up by client id instead of sending it again.
   * `sentAt`: the edge's clock when it sent the order (the time it recorded the send). A venue that
   * matches on our clock (ShadowVenue) takes the order at that time; a real venue ignores it.
   */
  submit(req: VenueOrderRequest, sentAt?: Nanos): Promise<VenueOrderState>;
  /** `sentAt`: as for `submit`, the edge's clock when it sent the cancel (the time it recorded). */
  cancel(clientOrderId: string, instrumentKey: string, sentAt?: Nanos): Promise<VenueOrderState>;
  fetchOrder(clientOrderId: string, instrumentKey: string): Promise<VenueOrderState | null>;
  fetchOpenOrders(instrumentKey?: string): Promise<VenueOrderState[]>;
  /** Our executions since `sinceNs` (gap fill and reconciliation). */
  fetchTrades(instrumentKey: string, sinceNs: Nanos): Promise<VenueTrade[]>;
  /** Throws (never returns empty) when the venue cannot be queried: a failed query never reads as flat. */
  fetchBalances(): Promise<VenueBalance[]>;
  fetchPositions(): Promise<VenuePosition[]>;
  fetchInstrumentRules(instrumentKeys: string[]): Promise<VenueInstrumentRules[]>;
  fetchBook(instrumentKey: string, depth: number): Promise<VenueBook>;
  /**
   * The instrument's trading sessions (a venue that trades in sessions: IBKR), read again by the
   * adapter once its clock passes the schedule's horizon; null: always open. Absent: the venue has
   * no sessions (crypto). The execution core's session gate decides by it (never the adapter).
   */
  tradingSchedule?(instrumentKey: string): Promise<TradingSchedule | null>;
  /** Start the private (orders, trades) and public (book, trades) streams; events go to `handler`. */
  watch(instrumentKeys: string[], handler: (event: VenueEvent) => void): Promise<void>;
  health(): { state: VenueHealthState; detail?: string | undefined };
  close(): Promise<void>;
}
