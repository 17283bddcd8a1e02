/**
 * ccxt hands out JavaScript numbers (`0.1 + 0.2 === 0.30000000000000004`); the platform speaks exact
 * decimal strings. Every number leaving the adapter goes through here:
 *
 * - a value that should sit on a grid (a price on the tick, a quantity on the step) and is within
 *   float noise of a grid point (relative 1e-11) becomes that grid point exactly;
 * - any other value (an average price between ticks, a fee, a balance) is cut to 15 significant
 *   digits — every double is within its own noise of its 15-digit form, and no venue quotes more.
 *
 * Strings (ccxt sometimes passes them through) are parsed exactly and never rounded.
 */
import { Dec, type DecimalString, fmt, toDec } from '../../shared/domain/decimal.ts';

/** Relative tolerance under which a value is float noise away from a grid point. */
const GRID_TOLERANCE = 1e-11;

/** A grid: the decimal places of its increment (from a tick or step size), or null (no grid). */
export type Grid = { places: number; increment: Dec } | null;

/** Grid from a tick/step size in canonical decimal form; null for null. */
export function gridOf(increment: DecimalString | null): Grid {
  if (increment === null) return null;
  const d = toDec(increment);
  if (!d.gt(0)) return null;
  return { places: d.decimalPlaces(), increment: d };
}

/** 15 significant digits, canonical. */
function significant(x: number): DecimalString {
  return fmt(new Dec(x.toPrecision(15)));
}

/**
 * Exact decimal string for a ccxt number (see module doc). `grid` null → 15 significant digits.
 * Throws a RangeError for NaN and infinities.
 */
export function decimalFromCcxt(x: number | string, grid: Grid = null): DecimalString {
  if (typeof x === 'string') return fmt(toDec(x));
  if (!Number.isFinite(x)) throw new RangeError(`not a finite number: ${x}`);
  if (x === 0) return '0';
  const exact = new Dec(String(x));
  if (grid !== null) {
    const snapped = exact.div(grid.increment).toDecimalPlaces(0, Dec.ROUND_HALF_EVEN).mul(grid.increment);
    const diff = snapped.minus(exact).abs();
    if (diff.lte(exact.abs().mul(GRID_TOLERANCE))) return fmt(snapped.toDecimalPlaces(grid.places));
  }
  return significant(x);
}

/**
 * A tick or step size from a ccxt market `precision` entry. ccxt's TICK_SIZE mode (every exchange
 * we use) gives the increment itself (`0.01`); DECIMAL_PLACES mode gives a count of places (`2` →
 * `0.01`); SIGNIFICANT_DIGITS mode has no fixed increment (null).
 */
export function incrementFromPrecision(
  precision: number | string | null | undefined,
  mode: number,
): DecimalString | null {
  if (precision === null || precision === undefined) return null;
  const p = toDec(typeof precision === 'number' ? String(precision) : precision);
  if (mode === PRECISION_MODE.TICK_SIZE) return p.gt(0) ? fmt(p) : null;
  if (mode === PRECISION_MODE.DECIMAL_PLACES) {
    if (!p.isInteger()) return null;
    return fmt(new Dec(10).pow(p.neg()));
  }
  return null;
}

/** ccxt's precision modes (`ccxt/js/src/base/functions/number.js`). */
export const PRECISION_MODE = { DECIMAL_PLACES: 2, SIGNIFICANT_DIGITS: 3, TICK_SIZE: 4 } as const;

/**
 * A decimal string as the number ccxt's order methods take, refusing values a double would change
 * (more than 15 significant digits).
 */
export function numberForCcxt(value: DecimalString): number {
  const d = toDec(value);
  const n = Number(fmt(d));
  if (!Number.isFinite(n) || !new Dec(String(n)).eq(d)) {
    throw new RangeError(`${value} cannot be sent exactly as a number (more than 15 significant digits)`);
  }
  return n;
}

/** True when `value` is a whole multiple of `increment`. */
export function onGrid(value: DecimalString, increment: DecimalString): boolean {
  const inc = toDec(increment);
  if (!inc.gt(0)) return true;
  return toDec(value).mod(inc).isZero();
}
