/**
 * Rebalance planning: target weights → orders. Pure and exact (decimal strings in and out, no
 * floating point, no clock, no I/O), so a backtest, SHADOW and LIVE plan a rebalance identically.
 *
 * The rule (docs/rebalancing.md has a worked example):
 *
 * 1. `equity = cash[quote] + Σ position × price` in the portfolio's quote currency. A held position
 *    without a price, or no cash balance in the quote currency, makes equity uncomputable: the plan
 *    is refused (never a silent 0).
 * 2. `investable = equity × (1 − cash_buffer)`.
 * 3. `target_qty = investable × weight / price`, rounded down (toward zero) to the step size.
 * 4. The order is `target_qty − current`, its quantity rounded down to the step size; skipped with
 *    a reason when it rounds to zero, is under `min_qty` or above `max_qty`, when `quantity × price`
 *    is under `min_notional`, or (optionally) when its notional is under `min_trade_weight × equity`.
 * 5. Sells before buys. Buys never spend more than the cash there will be after the sells (at the
 *    plan's prices, each side paying its taker fee). When short, every buy quantity is multiplied by
 *    one factor `available / needed` and rounded down to its step again (and re-checked against
 *    min qty / min notional).
 *
 * An instrument held but absent from the weights has weight 0: its position is closed.
 */
import { Dec, type DecimalString, fmt, toDec, ZERO } from '../domain/decimal.ts';
import { type Issue, type Result, ValidationError } from '../domain/errors.ts';
import { floorToStep, notional } from '../domain/instrument.ts';
import { canonicalInstrumentId, parseInstrumentId } from '../domain/instrument-id.ts';
import type { InstrumentSpec, Side } from '../domain/types.ts';

export const DEFAULT_CASH_BUFFER = '0.02';

export interface RebalanceSettings {
  /** Fraction of equity kept in cash, default {@link DEFAULT_CASH_BUFFER}. */
  cash_buffer: DecimalString;
  /** The portfolio's quote currency (the cash that buys and values everything), e.g. `USDT`. */
  quote_currency: string;
  /**
   * No-trade band: an order whose notional is under `min_trade_weight × equity` is skipped
   * (`WITHIN_BAND`). `"0"` (the default) trades every difference the instrument's limits allow.
   */
  min_trade_weight: DecimalString;
}

export interface Holdings {
  /** Cash balance per currency. */
  cash: Readonly<Record<string, DecimalString>>;
  /** Position quantity per instrument key. */
  positions: Readonly<Record<string, DecimalString>>;
}

export interface RebalanceInput {
  /** Target weight per instrument key, each ≥ 0, sum ≤ 1 (the rest is cash). */
  weights: Readonly<Record<string, DecimalString>>;
  holdings: Holdings;
  /** Price per instrument key (a mid, last trade or close) in the quote currency. */
  prices: Readonly<Record<string, DecimalString>>;
  /** Looks up the spec of an instrument by its canonical key. */
  instrument: (canonicalKey: string) => InstrumentSpec | undefined;
  settings: RebalanceSettings;
}

export type SkipReason =
  | 'AT_TARGET'
  | 'ZERO_QUANTITY'
  | 'BELOW_MIN_QTY'
  | 'ABOVE_MAX_QTY'
  | 'BELOW_MIN_NOTIONAL'
  | 'WITHIN_BAND'
  | 'NO_PRICE'
  | 'UNKNOWN_INSTRUMENT'
  | 'NOT_A_SPOT_PAIR'
  | 'OTHER_QUOTE_CURRENCY';

export interface PlannedOrder {
  instrument_key: string;
  side: Side;
  quantity: DecimalString;
  /** The price the plan used (the order's reference price). */
  price: DecimalString;
  notional: DecimalString;
  current_qty: DecimalString;
  target_qty: DecimalString;
  target_weight: DecimalString;
  /** True when the buy was scaled down to the cash available. */
  scaled: boolean;
}

export interface SkippedInstrument {
  instrument_key: string;
  reason: SkipReason;
  message: string;
  current_qty: DecimalString;
  target_qty: DecimalString | null;
  target_weight: DecimalString;
}

