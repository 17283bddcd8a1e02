/**
 * The execution core's single decisions (docs/execution-core.md), each a pure function with its own
 * unit tests. The backtest window, the venue edge (LIVE and SHADOW) and `npm start`'s venue call
 * these — through `decide` (./core.ts) or directly — and decide nothing of their own:
 *
 * - {@link checkChild}: the ONE child-risk policy (intake's rules with scope `child`).
 * - {@link classifySubmitError} / {@link classifyCancelError}: which venue errors are refusals.
 * - {@link nextBackoff}: the one retry schedule (reconnects, unknown sends, lookups, fill checks).
 * - {@link childUpdateOfTrade}: a child's status once its trades run ahead of its order reports.
 * - {@link settlementOf}: when a finished algorithm may settle its parent against missing fills.
 */
import type { ChildOrder, ChildRecord, ChildUpdate } from '../algos/types.ts';
import { Dec, type DecimalString, fmt, toDec } from '../domain/decimal.ts';
import { isTerminal } from '../domain/order-machine.ts';
import type { Nanos } from '../domain/time.ts';
import { stricterTradingState } from '../domain/trading-state.ts';
import type { InstrumentSpec, OrderInstruction, OrderStatus, TradingState } from '../domain/types.ts';
import type { VenueErrorKind } from '../ports/venue.ts';
import { evaluate } from '../risk/engine.ts';
import type { CompiledRiskLimits, RiskLimits } from '../risk/limits.ts';
import type { RiskDecision } from '../risk/types.ts';

export { stricterTradingState };

// ---------------------------------------------------------------------------------------------
// Child risk
// ---------------------------------------------------------------------------------------------

/**
 * What a shell knows when a child is about to go out. Positions are signed, after every fill known;
 * working quantities are the open quantity of orders working AT VENUES (children and direct orders,
 * this child excluded) — never a parent's reservation, which covers exactly those children.
 */
export interface ChildRiskView {
  /** The platform's state and the strategy's own (ACTIVE when it has none). */
  trading_state: TradingState;
  strategy_trading_state: TradingState;
  instrument: InstrumentSpec | null;
  /** The instrument's mid (else last trade) now; null when there is none. */
  reference_price: DecimalString | null;
  position: { instrument: DecimalString; strategy: DecimalString };
  working: {
    instrument: { buy: DecimalString; sell: DecimalString };
    strategy: { buy: DecimalString; sell: DecimalString };
  };
  /** Times children were sent (ascending): the velocity limits count orders that reach a venue. */
  recent_orders: { global: readonly Nanos[]; strategy: readonly Nanos[] };
}

/** The effective state of a view (the stricter of the platform's and the strategy's). */
export function viewTradingState(view: ChildRiskView): TradingState {
  return stricterTradingState(view.trading_state, view.strategy_trading_state);
}

/**
 * The ONE child-risk policy: the parent was approved and reserved at intake for its whole quantity;
 * each child is checked by intake's own engine with scope `child` — trading state (intake's REDUCING
 * rule, same scope: the platform's position for a platform REDUCING, the strategy's for a strategy
 * REDUCING), instrument rules, per-order size and notional limits, price tolerance, velocity. The
 * book-level limits (positions, exposure, balance) are the parent reservation's.
 */
export function checkChild(
  child: ChildOrder,
  strategyId: string,
  riskInstrumentKey: string,
  view: ChildRiskView,
  limits: RiskLimits | CompiledRiskLimits,
  now: Nanos,
): RiskDecision {
  const order: OrderInstruction = {
    operation_id: child.order_id,
    instrument_key: riskInstrumentKey,
    side: child.side,
    quantity: child.quantity,
    price: child.price,
    order_type: child.order_type,
    time_in_force: child.time_in_force,
    strategy_id: strategyId,
    exec_algorithm: 'NORMAL',
    exec_algorithm_params: {},
  };
  return evaluate(
    order,
    {
      trading_state: view.trading_state,
      strategy_trading_state: view.strategy_trading_state,
      instrument: view.instrument,
      reference_price: view.reference_price,
      position: view.position,
      working: view.working,
      exposure: { total: '0', instrument: '0' },
      free_balance: null,
      recent_orders: view.recent_orders,
    },
    limits,
    now,
    'child',
  );
}

