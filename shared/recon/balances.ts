/**
 * Expected venue balances (pure). A venue account holds more than our fills explain (what was
 * deposited before the platform traded, what people move by hand), so balances are checked
 * against a **baseline**: when an asset is first reconciled, `baseline = venue total − what our
 * positions moved`; afterwards we expect `baseline + what our positions moved`. A difference means
 * a balance change our fills do not explain (a transfer, a fill we never recorded, a fee in a
 * currency we did not expect) — reported, never "corrected" (docs/reconciliation.md).
 *
 * What a position moved (its cash flows):
 * - spot `BASE-QUOTE`: BASE by the position's quantity; QUOTE by realised PnL − signed cost of
 *   the open quantity − fees (exactly −Σ signed qty × price − fees);
 * - linear derivative: the settlement (quote) asset by realised PnL − fees;
 * - inverse derivative: the settlement (base) asset by realised PnL − fees.
 * Fees are taken in the quote (settlement) asset, as the position book keeps them (a venue that
 * charges fees in another asset shows up as a small difference: see the balance tolerance).
 */
import { Dec, type DecimalString, fmt, toDec } from '../domain/decimal.ts';
import { parseInstrumentId, settlementAssetOf, settlementOf } from '../domain/instrument-id.ts';
import type { Position } from '../domain/types.ts';
import type { VenueBalance } from '../ports/venue.ts';

/** Per asset: the part of the venue balance our fills do not explain, captured at `ts` (ns as a string). */
export interface BalanceBaseline {
  venue: string;
  assets: Record<string, DecimalString>;
  ts_updated: string;
}

/** Cash moved by one position (see the module doc). Empty for keys that do not parse. */
export function positionFlow(
  p: Pick<
    Position,
    'instrument_key' | 'quantity' | 'cost_basis' | 'avg_entry_price' | 'realized_pnl' | 'fees'
  >,
): Map<string, Dec> {
  const out = new Map<string, Dec>();
  const parsed = parseInstrumentId(p.instrument_key);
  if (!parsed.success) return out;
  const id = parsed.data;
  const realizedNet = toDec(p.realized_pnl).minus(p.fees);
  if (id.instrument_type === 'SPOT_PAIR') {
    const qty = toDec(p.quantity);
    const cost =
      p.cost_basis !== undefined
        ? toDec(p.cost_basis)
        : p.avg_entry_price === null
          ? new Dec(0)
          : qty.abs().times(p.avg_entry_price);
    const signedCost = qty.isNeg() ? cost.negated() : cost;
    out.set(id.base, qty);
    out.set(id.quote, (out.get(id.quote) ?? new Dec(0)).plus(realizedNet.minus(signedCost)));
    return out;
  }
  const asset = settlementOf(id) === 'INVERSE' ? id.base : settlementAssetOf(id);
  out.set(asset, realizedNet);
  return out;
}

/** Cash moved by all the positions, per asset. */
export function positionFlows(
  positions: ReadonlyArray<Parameters<typeof positionFlow>[0]>,
): Map<string, Dec> {
  const out = new Map<string, Dec>();
  for (const p of positions) {
    for (const [asset, d] of positionFlow(p)) out.set(asset, (out.get(asset) ?? new Dec(0)).plus(d));
  }
  return out;
}

/** The assets an instrument touches (base and quote of a spot pair, the settlement asset of a derivative). */
export function assetsOf(instrumentKey: string): string[] {
  const parsed = parseInstrumentId(instrumentKey);
  if (!parsed.success) return [];
  const id = parsed.data;
  if (id.instrument_type === 'SPOT_PAIR') return [id.base, id.quote];
  return [settlementOf(id) === 'INVERSE' ? id.base : id.quote];
}

/**
 * Extend `baseline` with every asset of `assets` it does not have yet: `venue total − flow`.
 * Returns the baseline unchanged (same object) when nothing was added.
 */
export function extendBaseline(
  baseline: BalanceBaseline,
  assets: Iterable<string>,
  venueBalances: readonly VenueBalance[],
  flows: ReadonlyMap<string, Dec>,
  ts: bigint,
): BalanceBaseline {
  const totals = new Map<string, Dec>();
  for (const b of venueBalances) totals.set(b.asset, (totals.get(b.asset) ?? new Dec(0)).plus(b.total));
  const added: Record<string, DecimalString> = {};
  for (const asset of assets) {
    if (asset in baseline.assets || asset in added) continue;
    added[asset] = fmt((totals.get(asset) ?? new Dec(0)).minus(flows.get(asset) ?? new Dec(0)));
  }
  if (Object.keys(added).length === 0) return baseline;
  return { venue: baseline.venue, assets: { ...baseline.assets, ...added }, ts_updated: ts.toString() };
}

/** What we expect at the venue: baseline + flows, for the assets of the baseline. */
export function expectedBalances(
  baseline: BalanceBaseline,
  flows: ReadonlyMap<string, Dec>,
): Array<{ asset: string; total: DecimalString }> {
  return Object.keys(baseline.assets)
    .sort()
    .map((asset) => ({
      asset,
      total: fmt(toDec(baseline.assets[asset] ?? '0').plus(flows.get(asset) ?? new Dec(0))),
    }));
}
