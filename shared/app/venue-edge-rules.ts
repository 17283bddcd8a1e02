/**
 * The venue edge's decisions as pure functions (docs/venue-edge.md). The edge (stateful/edge) is a
 * shell: it gathers inputs from its ports and the venue, calls these, and performs the result. Same
 * inputs, same answer — in the live edge, in SHADOW mode and in tests.
 *
 * - {@link tradingStateFor}: the trading state an order of a strategy runs under (the stricter of
 *   the platform's and the strategy's). Whether a child may go out under it is the execution
 *   core's child policy (shared/execution/policy.ts `checkChild`: intake's rule, same scope).
 * - {@link venueOrderReport}: what a venue's view of a direct (NORMAL) order means for the order
 *   book of record; {@link childUpdateOf}: the same for an algorithm child (a scheduler update).
 * - {@link parentOutcome}: how a finished algorithm settles its parent order.
 * - {@link fillOfTrade}: a venue execution as the domain fill of the order it belongs to.
 */
import type { AlgoState, ChildUpdate } from '../algos/types.ts';
import { Dec, type DecimalString, fmt, toDec } from '../domain/decimal.ts';
import { stricterTradingState } from '../domain/trading-state.ts';
import type { Fill, OrderStatus, TradingState } from '../domain/types.ts';
import { effectiveTradingState, type TradingStateSnapshot } from '../ports/trading-state-store.ts';
import type { VenueOrderState, VenueOrderStatus, VenueTrade } from '../ports/venue.ts';

// ---------------------------------------------------------------------------------------------
// Trading state
// ---------------------------------------------------------------------------------------------

/**
 * The state an order of `strategyId` runs under: the stricter of the platform's (or `initial` when
 * none is stored) and the strategy's own (ACTIVE when none is stored).
 */
export function tradingStateFor(
  snapshot: TradingStateSnapshot,
  strategyId: string,
  initial: TradingState,
): TradingState {
  const s = effectiveTradingState(snapshot, strategyId, initial);
  return stricterTradingState(s.trading_state, s.strategy_trading_state);
}

// ---------------------------------------------------------------------------------------------
// Venue reports
// ---------------------------------------------------------------------------------------------

const CHILD_STATUS: Record<VenueOrderStatus, OrderStatus> = {
  NEW: 'ACCEPTED',
  PARTIALLY_FILLED: 'PARTIALLY_FILLED',
  FILLED: 'FILLED',
  CANCELED: 'CANCELED',
  REJECTED: 'REJECTED',
  EXPIRED: 'EXPIRED',
};

const FINAL_VENUE: ReadonlySet<VenueOrderStatus> = new Set(['FILLED', 'CANCELED', 'REJECTED', 'EXPIRED']);

/** True when the venue will not change this order any more. */
export function isFinalAtVenue(status: VenueOrderStatus): boolean {
  return FINAL_VENUE.has(status);
}

/** A scheduler update from the venue's view of a child order (cumulative, idempotent). */
export function childUpdateOf(order: VenueOrderState): ChildUpdate {
  return {
    order_id: order.client_order_id,
    filled_quantity: order.filled_quantity,
    status: CHILD_STATUS[order.status],
  };
}

/**
 * What the venue's view of a direct order means for our books. `accepted` carries the venue order
 * id (record it once); a final status other than FILLED becomes its own report, but only once every
 * fill the venue counted is stored (`fills_missing` > 0: fetch the trades first, or the later fills
 * would land on a closed order). FILLED needs no report of its own: the fills complete the order.
 */
export type VenueOrderReport =
  | { kind: 'accepted'; venue_order_id: string }
  | { kind: 'canceled' | 'expired' | 'rejected'; venue_order_id: string; reason: string };