/** The view after `child` went out: its quantity works on its side, its time counts for velocity. */
export function viewAfterChild(view: ChildRiskView, child: ChildOrder, now: Nanos): ChildRiskView {
  const add = (w: { buy: DecimalString; sell: DecimalString }) =>
    child.side === 'BUY'
      ? { buy: fmt(toDec(w.buy).plus(child.quantity)), sell: w.sell }
      : { buy: w.buy, sell: fmt(toDec(w.sell).plus(child.quantity)) };
  return {
    ...view,
    working: { instrument: add(view.working.instrument), strategy: add(view.working.strategy) },
    recent_orders: {
      global: [...view.recent_orders.global, now],
      strategy: [...view.recent_orders.strategy, now],
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Venue errors
// ---------------------------------------------------------------------------------------------

export type SubmitErrorClass =
  /** The venue (or our breaker in front of it) refused the order: it is not at the venue. */
  | { outcome: 'refused'; reason_prefix: 'VENUE_REJECTED' | 'VENUE_AUTH' | 'CIRCUIT_OPEN' }
  /** The outcome is unknown (timeout, 5xx, rate limit): look the order up by client id later. */
  | { outcome: 'unknown' };

/**
 * A failed send. `rejected` and `auth` are refusals; an open breaker is a refusal only when it was
 * open BEFORE the call (one that opened during the call — the adapter's retries of an unknown
 * outcome tripped it — proves nothing about the attempts before). Everything else is unknown.
 */
export function classifySubmitError(kind: VenueErrorKind, breakerOpenBefore: boolean): SubmitErrorClass {
  if (kind === 'rejected') return { outcome: 'refused', reason_prefix: 'VENUE_REJECTED' };
  if (kind === 'auth') return { outcome: 'refused', reason_prefix: 'VENUE_AUTH' };
  if (kind === 'circuit_open' && breakerOpenBefore)
    return { outcome: 'refused', reason_prefix: 'CIRCUIT_OPEN' };
  return { outcome: 'unknown' };
}

/**
 * A failed cancel: `not_found` / `rejected` (unknown, or already closed) → look the order up and
 * apply what the venue says; anything else → the cancel's outcome is unknown, retry it later.
 */
export function classifyCancelError(kind: VenueErrorKind): 'lookup' | 'retry' {
  return kind === 'not_found' || kind === 'rejected' ? 'lookup' : 'retry';
}

// ---------------------------------------------------------------------------------------------
// Backoff
// ---------------------------------------------------------------------------------------------

export interface BackoffSchedule {
  initialMs: number;
  maxMs: number;
}

/**
 * The one retry schedule: wait `currentMs` (the schedule's initial delay the first time), then
 * double up to `maxMs`. Returns when to try again and the delay after that.
 */
export function nextBackoff(
  now: Nanos,
  currentMs: number | null,
  schedule: BackoffSchedule,
): { at: Nanos; nextMs: number } {
  const ms = Math.min(currentMs ?? schedule.initialMs, schedule.maxMs);
  return {
    at: now + BigInt(Math.max(0, Math.round(ms))) * 1_000_000n,
    nextMs: Math.min(ms * 2, schedule.maxMs),
  };
}

// ---------------------------------------------------------------------------------------------
// Trades and settlement
// ---------------------------------------------------------------------------------------------

/**
 * Trades may run ahead of the order stream: the child is filled for sure up to the quantity its
 * stored trades add up to. Returns the scheduler update, or null when the trades say nothing new.
 * Full → FILLED; otherwise a final status stays, a working one becomes PARTIALLY_FILLED.
 */
export function childUpdateOfTrade(child: ChildRecord, tradedTotal: DecimalString): ChildUpdate | null {
  const total = toDec(tradedTotal);
  if (!total.gt(child.filled_quantity)) return null;
  const status: OrderStatus = total.gte(child.quantity)
    ? 'FILLED'
    : isTerminal(child.status)
      ? child.status
      : 'PARTIALLY_FILLED';
  return { order_id: child.order_id, filled_quantity: fmt(total), status };
}

/** Fill checks (trades read again, backing off) before a shortfall is left to reconciliation. */
export const MAX_FILL_CHECKS = 12;

export type Settlement =
  /** Every fill the scheduler counted is stored: settle now. */
  | { kind: 'settle' }
  /** Fills are missing: read the trades again (after the grace period / backoff) before settling. */
  | { kind: 'wait_for_fills'; missing: DecimalString }
  /** Still missing after every check: settle, and leave the shortfall to reconciliation. */
  | { kind: 'settle_short'; missing: DecimalString };

/**
 * When a finished algorithm may settle its parent: its fills come from trades, the scheduler's
 * quantities from order reports; a final report before the last fill is stored would close the
 * order under it. So: wait while fills are missing, at most {@link MAX_FILL_CHECKS} checks.
 */
export function settlementOf(input: {
  scheduler_filled: DecimalString;
  recorded_filled: DecimalString;
  fill_checks: number;
  max_fill_checks?: number | undefined;
}): Settlement {
  const missing = toDec(input.scheduler_filled).minus(input.recorded_filled);
  if (!missing.gt(0)) return { kind: 'settle' };
  if (input.fill_checks < (input.max_fill_checks ?? MAX_FILL_CHECKS))
    return { kind: 'wait_for_fills', missing: fmt(missing) };
  return { kind: 'settle_short', missing: fmt(missing) };
}

/** Sum of decimal strings. */
export function sumDecimals(xs: Iterable<DecimalString | Dec>): DecimalString {
  let t = new Dec(0);
  for (const x of xs) t = t.plus(x);
  return fmt(t);
}
