/**
 * Netting position accounting: one signed quantity per (account, instrument), exact decimals.
 *
 * The position keeps an exact, unsigned `cost_basis` of its open quantity:
 * - LINEAR (spot, USDT-margined): Σ qty × price of the open lots, in the quote currency;
 * - INVERSE (coin-margined, quantity in quote-currency contracts value, e.g. USD): Σ qty / price,
 *   in the base (settlement) currency, each term rounded half-even to 18 decimal places.
 *
 * `avg_entry_price` is the fill price when a position opens (from flat or through a flip), is
 * re-derived from the cost when adding (linear: cost / |qty|, the VWAP; inverse: |qty| / cost, the
 * harmonic mean; rounded half-even to 18 decimal places), and does not move when reducing. It is
 * for display and risk. Realised PnL is
 * computed from the cost basis, so for LINEAR positions the books balance exactly:
 * `realized_pnl + unrealizedPnl(mark) = −Σ signed_qty × price + quantity × mark` for every
 * sequence of fills (the only rounding is in how a partial reduce splits the cost basis, which
 * moves value between realised and unrealised but never loses or creates any).
 *
 * Rules:
 * - opening or adding moves the average entry (VWAP, or harmonic for inverse);
 * - reducing realises `closed × (exit − entry) × sign` (linear) or
 *   `closed × (1/entry − 1/exit) × sign` (inverse), sign +1 for a long, −1 for a short;
 * - closing to zero sets `avg_entry_price` null and `cost_basis` "0";
 * - a fill through zero realises the closing part and opens the remainder at the fill price;
 * - fees accumulate in `fees` (signed: a rebate is negative) and are NOT netted into
 *   `realized_pnl`: net PnL = realized_pnl − fees (when the fee currency is the PnL currency);
 * - `venues` holds the signed quantity per venue (entries that reach zero are removed);
 * - each fill bumps `version` by one, sets `ts_updated = fill.ts_event` and `last_fill_id`;
 *   re-applying the fill equal to `last_fill_id` returns the position unchanged (same object).
 */
import { Dec, type DecimalString, fmt, toDec } from './decimal.ts';
import { isInstrumentId, settlementOf } from './instrument-id.ts';
import type { Fill, Position } from './types.ts';

export type PositionSettlement = 'LINEAR' | 'INVERSE';
export type PositionSide = 'LONG' | 'SHORT' | 'FLAT';

export interface SettlementOptions {
  /** Default: from the instrument key (`@INV`, or a USD-quoted derivative → INVERSE; else LINEAR). */
  settlement?: PositionSettlement | undefined;
}

/** Decimal places of derived and divided values (avg_entry_price, inverse values, split cost). */
export const POSITION_DECIMAL_PLACES = 18;

const XDec = Dec.clone({ precision: 100 });
const ZERO = new XDec(0);
const x = (v: string): Dec => new XDec(toDec(v));
const round = (d: Dec): Dec => d.toDecimalPlaces(POSITION_DECIMAL_PLACES, XDec.ROUND_HALF_EVEN);

/** How positions in `instrumentKey` settle: INVERSE for coin-margined derivatives, else LINEAR. */
export function settlementFor(instrumentKey: string): PositionSettlement {
  if (!isInstrumentId(instrumentKey)) return 'LINEAR';
  return settlementOf(instrumentKey) === 'INVERSE' ? 'INVERSE' : 'LINEAR';
}

function resolveSettlement(instrumentKey: string, opts: SettlementOptions | undefined): PositionSettlement {
  return opts?.settlement ?? settlementFor(instrumentKey);
}

/** Cost of `qty` at `price`: qty × price (linear) or qty / price rounded to 18 dp (inverse). */
function lotCost(qty: Dec, price: Dec, settlement: PositionSettlement): Dec {
  return settlement === 'LINEAR' ? qty.times(price) : round(qty.dividedBy(price));
}

function costBasisOf(p: Position, settlement: PositionSettlement): Dec {
  if (p.cost_basis !== undefined) return x(p.cost_basis);
  const qty = x(p.quantity).abs();
  if (qty.isZero() || p.avg_entry_price === null) return ZERO;
  return lotCost(qty, x(p.avg_entry_price), settlement);
}

function averageOf(qtyAbs: Dec, cost: Dec, settlement: PositionSettlement): DecimalString | null {
  if (qtyAbs.isZero()) return null;
  if (settlement === 'LINEAR') return fmt(round(cost.dividedBy(qtyAbs)));
  return cost.isZero() ? null : fmt(round(qtyAbs.dividedBy(cost)));
}

/**
 * Apply one fill to the account's position in the fill's instrument (null: no position yet).
 * Throws a RangeError for a fill of another instrument or account, or with a quantity/price ≤ 0.
 */
