/**
 * Parsing of Binance public trade dumps (data.binance.vision `…/trades/<SYMBOL>-trades-<day>.csv`):
 *
 *   id,price,qty,quote_qty,time,is_buyer_maker[,is_best_match]
 *
 * with or without that header line. `time` is milliseconds since the epoch in older dumps and
 * microseconds in newer ones (spot since 2025); it is told apart by magnitude (nanoseconds are
 * accepted too). `is_buyer_maker = true` means the seller was the aggressor: side SELL, else BUY.
 * Pure: the caller feeds lines; a malformed line is a {@link BinanceCsvError} naming its number.
 */

import { DaySplitter } from './day-buckets.ts';
import { SIDE_BUY, SIDE_SELL, type TradeColumns } from './tick-columns.ts';

export class BinanceCsvError extends Error {
  constructor(
    readonly source: string,
    readonly line: number,
    detail: string,
  ) {
    super(`${source}:${line}: ${detail}`);
    this.name = 'BinanceCsvError';
  }
}

export interface BinanceTrade {
  id: string;
  price: number;
  qty: number;
  /** Event time in ns since the epoch. */
  tsNs: bigint;
  isBuyerMaker: boolean;
}

const DECIMAL_RE = /^\d+(\.\d+)?$/;
const INT_RE = /^\d+$/;
const EXPECTED_HEADER = ['id', 'price', 'qty', 'quote_qty', 'time', 'is_buyer_maker'];

/** Epoch time in ms, µs or ns (told apart by magnitude) → ns. */
export function binanceTimeToNanos(raw: string): bigint {
  if (!INT_RE.test(raw)) throw new RangeError(`time ${JSON.stringify(raw)} is not an integer`);
  const v = BigInt(raw);
  if (v < 100_000_000_000n) throw new RangeError(`time ${raw} is too small for an epoch time in ms/µs/ns`);
  if (v < 100_000_000_000_000n) return v * 1_000_000n; // ms: 1e11..1e14 (years 1973–5138)
  if (v < 100_000_000_000_000_000n) return v * 1_000n; // µs
  return v; // ns
}

function parseBool(raw: string): boolean | null {
  const s = raw.toLowerCase();
  if (s === 'true' || s === '1') return true;
  if (s === 'false' || s === '0') return false;
  return null;
}

/**
 * Parse one CSV line. Returns null for a blank line and for the header (allowed on line 1 only).
 * Throws BinanceCsvError naming `source` and `lineNo` for anything malformed.
 */
export function parseBinanceTradeLine(line: string, lineNo: number, source = '<csv>'): BinanceTrade | null {
  const text = line.endsWith('\r') ? line.slice(0, -1) : line;
  if (text.trim() === '') return null;
  const f = text.split(',').map((s) => s.trim());
  if (lineNo === 1 && f[0] !== undefined && !INT_RE.test(f[0])) {
    const names = f.slice(0, 6).map((s) => s.toLowerCase());
    if (names.join(',') !== EXPECTED_HEADER.join(',')) {
      throw new BinanceCsvError(
        source,
        lineNo,
        `unexpected header ${JSON.stringify(text)} (expected ${EXPECTED_HEADER.join(',')}[,is_best_match])`,
      );
    }
    return null;
  }
  if (f.length !== 6 && f.length !== 7) {
    throw new BinanceCsvError(
      source,
      lineNo,
      `expected 6 or 7 fields (id,price,qty,quote_qty,time,is_buyer_maker[,is_best_match]), got ${f.length}`,
    );
  }
  const [id = '', price = '', qty = '', , time = '', maker = ''] = f;
  if (!INT_RE.test(id))
    throw new BinanceCsvError(source, lineNo, `id ${JSON.stringify(id)} is not an integer`);
  if (!DECIMAL_RE.test(price) || !(Number(price) > 0)) {
    throw new BinanceCsvError(source, lineNo, `price ${JSON.stringify(price)} is not a positive decimal`);
  }
  if (!DECIMAL_RE.test(qty) || !(Number(qty) > 0)) {
    throw new BinanceCsvError(source, lineNo, `qty ${JSON.stringify(qty)} is not a positive decimal`);
  }
  let tsNs: bigint;
  try {
    tsNs = binanceTimeToNanos(time);
  } catch (err) {
    throw new BinanceCsvError(source, lineNo, err instanceof Error ? err.message : String(err));
  }
  const isBuyerMaker = parseBool(maker);
  if (isBuyerMaker === null) {
    throw new BinanceCsvError(source, lineNo, `is_buyer_maker ${JSON.stringify(maker)} is not true/false`);
  }
  return { id, price: Number(price), qty: Number(qty), tsNs, isBuyerMaker };
}

