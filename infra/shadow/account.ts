/**
 * The synthetic account of a SHADOW venue: balances per asset and derivative positions, moved by
 * the shadow venue's own fills, exactly (decimal arithmetic). See docs/shadow-mode.md.
 *
 * **Cash.** The account starts with `startingCash` of `cashCurrency` (default 100,000 USD). USD and
 * the USD stablecoins (USDT, USDC, BUSD, FDUSD, TUSD, USDP, DAI) are one pool at 1:1 when the cash
 * currency is one of them: a BTC-USDT fill moves the same cash as a BTC-USD fill. The pool is
 * reported under ONE name — the USD-family quote currency of the listed instruments when there is
 * exactly one (a venue listing only USDT pairs reports `USDT`, so that a free-balance check by
 * quote currency finds it), otherwise the cash currency itself. Other assets start at zero (or
 * `startingBalances`).
 *
 * **Flows.** Spot: BUY adds the base and spends quantity × price of the quote; SELL the reverse.
 * Linear derivatives: the settlement (quote) asset moves by the realised PnL of each fill. Inverse
 * derivatives: the base asset moves by the realised PnL. Every fee leaves its fee currency.
 * Positions (derivatives) follow the platform's netting rules (shared/domain/position.ts).
 */
import { Dec, type DecimalString, fmt, toDec } from '../../shared/domain/decimal.ts';
import { parseInstrumentId, settlementOf } from '../../shared/domain/instrument-id.ts';
import { applyFill } from '../../shared/domain/position.ts';
import type { Fill, Position } from '../../shared/domain/types.ts';
import type { VenueBalance, VenuePosition } from '../../shared/ports/venue.ts';

export const USD_FAMILY: ReadonlySet<string> = new Set([
  'USD',
  'USDT',
  'USDC',
  'BUSD',
  'FDUSD',
  'TUSD',
  'USDP',
  'DAI',
]);

export interface ShadowAccountOptions {
  account_id: string;
  startingCash: DecimalString;
  cashCurrency: string;
  /** Instrument keys the venue lists (their quote currencies name the cash pool). */
  instrumentKeys: readonly string[];
  startingBalances?: Readonly<Record<string, DecimalString>> | undefined;
}

/** The name the cash pool is reported under (see the module doc). */
export function cashPoolName(cashCurrency: string, instrumentKeys: readonly string[]): string {
  if (!USD_FAMILY.has(cashCurrency)) return cashCurrency;
  const quotes = new Set<string>();
  for (const k of instrumentKeys) {
    const p = parseInstrumentId(k);
    if (p.success && USD_FAMILY.has(p.data.quote)) quotes.add(p.data.quote);
  }
  return quotes.size === 1 ? ([...quotes][0] as string) : cashCurrency;
}

export class ShadowAccount {
  readonly cashAsset: string;
  private readonly usdPool: boolean;
  private readonly totals = new Map<string, Dec>();
  private readonly positions = new Map<string, Position>();
  private readonly accountId: string;

  constructor(opts: ShadowAccountOptions) {
    this.accountId = opts.account_id;
    this.cashAsset = cashPoolName(opts.cashCurrency, opts.instrumentKeys);
    this.usdPool = USD_FAMILY.has(opts.cashCurrency);
    this.totals.set(this.cashAsset, toDec(opts.startingCash));
    for (const [asset, amount] of Object.entries(opts.startingBalances ?? {}))
      this.move(asset, toDec(amount));
  }

  /** The account asset an asset name books to (USD-family names → the pool). */
  assetOf(asset: string): string {
    return this.usdPool && USD_FAMILY.has(asset) ? this.cashAsset : asset;
  }

  total(asset: string): Dec {
    return this.totals.get(this.assetOf(asset)) ?? new Dec(0);
  }

  /** Book one fill (the venue's instrument key is in `fill.instrument_key`). */
  apply(fill: Fill): void {
    const parsed = parseInstrumentId(fill.instrument_key);
    const qty = toDec(fill.quantity);
    if (parsed.success && parsed.data.instrument_type === 'SPOT_PAIR') {
      const signed = fill.side === 'BUY' ? qty : qty.negated();
      this.move(parsed.data.base, signed);
      this.move(parsed.data.quote, signed.times(fill.price).negated());
    } else if (parsed.success) {
      const before = this.positions.get(fill.instrument_key) ?? null;
      const after = applyFill(before, fill, this.accountId);
      this.positions.set(fill.instrument_key, after);
      const realized = toDec(after.realized_pnl).minus(before?.realized_pnl ?? '0');
      const settlement = settlementOf(parsed.data) === 'INVERSE' ? parsed.data.base : parsed.data.quote;
      this.move(settlement, realized);
    }
    this.move(fill.fee_currency, toDec(fill.fee).negated());
  }

  /** Totals with `locked` per asset subtracted for `free`. */
  balances(locked: ReadonlyMap<string, Dec> = new Map()): VenueBalance[] {
    return [...this.totals.keys()].sort().map((asset) => {
      const total = this.totals.get(asset) ?? new Dec(0);
      const free = total.minus(locked.get(asset) ?? new Dec(0));
      return { asset, free: fmt(free), total: fmt(total) };
    });
  }

  /** Open derivative positions. */
  openPositions(): VenuePosition[] {
    return [...this.positions.values()]
      .filter((p) => !toDec(p.quantity).isZero())
      .sort((a, b) => (a.instrument_key < b.instrument_key ? -1 : 1))
      .map((p) => ({
        instrument_key: p.instrument_key,
        quantity: p.quantity,
        entry_price: p.avg_entry_price,
      }));
  }

  private move(asset: string, delta: Dec): void {
    if (asset === '') return;
    const a = this.assetOf(asset);
    this.totals.set(a, (this.totals.get(a) ?? new Dec(0)).plus(delta));
  }
}
