/**
 * Market data of one window as the matching engine reads it: the tick loader's columns
 * (shared/data/tick-columns.ts: bigint timestamps; side codes and 0-based L2 levels are already the
 * engine's) with their time converted once to float64 nanoseconds relative to the engine epoch, and
 * a cursor that feeds the streams to the engine in one merged time order.
 *
 * Book source: with L2 rows (book.parquet) the engine's book comes from them and quotes are not
 * fed (docs/matching-engine.md: use L1 quotes OR L2 rows for a book, never both); otherwise from
 * the L1 quotes. At equal timestamps book/quote rows go before trades.
 */
import {
  BOOK_BID,
  type BookColumns as DataBook,
  type QuoteColumns as DataQuotes,
  type TradeColumns as DataTrades,
} from '../data/tick-columns.ts';
import { fmt, toDec } from '../domain/decimal.ts';
import type { Nanos } from '../domain/time.ts';
import { toRelativeNanos } from '../sim/columns.ts';
import type { MatchingEngine } from '../sim/matching-engine.ts';
import type { BookColumns, QuoteColumns, TradeColumns } from '../sim/types.ts';

/** The ticks of one window as loaded (any stream may be absent or empty). */
export interface WindowTicks {
  trades?: DataTrades | undefined;
  quotes?: DataQuotes | undefined;
  book?: DataBook | undefined;
}

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;
const TWO_32 = 4_294_967_296;
const MAX_REL = 2 ** 53;

/**
 * `ts − epoch` as float64 nanoseconds, without a BigInt operation per row: each int64 is read as
 * two 32-bit halves (hi × 2^32 + lo), so the difference is (hi − hi₀) × 2^32 + (lo − lo₀), exact
 * while |ts − epoch| < 2^53 ns (104 days; checked). Same values as sim's toRelativeNanos.
 */
export function relativeColumn(ts: BigInt64Array, epochNs: Nanos): Float64Array {
  const n = ts.length;
  if (!LITTLE_ENDIAN || n === 0) return toRelativeNanos(ts, epochNs);
  const out = new Float64Array(n);
  const words = new Uint32Array(ts.buffer, ts.byteOffset, n * 2);
  const e = BigInt.asUintN(64, epochNs);
  const eLo = Number(e & 0xffffffffn);
  const eHi = Number(BigInt.asIntN(32, e >> 32n));
  for (let i = 0; i < n; i++) {
    const lo = words[2 * i] as number;
    const hi = (words[2 * i + 1] as number) | 0;
    out[i] = (hi - eHi) * TWO_32 + (lo - eLo);
  }
  // Sorted or not, every value must be exact: check the extremes.
  let min = Number.POSITIVE_INFINITY;
  let max = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < n; i++) {
    const v = out[i] as number;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  if (min <= -MAX_REL || max >= MAX_REL) return toRelativeNanos(ts, epochNs);
  return out;
}

/** The loader's trade columns with time relative to the engine epoch (side codes are the engine's). */
export function simTrades(t: DataTrades, epochNs: Nanos): TradeColumns {
  return { ts: relativeColumn(t.ts, epochNs), price: t.price, size: t.size, side: t.side };
}

export function simQuotes(q: DataQuotes, epochNs: Nanos): QuoteColumns {
  return {
    ts: relativeColumn(q.ts, epochNs),
    bidPx: q.bid_px,
    bidSz: q.bid_sz,
    askPx: q.ask_px,
    askSz: q.ask_sz,
  };
}

/** L2 rows with relative time (side codes BOOK_BID/BOOK_ASK and 0-based levels are the engine's). */
export function simBook(b: DataBook, epochNs: Nanos): BookColumns {
  return { ts: relativeColumn(b.ts, epochNs), side: b.side, level: b.level, price: b.price, size: b.size };
}

/** (bid + ask) / 2 exactly, as a canonical decimal string. */
function midOf(bid: number, ask: number): string {
  return fmt(toDec(bid).plus(toDec(ask)).div(2));
}

/**
 * The first mid at or after the window start: from the first two-sided quote (or the first L2
 * snapshot time at which both best levels are known), else the first trade's price; null when the
 * window has no usable tick. A canonical decimal string.
 */
export function firstMid(ticks: WindowTicks): string | null {
  const b = ticks.book;
  if (b && b.ts.length > 0) {
    let bid = Number.NaN;
    let ask = Number.NaN;
    for (let i = 0; i < b.ts.length; i++) {
      if (b.level[i] === 0 && (b.size[i] as number) > 0) {
        if (b.side[i] === BOOK_BID) bid = b.price[i] as number;
        else ask = b.price[i] as number;
      }
      const nextSameTs = i + 1 < b.ts.length && b.ts[i + 1] === b.ts[i];
      if (!nextSameTs && bid > 0 && ask > 0) return midOf(bid, ask);
    }
  } else {
    const q = ticks.quotes;
    if (q) {
      for (let i = 0; i < q.ts.length; i++) {
        const bp = q.bid_px[i] as number;
        const ap = q.ask_px[i] as number;
        if (bp > 0 && ap > 0 && (q.bid_sz[i] as number) > 0 && (q.ask_sz[i] as number) > 0)
          return midOf(bp, ap);
      }
    }
  }
  const t = ticks.trades;
  if (t && t.ts.length > 0) return fmt(toDec(t.price[0] as number));
  return null;
}

