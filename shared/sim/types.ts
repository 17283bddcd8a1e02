/**
 * Plain-data inputs and outputs of the matching engine (see docs/matching-engine.md).
 *
 * Inputs: orders as decimal strings (the same shape the OMS holds), market data as JS numbers
 * (the tick files store DOUBLE), time as bigint nanoseconds at the per-event API and as JS numbers
 * of nanoseconds RELATIVE to the engine's epoch in the columnar batch API.
 * Outputs: events with decimal strings rounded to the instrument's step and tick, fees exact, and
 * `ts_event` as bigint nanoseconds since the Unix epoch.
 */
import type { DecimalString } from '../domain/decimal.ts';
import type { Nanos } from '../domain/time.ts';
import type { InstrumentSpec, Liquidity, OrderType, Side, TimeInForce } from '../domain/types.ts';

/** An order handed to the simulated venue. `order_id` is the client order id (unique per engine). */
export interface SimOrder {
  order_id: string;
  side: Side;
  order_type: OrderType;
  quantity: DecimalString;
  /** Limit price (LIMIT orders); null or absent for MARKET. */
  price?: DecimalString | null;
  time_in_force: TimeInForce;
}

/**
 * Order entry and cancel latency, in integer nanoseconds. Each submit (cancel) becomes visible to
 * the matching at `ts + insertNs + u·insertJitterNs` (`cancelNs`, `cancelJitterNs`), u ∈ [0, 1)
 * from the engine's seeded generator; the jitter is floored to a whole nanosecond.
 */
export interface LatencyModel {
  insertNs: number;
  cancelNs: number;
  insertJitterNs: number;
  cancelJitterNs: number;
}

/**
 * What happens to a resting limit order when the market trades AT its price (a trade strictly
 * through the price always fills):
 * - `conservative` (default): never fills at the touch;
 * - `probabilistic`: each touch trade fills min(remaining, trade size) with probability `probFillAtTouch`
 *   (seeded draw per touch trade);
 * - `queue`: the order joins behind the displayed size at its price when it starts resting; touch
 *   trades first eat that queue, then fill the order; the queue shrinks when the displayed size at
 *   the price drops below it (cancels ahead of us).
 */
export type FillModel =
  | { kind: 'conservative' }
  | { kind: 'probabilistic'; probFillAtTouch: number }
  | { kind: 'queue' };

/**
 * Extra adverse price for MARKET orders filled against an L1 book (no L2 data received): the
 * level price moves by `fixedBps + u·randomBps` basis points against the order (u ∈ [0, 1) seeded),
 * then rounds to the tick away from the order's favour.
 */
export interface SlippageModel {
  fixedBps: number;
  randomBps?: number;
}

export interface MatchingEngineConfig {
  instrument: InstrumentSpec;
  /** Base of the engine's relative time (bigint ns since the Unix epoch), e.g. the window start. */
  epochNs: Nanos;
  latency?: Partial<LatencyModel>;
  /** Seed of every random draw (latency jitter, fill model, slippage). Default 0. */
  seed?: number;
  fillModel?: FillModel;
  slippage?: SlippageModel;
  /** Currency of fees; default the quote asset of `instrument.instrument_key`. */
  feeCurrency?: string;
  /** Depth of the L2 book the engine keeps per side (levels ≥ this are ignored). Default 50. */
  maxLevels?: number;
  /**
   * Market data older than the engine's current time: `throw` (default; backtests feed merged,
   * sorted streams, so this is a bug) or `clamp` (SHADOW mode: live feeds can interleave a little;
   * the event is treated as happening now).
   */
  lateData?: 'throw' | 'clamp';
}

/** Order status as seen by the simulated venue (a subset of the OMS statuses). */
export type SimOrderStatus =
  | 'SUBMITTED'
  | 'ACCEPTED'
  | 'PARTIALLY_FILLED'
  | 'FILLED'
  | 'CANCELED'
  | 'REJECTED'
  | 'EXPIRED';

