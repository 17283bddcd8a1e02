/**
 * Performance and execution-quality metrics of a backtest (definitions in docs/backtesting.md,
 * "Metrics"). Pure functions over numbers; the exact decimal bookkeeping happens in merge.ts.
 */
import type { Nanos } from '../domain/time.ts';

export const NS_PER_MINUTE = 60_000_000_000n;
/** Minutes in a 365-day year: crypto trades around the clock. */
export const MINUTES_PER_YEAR = 365 * 24 * 60;

export interface EquityPoint {
  ts: Nanos;
  equity: number;
}

/**
 * Equity sampled on a regular grid from `start` to `end` (inclusive of the start, every `step`):
 * the value at a grid time is the last equity point at or before it (the first point when the grid
 * starts earlier). Points must be sorted by time.
 */
export function resampleEquity(
  points: readonly EquityPoint[],
  start: Nanos,
  end: Nanos,
  step: Nanos,
): number[] {
  if (points.length === 0 || step <= 0n || end < start) return [];
  const out: number[] = [];
  let j = 0;
  let current = points[0]!.equity;
  for (let t = start; t <= end; t += step) {
    while (j < points.length && points[j]!.ts <= t) {
      current = points[j]!.equity;
      j++;
    }
    out.push(current);
  }
  return out;
}

/** Simple returns between consecutive values (a zero or non-finite base gives no return). */
export function returnsOf(values: readonly number[]): number[] {
  const out: number[] = [];
  for (let i = 1; i < values.length; i++) {
    const a = values[i - 1]!;
    const b = values[i]!;
    if (a !== 0 && Number.isFinite(a) && Number.isFinite(b)) out.push(b / a - 1);
  }
  return out;
}

/**
 * Annualised Sharpe ratio of periodic returns (risk-free rate 0): mean / sample standard deviation
 * × √periodsPerYear. Null with fewer than two returns or zero variance.
 */
export function sharpeRatio(returns: readonly number[], periodsPerYear: number): number | null {
  const n = returns.length;
  if (n < 2) return null;
  let mean = 0;
  for (const r of returns) mean += r;
  mean /= n;
  let v = 0;
  for (const r of returns) v += (r - mean) * (r - mean);
  const sd = Math.sqrt(v / (n - 1));
  if (!(sd > 0) || !Number.isFinite(sd)) return null;
  return (mean / sd) * Math.sqrt(periodsPerYear);
}

/** Largest peak-to-trough fall: as a fraction of the peak and in currency. Zeros for no fall. */
export function maxDrawdown(values: readonly number[]): { fraction: number; amount: number } {
  let peak = Number.NEGATIVE_INFINITY;
  let fraction = 0;
  let amount = 0;
  for (const v of values) {
    if (!Number.isFinite(v)) continue;
    if (v > peak) peak = v;
    const dd = peak - v;
    if (dd > amount) amount = dd;
    if (peak > 0 && dd / peak > fraction) fraction = dd / peak;
  }
  return { fraction, amount };
}

/** Basis points of `cost` over `base` (null when the base is zero). */
export function bps(cost: number, base: number): number | null {
  return base > 0 && Number.isFinite(cost) ? (cost / base) * 10_000 : null;
}

/** Round for reports: 10 significant digits keeps the JSON stable and readable. */
export function round(x: number | null): number | null {
  if (x === null || !Number.isFinite(x)) return null;
  if (x === 0) return 0;
  return Number(x.toPrecision(12));
}
