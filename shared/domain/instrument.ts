/**
 * Instrument specifications (SPEC "Tick data" → `instruments/<YYYY-MM-DD>.json`) and exact rounding
 * of quantities and prices to an instrument's step and tick sizes.
 *
 * All arithmetic here is exact: decimals are converted to scaled BigInts (mantissa × 10^-scale), so
 * no result depends on `Dec`'s 40-digit precision or on binary floating point (0.1 + 0.2 never
 * bites). Functions take `string | number | Dec` (numbers via their shortest round-trip string, as
 * in {@link toDec}) and return `Dec`, except where a boundary value (a fee) is wanted as a canonical
 * decimal string.
 */
import { z } from 'zod';
import { Dec, type DecimalString, fmt, isDecimalLiteral, normaliseDecimal, toDec } from './decimal.ts';
import type { Issue } from './errors.ts';
import {
  canonicalInstrumentId,
  InstrumentKeySchema,
  isInstrumentId,
  parseInstrumentIdOrThrow,
  settlementOf,
} from './instrument-id.ts';
import type { InstrumentSpec, Liquidity, Side } from './types.ts';

export type DecInput = string | number | Dec;

// ---------------------------------------------------------------------------------------------
// Exact scaled-integer arithmetic
// ---------------------------------------------------------------------------------------------

/** value = m × 10^-s exactly. */
interface Scaled {
  m: bigint;
  s: number;
}

function scaled(x: DecInput): Scaled {
  const d = toDec(x);
  if (!d.isFinite()) throw new RangeError(`not a finite decimal: ${String(x)}`);
  const str = d.toFixed();
  const neg = str.startsWith('-');
  const [int = '0', frac = ''] = (neg ? str.slice(1) : str).split('.');
  const m = BigInt(int + frac);
  return { m: neg ? -m : m, s: frac.length };
}

function pow10(n: number): bigint {
  return 10n ** BigInt(n);
}

/** Bring two values to a common scale. */
function align(a: Scaled, b: Scaled): [bigint, bigint, number] {
  const s = Math.max(a.s, b.s);
  return [a.m * pow10(s - a.s), b.m * pow10(s - b.s), s];
}

function toDecScaled(m: bigint, s: number): Dec {
  const neg = m < 0n;
  let digits = (neg ? -m : m).toString();
  if (s > 0) {
    digits = digits.padStart(s + 1, '0');
    digits = `${digits.slice(0, digits.length - s)}.${digits.slice(digits.length - s)}`;
  }
  return new Dec((neg ? '-' : '') + digits);
}

/** Floor division toward -∞ for bigints (BigInt `/` truncates toward zero). */
function floorDiv(a: bigint, b: bigint): bigint {
  const q = a / b;
  return a % b !== 0n && a < 0n !== b < 0n ? q - 1n : q;
}

function positiveIncrement(inc: DecInput, what: string): Scaled {
  const v = scaled(inc);
  if (v.m <= 0n) throw new RangeError(`${what} must be greater than zero, got ${fmt(toDec(inc))}`);
  return v;
}

// ---------------------------------------------------------------------------------------------
// Rounding
// ---------------------------------------------------------------------------------------------

/**
 * Round a quantity toward zero to a whole multiple of `step` (> 0): the result is a multiple of
 * step, has the sign of the input (or is 0), |result| ≤ |qty| and |qty| − |result| < step.
 * Throws a RangeError when step ≤ 0.
 */
export function floorToStep(qty: DecInput, step: DecInput): Dec {
  const [x, i, s] = align(scaled(qty), positiveIncrement(step, 'step size'));
  return toDecScaled((x / i) * i, s);
}

export type TickRounding = 'down' | 'up' | 'nearest';

/**
 * Round a price to a multiple of `tick` (> 0). `down` = toward −∞ (floor), `up` = toward +∞
 * (ceiling), `nearest` = nearest multiple with ties to the EVEN multiple (banker's rounding, the
 * same rule `Dec` uses, so repeated roundings of mid-tick prices are unbiased): with tick 0.01,
 * 100.005 → 100 and 100.015 → 100.02. A price already on the grid is returned unchanged by every
 * mode. Throws a RangeError when tick ≤ 0.
 */
