/**
 * Data shapes of the pre-trade risk engine: the context snapshot the shell provides, the decision,
 * and the reservation an approval hands back for the ledger (see ledger.ts).
 */
import type { Dec, DecimalString } from '../domain/decimal.ts';
import type { RiskCheckResult } from '../domain/events.ts';
import type { Nanos } from '../domain/time.ts';
import type { InstrumentSpec, Side, TradingState } from '../domain/types.ts';

/** A decimal as a canonical string or an already parsed `Dec` (lets a shell cache parsed values). */
export type Decimalish = DecimalString | Dec;

/** Open (unfilled) quantity of working orders on each side; both ≥ 0. */
export interface WorkingQuantity {
  buy: Decimalish;
  sell: Decimalish;
}

/**
 * The snapshot `evaluate` reads. Positions and working quantities are for the ORDER's instrument:
 * `instrument` = platform-wide (all strategies), `strategy` = the order's strategy only.
 * Build it from a `RiskLedger` with `riskContextFromLedger` so that concurrent orders serialise.
 */
export interface RiskContext {
  /** Platform-wide trading state. */
  trading_state: TradingState;
  /** The order's strategy's trading state (ACTIVE when the strategy has none of its own). */
  strategy_trading_state: TradingState;
  /** The instrument's spec; null when unknown (the order is denied: rule `instrument`). */
  instrument: InstrumentSpec | null;
  /** Market reference price (mid, else last) for the instrument; null when there is none. */
  reference_price: Decimalish | null;
  /** Signed net positions (+ long, − short). */
  position: { instrument: Decimalish; strategy: Decimalish };
  /** Working orders' open quantity per side (counted toward position limits, worst case). */
  working: { instrument: WorkingQuantity; strategy: WorkingQuantity };
  /**
   * Worst-case notional exposure (quote currency): `total` over all instruments, and `instrument`,
   * this instrument's share of that total (see docs/risk-and-routing.md, "total_exposure").
   */
  exposure: { total: Decimalish; instrument: Decimalish };
  /** Free balance in the instrument's quote currency before the ledger's reservations; null = unknown. */
  free_balance: Decimalish | null;
  /** Quote balance already committed by open reservations (the ledger's `reserved_balance`). */
  reserved_balance?: Decimalish | undefined;
  /**
   * Times of recent approved orders, ASCENDING (as the ledger keeps them; counted by binary
   * search); only the last minute matters.
   */
  recent_orders: { global: readonly Nanos[]; strategy: readonly Nanos[] };
  /** Version of the ledger this context was derived from; copied into the reservation. */
  ledger_version?: number | undefined;
}

/**
 * What an approved order adds to the ledger: working quantity on its side (instrument and strategy
 * scope), exposure at `mark`, one velocity timestamp (global and strategy), and for a spot buy the
 * quote balance it commits. Plain JSON (decimal strings, nanoseconds as a digit string).
 */
export interface Reservation {
  /** The order's operation_id: one reservation per order. */
  id: string;
  instrument_key: string;
  strategy_id: string;
  side: Side;
  quantity: DecimalString;
  /** Price the exposure is valued at (the reference price used by the evaluation). */
  mark: DecimalString;
  /** The instrument's contract size when it is not 1 (exposure = qty × contract size × mark, or qty × contract size for inverse contracts). */
  contract_size?: DecimalString | undefined;
  /** Quote balance committed (spot buys: notional + worst-case fee); null otherwise. */
  balance: { currency: string; amount: DecimalString } | null;
  /** Evaluation time, integer nanoseconds as a string of digits. */
  ts_ns: string;
  /** Ledger version the evaluation read; null when the context did not come from a ledger. */
  ledger_version: number | null;
}

export interface RiskApproved {
  approved: true;
  checks: RiskCheckResult[];
  reservation: Reservation;
}

export interface RiskDenied {
  approved: false;
  /** The first failing check's rule (checks are evaluated in the documented order). */
  rule: string;
  limit: string | null;
  observed: string | null;
  reason: string;
  /** Every check, passed or not. */
  checks: RiskCheckResult[];
}

/** A denial is data, never an exception. */
export type RiskDecision = RiskApproved | RiskDenied;