/** Trades of one UTC day, sorted by time (ties keep the order of the dumps, i.e. by id). */
export interface TradeDay {
  day: string;
  trades: TradeColumns & { trade_id: string[] };
}

/** Growable columns of one day (dumps hold millions of trades: no object per trade). */
class DayBuffer {
  n = 0;
  ts = new BigInt64Array(1024);
  price = new Float64Array(1024);
  size = new Float64Array(1024);
  side = new Int8Array(1024);
  ids: string[] = [];
  sorted = true;

  push(t: BinanceTrade): void {
    if (this.n === this.ts.length) this.grow();
    const n = this.n;
    if (n > 0 && t.tsNs < (this.ts[n - 1] as bigint)) this.sorted = false;
    this.ts[n] = t.tsNs;
    this.price[n] = t.price;
    this.size[n] = t.qty;
    this.side[n] = t.isBuyerMaker ? SIDE_SELL : SIDE_BUY;
    this.ids.push(t.id);
    this.n = n + 1;
  }

  private grow(): void {
    const cap = this.ts.length * 2;
    const ts = new BigInt64Array(cap);
    ts.set(this.ts);
    this.ts = ts;
    const price = new Float64Array(cap);
    price.set(this.price);
    this.price = price;
    const size = new Float64Array(cap);
    size.set(this.size);
    this.size = size;
    const side = new Int8Array(cap);
    side.set(this.side);
    this.side = side;
  }

  columns(): TradeColumns & { trade_id: string[] } {
    const n = this.n;
    if (this.sorted) {
      return {
        ts: this.ts.slice(0, n),
        price: this.price.slice(0, n),
        size: this.size.slice(0, n),
        side: this.side.slice(0, n),
        trade_id: this.ids.slice(0, n),
      };
    }
    const order = Array.from({ length: n }, (_, i) => i);
    order.sort((a, b) => {
      const ta = this.ts[a] as bigint;
      const tb = this.ts[b] as bigint;
      if (ta !== tb) return ta < tb ? -1 : 1;
      const ia = BigInt(this.ids[a] as string);
      const ib = BigInt(this.ids[b] as string);
      return ia < ib ? -1 : ia > ib ? 1 : a - b;
    });
    const out = {
      ts: new BigInt64Array(n),
      price: new Float64Array(n),
      size: new Float64Array(n),
      side: new Int8Array(n),
      trade_id: new Array<string>(n),
    };
    for (let k = 0; k < n; k++) {
      const j = order[k] as number;
      out.ts[k] = this.ts[j] as bigint;
      out.price[k] = this.price[j] as number;
      out.size[k] = this.size[j] as number;
      out.side[k] = this.side[j] as number;
      out.trade_id[k] = this.ids[j] as string;
    }
    return out;
  }
}

/** Collects parsed trades and splits them by UTC day. */
export class TradeDaySplitter extends DaySplitter<BinanceTrade, TradeDay['trades']> {
  constructor() {
    super(() => new DayBuffer(), parseBinanceTradeLine);
  }

  /** The days seen, in order, each sorted by time; side = is_buyer_maker ? SELL : BUY. */
  days(): TradeDay[] {
    return this.dayColumns().map(({ day, columns }) => ({ day, trades: columns }));
  }
}