export interface RebalancePlan {
  quote_currency: string;
  equity: DecimalString;
  investable: DecimalString;
  cash_before: DecimalString;
  /** Cash after every order fills at the plan's prices, taker fees paid. Never negative. */
  cash_after: DecimalString;
  /** Taker fees of every order at the plan's prices. */
  fees: DecimalString;
  /** The factor every buy was multiplied by (`"1"` when the cash sufficed). */
  buy_scale: DecimalString;
  /** Sells first, then buys; each group sorted by instrument key. */
  orders: PlannedOrder[];
  skipped: SkippedInstrument[];
  /** Cash balances in other currencies: not part of equity and not spent. */
  other_cash: Record<string, DecimalString>;
}

export const REBALANCE_UNPLANNABLE = 'REBALANCE_UNPLANNABLE';

interface Line {
  key: string;
  weight: Dec;
  current: Dec;
  price: Dec | null;
  spec: InstrumentSpec | undefined;
  unusable: { reason: SkipReason; message: string } | null;
}

function decOf(v: DecimalString): Dec {
  return toDec(v);
}

function quoteOf(key: string): { quote: string; spot: boolean } | null {
  const r = parseInstrumentId(key);
  if (!r.success) return null;
  return { quote: r.data.quote, spot: r.data.instrument_type === 'SPOT_PAIR' };
}

/** Floor `amount / (price × step)` exactly, times step: the largest multiple of step worth ≤ amount. */
function qtyForAmount(amount: Dec, price: Dec, step: DecimalString): Dec {
  if (amount.lte(0)) return ZERO;
  return amount.divToInt(price.times(step)).times(step);
}

/**
 * Plan a rebalance. Returns the plan, or a ValidationError (code REBALANCE_UNPLANNABLE) naming every
 * input that makes equity uncomputable: a held position with no price, no cash balance in the quote
 * currency, a weight or position that is not a decimal.
 */
