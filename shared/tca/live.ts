/**
 * Live TCA: the per-order figures of shared/tca/tca.ts from what the order book of record holds —
 * the order, its timeline and its fills — and their aggregation per venue, algorithm and strategy.
 *
 * The arrival mid is the market mid the pre-trade risk engine valued the order at when it arrived
 * (its `reference_price` check, when that price came from the market); an order valued only at its
 * own limit or reference price has no arrival mid, so no shortfall or slippage (it still counts in
 * quantities, fees and fill ratio). Slippage is measured per fill against that same mid.
 */
import { Dec, type DecimalString, fmt, toDec } from '../domain/decimal.ts';
import type { OrderEvent } from '../domain/events.ts';
import type { Fill, OrderRecord } from '../domain/types.ts';
import {
  addFillTerms,
  addOrderTerms,
  emptyTcaSums,
  mergeTcaSums,
  type TcaFigures,
  type TcaSums,
  tcaFigures,
} from './tca.ts';

/** The risk engine's message when the reference price is the market's (shared/risk/engine.ts). */
const MARKET_REFERENCE = 'market reference price';

/** The market mid at the order's arrival, from its risk approval; null when none was used. */
export function arrivalMidOf(timeline: readonly OrderEvent[]): DecimalString | null {
  for (const e of timeline) {
    if (e.type !== 'OrderRiskApproved') continue;
    const c = e.checks.find((x) => x.rule === 'reference_price');
    return c?.passed && c.message === MARKET_REFERENCE ? c.observed : null;
  }
  return null;
}

export interface OrderTca extends TcaFigures {
  operation_id: string;
  order_id: string;
  instrument_key: string;
  side: OrderRecord['side'];
  venue: string | null;
  exec_algorithm: OrderRecord['exec_algorithm'];
  strategy_id: string;
  status: OrderRecord['status'];
  arrival_mid: DecimalString | null;
}

export function orderTcaSums(
  order: OrderRecord,
  timeline: readonly OrderEvent[],
  fills: readonly Fill[],
): TcaSums {
  const s = emptyTcaSums();
  const mid = arrivalMidOf(timeline);
  let notional = new Dec(0);
  for (const f of fills) notional = notional.plus(toDec(f.price).times(f.quantity));
  if (fills.length === 0 && order.avg_fill_price !== null)
    notional = toDec(order.filled_quantity).times(order.avg_fill_price);
  addOrderTerms(s, {
    side: order.side,
    quantity: order.quantity,
    filled_quantity: order.filled_quantity,
    filled_notional: fmt(notional),
    fees: order.fees,
    arrival_mid: mid,
  });
  for (const f of fills) addFillTerms(s, f, mid);
  return s;
}

export function orderTca(
  order: OrderRecord,
  timeline: readonly OrderEvent[],
  fills: readonly Fill[],
): OrderTca {
  return {
    operation_id: order.operation_id,
    order_id: order.order_id,
    instrument_key: order.instrument_key,
    side: order.side,
    venue: order.venue,
    exec_algorithm: order.exec_algorithm,
    strategy_id: order.strategy_id,
    status: order.status,
    arrival_mid: arrivalMidOf(timeline),
    ...tcaFigures(orderTcaSums(order, timeline, fills)),
  };
}

export type TcaGroupBy = 'venue' | 'exec_algorithm' | 'strategy_id';

export interface TcaGroup extends TcaFigures {
  key: string;
}

/** Aggregate per-order sums by a key (numerators and denominators added, never bps averaged). */
export function groupTca(
  rows: ReadonlyArray<{ order: OrderRecord; sums: TcaSums }>,
  by: TcaGroupBy,
): TcaGroup[] {
  const groups = new Map<string, TcaSums>();
  for (const r of rows) {
    const key = (by === 'venue' ? r.order.venue : r.order[by]) ?? '(none)';
    groups.set(key, mergeTcaSums(groups.get(key) ?? emptyTcaSums(), r.sums));
  }
  return [...groups.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([key, s]) => ({ key, ...tcaFigures(s) }));
}

export function totalTca(rows: ReadonlyArray<{ sums: TcaSums }>): TcaFigures {
  return tcaFigures(rows.reduce((a, r) => mergeTcaSums(a, r.sums), emptyTcaSums()));
}
