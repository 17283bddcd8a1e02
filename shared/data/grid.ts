/** Decimal increments (tick and step sizes) as exact integer ratios, for fast grid arithmetic. */
import { toDec } from '../domain/decimal.ts';

/** A decimal increment as an integer ratio: value = units / scale, exactly. */
export interface Grid {
  units: number;
  scale: number;
  value: number;
}

export function gridOf(decimal: string, what: string): Grid {
  const d = toDec(decimal);
  if (d.lte(0)) throw new RangeError(`${what} must be positive, got ${decimal}`);
  const dp = d.decimalPlaces();
  const scale = 10 ** dp;
  const units = Number(d.times(scale).toFixed(0));
  if (!Number.isSafeInteger(units) || dp > 15) throw new RangeError(`${what} ${decimal} is too fine`);
  return { units, scale, value: units / scale };
}