export function roundToTick(price: DecInput, tick: DecInput, mode: TickRounding): Dec {
  const [x, i, s] = align(scaled(price), positiveIncrement(tick, 'tick size'));
  const lo = floorDiv(x, i);
  const rem = x - lo * i; // 0 ≤ rem < i
  let n = lo;
  if (rem !== 0n) {
    if (mode === 'up') n = lo + 1n;
    else if (mode === 'nearest') {
      const twice = 2n * rem;
      if (twice > i || (twice === i && lo % 2n !== 0n)) n = lo + 1n;
    }
  }
  return toDecScaled(n * i, s);
}

/** True when `x` is a whole multiple of `inc` (> 0), exactly. Throws a RangeError when inc ≤ 0. */
export function isMultipleOf(x: DecInput, inc: DecInput): boolean {
  const [a, i] = align(scaled(x), positiveIncrement(inc, 'increment'));
  return a % i === 0n;
}

/** Exact product qty × price (signed as the inputs are). */
export function notional(qty: DecInput, price: DecInput): Dec {
  const q = scaled(qty);
  const p = scaled(price);
  return toDecScaled(q.m * p.m, q.s + p.s);
}

function cmp(a: DecInput, b: DecInput): -1 | 0 | 1 {
  const [x, y] = align(scaled(a), scaled(b));
  return x < y ? -1 : x > y ? 1 : 0;
}

function abs(x: DecInput): Dec {
  return toDec(x).abs();
}

/** Exact min-notional gate: |qty| × price ≥ minNotional (true at equality). */
export function meetsMinNotional(qty: DecInput, price: DecInput, minNotional: DecInput): boolean {
  return cmp(notional(abs(qty), price), minNotional) >= 0;
}

// ---------------------------------------------------------------------------------------------
// Contract size: how a quantity becomes money
// ---------------------------------------------------------------------------------------------

/**
 * How an instrument's quantity is valued:
 *
 * - `LINEAR` (spot, USDT/USDC-margined contracts, options whose premium is quoted in the asset
 *   they settle in — Deribit's BTC options quote BTC per BTC): value = qty × contract_size × price,
 *   in the currency the price is quoted in;
 * - `INVERSE` (coin-margined perpetuals and futures, e.g. Deribit `BTC-PERPETUAL` and OKX
 *   `BTC-USD-SWAP`): the quantity is worth qty × contract_size in the quote currency (USD) whatever
 *   the price, and qty × contract_size / price in the settlement coin.
 */
export type ValuationMode = 'LINEAR' | 'INVERSE';

/** Decimal places of an inverse coin value (qty × contract_size / price), rounded half-even. */
export const COIN_VALUE_DECIMAL_PLACES = 18;

/**
 * Valuation mode of an instrument id: INVERSE for inverse perpetuals and futures (an explicit
 * `@INV`, or a USD-quoted derivative, see `settlementOf`); LINEAR for everything else, including
 * options (their premium is quoted in the settlement asset) and an id that does not parse.
 */
export function valuationOf(instrumentKey: string): ValuationMode {
  if (!isInstrumentId(instrumentKey)) return 'LINEAR';
  const p = parseInstrumentIdOrThrow(instrumentKey);
  if (p.instrument_type === 'OPTION') return 'LINEAR';
  return settlementOf(p) === 'INVERSE' ? 'INVERSE' : 'LINEAR';
}

/** An instrument's contract size as a decimal string ("1" when the spec has none). */
export function contractSizeOf(
  spec: Pick<InstrumentSpec, 'contract_size'> | null | undefined,
): DecimalString {
  return spec?.contract_size ?? '1';
}

/**
 * Quote-currency notional of |qty| at `price`, exactly: linear |qty| × contract_size × price;
 * inverse |qty| × contract_size (an inverse contract is a fixed amount of the quote currency).
 */
export function quoteNotional(
  qty: DecInput,
  price: DecInput,
  contractSize: DecInput = '1',
  mode: ValuationMode = 'LINEAR',
): Dec {
  const units = notional(abs(qty), contractSize);
  return mode === 'INVERSE' ? units : notional(units, price);
}