export function planRebalance(input: RebalanceInput): Result<RebalancePlan> {
  const { settings } = input;
  const issues: Issue[] = [];
  const quote = settings.quote_currency;
  const buffer = toDec(settings.cash_buffer);
  const band = toDec(settings.min_trade_weight);
  if (buffer.lt(0) || buffer.gte(1)) {
    issues.push({ path: 'settings.cash_buffer', message: `must be ≥ 0 and < 1, got ${fmt(buffer)}` });
  }
  if (band.lt(0)) issues.push({ path: 'settings.min_trade_weight', message: 'must not be negative' });

  const cashRaw = input.holdings.cash[quote];
  if (cashRaw === undefined) {
    issues.push({
      path: `holdings.cash.${quote}`,
      message: `no cash balance in the quote currency ${quote}: equity cannot be computed`,
    });
  }
  const cash = cashRaw === undefined ? ZERO : decOf(cashRaw);
  const otherCash: Record<string, DecimalString> = {};
  for (const [ccy, v] of Object.entries(input.holdings.cash)) if (ccy !== quote) otherCash[ccy] = v;

  // One line per instrument in the weights or the positions, keyed canonically.
  const lines = new Map<string, Line>();
  const priceOf = new Map<string, Dec>();
  for (const [k, v] of Object.entries(input.prices)) {
    const p = decOf(v);
    if (p.gt(0)) priceOf.set(canonicalInstrumentId(k), p);
  }
  const lineFor = (raw: string): Line => {
    const key = canonicalInstrumentId(raw);
    let line = lines.get(key);
    if (!line) {
      line = {
        key,
        weight: ZERO,
        current: ZERO,
        price: priceOf.get(key) ?? null,
        spec: input.instrument(key),
        unusable: null,
      };
      lines.set(key, line);
    }
    return line;
  };
  let weightSum = ZERO;
  for (const [k, w] of Object.entries(input.weights)) {
    const d = decOf(w);
    if (d.lt(0)) issues.push({ path: `weights.${k}`, message: `must not be negative, got ${fmt(d)}` });
    const line = lineFor(k);
    line.weight = line.weight.plus(d);
    weightSum = weightSum.plus(d);
  }
  if (weightSum.gt(1)) {
    issues.push({ path: 'weights', message: `weights sum to ${fmt(weightSum)}, more than 1` });
  }
  for (const [k, q] of Object.entries(input.holdings.positions)) {
    const line = lineFor(k);
    line.current = line.current.plus(decOf(q));
  }

  let equity = cash;
  for (const line of lines.values()) {
    if (line.current.isZero()) continue;
    if (line.price === null) {
      issues.push({
        path: `prices.${line.key}`,
        message: `no price for held position ${fmt(line.current)}: equity cannot be computed`,
      });
      continue;
    }
    equity = equity.plus(notional(line.current, line.price));
  }
  if (issues.length > 0) return { success: false, error: new ValidationError(REBALANCE_UNPLANNABLE, issues) };

  const investable = notional(equity, Dec.sub(1, buffer));
  const minTrade = notional(equity, band);
  const skipped: SkippedInstrument[] = [];
  const sells: PlannedOrder[] = [];
  const wantBuys: Array<{ line: Line; spec: InstrumentSpec; price: Dec; qty: Dec; target: Dec }> = [];

  const skip = (line: Line, target: Dec | null, reason: SkipReason, message: string) =>
    skipped.push({
      instrument_key: line.key,
      reason,
      message,
      current_qty: fmt(line.current),
      target_qty: target === null ? null : fmt(target),
      target_weight: fmt(line.weight),
    });

  /** The first limit `qty` fails, or null when it is a tradable order. */
  const limitFailure = (
    spec: InstrumentSpec,
    qty: Dec,
    price: Dec,
    raw: Dec,
  ): { reason: SkipReason; message: string } | null => {
    if (qty.isZero()) {
      return { reason: 'ZERO_QUANTITY', message: `${fmt(raw)} rounds to 0 at step size ${spec.step_size}` };
    }
    if (qty.lt(spec.min_qty)) {
      return { reason: 'BELOW_MIN_QTY', message: `${fmt(qty)} is below min qty ${spec.min_qty}` };
    }
    if (qty.gt(spec.max_qty)) {
      return { reason: 'ABOVE_MAX_QTY', message: `${fmt(qty)} is above max qty ${spec.max_qty}` };
    }
    const n = notional(qty, price);
    if (n.lt(spec.min_notional)) {
      return {
        reason: 'BELOW_MIN_NOTIONAL',
        message: `notional ${fmt(n)} (${fmt(qty)} × ${fmt(price)}) is below min notional ${spec.min_notional}`,
      };
    }
    if (n.lt(minTrade)) {
      return {
        reason: 'WITHIN_BAND',
        message: `notional ${fmt(n)} is under min_trade_weight × equity = ${fmt(minTrade)}`,
      };
    }
    return null;
  };

  const sorted = [...lines.values()].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  for (const line of sorted) {
    const q = quoteOf(line.key);
    if (line.spec === undefined) {
      skip(line, null, 'UNKNOWN_INSTRUMENT', 'no instrument definition for this key');
      continue;
    }
    if (q === null || !q.spot) {
      skip(line, null, 'NOT_A_SPOT_PAIR', 'only spot pairs are rebalanced by weight');
      continue;
    }
    if (q.quote !== quote) {
      skip(line, null, 'OTHER_QUOTE_CURRENCY', `quoted in ${q.quote}, the portfolio in ${quote}`);
      continue;
    }
    if (line.price === null) {
      skip(line, null, 'NO_PRICE', 'no price for this instrument');
      continue;
    }
    const spec = line.spec;
    const price = line.price;
    const target = qtyForAmount(notional(investable, line.weight), price, spec.step_size);
    const delta = target.minus(line.current);
    if (delta.isZero()) {
      skip(line, target, 'AT_TARGET', `holds ${fmt(target)}, the target`);
      continue;
    }
    const qty = floorToStep(delta.abs(), spec.step_size);
    const fail = limitFailure(spec, qty, price, delta.abs());
    if (fail) {
      skip(line, target, fail.reason, fail.message);
      continue;
    }
    if (delta.lt(0)) {
      sells.push({
        instrument_key: line.key,
        side: 'SELL',
        quantity: fmt(qty),
        price: fmt(price),
        notional: fmt(notional(qty, price)),
        current_qty: fmt(line.current),
        target_qty: fmt(target),
        target_weight: fmt(line.weight),
        scaled: false,
      });
    } else {
      wantBuys.push({ line, spec, price, qty, target });
    }
  }

  // Cash after the sells, each paying its taker fee.
  let fees = ZERO;
  let cashAfterSells = cash;
  for (const s of sells) {
    const spec = input.instrument(s.instrument_key) as InstrumentSpec;
    const n = toDec(s.notional);
    const fee = notional(n, spec.taker_fee);
    fees = fees.plus(fee);
    cashAfterSells = cashAfterSells.plus(n).minus(fee);
  }
  const costOf = (spec: InstrumentSpec, qty: Dec, price: Dec) =>
    notional(notional(qty, price), Dec.add(1, spec.taker_fee));
  let needed = ZERO;
  for (const b of wantBuys) needed = needed.plus(costOf(b.spec, b.qty, b.price));
  const available = Dec.max(cashAfterSells, 0);
  let scale = new Dec(1);
  if (needed.gt(available)) scale = needed.isZero() ? ZERO : available.div(needed);
  // The scale is a 40-digit quotient: round it DOWN so the rounded factor never exceeds the exact one.
  scale = scale.toDecimalPlaces(30, Dec.ROUND_DOWN);

  const buys: PlannedOrder[] = [];
  let cashAfter = cashAfterSells;
  for (const b of wantBuys) {
    let qty = b.qty;
    const scaled = scale.lt(1);
    if (scaled) {
      qty = floorToStep(notional(b.qty, scale), b.spec.step_size);
      const fail = limitFailure(b.spec, qty, b.price, notional(b.qty, scale));
      if (fail) {
        skip(b.line, b.target, fail.reason, `scaled to the cash available (×${fmt(scale)}): ${fail.message}`);
        continue;
      }
    }
    const n = notional(qty, b.price);
    const fee = notional(n, b.spec.taker_fee);
    fees = fees.plus(fee);
    cashAfter = cashAfter.minus(n).minus(fee);
    buys.push({
      instrument_key: b.line.key,
      side: 'BUY',
      quantity: fmt(qty),
      price: fmt(b.price),
      notional: fmt(n),
      current_qty: fmt(b.line.current),
      target_qty: fmt(b.target),
      target_weight: fmt(b.line.weight),
      scaled,
    });
  }
  skipped.sort((a, b) => (a.instrument_key < b.instrument_key ? -1 : 1));

  return {
    success: true,
    data: {
      quote_currency: quote,
      equity: fmt(equity),
      investable: fmt(investable),
      cash_before: fmt(cash),
      cash_after: fmt(cashAfter),
      fees: fmt(fees),
      buy_scale: fmt(scale),
      orders: [...sells, ...buys],
      skipped,
      other_cash: otherCash,
    },
  };
}

/** Holdings after every order of a plan fills at the plan's prices, taker fees paid in the quote. */
export function applyPlanFills(plan: RebalancePlan, holdings: Holdings): Holdings {
  const positions = new Map<string, Dec>();
  for (const [k, v] of Object.entries(holdings.positions)) {
    const key = canonicalInstrumentId(k);
    positions.set(key, (positions.get(key) ?? ZERO).plus(v));
  }
  for (const o of plan.orders) {
    const signed = o.side === 'BUY' ? toDec(o.quantity) : toDec(o.quantity).neg();
    positions.set(o.instrument_key, (positions.get(o.instrument_key) ?? ZERO).plus(signed));
  }
  const out: Record<string, DecimalString> = {};
  for (const [k, v] of positions) if (!v.isZero()) out[k] = fmt(v);
  return { cash: { ...holdings.cash, [plan.quote_currency]: plan.cash_after }, positions: out };
}
