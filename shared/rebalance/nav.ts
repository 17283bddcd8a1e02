/**
 * NAV of a portfolio and the NAV watch (pure, the same in backtests, SHADOW and LIVE): a NAV that
 * cannot be computed (a missing price, a missing cash balance) or that stays flat while positions
 * are held is an alert — never a silent 0% return (the reference's "Flat Returns (0.00%)" failure).
 */
import { type DecimalString, fmt, toDec, ZERO } from '../domain/decimal.ts';
import type { Issue } from '../domain/errors.ts';
import { notional } from '../domain/instrument.ts';
import type { Holdings } from './plan.ts';

export type NavResult =
  | { ok: true; nav: DecimalString; cash: DecimalString; exposure: DecimalString }
  | { ok: false; issues: Issue[] };

/** NAV = cash[quote] + Σ position × price; every missing input named. */
export function computeNav(
  holdings: Holdings,
  prices: Readonly<Record<string, DecimalString>>,
  quote: string,
): NavResult {
  const issues: Issue[] = [];
  const cash = holdings.cash[quote];
  if (cash === undefined) issues.push({ path: `cash.${quote}`, message: `no cash balance in ${quote}` });
  let exposure = ZERO;
  for (const [k, q] of Object.entries(holdings.positions)) {
    if (toDec(q).isZero()) continue;
    const p = prices[k];
    if (p === undefined) {
      issues.push({ path: `prices.${k}`, message: `no price for held position ${q}` });
      continue;
    }
    exposure = exposure.plus(notional(q, p));
  }
  if (issues.length > 0) return { ok: false, issues };
  const c = toDec(cash ?? '0');
  return { ok: true, nav: fmt(c.plus(exposure)), cash: fmt(c), exposure: fmt(exposure) };
}

export interface NavWatchState {
  last_nav: DecimalString | null;
  /** Snapshots in a row with the same NAV while positions were held. */
  flat_count: number;
}

export const INITIAL_NAV_WATCH: NavWatchState = { last_nav: null, flat_count: 0 };

export type NavAlert =
  | { kind: 'NAV_UNCOMPUTABLE'; message: string; issues: Issue[] }
  | { kind: 'NAV_FLAT'; message: string; nav: DecimalString; snapshots: number };

/**
 * Evolve the watch with one snapshot. A flat alert is raised once when `flatAfter` snapshots in a
 * row show the same NAV with positions held (and again only after the NAV moved).
 */
export function watchNav(
  state: NavWatchState,
  nav: NavResult,
  positionsHeld: boolean,
  flatAfter: number,
): { state: NavWatchState; alert: NavAlert | null } {
  if (!nav.ok) {
    return {
      state,
      alert: {
        kind: 'NAV_UNCOMPUTABLE',
        message: `NAV cannot be computed: ${nav.issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`,
        issues: nav.issues,
      },
    };
  }
  const same = positionsHeld && state.last_nav !== null && toDec(state.last_nav).eq(nav.nav);
  const flat = same ? (state.flat_count === 0 ? 2 : state.flat_count + 1) : 0;
  const next = { last_nav: nav.nav, flat_count: flat };
  if (flat === flatAfter) {
    return {
      state: next,
      alert: {
        kind: 'NAV_FLAT',
        message: `NAV ${nav.nav} unchanged for ${flat} snapshots while positions are held: prices or positions are not updating`,
        nav: nav.nav,
        snapshots: flat,
      },
    };
  }
  return { state: next, alert: null };
}