/**
 * Value of |qty| at `price` in the asset the instrument settles in: linear |qty| × contract_size ×
 * price (exact); inverse |qty| × contract_size / price in the coin, rounded half-even to
 * {@link COIN_VALUE_DECIMAL_PLACES} places (the one rounding an inverse value ever gets).
 */
export function settlementValue(
  qty: DecInput,
  price: DecInput,
  contractSize: DecInput = '1',
  mode: ValuationMode = 'LINEAR',
): Dec {
  const units = notional(abs(qty), contractSize);
  if (mode === 'LINEAR') return notional(units, price);
  const p = scaled(price);
  if (p.m <= 0n) throw new RangeError(`price must be greater than zero, got ${fmt(toDec(price))}`);
  // units / p = u.m·10^-u.s / (p.m·10^-p.s); scale the numerator to COIN_VALUE_DECIMAL_PLACES + 1
  // digits and round half-even on the last one.
  const u = scaled(units);
  const s = COIN_VALUE_DECIMAL_PLACES;
  const num = u.m * pow10(s + p.s);
  const den = p.m * pow10(u.s);
  let q = num / den;
  const r = num - q * den;
  if (r * 2n > den || (r * 2n === den && q % 2n !== 0n)) q += 1n;
  return toDecScaled(q, s);
}

/**
 * Fee for a fill in the asset the instrument settles in, as a canonical decimal string (negative
 * for a rebate): settlement value × rate, where rate is the spec's maker or taker fee and the
 * value is {@link settlementValue} with the spec's contract size and the id's valuation mode — so a
 * spot or linear fill pays |qty| × contract_size × price × rate in the quote asset (exact), and an
 * inverse fill pays its coin value × rate in the coin. Not rounded to the venue's fee precision
 * (the venue adapter's concern).
 */
export function feeFor(
  spec: InstrumentSpec,
  qty: DecInput,
  price: DecInput,
  liquidity: Liquidity,
): DecimalString {
  const rate = liquidity === 'MAKER' ? spec.maker_fee : spec.taker_fee;
  const value = settlementValue(qty, price, contractSizeOf(spec), valuationOf(spec.instrument_key));
  return fmt(notional(value, rate));
}

// ---------------------------------------------------------------------------------------------
// Order checks
// ---------------------------------------------------------------------------------------------

function tryDec(x: DecInput): Dec | null {
  try {
    return toDec(x);
  } catch {
    return null;
  }
}

/** Quote-currency notional of an order in `spec` (contract size and valuation mode applied). */
export function specNotional(spec: InstrumentSpec, qty: DecInput, price: DecInput): Dec {
  return quoteNotional(qty, price, contractSizeOf(spec), valuationOf(spec.instrument_key));
}

function meetsSpecMinNotional(spec: InstrumentSpec, qty: DecInput, price: DecInput): boolean {
  return cmp(specNotional(spec, qty, price), spec.min_notional) >= 0;
}

/** How a notional was computed, for messages: `quantity 2 × contract size 0.01 × price 30000`. */
function notionalFormula(spec: InstrumentSpec, q: Dec, pxLabel: string, px: Dec): string {
  const cs = contractSizeOf(spec);
  const parts = [`quantity ${fmt(q)}`];
  if (cs !== '1') parts.push(`contract size ${cs}`);
  if (valuationOf(spec.instrument_key) === 'LINEAR') parts.push(`${pxLabel} ${fmt(px)}`);
  return parts.join(' × ');
}

/**
 * Check an order's quantity and price against an instrument's precision and limits. Returns every
 * problem found (empty when the order is fine), with paths `quantity`, `price` or `notional`:
 *
 * - quantity not positive, not a multiple of step size, below min_qty, above max_qty;
 * - price (a limit order) not positive or not a multiple of tick size;
 * - notional |qty| × price below min_notional, where price is the limit price, or for a market
 *   order (`price` null) the reference price when given (no notional check otherwise).
 *
 * Messages quote the numbers, e.g. `0.0015 is not a multiple of step size 0.001`.
 */
