/**
 * The vectorized reference of a rebalance backtest: the same weights over the same closes, in
 * fractions rather than quantities — `weights × returns − turnover × cost` — with the same friction
 * (slippage + taker fee per unit of turnover) and the same cash buffer (weights × (1 − buffer)).
 * Floating point is fine here: it is a reference curve, not an order.
 *
 * Per close t (in time order): if a rebalance applies at t, `turnover = Σ |w_target − w_drifted|`
 * (cash included implicitly: buying is funded by cash) and `NAV ← NAV × (1 − cost × turnover)`, the
 * weights become the targets; then until the next close each weight drifts with its asset's return
 * and `NAV ← NAV × (1 + Σ w_i r_i)`.
 */

export interface VectorizedInput {
  /** Closes per instrument, aligned with `times` (NaN where an instrument has no bar yet). */
  closes: ReadonlyMap<string, Float64Array>;
  times: readonly bigint[];
  /** Index in `times` → effective target weights (already × (1 − buffer)). */
  rebalances: ReadonlyMap<number, ReadonlyMap<string, number>>;
  /** Cost per unit of turnover per instrument (slippage + taker fee). */
  costRate: (instrumentKey: string) => number;
  startingNav: number;
}

export interface VectorizedResult {
  nav: Float64Array;
  turnover: number;
  costs: number;
}

export function runVectorized(input: VectorizedInput): VectorizedResult {
  const n = input.times.length;
  const nav = new Float64Array(n);
  let value = input.startingNav;
  let weights = new Map<string, number>();
  let turnoverTotal = 0;
  let costs = 0;
  for (let t = 0; t < n; t++) {
    if (t > 0) {
      // Drift from t-1 to t.
      let r = 0;
      const growth = new Map<string, number>();
      for (const [k, w] of weights) {
        const c = input.closes.get(k);
        const prev = c?.[t - 1] ?? Number.NaN;
        const cur = c?.[t] ?? Number.NaN;
        const ri = Number.isFinite(prev) && Number.isFinite(cur) && prev > 0 ? cur / prev - 1 : 0;
        r += w * ri;
        growth.set(k, w * (1 + ri));
      }
      value *= 1 + r;
      const next = new Map<string, number>();
      for (const [k, g] of growth) next.set(k, g / (1 + r));
      weights = next;
    }
    const target = input.rebalances.get(t);
    if (target !== undefined) {
      let cost = 0;
      const keys = new Set([...weights.keys(), ...target.keys()]);
      for (const k of keys) {
        const dw = Math.abs((target.get(k) ?? 0) - (weights.get(k) ?? 0));
        turnoverTotal += dw;
        cost += dw * input.costRate(k);
      }
      costs += value * cost;
      value *= 1 - cost;
      weights = new Map(target);
    }
    nav[t] = value;
  }
  return { nav, turnover: turnoverTotal, costs };
}

/** Annualized return of a NAV path over `years`: (end / start)^(1/years) − 1. */
export function annualizedReturn(start: number, end: number, years: number): number | null {
  if (!(start > 0) || !(end > 0) || !(years > 0)) return null;
  return (end / start) ** (1 / years) - 1;
}
