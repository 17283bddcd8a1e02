/**
 * Converters from engine events to domain records. The engine knows one instrument and the client
 * order ids; the caller knows the operation, the venue and the instrument key.
 */
import { Dec, type DecimalString, fmt } from '../domain/decimal.ts';
import type { Fill } from '../domain/types.ts';
import type { SimEvent, SimFilled } from './types.ts';

export interface FillContext {
  operation_id: string;
  venue: string;
  instrument_key: string;
}

/** A `filled` event as the domain's Fill record. */
export function toDomainFill(ev: SimFilled, ctx: FillContext): Fill {
  return {
    fill_id: ev.fill_id,
    order_id: ev.order_id,
    operation_id: ctx.operation_id,
    instrument_key: ctx.instrument_key,
    venue: ctx.venue,
    side: ev.side,
    quantity: ev.quantity,
    price: ev.price,
    fee: ev.fee,
    fee_currency: ev.fee_currency,
    liquidity: ev.liquidity,
    ts_event: ev.ts_event,
  };
}

export function isFill(ev: SimEvent): ev is SimFilled {
  return ev.type === 'filled';
}

/** Exact totals of a set of fills: quantity, notional, fees, and the average price (null if none). */
export function summariseFills(fills: readonly SimFilled[]): {
  quantity: DecimalString;
  notional: DecimalString;
  fees: DecimalString;
  avg_price: DecimalString | null;
} {
  let q = new Dec(0);
  let n = new Dec(0);
  let f = new Dec(0);
  for (const x of fills) {
    q = q.plus(x.quantity);
    n = n.plus(new Dec(x.quantity).times(x.price));
    f = f.plus(x.fee);
  }
  return { quantity: fmt(q), notional: fmt(n), fees: fmt(f), avg_price: q.isZero() ? null : fmt(n.div(q)) };
}