export type SimRejectReason =
  | 'INVALID_ORDER'
  | 'POST_ONLY_WOULD_CROSS'
  | 'MARKET_ORDER_NOT_POST_ONLY'
  | 'LIMIT_PRICE_REQUIRED';

export type SimCancelReason = 'USER_CANCEL' | 'IOC_REMAINDER' | 'FOK_NOT_FILLABLE';

interface SimEventBase {
  order_id: string;
  /** Nanoseconds since the Unix epoch when it happened in simulated venue time. */
  ts_event: Nanos;
}

export interface SimAccepted extends SimEventBase {
  type: 'accepted';
  /** Mid of the best bid and ask when the order reached the matching (null without a two-sided book). */
  mid_at_arrival: DecimalString | null;
}

export interface SimFilled extends SimEventBase {
  type: 'filled';
  /** `${order_id}-F${n}`, n = 1, 2, … per order. */
  fill_id: string;
  side: Side;
  /** A whole multiple of step_size; the fills of an order sum exactly to its cum_quantity. */
  quantity: DecimalString;
  /** A whole multiple of tick_size. */
  price: DecimalString;
  /** Exactly quantity × price × fee rate (maker or taker), in `fee_currency`; negative = rebate. */
  fee: DecimalString;
  fee_currency: string;
  liquidity: Liquidity;
  /** Order's filled quantity including this fill. */
  cum_quantity: DecimalString;
  /** Order's open quantity after this fill. */
  leaves_quantity: DecimalString;
}

export interface SimCanceled extends SimEventBase {
  type: 'canceled';
  reason: SimCancelReason;
  message: string;
  filled_quantity: DecimalString;
}

export interface SimExpired extends SimEventBase {
  type: 'expired';
  reason: 'DAY_END';
  message: string;
  filled_quantity: DecimalString;
}

export interface SimRejected extends SimEventBase {
  type: 'rejected';
  reason: SimRejectReason;
  message: string;
}

/** A cancel that found nothing to cancel (unknown id, or the order had already finished). */
export interface SimCancelRejected extends SimEventBase {
  type: 'cancel_rejected';
  reason: 'UNKNOWN_ORDER' | 'ORDER_CLOSED';
  message: string;
}

export type SimEvent = SimAccepted | SimFilled | SimCanceled | SimExpired | SimRejected | SimCancelRejected;

/** A snapshot of one order's state in the engine. */
export interface SimOrderState {
  order_id: string;
  side: Side;
  order_type: OrderType;
  time_in_force: TimeInForce;
  quantity: DecimalString;
  price: DecimalString | null;
  status: SimOrderStatus;
  filled_quantity: DecimalString;
  leaves_quantity: DecimalString;
}

/** Which side of the book an L2 row updates. BUY/SELL are accepted as synonyms of BID/ASK. */
export type BookSideName = 'BID' | 'ASK' | 'BUY' | 'SELL';

/**
 * Columnar trades for {@link MatchingEngine.onTrades}. `ts` holds integer nanoseconds relative to
 * the engine's epoch (see {@link toRelativeNanos}); `side` is the aggressor: 1 BUY, -1 SELL, 0 unknown.
 */
export interface TradeColumns {
  ts: Float64Array;
  price: Float64Array;
  size: Float64Array;
  side: Int8Array;
}

/** Columnar top-of-book quotes; a side with size 0 or a NaN price is empty. */
export interface QuoteColumns {
  ts: Float64Array;
  bidPx: Float64Array;
  bidSz: Float64Array;
  askPx: Float64Array;
  askSz: Float64Array;
}

/**
 * Columnar L2 rows: each row sets level `level` (0 = best) of side `side` (1 bid, -1 ask) to
 * (`price`, `size`); size 0 (or a NaN price) empties the level.
 */
export interface BookColumns {
  ts: Float64Array;
  side: Int8Array;
  level: Int32Array;
  price: Float64Array;
  size: Float64Array;
}
