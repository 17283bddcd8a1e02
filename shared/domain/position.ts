/**
 * Netting position accounting: one signed quantity per (account, instrument), exact decimals.
 *
 * The position keeps an unsigned `cost_basis` of its open quantity in the settlement asset, with
 * cs the instrument's contract size (`SettlementOptions.contract_size`, default 1):
 * - LINEAR (spot, USDT-margined, options priced in their settlement asset): Σ qty × cs × price of
 *   the open lots, exact;
 * - INVERSE (coin-margined perpetuals and futures, quantity in contracts worth cs quote units,
 *   e.g. USD): Σ qty × cs / price in the coin, each fill's value rounded half-even to 18 places once.
 *
 * `avg_entry_price` is the fill price when a position opens (from flat or through a flip), is
 * re-derived from the cost when adding (linear: cost / (|qty| × cs), the VWAP; inverse:
 * |qty| × cs / cost, the harmonic mean; rounded half-even to 18 decimal places), and does not move
 * when reducing. It is for display and risk. Realised PnL is computed from the cost basis and each
 * fill's value v (above), so the books balance EXACTLY for both kinds, in the settlement asset:
 *
 *   realized_pnl + unrealizedPnl(mark) = Σ_fills ±v − sign(qty) × value(|qty|, mark)
 *
 * with + for sells and − for buys (linear: cash received) or + for buys and − for sells (inverse:
 * coin value of the USD contracts bought), for every sequence of fills. A fill that flips the
 * position splits its v between the closing and the opening part; a partial reduce splits the cost
 * basis; both roundings move value between realised and unrealised but never create or lose any.
 *
 * Rules:
 * - opening or adding moves the average entry (VWAP, or harmonic for inverse);
 * - reducing realises `closed × cs × (exit − entry) × sign` (linear) or
 *   `closed × cs × (1/entry − 1/exit) × sign` (inverse), sign +1 for a long, −1 for a short;
 * - closing to zero sets `avg_entry_price` null and `cost_basis` "0";
 * - a fill through zero realises the closing part and opens the remainder at the fill price;
 * - fees accumulate in `fees` (signed: a rebate is negative) and are NOT netted into
 *   `realized_pnl`: net PnL = realized_pnl − fees (when the fee currency is the PnL currency);
 * - `venues` holds the signed quantity per venue (entries that reach zero are removed);
 * - each fill bumps `version` by one, sets `ts_updated = fill.ts_event` and `last_fill_id`;
 *   re-applying the fill equal to `last_fill_id` returns the position unchanged (same object).
 */
import { Dec, type DecimalString, fmt, toDec } from './decimal.ts';
import { settlementValue, valuationOf } from './instrument.ts';
import type { Fill, Position } from './types.ts';

export type PositionSettlement = 'LINEAR' | 'INVERSE';
export type PositionSide = 'LONG' | 'SHORT' | 'FLAT';

export interface SettlementOptions {
  /**
   * Default: from the instrument key (`@INV`, or a USD-quoted perpetual or future → INVERSE; else
   * LINEAR, options included: their premium is quoted in the asset they settle in).
   */
  settlement?: PositionSettlement | undefined;
  /** The instrument's contract size (`InstrumentSpec.contract_size`); default 1. */
  contract_size?: DecimalString | undefined;
}

/** Decimal places of derived and divided values (avg_entry_price, inverse values, split cost). */
export const POSITION_DECIMAL_PLACES = 18;

const XDec = Dec.clone({ precision: 100 });
const ZERO = new XDec(0);
const x = (v: string): Dec => new XDec(toDec(v));
const round = (d: Dec): Dec => d.toDecimalPlaces(POSITION_DECIMAL_PLACES, XDec.ROUND_HALF_EVEN);

/**
 * How positions in `instrumentKey` are valued: INVERSE for coin-margined perpetuals and futures,
 * else LINEAR (see `valuationOf` in instrument.ts).
 */
export function settlementFor(instrumentKey: string): PositionSettlement {
  return valuationOf(instrumentKey);
}

interface Terms {
  settlement: PositionSettlement;
  contractSize: string;
}

function resolveTerms(instrumentKey: string, opts: SettlementOptions | undefined): Terms {
  return {
    settlement: opts?.settlement ?? settlementFor(instrumentKey),
    contractSize: opts?.contract_size ?? '1',
  };
}

/**
 * Value of `qty` at `price` in the settlement asset: qty × contract size × price (linear, exact) or
 * qty × contract size / price rounded half-even to 18 dp (inverse).
 */
