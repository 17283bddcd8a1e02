/**
 * Execution algorithms as pure schedulers (docs/matching-engine.md, "Execution algorithms").
 *
 * The state is plain JSON-safe data (strings, numbers, booleans, arrays, null; nanoseconds as
 * strings of digits, quantities as canonical decimal strings) so the live service can persist it
 * after every step and a restart resumes from it without duplicating or dropping a slice.
 */
import type { DecimalString } from '../domain/decimal.ts';
import type { Nanos } from '../domain/time.ts';
import type { ExecAlgorithm, OrderStatus, OrderType, Side, TimeInForce } from '../domain/types.ts';

/** The parent order an algorithm works. */
export interface ParentOrder {
  order_id: string;
  instrument_key: string;
  side: Side;
  quantity: DecimalString;
  /** When set, children are LIMIT orders at this price; otherwise MARKET. */
  limit_price?: DecimalString | null;
  /** NORMAL passes it to its single child (default GTC); sliced algorithms choose their own. */
  time_in_force?: TimeInForce | null;
}

/** A child order to send. `order_id` is deterministic (see ids below) and is the client order id. */
export interface ChildOrder {
  order_id: string;
  parent_order_id: string;
  instrument_key: string;
  side: Side;
  quantity: DecimalString;
  order_type: OrderType;
  price: DecimalString | null;
  time_in_force: TimeInForce;
  /** 1-based slice (TWAP/VWAP), refill (ICEBERG) or 1 (NORMAL). */
  index: number;
}

export type AlgoAction = { kind: 'submit'; child: ChildOrder } | { kind: 'cancel'; order_id: string };

export interface AlgoStep {
  state: AlgoState;
  /** Cancels first, then submits; send them in this order. */
  actions: AlgoAction[];
  /**
   * Call `next` again at this time (or right away when it is ≤ now), and after every child update;
   * null: only child updates (or a cancel) can move the algorithm on.
   */
  wakeAtNs: Nanos | null;
}

/** A report about one child: cumulative filled quantity and current status. Idempotent. */
export interface ChildUpdate {
  order_id: string;
  filled_quantity: DecimalString;
  status: OrderStatus;
}

/**
 * Market context at a `next` call. `volume` is the instrument's CUMULATIVE traded volume since any
 * fixed origin (monotonic); VWAP's participation cap uses its increase between slices.
 */
export interface MarketSnapshot {
  mid?: DecimalString | number;
  volume?: DecimalString | number;
}

export interface ChildRecord {
  order_id: string;
  index: number;
  quantity: DecimalString;
  filled_quantity: DecimalString;
  status: OrderStatus;
  cancel_requested: boolean;
  /** Its unfilled quantity has been added to a later child (TWAP/VWAP carry-over). */
  carried: boolean;
  ts_submitted_ns: string;
}

export interface SlicePlan {
  /** When the slice becomes due (ns since the epoch, digits). */
  at_ns: string;
  /** Planned quantity (before carry-over); may be "0" for a slice with no volume weight. */
  quantity: DecimalString;
}

export type AlgoStatus = 'RUNNING' | 'CANCELING' | 'DONE';

export type AlgoDoneReason =
  /** The parent quantity is filled. */
  | 'FILLED'
  /** TWAP/VWAP/NORMAL: every slice was sent and every child finished; the rest is left unfilled. */
  | 'SCHEDULE_COMPLETE'
  /** `cancel` was called and every child finished. */
  | 'CANCELED'
  /** ICEBERG: a child ended without filling (rejected, canceled or expired at the venue). */
  | 'CHILD_ENDED';

export interface AlgoState {
  version: 1;
  algo: ExecAlgorithm;
  parent: {
    order_id: string;
    instrument_key: string;
    side: Side;
    quantity: DecimalString;
    limit_price: DecimalString | null;
    time_in_force: TimeInForce | null;
  };
  step_size: DecimalString;
  /**
   * Smallest child worth sending: max(step, min_qty, and with a limit price the quantity that
   * reaches min_notional at it). Smaller slices roll forward into the next one.
   */
  min_slice_quantity: DecimalString;
  seed: number;
  start_ns: string;
  /** TWAP/VWAP: start + duration; children still open then are canceled. Null otherwise. */
  end_ns: string | null;
  child_order_type: OrderType;
  child_price: DecimalString | null;
  child_time_in_force: TimeInForce;
  /** TWAP/VWAP/NORMAL: the planned slices; ICEBERG: empty. */
  slices: SlicePlan[];
  /** Index of the next slice to send. */
  next_slice: number;
  /** Planned quantity of skipped slices (too small to send), added to the next child. */
  rolled: DecimalString;
  /** VWAP participation cap (fraction of market volume per slice) or null. */
  participation_cap: number | null;
  /** Cumulative market volume seen when the previous slice was sent (VWAP cap), or null. */
  volume_at_last_slice: string | null;
  /** ICEBERG display quantity and refill-size jitter fraction. */
  display_quantity: DecimalString | null;
  refresh_jitter: number;
  children: ChildRecord[];
  status: AlgoStatus;
  done_reason: AlgoDoneReason | null;
}