export function checkOrderPrecision(
  spec: InstrumentSpec,
  qty: DecInput,
  price: DecInput | null,
  refPrice?: DecInput,
): Issue[] {
  const issues: Issue[] = [];
  const q = tryDec(qty);
  if (q === null) {
    issues.push({ path: 'quantity', message: `${JSON.stringify(String(qty))} is not a decimal number` });
  } else if (q.lte(0)) {
    issues.push({ path: 'quantity', message: `quantity must be greater than zero, got ${fmt(q)}` });
  } else {
    if (!isMultipleOf(q, spec.step_size)) {
      issues.push({
        path: 'quantity',
        message: `${fmt(q)} is not a multiple of step size ${spec.step_size}`,
      });
    }
    if (cmp(q, spec.min_qty) < 0) {
      issues.push({ path: 'quantity', message: `${fmt(q)} is below min qty ${spec.min_qty}` });
    }
    if (cmp(q, spec.max_qty) > 0) {
      issues.push({ path: 'quantity', message: `${fmt(q)} is above max qty ${spec.max_qty}` });
    }
  }

  let px: Dec | null = null;
  let pxLabel = 'price';
  if (price !== null) {
    const p = tryDec(price);
    if (p === null) {
      issues.push({ path: 'price', message: `${JSON.stringify(String(price))} is not a decimal number` });
    } else if (p.lte(0)) {
      issues.push({ path: 'price', message: `price must be greater than zero, got ${fmt(p)}` });
    } else {
      if (!isMultipleOf(p, spec.tick_size)) {
        issues.push({ path: 'price', message: `${fmt(p)} is not a multiple of tick size ${spec.tick_size}` });
      }
      px = p;
    }
  } else if (refPrice !== undefined) {
    const r = tryDec(refPrice);
    if (r?.gt(0)) {
      px = r;
      pxLabel = 'reference price';
    }
  }
  if (q?.gt(0) && px !== null && !meetsSpecMinNotional(spec, q, px)) {
    issues.push({
      path: 'notional',
      message: `notional ${fmt(specNotional(spec, q, px))} (${notionalFormula(spec, q, pxLabel, px)}) is below min notional ${spec.min_notional}`,
    });
  }
  return issues;
}

export type QuantizeStatus =
  | 'OK'
  | 'ZERO_QUANTITY'
  | 'BELOW_MIN_QTY'
  | 'ABOVE_MAX_QTY'
  | 'ZERO_PRICE'
  | 'BELOW_MIN_NOTIONAL';

/**
 * Outcome of {@link quantizeOrder}: the quantised quantity and price in every case, `status: 'OK'`
 * when the quantised order passes the instrument's limits, otherwise the first limit it fails and
 * a message.
 */
export type QuantizedOrder =
  | { status: 'OK'; quantity: DecimalString; price: DecimalString | null; adjusted: boolean }
  | {
      status: Exclude<QuantizeStatus, 'OK'>;
      quantity: DecimalString;
      price: DecimalString | null;
      adjusted: boolean;
      message: string;
    };

/**
 * Make an order conform to an instrument: floor |qty| to the step size (never trade more than
 * asked) and round a limit price to the tick conservatively — BUY down, SELL up (never pay more /
 * receive less than the limit). A market order (`price` null) keeps a null price; its notional is
 * checked against `refPrice` when given. The result says whether anything changed (`adjusted`) and
 * whether the quantised order is still tradable (zero quantity, below min qty, above max qty, price
 * rounded to zero, below min notional — checked in that order). Never throws for a valid spec and
 * decimal inputs.
 */