function lotCost(qty: Dec, price: Dec, t: Terms): Dec {
  return x(fmt(settlementValue(qty, price, t.contractSize, t.settlement)));
}

function costBasisOf(p: Position, t: Terms): Dec {
  if (p.cost_basis !== undefined) return x(p.cost_basis);
  const qty = x(p.quantity).abs();
  if (qty.isZero() || p.avg_entry_price === null) return ZERO;
  return lotCost(qty, x(p.avg_entry_price), t);
}

function averageOf(qtyAbs: Dec, cost: Dec, t: Terms): DecimalString | null {
  if (qtyAbs.isZero()) return null;
  const units = qtyAbs.times(x(t.contractSize));
  if (t.settlement === 'LINEAR') return fmt(round(cost.dividedBy(units)));
  return cost.isZero() ? null : fmt(round(units.dividedBy(cost)));
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
  const t = resolveTerms(fill.instrument_key, opts);
  // The fill's value in the settlement asset, computed once: a fill that closes and reopens splits
  // this value between its two parts, so no rounding creates or loses value (see the invariant).
  const fillValue = lotCost(qty, price, t);

  const signed = fill.side === 'BUY' ? qty : qty.negated();
  const current = position === null ? ZERO : x(position.quantity);
  let cost = position === null ? ZERO : costBasisOf(position, t);
  let realized = position === null ? ZERO : x(position.realized_pnl);
  let next: Dec;
  let avg: DecimalString | null;

  if (current.isZero() || current.isNeg() === signed.isNeg()) {
    // Open (the entry is the fill price) or add (the entry moves to the new average).
    next = current.plus(signed);
    cost = cost.plus(fillValue);
    avg = current.isZero() ? fmt(price) : averageOf(next.abs(), cost, t);
  } else {
    // Reduce, close or flip.
    const openAbs = current.abs();
    const closed = XDec.min(qty, openAbs);
    const fullyClosed = closed.eq(openAbs);
    const closedCost = fullyClosed ? cost : XDec.min(cost, round(cost.times(closed).dividedBy(openAbs)));
    const sign = current.isNeg() ? -1 : 1;
    const remainder = qty.minus(closed);
    // The closing part's share of the fill's value (all of it unless the fill flips the position).
    const closedValue = remainder.isZero() ? fillValue : round(fillValue.times(closed).dividedBy(qty));
    const pnl = t.settlement === 'LINEAR' ? closedValue.minus(closedCost) : closedCost.minus(closedValue);
    realized = realized.plus(pnl.times(sign));
    cost = cost.minus(closedCost);
    if (remainder.gt(0)) {
      // Flip: the remainder opens a new position at the fill price, with the rest of the value.
      next = fill.side === 'BUY' ? remainder : remainder.negated();
      cost = fillValue.minus(closedValue);
      avg = fmt(price);
    } else {
      // Reduce keeps the entry price; closing to zero clears it.
      next = current.plus(signed);
      avg = next.isZero() ? null : (position?.avg_entry_price ?? averageOf(next.abs(), cost, t));
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
 * `sign × (|qty| × cs × mark − cost)` (exact, quote currency); inverse
 * `sign × (cost − |qty| × cs / mark)` (settlement coin, the mark value rounded to 18 dp). "0" when flat.
 */
export function unrealizedPnl(
  position: Position,
  markPrice: DecimalString,
  opts?: SettlementOptions,
): DecimalString {
  const mark = checkMark(markPrice);
  const q = x(position.quantity);
  if (q.isZero()) return '0';
  const t = resolveTerms(position.instrument_key, opts);
  const cost = costBasisOf(position, t);
  const markValue = lotCost(q.abs(), mark, t);
  const pnl = t.settlement === 'LINEAR' ? markValue.minus(cost) : cost.minus(markValue);
  return fmt(q.isNeg() ? pnl.negated() : pnl);
}

/**
 * Absolute notional in the quote currency: linear |qty| × cs × mark; inverse |qty| × cs (an inverse
 * contract is a fixed quote-currency value, so it does not move with the mark).
 */
export function exposure(
  position: Position,
  markPrice: DecimalString,
  opts?: SettlementOptions,
): DecimalString {
  const mark = checkMark(markPrice);
  const t = resolveTerms(position.instrument_key, opts);
  const units = x(position.quantity).abs().times(x(t.contractSize));
  return t.settlement === 'LINEAR' ? fmt(units.times(mark)) : fmt(units);
}
