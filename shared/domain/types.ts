/**
 * The core record shapes shared by every layer. Pure data: decimal strings for money and
 * quantities, bigint nanoseconds for time. Behaviour lives beside them (instrument.ts,
 * order-machine.ts, position.ts); schemas for boundaries in schemas.ts.
 */
import type { DecimalString } from './decimal.ts';
import type { Nanos } from './time.ts';

export const SIDES = ['BUY', 'SELL'] as const;
export type Side = (typeof SIDES)[number];

export const ORDER_TYPES = ['MARKET', 'LIMIT'] as const;
export type OrderType = (typeof ORDER_TYPES)[number];

export const TIME_IN_FORCE = ['GTC', 'IOC', 'FOK', 'GTX', 'DAY'] as const; // GTX = post-only
export type TimeInForce = (typeof TIME_IN_FORCE)[number];

export const EXEC_ALGORITHMS = ['NORMAL', 'TWAP', 'VWAP', 'ICEBERG'] as const;
export type ExecAlgorithm = (typeof EXEC_ALGORITHMS)[number];

export const ORDER_STATUSES = [
  'PENDING',
  'DENIED',
  'SUBMITTED',
  'ACCEPTED',
  'PARTIALLY_FILLED',
  'FILLED',
  'PENDING_CANCEL',
  'CANCELED',
  'REJECTED',
  'EXPIRED',
] as const;
export type OrderStatus = (typeof ORDER_STATUSES)[number];

export const TERMINAL_STATUSES: ReadonlySet<OrderStatus> = new Set([
  'DENIED',
  'FILLED',
  'CANCELED',
  'REJECTED',
  'EXPIRED',
]);

export const LIQUIDITY = ['MAKER', 'TAKER'] as const;
export type Liquidity = (typeof LIQUIDITY)[number];

/** Trading state of the whole platform (or a strategy): see SPEC "Pre-trade risk". */
export const TRADING_STATES = ['ACTIVE', 'REDUCING', 'HALTED'] as const;
export type TradingState = (typeof TRADING_STATES)[number];

export const VENUE_MODES = ['LIVE', 'SHADOW', 'SIMULATED'] as const;
export type VenueMode = (typeof VENUE_MODES)[number];

/** Instrument definition (SPEC "Tick data" → instruments/<date>.json), all decimals exact. */
export interface InstrumentSpec {
  instrument_key: string;
  tick_size: DecimalString;
  step_size: DecimalString;
  min_qty: DecimalString;
  max_qty: DecimalString;
  min_notional: DecimalString;
  maker_fee: DecimalString; // fraction of notional, e.g. "0.001" = 10 bps; may be negative (rebate)
  taker_fee: DecimalString;
  /**
   * Value of one unit of quantity (absent = 1). Linear contracts: base units per contract (OKX
   * `BTC-USDT-SWAP` 0.01 BTC; an IBKR future's multiplier), so notional = qty × contract_size ×
   * price in the quote currency. Inverse contracts: quote units per contract (OKX `BTC-USD-SWAP`
   * 100 USD; Deribit `BTC-PERPETUAL` is traded in USD, so 1), so notional = qty × contract_size
   * in the quote currency and qty × contract_size / price in the settlement coin.
   */
  contract_size?: DecimalString | undefined;
}

/** A validated order instruction (SPEC "Order instruction"), decimals normalised. */
export interface OrderInstruction {
  operation_id: string;
  instrument_key: string;
  side: Side;
  quantity: DecimalString;
  price: DecimalString | null;
  order_type: OrderType;
  time_in_force: TimeInForce;
  strategy_id: string;
  exec_algorithm: ExecAlgorithm;
  exec_algorithm_params: Record<string, unknown>;
  /** Optional: names the venue and skips scoring (not the checks). */
  venue?: string | undefined;
  /** Optional: the reference price the strategy saw, for the price-tolerance check. */
  reference_price?: DecimalString | undefined;
}

/** One execution (a venue trade or a simulated fill). `fill_id` is unique per venue. */
export interface Fill {
  fill_id: string;
  order_id: string;
  operation_id: string;
  instrument_key: string;
  venue: string;
  side: Side;
  quantity: DecimalString;
  price: DecimalString;
  fee: DecimalString;
  fee_currency: string;
  liquidity: Liquidity;
  ts_event: Nanos;
}

/** The order document of record (the unified OMS). One per operation_id. */
export interface OrderRecord {
  order_id: string;
  operation_id: string;
  parent_order_id: string | null;
  instrument_key: string;
  side: Side;
  order_type: OrderType;
  time_in_force: TimeInForce;
  quantity: DecimalString;
  price: DecimalString | null;
  strategy_id: string;
  exec_algorithm: ExecAlgorithm;
  exec_algorithm_params: Record<string, unknown>;
  status: OrderStatus;
  venue: string | null;
  account_id: string | null;
  client_order_id: string | null;
  venue_order_id: string | null;
  filled_quantity: DecimalString;
  avg_fill_price: DecimalString | null;
  fees: DecimalString;
  rejection_reason: string | null;
  /**
   * True once the pre-trade risk engine approved the order (OrderRiskApproved); the order machine
   * refuses to route or submit an order without it. Absent on records that predate the field.
   */
  risk_approved?: boolean | undefined;
  /** Optimistic-concurrency version: 1 at creation, +1 on each transition. */
  version: number;
  ts_created: Nanos;
  ts_updated: Nanos;
}

/** Net position of one account in one instrument (netting model). */
export interface Position {
  account_id: string;
  instrument_key: string;
  quantity: DecimalString; // signed: + long, - short
  avg_entry_price: DecimalString | null; // null when flat
  /**
   * Exact cost of the open quantity (position.ts): Σ qty × price of the open lots (linear), or
   * Σ qty / price in the settlement asset (inverse). Unsigned; "0" when flat. avg_entry_price is
   * derived from it (rounded), realised PnL is computed from it so PnL stays exact. When absent
   * (older records) it is taken as |quantity| × avg_entry_price (linear) or |quantity| / avg_entry_price (inverse).
   */
  cost_basis?: DecimalString | undefined;
  realized_pnl: DecimalString;
  fees: DecimalString;
  /** Quantity per venue for the cross-venue view. */
  venues: Record<string, DecimalString>;
  last_fill_id: string | null;
  version: number;
  ts_updated: Nanos;
}
