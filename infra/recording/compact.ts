/**
 * A recording's market data in the tick layout of SPEC (`market-data-tick/<VENUE>/<day>/<PAYLOAD>/
 * {trades,quotes,book}.parquet`, sorted by `ts_event`, row groups cut at whole minutes, written by
 * the same writer as `npm run data:generate`), plus `instruments/<day>.json`: a recording is then
 * ordinary backtestable tick data. Rebuilt from every committed market part of the session (all
 * runs) each time a run closes, so a restart's data joins the earlier runs' files.
 *
 * Memory: up to 2,000,000 market rows the whole session is held while its files are written;
 * beyond that one instrument-day at a time (a decoded event is about 150 bytes).
 */

import {
  BOOK_ASK,
  BOOK_BID,
  emptyQuotes,
  emptyTrades,
  type QuoteColumns,
  SIDE_BUY,
  SIDE_SELL,
} from '../../shared/data/tick-columns.ts';
import { utcDayOf } from '../../shared/data/tick-layout.ts';
import { fmt, toDec } from '../../shared/domain/decimal.ts';
import type { Nanos } from '../../shared/domain/time.ts';
import type { InstrumentSpec } from '../../shared/domain/types.ts';
import type { BlobStore } from '../../shared/ports/blob-store.ts';
import type { RecordingManifest, SequencedMarketEvent } from '../../shared/recording/format.ts';
import { writeInstrumentSpecs, writeTickDay } from '../ticks/writer.ts';
import { decodeMarketPart } from './market-parts.ts';

type TickFile = RecordingManifest['tick_files'][number];

/** Sessions up to this many market rows are compacted from one read of their parts. */
const SINGLE_PASS_MAX_ROWS = 2_000_000;

function byEventTime(a: SequencedMarketEvent, b: SequencedMarketEvent): number {
  return a.ts_event < b.ts_event ? -1 : a.ts_event > b.ts_event ? 1 : a.run - b.run || a.seq - b.seq;
}

/** Write the session's tick files; returns what was written. */
export async function writeSessionTicks(
  blobs: BlobStore,
  manifest: RecordingManifest,
  instruments: readonly InstrumentSpec[],
): Promise<TickFile[]> {
  const parts = manifest.segments.filter((s) => s.market !== null);
  const totalRows = parts.reduce((n, s) => n + (s.market?.rows ?? 0), 0);
  const decode = async (s: (typeof parts)[number]) =>
    decodeMarketPart(await blobs.get(s.market!.key), s.market!.key, s.run);
  const groupOf = (e: SequencedMarketEvent) => `${e.instrument_key}\u0000${utcDayOf(e.ts_event)}`;
  // Small sessions: one read of every part. Large ones: one instrument-day at a time (a first pass
  // finds the groups), so memory holds one instrument-day, at the cost of a read per group.
  const held = totalRows <= SINGLE_PASS_MAX_ROWS ? new Map<string, SequencedMarketEvent[]>() : null;
  const groups = new Set<string>();
  for (const s of parts) {
    for (const e of await decode(s)) {
      const g = groupOf(e);
      groups.add(g);
      if (held !== null) {
        let list = held.get(g);
        if (list === undefined) {
          list = [];
          held.set(g, list);
        }
        list.push(e);
      }
    }
  }
  const days = new Set([...groups].map((g) => g.split('\u0000')[1] as string));
  const out: TickFile[] = [];
  for (const group of [...groups].sort()) {
    const [key, day] = group.split('\u0000') as [string, string];
    let events = held?.get(group);
    if (events === undefined) {
      events = [];
      for (const s of parts) for (const e of await decode(s)) if (groupOf(e) === group) events.push(e);
    }
    events.sort(byEventTime);
    const written = await writeTickDay(blobs, key, day, columnsOf(events));
    for (const w of written) out.push({ key: w.key, rows: w.rows, bytes: w.bytes });
    held?.delete(group);
  }
  for (const day of [...days].sort()) {
    if (instruments.length === 0) break;
    const normalised = instruments.map((s) => ({
      ...s,
      maker_fee: fmt(toDec(s.maker_fee)),
      taker_fee: fmt(toDec(s.taker_fee)),
    }));
    const k = await writeInstrumentSpecs(blobs, day, normalised);
    const info = await blobs.stat(k);
    out.push({ key: k, rows: instruments.length, bytes: info?.size ?? 0 });
  }
  return out;
}

