/**
 * Exact decimal arithmetic for money and quantities.
 *
 * `Dec` is a decimal.js constructor with enough precision for any price × quantity we handle
 * (40 significant digits) so that no operation on boundary values silently rounds. Values cross
 * every boundary (HTTP, Pub/Sub, Firestore, config) as canonical decimal strings: no exponent,
 * no leading '+', no trailing zeros after the point ("1.50" → "1.5", "2.0" → "2").
 */
import { Decimal as DecimalJs } from 'decimal.js';

export const Dec = DecimalJs.clone({
  precision: 40,
  rounding: DecimalJs.ROUND_HALF_EVEN,
  toExpNeg: -40,
  toExpPos: 40,
});
export type Dec = InstanceType<typeof Dec>;

/** A canonical decimal string: optional '-', digits, optional '.' and digits (no trailing zeros). */
export type DecimalString = string;

const DECIMAL_RE = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;

/** True when `s` is a plain or exponent decimal literal that `Dec` accepts. */
export function isDecimalLiteral(s: string): boolean {
  return DECIMAL_RE.test(s.trim());
}

/** Parse a decimal string or a finite number; throws a RangeError naming the problem otherwise. */
export function toDec(value: string | number | Dec): Dec {
  if (value instanceof Dec) return value;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new RangeError(`not a finite number: ${value}`);
    // String(n) is the shortest round-trip representation, so 0.1 → "0.1", not 0.1000000000000000055…
    return new Dec(String(value));
  }
  const s = value.trim();
  if (!DECIMAL_RE.test(s)) throw new RangeError(`not a decimal number: ${JSON.stringify(value)}`);
  return new Dec(s);
}

/** Canonical string form of a decimal (see module doc). */
export function fmt(d: Dec): DecimalString {
  const s = d.toFixed();
  return s === '-0' ? '0' : s;
}

/** Normalise a decimal string or number to its canonical string form. */
export function normaliseDecimal(value: string | number): DecimalString {
  return fmt(toDec(value));
}

/** Number of digits after the decimal point in the canonical form (0 for integers). */
export function decimalPlaces(value: string | Dec): number {
  return toDec(value).decimalPlaces();
}

export const ZERO = new Dec(0);
