/**
 * Loader columns → the matching engine's batch columns (`shared/sim`): timestamps become float64
 * nanoseconds relative to the engine's epoch (exact within 2^53 ns ≈ 104 days, else a RangeError),
 * quote fields are renamed; side codes and 0-based book levels already follow the engine.
 */

import type { Nanos } from '../domain/time.ts';
import { toRelativeNanos } from '../sim/columns.ts';
import type {
  BookColumns as EngineBookColumns,
  QuoteColumns as EngineQuoteColumns,
  TradeColumns as EngineTradeColumns,
} from '../sim/types.ts';
import type { BookColumns, QuoteColumns, TradeColumns } from './tick-columns.ts';

export function tradesForEngine(t: TradeColumns, epochNs: Nanos): EngineTradeColumns {
  return { ts: toRelativeNanos(t.ts, epochNs), price: t.price, size: t.size, side: t.side };
}

export function quotesForEngine(q: QuoteColumns, epochNs: Nanos): EngineQuoteColumns {
  return {
    ts: toRelativeNanos(q.ts, epochNs),
    bidPx: q.bid_px,
    bidSz: q.bid_sz,
    askPx: q.ask_px,
    askSz: q.ask_sz,
  };
}

export function bookForEngine(b: BookColumns, epochNs: Nanos): EngineBookColumns {
  return { ts: toRelativeNanos(b.ts, epochNs), side: b.side, level: b.level, price: b.price, size: b.size };
}