export function quantizeOrder(
  spec: InstrumentSpec,
  qty: DecInput,
  price: DecInput | null,
  side: Side,
  refPrice?: DecInput,
): QuantizedOrder {
  const q0 = abs(qty);
  const q = floorToStep(q0, spec.step_size);
  let p: Dec | null = null;
  let adjusted = !q.eq(q0);
  if (price !== null) {
    const p0 = toDec(price);
    p = roundToTick(p0, spec.tick_size, side === 'BUY' ? 'down' : 'up');
    adjusted ||= !p.eq(p0);
  }
  const out = { quantity: fmt(q), price: p === null ? null : fmt(p), adjusted };
  const bad = (status: Exclude<QuantizeStatus, 'OK'>, message: string): QuantizedOrder => ({
    status,
    ...out,
    message,
  });
  if (q.isZero()) return bad('ZERO_QUANTITY', `${fmt(q0)} rounds to 0 at step size ${spec.step_size}`);
  if (cmp(q, spec.min_qty) < 0) return bad('BELOW_MIN_QTY', `${fmt(q)} is below min qty ${spec.min_qty}`);
  if (cmp(q, spec.max_qty) > 0) return bad('ABOVE_MAX_QTY', `${fmt(q)} is above max qty ${spec.max_qty}`);
  if (p?.lte(0)) {
    return bad(
      'ZERO_PRICE',
      `price ${fmt(toDec(price ?? 0))} rounds to ${fmt(p)} at tick size ${spec.tick_size}`,
    );
  }
  const px = p ?? (refPrice !== undefined ? toDec(refPrice) : null);
  if (px !== null && !meetsSpecMinNotional(spec, q, px)) {
    return bad(
      'BELOW_MIN_NOTIONAL',
      `notional ${fmt(specNotional(spec, q, px))} (${notionalFormula(spec, q, p === null ? 'reference price' : 'price', px)}) is below min notional ${spec.min_notional}`,
    );
  }
  return { status: 'OK', ...out };
}

// ---------------------------------------------------------------------------------------------
// Schemas
// ---------------------------------------------------------------------------------------------

/** A decimal given as a string or a finite number, normalised to a canonical decimal string. */
const DecimalField = z
  .union([z.string(), z.number()])
  .transform((v, ctx): DecimalString => {
    if (typeof v === 'string' ? !isDecimalLiteral(v) : !Number.isFinite(v)) {
      ctx.addIssue({ code: 'custom', message: `${JSON.stringify(v)} is not a decimal number` });
      return z.NEVER;
    }
    return normaliseDecimal(v);
  })
  // The pipe gives the output side a plain string type, so JSON Schema export works for io 'output' too.
  .pipe(z.string())
  .describe('decimal string (a number is accepted and normalised)');

const DECIMAL_FIELDS = [
  'tick_size',
  'step_size',
  'min_qty',
  'max_qty',
  'min_notional',
  'maker_fee',
  'taker_fee',
  'contract_size',
] as const;

/**
 * One entry of `instruments/<YYYY-MM-DD>.json`. Decimals may be strings or numbers and come out as
 * canonical decimal strings. Rules: tick_size > 0, step_size > 0, min_qty ≥ 0, max_qty > 0 and
 * ≥ min_qty, min_notional ≥ 0, −1 < maker_fee, taker_fee < 1 (negative = rebate), contract_size
 * (optional, default 1) > 0. min_notional is in the quote currency (see {@link specNotional}). Unknown keys are
 * dropped.
 */
export const InstrumentSpecSchema = z
  .object({
    instrument_key: InstrumentKeySchema,
    tick_size: DecimalField,
    step_size: DecimalField,
    min_qty: DecimalField,
    max_qty: DecimalField,
    min_notional: DecimalField,
    maker_fee: DecimalField,
    taker_fee: DecimalField,
    contract_size: DecimalField.optional().describe(
      'value of one unit of quantity (default 1): base units per contract for linear contracts (OKX BTC-USDT-SWAP: 0.01), quote units per contract for inverse ones (OKX BTC-USD-SWAP: 100), the multiplier of an IBKR future',
    ),
  })
  .superRefine((s, ctx) => {
    const add = (path: (typeof DECIMAL_FIELDS)[number], message: string) =>
      ctx.addIssue({ code: 'custom', path: [path], message });
    if (cmp(s.tick_size, 0) <= 0) add('tick_size', `tick size must be greater than zero, got ${s.tick_size}`);
    if (cmp(s.step_size, 0) <= 0) add('step_size', `step size must be greater than zero, got ${s.step_size}`);
    if (cmp(s.min_qty, 0) < 0) add('min_qty', `min qty must not be negative, got ${s.min_qty}`);
    if (cmp(s.max_qty, 0) <= 0) add('max_qty', `max qty must be greater than zero, got ${s.max_qty}`);
    else if (cmp(s.max_qty, s.min_qty) < 0) {
      add('max_qty', `max qty ${s.max_qty} is below min qty ${s.min_qty}`);
    }
    if (cmp(s.min_notional, 0) < 0)
      add('min_notional', `min notional must not be negative, got ${s.min_notional}`);
    if (s.contract_size !== undefined && cmp(s.contract_size, 0) <= 0) {
      add('contract_size', `contract size must be greater than zero, got ${s.contract_size}`);
    }
    for (const f of ['maker_fee', 'taker_fee'] as const) {
      if (cmp(s[f], -1) <= 0 || cmp(s[f], 1) >= 0) {
        add(
          f,
          `${f.replace('_', ' ')} ${s[f]} must be greater than -1 and less than 1 (a fraction of notional)`,
        );
      }
    }
  });