export function applyFill(
  position: Position | null,
  fill: Fill,
  accountId: string,
  opts?: SettlementOptions,
): Position {
  if (position !== null) {
    if (position.instrument_key !== fill.instrument_key) {
      throw new RangeError(
        `fill ${fill.fill_id} is for ${fill.instrument_key}, not the position's instrument ${position.instrument_key}`,
      );
    }
    if (position.account_id !== accountId) {
      throw new RangeError(`position belongs to account ${position.account_id}, not ${accountId}`);
    }
    if (position.last_fill_id === fill.fill_id) return position;
  }
  const qty = x(fill.quantity);
  const price = x(fill.price);
  if (!qty.gt(0)) throw new RangeError(`fill ${fill.fill_id} quantity must be > 0, got ${fill.quantity}`);
  if (!price.gt(0)) throw new RangeError(`fill ${fill.fill_id} price must be > 0, got ${fill.price}`);
  const settlement = resolveSettlement(fill.instrument_key, opts);

  const signed = fill.side === 'BUY' ? qty : qty.negated();
  const current = position === null ? ZERO : x(position.quantity);
  let cost = position === null ? ZERO : costBasisOf(position, settlement);
  let realized = position === null ? ZERO : x(position.realized_pnl);
  let next: Dec;
  let avg: DecimalString | null;

  if (current.isZero() || current.isNeg() === signed.isNeg()) {
    // Open (the entry is the fill price) or add (the entry moves to the new average).
    next = current.plus(signed);
    cost = cost.plus(lotCost(qty, price, settlement));
    avg = current.isZero() ? fmt(price) : averageOf(next.abs(), cost, settlement);
  } else {
    // Reduce, close or flip.
    const openAbs = current.abs();
    const closed = XDec.min(qty, openAbs);
    const fullyClosed = closed.eq(openAbs);
    const closedCost = fullyClosed ? cost : XDec.min(cost, round(cost.times(closed).dividedBy(openAbs)));
    const sign = current.isNeg() ? -1 : 1;
    const pnl =
      settlement === 'LINEAR'
        ? closed.times(price).minus(closedCost)
        : closedCost.minus(lotCost(closed, price, settlement));
    realized = realized.plus(pnl.times(sign));
    cost = cost.minus(closedCost);
    const remainder = qty.minus(closed);
    if (remainder.gt(0)) {
      // Flip: the remainder opens a new position at the fill price.
      next = fill.side === 'BUY' ? remainder : remainder.negated();
      cost = lotCost(remainder, price, settlement);
      avg = fmt(price);
    } else {
      // Reduce keeps the entry price; closing to zero clears it.
      next = current.plus(signed);
      avg = next.isZero() ? null : (position?.avg_entry_price ?? averageOf(next.abs(), cost, settlement));
    }
  }
  if (next.isZero()) cost = ZERO;

  const venues: Record<string, DecimalString> = { ...(position?.venues ?? {}) };
  const venueQty = x(venues[fill.venue] ?? '0').plus(signed);
  if (venueQty.isZero()) delete venues[fill.venue];
  else venues[fill.venue] = fmt(venueQty);

  return {
    account_id: accountId,
    instrument_key: fill.instrument_key,
    quantity: fmt(next),
    avg_entry_price: avg,
    cost_basis: fmt(cost),
    realized_pnl: fmt(realized),
    fees: fmt((position === null ? ZERO : x(position.fees)).plus(x(fill.fee))),
    venues,
    last_fill_id: fill.fill_id,
    version: (position?.version ?? 0) + 1,
    ts_updated: fill.ts_event,
  };
}

/** LONG, SHORT or FLAT by the sign of the quantity. */
export function positionSide(position: Position | null): PositionSide {
  if (position === null) return 'FLAT';
  const q = x(position.quantity);
  return q.isZero() ? 'FLAT' : q.isNeg() ? 'SHORT' : 'LONG';
}

function checkMark(markPrice: string): Dec {
  const mark = x(markPrice);
  if (!mark.gt(0)) throw new RangeError(`mark price must be > 0, got ${markPrice}`);
  return mark;
}

/**
 * PnL of the open quantity at `markPrice` against the cost basis: linear
 * `sign × (|qty| × mark − cost)` (exact, quote currency); inverse `sign × (cost − |qty| / mark)`
 * (base currency, |qty| / mark rounded to 18 dp). "0" when flat.
 */
export function unrealizedPnl(
  position: Position,
  markPrice: DecimalString,
  opts?: SettlementOptions,
): DecimalString {
  const mark = checkMark(markPrice);
  const q = x(position.quantity);
  if (q.isZero()) return '0';
  const settlement = resolveSettlement(position.instrument_key, opts);
  const cost = costBasisOf(position, settlement);
  const qAbs = q.abs();
  const pnl =
    settlement === 'LINEAR' ? qAbs.times(mark).minus(cost) : cost.minus(lotCost(qAbs, mark, settlement));
  return fmt(q.isNeg() ? pnl.negated() : pnl);
}

/**
 * Absolute notional in the quote currency: linear |qty| × mark; inverse |qty| (the quantity of an
 * inverse contract is already quote-currency value, so it does not move with the mark).
 */
export function exposure(
  position: Position,
  markPrice: DecimalString,
  opts?: SettlementOptions,
): DecimalString {
  const mark = checkMark(markPrice);
  const qAbs = x(position.quantity).abs();
  return resolveSettlement(position.instrument_key, opts) === 'LINEAR' ? fmt(qAbs.times(mark)) : fmt(qAbs);
}
