/**
 * Columnar tick data in memory: what the synthetic market produces, what the tick writer encodes and
 * what the tick loader returns. Timestamps are absolute bigint nanoseconds (BigInt64Array; see
 * `engine-columns.ts` for the matching engine's relative float columns). Sides are small integer
 * codes with the matching engine's conventions (`shared/sim`), so the hot loop touches no strings.
 */

/** Aggressor side of a trade: 1 = BUY (lifted the ask), −1 = SELL (hit the bid), 0 = unknown. */
export const SIDE_BUY = 1;
export const SIDE_SELL = -1;
export const SIDE_UNKNOWN = 0;

/** Side of an L2 book level: 1 = BID, −1 = ASK. */
export const BOOK_BID = 1;
export const BOOK_ASK = -1;

/** `BUY` / `SELL` for a trade side code; throws for anything else (unknown sides are not written). */
export function tradeSideName(code: number): 'BUY' | 'SELL' {
  if (code === SIDE_BUY) return 'BUY';
  if (code === SIDE_SELL) return 'SELL';
  throw new RangeError(`trade side code ${code} is neither BUY (1) nor SELL (-1)`);
}

/** `BID` / `ASK` for a book side code. */
export function bookSideName(code: number): 'BID' | 'ASK' {
  if (code === BOOK_BID) return 'BID';
  if (code === BOOK_ASK) return 'ASK';
  throw new RangeError(`book side code ${code} is neither BID (1) nor ASK (-1)`);
}

export interface TradeColumns {
  ts: BigInt64Array;
  price: Float64Array;
  size: Float64Array;
  /** SIDE_BUY (1) / SIDE_SELL (−1) / SIDE_UNKNOWN (0). */
  side: Int8Array;
  /** Venue trade ids; absent when the reader did not ask for them. */
  trade_id?: string[] | undefined;
}

export interface QuoteColumns {
  ts: BigInt64Array;
  bid_px: Float64Array;
  bid_sz: Float64Array;
  ask_px: Float64Array;
  ask_sz: Float64Array;
}

/** L2 snapshots: one row per level, all levels of one snapshot share `ts`. */
export interface BookColumns {
  ts: BigInt64Array;
  /** BOOK_BID (1) / BOOK_ASK (−1). */
  side: Int8Array;
  /** 0 = best (the level a quote rewrites in the matching engine). */
  level: Int32Array;
  price: Float64Array;
  size: Float64Array;
}

export function emptyTrades(withIds = false): TradeColumns {
  const t: TradeColumns = {
    ts: new BigInt64Array(0),
    price: new Float64Array(0),
    size: new Float64Array(0),
    side: new Int8Array(0),
  };
  if (withIds) t.trade_id = [];
  return t;
}

export function emptyQuotes(): QuoteColumns {
  return {
    ts: new BigInt64Array(0),
    bid_px: new Float64Array(0),
    bid_sz: new Float64Array(0),
    ask_px: new Float64Array(0),
    ask_sz: new Float64Array(0),
  };
}

export function emptyBook(): BookColumns {
  return {
    ts: new BigInt64Array(0),
    side: new Int8Array(0),
    level: new Int32Array(0),
    price: new Float64Array(0),
    size: new Float64Array(0),
  };
}

/**
 * One row group of a streamed tick file: rows of one kind, sorted, all in one UTC minute, at most
 * the writer's row-group cap. A day streams as a sequence of these (kinds interleaved), so neither
 * the producer nor the writer ever holds more than one row group of a kind.
 */
export type TickRowGroup =
  | { kind: 'trades'; trades: TradeColumns & { trade_id: string[] } }
  | { kind: 'quotes'; quotes: QuoteColumns }
  | { kind: 'book'; book: BookColumns };

/** Rows in a streamed row group. */
export function tickRowGroupRows(g: TickRowGroup): number {
  return g.kind === 'trades'
    ? g.trades.ts.length
    : g.kind === 'quotes'
      ? g.quotes.ts.length
      : g.book.ts.length;
}
