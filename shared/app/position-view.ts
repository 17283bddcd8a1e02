/**
 * The position book as a desk reads it: one row per instrument (every account's net position
 * added up) with the breakdown by account and by venue, marked to the latest mid — quantity,
 * average entry price, realized PnL, unrealized PnL and exposure — and totals. Pure: the caller
 * supplies the positions and the marks (null = no fresh mid: the row shows no unrealized PnL or
 * exposure rather than a wrong one).
 */
import { Dec, type DecimalString, fmt, toDec } from '../domain/decimal.ts';
import { exposure, unrealizedPnl } from '../domain/position.ts';
import type { Position } from '../domain/types.ts';

export interface PositionAccountRow {
  account_id: string;
  quantity: DecimalString;
  avg_entry_price: DecimalString | null;
  realized_pnl: DecimalString;
  unrealized_pnl: DecimalString | null;
  exposure: DecimalString | null;
  fees: DecimalString;
  venues: Record<string, DecimalString>;
}

export interface PositionInstrumentRow {
  instrument_key: string;
  /** Net quantity over every account (signed). */
  quantity: DecimalString;
  /** Cost-weighted average entry of the accounts on the net side (null when flat). */
  avg_entry_price: DecimalString | null;
  mark: DecimalString | null;
  realized_pnl: DecimalString;
  unrealized_pnl: DecimalString | null;
  exposure: DecimalString | null;
  fees: DecimalString;
  /** Net quantity per venue over every account. */
  venues: Record<string, DecimalString>;
  accounts: PositionAccountRow[];
}

/** Totals add the rows as they are: meaningful for a book quoted in one currency (USDT here). */
export interface PositionView {
  instruments: PositionInstrumentRow[];
  totals: {
    realized_pnl: DecimalString;
    /** Null when any open position has no mark. */
    unrealized_pnl: DecimalString | null;
    exposure: DecimalString | null;
    fees: DecimalString;
  };
}

function addTo(map: Record<string, DecimalString>, key: string, v: DecimalString): void {
  map[key] = fmt(toDec(map[key] ?? '0').plus(v));
}

/** Build the view; `marks` maps instrument_key to its latest mid. */
export function positionView(
  positions: readonly Position[],
  marks: Readonly<Record<string, DecimalString | null>>,
): PositionView {
  const byInstrument = new Map<string, Position[]>();
  for (const p of positions) {
    const list = byInstrument.get(p.instrument_key) ?? [];
    list.push(p);
    byInstrument.set(p.instrument_key, list);
  }
  let realized = new Dec(0);
  let unrealized: Dec | null = new Dec(0);
  let expo: Dec | null = new Dec(0);
  let fees = new Dec(0);
  const rows: PositionInstrumentRow[] = [];
  for (const key of [...byInstrument.keys()].sort()) {
    const list = byInstrument.get(key) ?? [];
    const mark = marks[key] ?? null;
    const markOk = mark !== null && toDec(mark).gt(0);
    let qty = new Dec(0);
    let rRow = new Dec(0);
    let uRow: Dec | null = new Dec(0);
    let eRow: Dec | null = new Dec(0);
    let fRow = new Dec(0);
    const venues: Record<string, DecimalString> = {};
    const accounts: PositionAccountRow[] = [];
    for (const p of [...list].sort((a, b) => (a.account_id < b.account_id ? -1 : 1))) {
      const open = !toDec(p.quantity).isZero();
      const u = !open ? '0' : markOk ? unrealizedPnl(p, mark) : null;
      const e = !open ? '0' : markOk ? exposure(p, mark) : null;
      qty = qty.plus(p.quantity);
      rRow = rRow.plus(p.realized_pnl);
      fRow = fRow.plus(p.fees);
      uRow = uRow === null || u === null ? null : uRow.plus(u);
      eRow = eRow === null || e === null ? null : eRow.plus(e);
      for (const [v, q] of Object.entries(p.venues)) addTo(venues, v, q);
      accounts.push({
        account_id: p.account_id,
        quantity: p.quantity,
        avg_entry_price: p.avg_entry_price,
        realized_pnl: p.realized_pnl,
        unrealized_pnl: u,
        exposure: e,
        fees: p.fees,
        venues: { ...p.venues },
      });
    }
    // Average entry of the net: cost of the accounts on the net side over their quantity.
    let avg: DecimalString | null = null;
    if (!qty.isZero()) {
      let cost = new Dec(0);
      let q = new Dec(0);
      for (const p of list) {
        const pq = toDec(p.quantity);
        if (p.avg_entry_price === null || pq.isZero() || pq.isNeg() !== qty.isNeg()) continue;
        cost = cost.plus(pq.abs().times(p.avg_entry_price));
        q = q.plus(pq.abs());
      }
      avg = q.gt(0) ? fmt(cost.div(q).toSignificantDigits(18)) : null;
    }
    realized = realized.plus(rRow);
    fees = fees.plus(fRow);
    unrealized = unrealized === null || uRow === null ? null : unrealized.plus(uRow);
    expo = expo === null || eRow === null ? null : expo.plus(eRow);
    rows.push({
      instrument_key: key,
      quantity: fmt(qty),
      avg_entry_price: avg,
      mark: markOk ? mark : null,
      realized_pnl: fmt(rRow),
      unrealized_pnl: uRow === null ? null : fmt(uRow),
      exposure: eRow === null ? null : fmt(eRow),
      fees: fmt(fRow),
      venues,
      accounts,
    });
  }
  return {
    instruments: rows,
    totals: {
      realized_pnl: fmt(realized),
      unrealized_pnl: unrealized === null ? null : fmt(unrealized),
      exposure: expo === null ? null : fmt(expo),
      fees: fmt(fees),
    },
  };
}
