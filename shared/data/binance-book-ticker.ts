/**
 * Parsing of Binance public book-ticker dumps (data.binance.vision
 * `futures/um/daily/bookTicker/<SYMBOL>/<SYMBOL>-bookTicker-<day>.csv`: every change of the best bid
 * or ask):
 *
 *   update_id,best_bid_price,best_bid_qty,best_ask_price,best_ask_qty,transaction_time,event_time
 *
 * with or without that header line. `ts_event` is `transaction_time` (when the book changed at the
 * exchange; `event_time` is when the update was pushed), in ms, µs or ns told apart by magnitude.
 * Rows become L1 quotes (`quotes.parquet`). Pure: the caller feeds lines; a malformed line is a
 * {@link BinanceCsvError} naming its number. A crossed book (bid ≥ ask) is malformed.
 */
import { BinanceCsvError, binanceTimeToNanos } from './binance-trades.ts';
import { DaySplitter } from './day-buckets.ts';
import type { QuoteColumns } from './tick-columns.ts';

export interface BinanceBookTicker {
  updateId: bigint;
  bidPx: number;
  bidSz: number;
  askPx: number;
  askSz: number;
  /** transaction_time in ns since the epoch. */
  tsNs: bigint;
}

const DECIMAL_RE = /^\d+(\.\d+)?$/;
const INT_RE = /^\d+$/;
const EXPECTED_HEADER = [
  'update_id',
  'best_bid_price',
  'best_bid_qty',
  'best_ask_price',
  'best_ask_qty',
  'transaction_time',
  'event_time',
];

/**
 * Parse one CSV line. Returns null for a blank line and for the header (allowed on line 1 only).
 * Throws BinanceCsvError naming `source` and `lineNo` for anything malformed.
 */
export function parseBinanceBookTickerLine(
  line: string,
  lineNo: number,
  source = '<csv>',
): BinanceBookTicker | null {
  const text = line.endsWith('\r') ? line.slice(0, -1) : line;
  if (text.trim() === '') return null;
  const f = text.split(',').map((s) => s.trim());
  if (lineNo === 1 && f[0] !== undefined && !INT_RE.test(f[0])) {
    if (f.map((s) => s.toLowerCase()).join(',') !== EXPECTED_HEADER.join(',')) {
      throw new BinanceCsvError(
        source,
        lineNo,
        `unexpected header ${JSON.stringify(text)} (expected ${EXPECTED_HEADER.join(',')})`,
      );
    }
    return null;
  }
  if (f.length !== 7) {
    throw new BinanceCsvError(
      source,
      lineNo,
      `expected 7 fields (${EXPECTED_HEADER.join(',')}), got ${f.length}`,
    );
  }
  const [id = '', bp = '', bq = '', ap = '', aq = '', tt = ''] = f;
  if (!INT_RE.test(id))
    throw new BinanceCsvError(source, lineNo, `update_id ${JSON.stringify(id)} is not an integer`);
  const num = (name: string, raw: string, positive: boolean): number => {
    const v = Number(raw);
    if (!DECIMAL_RE.test(raw) || (positive ? !(v > 0) : !(v >= 0))) {
      throw new BinanceCsvError(
        source,
        lineNo,
        `${name} ${JSON.stringify(raw)} is not a ${positive ? 'positive' : 'non-negative'} decimal`,
      );
    }
    return v;
  };
  const bidPx = num('best_bid_price', bp, true);
  const bidSz = num('best_bid_qty', bq, false);
  const askPx = num('best_ask_price', ap, true);
  const askSz = num('best_ask_qty', aq, false);
  if (bidPx >= askPx) {
    throw new BinanceCsvError(source, lineNo, `crossed book: best_bid_price ${bp} ≥ best_ask_price ${ap}`);
  }
  let tsNs: bigint;
  try {
    tsNs = binanceTimeToNanos(tt);
  } catch (err) {
    throw new BinanceCsvError(
      source,
      lineNo,
      `transaction_time: ${err instanceof Error ? err.message : String(err)}`,
    );
  }
  return { updateId: BigInt(id), bidPx, bidSz, askPx, askSz, tsNs };
}

/** Growable quote columns of one day (dumps hold tens of millions of rows: no object per row). */
class QuoteDayBuffer {
  n = 0;
  ts = new BigInt64Array(1024);
  ids = new BigInt64Array(1024);
  cols = [new Float64Array(1024), new Float64Array(1024), new Float64Array(1024), new Float64Array(1024)];
  sorted = true;

  push(q: BinanceBookTicker): void {
    if (this.n === this.ts.length) this.grow();
    const n = this.n;
    const prevTs = n > 0 ? (this.ts[n - 1] as bigint) : null;
    if (
      prevTs !== null &&
      (q.tsNs < prevTs || (q.tsNs === prevTs && q.updateId < (this.ids[n - 1] as bigint)))
    ) {
      this.sorted = false;
    }
    this.ts[n] = q.tsNs;
    this.ids[n] = q.updateId;
    (this.cols[0] as Float64Array)[n] = q.bidPx;
    (this.cols[1] as Float64Array)[n] = q.bidSz;
    (this.cols[2] as Float64Array)[n] = q.askPx;
    (this.cols[3] as Float64Array)[n] = q.askSz;
    this.n = n + 1;
  }

  private grow(): void {
    const cap = this.ts.length * 2;
    const ts = new BigInt64Array(cap);
    ts.set(this.ts);
    this.ts = ts;
    const ids = new BigInt64Array(cap);
    ids.set(this.ids);
    this.ids = ids;
    this.cols = this.cols.map((c) => {
      const o = new Float64Array(cap);
      o.set(c);
      return o;
    });
  }

  columns(): QuoteColumns {
    const n = this.n;
    const order = Array.from({ length: n }, (_, i) => i);
    if (!this.sorted) {
      order.sort((a, b) => {
        const ta = this.ts[a] as bigint;
        const tb = this.ts[b] as bigint;
        if (ta !== tb) return ta < tb ? -1 : 1;
        const ia = this.ids[a] as bigint;
        const ib = this.ids[b] as bigint;
        return ia < ib ? -1 : ia > ib ? 1 : a - b;
      });
    }
    const pick = (src: Float64Array) => {
      if (this.sorted) return src.slice(0, n);
      const o = new Float64Array(n);
      for (let k = 0; k < n; k++) o[k] = src[order[k] as number] as number;
      return o;
    };
    const ts = this.sorted ? this.ts.slice(0, n) : new BigInt64Array(n);
    if (!this.sorted) for (let k = 0; k < n; k++) ts[k] = this.ts[order[k] as number] as bigint;
    const [bid_px, bid_sz, ask_px, ask_sz] = this.cols.map(pick) as [
      Float64Array,
      Float64Array,
      Float64Array,
      Float64Array,
    ];
    return { ts, bid_px, bid_sz, ask_px, ask_sz };
  }
}

/** Collects book-ticker rows and splits them by UTC day, each sorted by (time, update_id). */
export class QuoteDaySplitter extends DaySplitter<BinanceBookTicker, QuoteColumns> {
  constructor() {
    super(() => new QuoteDayBuffer(), parseBinanceBookTickerLine);
  }

  days(): Array<{ day: string; quotes: QuoteColumns }> {
    return this.dayColumns().map(({ day, columns }) => ({ day, quotes: columns }));
  }
}