/**
 * Quote columns of quote events, or of the top of two-sided book snapshots (one-sided ones and
 * other events are skipped), timed by `time`.
 */
export function quoteColumns(
  events: readonly SequencedMarketEvent[],
  time: (e: SequencedMarketEvent) => Nanos,
): QuoteColumns {
  const usable = (e: SequencedMarketEvent) =>
    e.kind === 'quote' || (e.kind === 'book' && e.bids[0] !== undefined && e.asks[0] !== undefined);
  let n = 0;
  for (const e of events) if (usable(e)) n++;
  const q: QuoteColumns = {
    ts: new BigInt64Array(n),
    bid_px: new Float64Array(n),
    bid_sz: new Float64Array(n),
    ask_px: new Float64Array(n),
    ask_sz: new Float64Array(n),
  };
  let i = 0;
  for (const e of events) {
    if (e.kind === 'quote') {
      q.bid_px[i] = e.bid_px;
      q.bid_sz[i] = e.bid_sz;
      q.ask_px[i] = e.ask_px;
      q.ask_sz[i] = e.ask_sz;
    } else if (e.kind === 'book' && e.bids[0] !== undefined && e.asks[0] !== undefined) {
      [q.bid_px[i], q.bid_sz[i]] = e.bids[0];
      [q.ask_px[i], q.ask_sz[i]] = e.asks[0];
    } else continue;
    q.ts[i++] = time(e);
  }
  return q;
}

function columnsOf(events: readonly SequencedMarketEvent[]) {
  const trades = events.filter((e) => e.kind === 'trade');
  const quotes = events.filter((e) => e.kind === 'quote');
  const books = events.filter((e) => e.kind === 'book');
  // trades and quotes are always written (empty when the session saw none that day), so a
  // backtest over the recording finds both files it reads by default.
  const data: Parameters<typeof writeTickDay>[3] = { trades: emptyTrades(true), quotes: emptyQuotes() };
  if (trades.length > 0) {
    const n = trades.length;
    const t = {
      ts: new BigInt64Array(n),
      price: new Float64Array(n),
      size: new Float64Array(n),
      side: new Int8Array(n),
      trade_id: new Array<string>(n),
    };
    trades.forEach((e, i) => {
      t.ts[i] = e.ts_event;
      t.price[i] = e.price;
      t.size[i] = e.size;
      // The tick layout has no "unknown" aggressor; a trade the venue sent without a side is
      // written as a SELL (the conservative side for a resting buy) and keeps its own trade id.
      t.side[i] = e.side === 'BUY' ? SIDE_BUY : SIDE_SELL;
      t.trade_id[i] = e.trade_id ?? `r${e.run}-s${e.seq}`;
    });
    data.trades = t;
  }
  // Venues that stream L2 and no separate quotes: the top of each two-sided snapshot is the quote,
  // so the default backtest (trades + quotes) reads the recording as it is.
  const q = quoteColumns(quotes.length > 0 ? quotes : books, (e) => e.ts_event);
  if (q.ts.length > 0) data.quotes = q;
  if (books.length > 0) {
    let n = 0;
    for (const b of books) n += b.bids.length + b.asks.length;
    const b = {
      ts: new BigInt64Array(n),
      side: new Int8Array(n),
      level: new Int32Array(n),
      price: new Float64Array(n),
      size: new Float64Array(n),
    };
    let i = 0;
    for (const e of books) {
      const put = (levels: ReadonlyArray<readonly [number, number]>, side: number) =>
        levels.forEach(([p, s], level) => {
          b.ts[i] = e.ts_event;
          b.side[i] = side;
          b.level[i] = level;
          b.price[i] = p;
          b.size[i] = s;
          i++;
        });
      put(e.bids, BOOK_BID);
      put(e.asks, BOOK_ASK);
    }
    data.book = b;
  }
  return data;
}