export function venueOrderReports(order: VenueOrderState): VenueOrderReport[] {
  const out: VenueOrderReport[] = [];
  const id = order.venue_order_id;
  const why = (dflt: string) => (order.reason !== undefined && order.reason !== '' ? order.reason : dflt);
  switch (order.status) {
    case 'NEW':
    case 'PARTIALLY_FILLED':
    case 'FILLED':
      out.push({ kind: 'accepted', venue_order_id: id });
      break;
    case 'CANCELED':
      // An order the venue saw and canceled was acknowledged first (records the venue order id).
      out.push({ kind: 'accepted', venue_order_id: id });
      out.push({ kind: 'canceled', venue_order_id: id, reason: why('CANCELED by the venue') });
      break;
    case 'EXPIRED':
      out.push({ kind: 'accepted', venue_order_id: id });
      out.push({ kind: 'expired', venue_order_id: id, reason: why('EXPIRED at the venue') });
      break;
    case 'REJECTED':
      out.push({ kind: 'rejected', venue_order_id: id, reason: why('REJECTED by the venue') });
      break;
  }
  return out;
}

/** Quantity the venue counted as filled that our stored fills do not explain yet (≥ 0). */
export function missingFillQuantity(venueFilled: DecimalString, storedFilled: DecimalString): DecimalString {
  const d = toDec(venueFilled).minus(storedFilled);
  return d.gt(0) ? fmt(d) : '0';
}

// ---------------------------------------------------------------------------------------------
// Fills
// ---------------------------------------------------------------------------------------------

/**
 * The domain fill of a venue trade for the order `target` (a direct order, or the PARENT of an
 * algorithm child: child fills are the parent's fills). The fill id keeps which order traded and
 * the venue's trade id — `<client order id>-T<trade id>` — so it is the same however often the
 * trade is reported (WebSocket, REST gap fill, reconciliation), and unique per order.
 */
export function fillOfTrade(
  trade: VenueTrade,
  target: { operation_id: string; order_id: string; instrument_key: string; venue: string },
  clientOrderId: string,
): Fill {
  return {
    fill_id: `${clientOrderId}-T${trade.trade_id}`,
    order_id: target.order_id,
    operation_id: target.operation_id,
    instrument_key: target.instrument_key,
    venue: target.venue,
    side: trade.side,
    quantity: trade.quantity,
    price: trade.price,
    fee: trade.fee,
    fee_currency: trade.fee_currency,
    liquidity: trade.liquidity,
    ts_event: trade.ts_event,
  };
}

// ---------------------------------------------------------------------------------------------
// Algorithm parents
// ---------------------------------------------------------------------------------------------

export type ParentOutcome =
  | { kind: 'filled' }
  | { kind: 'canceled' | 'expired' | 'rejected'; reason: string };

/**
 * How a finished algorithm settles its parent (null while it runs): FILLED by its fills (nothing to
 * record); CANCELED → canceled with the request's reason; SCHEDULE_COMPLETE → expired; an ICEBERG
 * child that ended → rejected with the child's reason when nothing filled, else canceled.
 */
export function parentOutcome(
  state: AlgoState,
  ctx: { cancel_reason: string | null; last_child_rejection: string | null },
): ParentOutcome | null {
  if (state.status !== 'DONE') return null;
  const filled = state.children.reduce((s, c) => s.plus(c.filled_quantity), new Dec(0));
  const summary = `${fmt(filled)} of ${state.parent.quantity} filled`;
  switch (state.done_reason) {
    case 'FILLED':
      return { kind: 'filled' };
    case 'CANCELED':
      return { kind: 'canceled', reason: `${ctx.cancel_reason ?? 'USER_CANCEL'}; ${summary}` };
    case 'SCHEDULE_COMPLETE':
      return {
        kind: 'expired',
        reason: `SCHEDULE_COMPLETE: ${summary} by the end of the schedule${
          ctx.last_child_rejection === null ? '' : `; last child refused: ${ctx.last_child_rejection}`
        }`,
      };
    default:
      if (filled.isZero() && ctx.last_child_rejection !== null) {
        return { kind: 'rejected', reason: ctx.last_child_rejection };
      }
      return { kind: 'canceled', reason: `CHILD_ENDED: ${summary}` };
  }
}
