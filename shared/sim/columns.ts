/**
 * Helpers that turn rows (or bigint timestamp columns from Parquet) into the typed columns the
 * matching engine's batch methods read. Time columns hold nanoseconds relative to the engine's
 * epoch as JS numbers: exact for |t − epoch| ≤ 2^53 ns (about 104 days).
 */
import type { Nanos } from '../domain/time.ts';
import type { BookColumns, BookSideName, QuoteColumns, TradeColumns } from './types.ts';

const MAX_REL = Number.MAX_SAFE_INTEGER;

/** Nanoseconds relative to `epochNs` as a JS number; throws when it would not be exact. */
export function relativeNanos(tsNs: Nanos, epochNs: Nanos): number {
  const d = tsNs - epochNs;
  if (d > BigInt(MAX_REL) || d < -BigInt(MAX_REL)) {
    throw new RangeError(`timestamp ${tsNs} is more than 2^53 ns from the engine epoch ${epochNs}`);
  }
  return Number(d);
}

/** Convert absolute bigint timestamps (e.g. a Parquet INT64 column) to a relative Float64Array. */
export function toRelativeNanos(ts: BigInt64Array | readonly bigint[], epochNs: Nanos): Float64Array {
  const out = new Float64Array(ts.length);
  for (let i = 0; i < ts.length; i++) out[i] = relativeNanos(ts[i]!, epochNs);
  return out;
}

export function sideCode(side: 'BUY' | 'SELL' | null | undefined): number {
  return side === 'BUY' ? 1 : side === 'SELL' ? -1 : 0;
}

export function bookSideCode(side: BookSideName): number {
  return side === 'BID' || side === 'BUY' ? 1 : -1;
}

export interface TradeRow {
  ts_event: Nanos;
  price: number;
  size: number;
  side: 'BUY' | 'SELL' | null;
}

export interface QuoteRow {
  ts_event: Nanos;
  bid_px: number;
  bid_sz: number;
  ask_px: number;
  ask_sz: number;
}

export interface BookRow {
  ts_event: Nanos;
  side: BookSideName;
  level: number;
  price: number;
  size: number;
}

export function tradeColumns(rows: readonly TradeRow[], epochNs: Nanos): TradeColumns {
  const n = rows.length;
  const c: TradeColumns = {
    ts: new Float64Array(n),
    price: new Float64Array(n),
    size: new Float64Array(n),
    side: new Int8Array(n),
  };
  rows.forEach((r, i) => {
    c.ts[i] = relativeNanos(r.ts_event, epochNs);
    c.price[i] = r.price;
    c.size[i] = r.size;
    c.side[i] = sideCode(r.side);
  });
  return c;
}

export function quoteColumns(rows: readonly QuoteRow[], epochNs: Nanos): QuoteColumns {
  const n = rows.length;
  const c: QuoteColumns = {
    ts: new Float64Array(n),
    bidPx: new Float64Array(n),
    bidSz: new Float64Array(n),
    askPx: new Float64Array(n),
    askSz: new Float64Array(n),
  };
  rows.forEach((r, i) => {
    c.ts[i] = relativeNanos(r.ts_event, epochNs);
    c.bidPx[i] = r.bid_px;
    c.bidSz[i] = r.bid_sz;
    c.askPx[i] = r.ask_px;
    c.askSz[i] = r.ask_sz;
  });
  return c;
}

export function bookColumns(rows: readonly BookRow[], epochNs: Nanos): BookColumns {
  const n = rows.length;
  const c: BookColumns = {
    ts: new Float64Array(n),
    side: new Int8Array(n),
    level: new Int32Array(n),
    price: new Float64Array(n),
    size: new Float64Array(n),
  };
  rows.forEach((r, i) => {
    c.ts[i] = relativeNanos(r.ts_event, epochNs);
    c.side[i] = bookSideCode(r.side);
    c.level[i] = r.level;
    c.price[i] = r.price;
    c.size[i] = r.size;
  });
  return c;
}