/** Feeds a window's streams to one engine in merged time order. */
export class MarketFeed {
  private ti = 0;
  private bi = 0;
  /** Cumulative traded volume fed so far (VWAP participation cap). */
  volume = 0;
  readonly trades: TradeColumns | null;
  readonly quotes: QuoteColumns | null;
  readonly book: BookColumns | null;
  readonly counts: { trades: number; quotes: number; book: number };

  constructor(
    private readonly engine: MatchingEngine,
    ticks: WindowTicks,
    epochNs: Nanos,
  ) {
    this.trades = ticks.trades && ticks.trades.ts.length > 0 ? simTrades(ticks.trades, epochNs) : null;
    const useBook = ticks.book !== undefined && ticks.book.ts.length > 0;
    this.book = useBook && ticks.book ? simBook(ticks.book, epochNs) : null;
    this.quotes =
      !useBook && ticks.quotes && ticks.quotes.ts.length > 0 ? simQuotes(ticks.quotes, epochNs) : null;
    this.counts = {
      trades: ticks.trades?.ts.length ?? 0,
      quotes: ticks.quotes?.ts.length ?? 0,
      book: ticks.book?.ts.length ?? 0,
    };
  }

  /**
   * Show the engine the book as it stands at the window start. Tick rows before the window are not
   * read (that is the point of windows), so the first quote (or L2 snapshot) at or after the start
   * is applied AT the start too; it arrives again at its own time without changing anything.
   */
  primeBook(epochNs: Nanos): void {
    if (this.book !== null && this.book.ts.length > 0) {
      const b = this.book;
      const t0 = b.ts[0] as number;
      if (t0 <= 0) return;
      for (let i = 0; i < b.ts.length && b.ts[i] === t0; i++) {
        this.engine.onBookLevel(
          epochNs,
          b.side[i] === BOOK_BID ? 'BID' : 'ASK',
          b.level[i] as number,
          b.price[i] as number,
          b.size[i] as number,
        );
      }
    } else if (this.quotes !== null && this.quotes.ts.length > 0) {
      const q = this.quotes;
      if ((q.ts[0] as number) <= 0) return;
      this.engine.onQuote(
        epochNs,
        q.bidPx[0] as number,
        q.bidSz[0] as number,
        q.askPx[0] as number,
        q.askSz[0] as number,
      );
    }
  }

  private nextTrade(): number {
    const t = this.trades;
    return t !== null && this.ti < t.ts.length ? (t.ts[this.ti] as number) : Number.POSITIVE_INFINITY;
  }

  private nextBook(): number {
    const src = this.book ?? this.quotes;
    return src !== null && this.bi < src.ts.length ? (src.ts[this.bi] as number) : Number.POSITIVE_INFINITY;
  }

  /** Relative time of the next row, +∞ when every stream is exhausted. */
  nextTime(): number {
    return Math.min(this.nextTrade(), this.nextBook());
  }

  /** Feed every row with ts ≤ t (relative), in merged order. */
  feedUntil(t: number): void {
    for (;;) {
      const a = this.nextTrade();
      const b = this.nextBook();
      if (a > t && b > t) return;
      if (b <= a) this.feedBookRun(Math.min(t, a), true);
      else if (b <= t) this.feedTradeRun(b, false);
      else this.feedTradeRun(t, true);
    }
  }

  /**
   * Feed the next event (book/quote first on a tie); returns its time or +∞. An event is one trade,
   * one quote, or every L2 row sharing the next timestamp (one snapshot: never half a book).
   */
  feedOne(): number {
    const a = this.nextTrade();
    const b = this.nextBook();
    if (a === Number.POSITIVE_INFINITY && b === Number.POSITIVE_INFINITY) return b;
    if (b <= a) {
      let j = this.bi + 1;
      const book = this.book;
      if (book !== null) while (j < book.ts.length && book.ts[j] === b) j++;
      this.feedBookRows(j);
      return b;
    }
    this.feedTradeRows(this.ti + 1);
    return a;
  }

  /** Book/quote rows with ts ≤ limit. */
  private feedBookRun(limit: number, inclusive: boolean): void {
    const src = (this.book ?? this.quotes) as BookColumns | QuoteColumns;
    let j = this.bi;
    const n = src.ts.length;
    while (j < n && ((src.ts[j] as number) < limit || (inclusive && (src.ts[j] as number) === limit))) j++;
    this.feedBookRows(j);
  }

  /** Trade rows with ts < limit (or ≤ when inclusive: the limit is the target, not a book row). */
  private feedTradeRun(limit: number, inclusive: boolean): void {
    const t = this.trades as TradeColumns;
    let j = this.ti;
    const n = t.ts.length;
    while (j < n && ((t.ts[j] as number) < limit || (inclusive && (t.ts[j] as number) === limit))) j++;
    this.feedTradeRows(j);
  }

  private feedBookRows(to: number): void {
    if (to <= this.bi) return;
    if (this.book) this.engine.onBookLevels(this.book, this.bi, to);
    else if (this.quotes) this.engine.onQuotes(this.quotes, this.bi, to);
    this.bi = to;
  }

  private feedTradeRows(to: number): void {
    if (to <= this.ti) return;
    const t = this.trades as TradeColumns;
    let v = 0;
    for (let i = this.ti; i < to; i++) v += t.size[i] as number;
    this.volume += v;
    this.engine.onTrades(t, this.ti, to);
    this.ti = to;
  }
}
