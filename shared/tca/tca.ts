/**
 * Transaction-cost analysis: the definitions the backtest summary uses (shared/backtest/merge.ts,
 * docs/backtesting.md "Metrics"), shared with the live TCA of the console so that live and backtest
 * figures compare directly. Pure: exact decimals in, numbers out only at the end.
 *
 * - implementation shortfall (bps) = Σ side × (filled notional − filled qty × arrival mid) + fees,
 *   over Σ filled qty × arrival mid (orders without an arrival mid or fill are left out);
 * - slippage vs mid (bps) = Σ side × (fill price − mid at the order's arrival) × fill qty, over
 *   Σ mid × fill qty (fills without a mid are left out);
 * - fill ratio = Σ filled qty / Σ ordered qty; fees = Σ fees; side = +1 BUY, −1 SELL.
 *
 * Aggregates add numerators and denominators (never average the per-order bps), so an aggregate of
 * one order equals that order's figure.
 */

import { bps, round } from '../backtest/metrics.ts';
import { Dec, type DecimalString, fmt, toDec } from '../domain/decimal.ts';
import type { Side } from '../domain/types.ts';

/** Running sums of one group (an order, a venue, an algorithm, a run). */
export interface TcaSums {
  orders: number;
  fills: number;
  quantity: Dec;
  filled: Dec;
  notional: Dec;
  fees: Dec;
  isCost: Dec;
  isBase: Dec;
  slipCost: Dec;
  slipBase: Dec;
}

export function emptyTcaSums(): TcaSums {
  const z = new Dec(0);
  return {
    orders: 0,
    fills: 0,
    quantity: z,
    filled: z,
    notional: z,
    fees: z,
    isCost: z,
    isBase: z,
    slipCost: z,
    slipBase: z,
  };
}

const sideSign = (side: Side): number => (side === 'BUY' ? 1 : -1);

/** One order's quantities and its implementation shortfall against the arrival mid. */
export function addOrderTerms(
  s: TcaSums,
  o: {
    side: Side;
    quantity: DecimalString;
    filled_quantity: DecimalString;
    filled_notional: DecimalString;
    fees: DecimalString;
    arrival_mid: DecimalString | null;
  },
): void {
  s.orders++;
  s.quantity = s.quantity.plus(o.quantity);
  s.filled = s.filled.plus(o.filled_quantity);
  s.notional = s.notional.plus(o.filled_notional);
  s.fees = s.fees.plus(o.fees);
  if (o.arrival_mid !== null && toDec(o.filled_quantity).gt(0)) {
    const arrivalValue = toDec(o.filled_quantity).times(o.arrival_mid);
    s.isCost = s.isCost
      .plus(toDec(o.filled_notional).minus(arrivalValue).times(sideSign(o.side)))
      .plus(o.fees);
    s.isBase = s.isBase.plus(arrivalValue);
  }
}

/** One fill's slippage against the mid at its order's arrival (null mid: counted, not measured). */
export function addFillTerms(
  s: TcaSums,
  f: { side: Side; price: DecimalString; quantity: DecimalString },
  mid: DecimalString | null,
): void {
  s.fills++;
  if (mid === null) return;
  s.slipCost = s.slipCost.plus(toDec(f.price).minus(mid).times(f.quantity).times(sideSign(f.side)));
  s.slipBase = s.slipBase.plus(toDec(mid).times(f.quantity));
}

export function mergeTcaSums(a: TcaSums, b: TcaSums): TcaSums {
  return {
    orders: a.orders + b.orders,
    fills: a.fills + b.fills,
    quantity: a.quantity.plus(b.quantity),
    filled: a.filled.plus(b.filled),
    notional: a.notional.plus(b.notional),
    fees: a.fees.plus(b.fees),
    isCost: a.isCost.plus(b.isCost),
    isBase: a.isBase.plus(b.isBase),
    slipCost: a.slipCost.plus(b.slipCost),
    slipBase: a.slipBase.plus(b.slipBase),
  };
}

const num = (d: Dec): number => Number(fmt(d));

/** Basis points of `cost` over `base`, rounded as the backtest summary rounds them. */
export function bpsOf(cost: Dec, base: Dec): number | null {
  return round(bps(num(cost), num(base)));
}

export interface TcaFigures {
  orders: number;
  fills: number;
  quantity: DecimalString;
  filled_quantity: DecimalString;
  fill_ratio: number | null;
  traded_notional: DecimalString;
  /** Average fill price: traded notional / filled quantity (null when nothing filled). */
  avg_fill_price: DecimalString | null;
  fees: DecimalString;
  implementation_shortfall_bps: number | null;
  slippage_bps: number | null;
}

export function tcaFigures(s: TcaSums): TcaFigures {
  return {
    orders: s.orders,
    fills: s.fills,
    quantity: fmt(s.quantity),
    filled_quantity: fmt(s.filled),
    fill_ratio: s.quantity.gt(0) ? round(num(s.filled.div(s.quantity))) : null,
    traded_notional: fmt(s.notional),
    avg_fill_price: s.filled.gt(0) ? fmt(s.notional.div(s.filled).toSignificantDigits(18)) : null,
    fees: fmt(s.fees),
    implementation_shortfall_bps: bpsOf(s.isCost, s.isBase),
    slippage_bps: bpsOf(s.slipCost, s.slipBase),
  };
}
