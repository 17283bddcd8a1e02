/**
 * The actual state after a rebalance (pure): holdings, NAV, actual vs target weight per instrument,
 * the orders as they ended and the instruments left alone — `portfolio_actual_state.json`.
 */
import { type DecimalString, fmt, toDec } from '../domain/decimal.ts';
import { notional } from '../domain/instrument.ts';
import { type Nanos, nanosToIso } from '../domain/time.ts';
import type { OrderRecord } from '../domain/types.ts';
import type { NavSnapshot, PortfolioActualState } from '../ports/portfolio-state-store.ts';
import { computeNav, type NavAlert } from './nav.ts';
import type { Holdings } from './plan.ts';
import type { PriceUse, RebalanceRecord } from './rebalance-service.ts';

export interface ActualStateInput {
  record: RebalanceRecord;
  orders: readonly OrderRecord[];
  holdings: Holdings;
  prices: readonly PriceUse[];
  quote: string;
  now: Nanos;
}

export function buildActualState(i: ActualStateInput): PortfolioActualState {
  const priceMap: Record<string, DecimalString> = {};
  for (const p of i.prices) if (p.price !== null) priceMap[p.instrument_key] = p.price;
  const nav = computeNav(i.holdings, priceMap, i.quote);
  const targets = i.record.plan?.orders ?? [];
  const targetWeight = new Map<string, DecimalString>();
  for (const o of targets) targetWeight.set(o.instrument_key, o.target_weight);
  for (const s of i.record.plan?.skipped ?? []) targetWeight.set(s.instrument_key, s.target_weight);
  const keys = [...new Set([...targetWeight.keys(), ...Object.keys(i.holdings.positions)])].sort();
  const instruments = keys.map((k) => {
    const qty = i.holdings.positions[k] ?? '0';
    const p = i.prices.find((x) => x.instrument_key === k);
    const price = p?.price ?? null;
    const value = price === null ? null : fmt(notional(qty, price));
    const actual =
      value !== null && nav.ok && toDec(nav.nav).gt(0)
        ? fmt(toDec(value).div(nav.nav).toDecimalPlaces(12))
        : null;
    return {
      instrument_key: k,
      quantity: qty,
      price,
      price_source: p?.source ?? null,
      value,
      actual_weight: actual,
      target_weight: targetWeight.get(k) ?? '0',
    };
  });
  return {
    schema_version: 1,
    strategy_id: i.record.strategy_id ?? '',
    rebalance_id: i.record.rebalance_id,
    source: i.record.source,
    as_of: i.record.as_of ?? '',
    ts_completed: nanosToIso(i.now),
    quote_currency: i.quote,
    nav: nav.ok ? nav.nav : null,
    nav_issues: nav.ok ? [] : nav.issues,
    cash: { ...i.holdings.cash },
    positions: { ...i.holdings.positions },
    instruments,
    orders: i.orders.map((o) => ({
      operation_id: o.operation_id,
      instrument_key: o.instrument_key,
      side: o.side,
      quantity: o.quantity,
      status: o.status,
      filled_quantity: o.filled_quantity,
      avg_fill_price: o.avg_fill_price,
      fees: o.fees,
      reason: o.rejection_reason,
    })),
    skipped: (i.record.plan?.skipped ?? []).map((s) => ({
      instrument_key: s.instrument_key,
      reason: s.reason,
      message: s.message,
    })),
  };
}

/**
 * A NAV alert from the latest snapshots (oldest first, the newest last): uncomputable now, or the
 * same NAV in exactly `flatAfter` snapshots in a row while positions are held (raised once per
 * flat run).
 */
export function navAlertOf(
  recent: readonly NavSnapshot[],
  positionsHeld: boolean,
  flatAfter: number,
): NavAlert | null {
  const last = recent[recent.length - 1];
  if (last === undefined) return null;
  if (last.nav === null) {
    return {
      kind: 'NAV_UNCOMPUTABLE',
      message: `NAV cannot be computed: ${last.issues.map((x) => `${x.path}: ${x.message}`).join('; ')}`,
      issues: last.issues,
    };
  }
  if (!positionsHeld) return null;
  let run = 0;
  for (let k = recent.length - 1; k >= 0; k--) {
    const s = recent[k] as NavSnapshot;
    if (s.nav === null || !toDec(s.nav).eq(last.nav)) break;
    run++;
  }
  if (run !== flatAfter) return null;
  return {
    kind: 'NAV_FLAT',
    message: `NAV ${last.nav} unchanged for ${run} snapshots while positions are held: prices or positions are not updating`,
    nav: last.nav,
    snapshots: run,
  };
}