/**
 * A whole `instruments/<YYYY-MM-DD>.json` file: an array of specs with no instrument listed twice.
 * Two keys that name the same instrument (e.g. a perpetual with and without its redundant `@LIN`)
 * count as duplicates; the issue sits on the later entry (`[3].instrument_key`).
 */
export const InstrumentFileSchema = z.array(InstrumentSpecSchema).superRefine((specs, ctx) => {
  const seen = new Map<string, number>();
  specs.forEach((spec, i) => {
    const key = canonicalInstrumentId(spec.instrument_key);
    const first = seen.get(key);
    if (first === undefined) seen.set(key, i);
    else {
      ctx.addIssue({
        code: 'custom',
        path: [i, 'instrument_key'],
        message: `duplicate instrument_key "${spec.instrument_key}" (already at [${first}])`,
      });
    }
  });
});

// Compile-time check: the schema's output is the domain type.
const _specShape: (x: z.output<typeof InstrumentSpecSchema>) => InstrumentSpec = (x) => x;
void _specShape;

/** Specs keyed by canonical instrument id; look up with {@link findInstrument}. */
export type InstrumentIndex = ReadonlyMap<string, InstrumentSpec>;

/** Index a (validated) instrument file by canonical id. */
export function indexInstruments(specs: readonly InstrumentSpec[]): InstrumentIndex {
  return new Map(specs.map((s) => [canonicalInstrumentId(s.instrument_key), s]));
}

/** The spec for an instrument in either of its spellings, or undefined. Throws on an invalid id. */
export function findInstrument(index: InstrumentIndex, key: string): InstrumentSpec | undefined {
  return index.get(canonicalInstrumentId(key));
}

// ---------------------------------------------------------------------------------------------
// Which file applies
// ---------------------------------------------------------------------------------------------

const ISO_DAY_RE = /^(\d{4})-(\d{2})-(\d{2})$/;

function isIsoDay(s: string): boolean {
  const m = ISO_DAY_RE.exec(s);
  if (!m) return false;
  const y = Number(m[1]);
  const mo = Number(m[2]);
  const d = Number(m[3]);
  const dim =
    mo === 2
      ? (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0
        ? 29
        : 28
      : [4, 6, 9, 11].includes(mo)
        ? 30
        : 31;
  return mo >= 1 && mo <= 12 && d >= 1 && d <= dim;
}

/**
 * Which `instruments/<date>.json` applies on `day` (SPEC: the latest file on or before a day):
 * the greatest date in `availableDates` that is ≤ `day`, or null when every file is later (or
 * there is none). Dates are `YYYY-MM-DD`; entries that are not real dates in that form are ignored
 * (a listing may hold other files). Throws a RangeError when `day` itself is not one.
 */
export function selectInstrumentFile(availableDates: readonly string[], day: string): string | null {
  if (!isIsoDay(day))
    throw new RangeError(`day must be a date written YYYY-MM-DD, got ${JSON.stringify(day)}`);
  let best: string | null = null;
  for (const d of availableDates) {
    if (isIsoDay(d) && d <= day && (best === null || d > best)) best = d;
  }
  return best;
}
