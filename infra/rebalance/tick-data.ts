/**
 * Tick data for a rebalance backtest: the Parquet tick layout the signal backtests read
 * (`market-data-tick/<VENUE>/<day>/<PAYLOAD>/{trades,quotes,book}.parquet`, infra/ticks). For every bar
 * close at which a weights file applies and every weighted instrument with tick files that day, the
 * rows from the close to the end of the last order's window are read once; the pure tick executor
 * (shared/rebalance/tick-execution.ts) then takes exact per-order slices of them. An instrument-day
 * without tick files is left to the daily-bar fill model.
 */
import type { WindowTicks } from '../../shared/backtest/feed.ts';
import type { BookColumns, QuoteColumns, TradeColumns } from '../../shared/data/tick-columns.ts';
import { type TickKind, tickFileKey } from '../../shared/data/tick-layout.ts';
import { type Nanos, nanosToIso } from '../../shared/domain/time.ts';
import type { BlobStore } from '../../shared/ports/blob-store.ts';
import { loadWindow, lowerBound } from '../ticks/loader.ts';

export interface RebalanceTickData {
  ticksFor(key: string, from: Nanos, to: Nanos): WindowTicks | null;
  /** Instrument-days read (`<key> <day>`). */
  days: string[];
  bytes_read: number;
  bytes_total: number;
}

interface Loaded {
  from: Nanos;
  to: Nanos;
  ticks: WindowTicks;
}

/** The rows of every column of `cols` with ts in [from, to). */
function slice<T extends { ts: BigInt64Array }>(cols: T | undefined, from: Nanos, to: Nanos): T | undefined {
  if (cols === undefined) return undefined;
  const a = lowerBound(cols.ts, from);
  const b = lowerBound(cols.ts, to);
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(cols)) {
    out[k] =
      ArrayBuffer.isView(v) || Array.isArray(v)
        ? (v as { slice(a: number, b: number): unknown }).slice(a, b)
        : v;
  }
  return out as T;
}

export async function loadRebalanceTicks(
  blobs: BlobStore,
  /** Per bar close at which a rebalance applies: the weighted instruments and how long to read. */
  requests: ReadonlyArray<{ ts: Nanos; keys: readonly string[]; spanNs: bigint }>,
): Promise<RebalanceTickData> {
  const loaded = new Map<string, Loaded[]>();
  const days: string[] = [];
  let bytesRead = 0;
  let bytesTotal = 0;
  for (const r of requests) {
    const day = nanosToIso(r.ts).slice(0, 10);
    for (const key of r.keys) {
      const kinds: TickKind[] = [];
      for (const kind of ['trades', 'quotes', 'book'] as const) {
        if ((await blobs.stat(tickFileKey(key, day, kind))) !== null) kinds.push(kind);
      }
      if (kinds.length === 0) continue;
      const w = await loadWindow(blobs, { instrument_key: key, fromNs: r.ts, toNs: r.ts + r.spanNs, kinds });
      bytesRead += w.bytes_read;
      bytesTotal += w.bytes_total;
      days.push(`${key} ${day}`);
      const list = loaded.get(key) ?? [];
      list.push({
        from: r.ts,
        to: r.ts + r.spanNs,
        ticks: { trades: w.trades, quotes: w.quotes, book: w.book },
      });
      loaded.set(key, list);
    }
  }
  return {
    ticksFor(key, from, to) {
      const l = loaded.get(key)?.find((x) => x.from <= from && from < x.to);
      if (l === undefined) return null;
      // biome-ignore lint/complexity/useMathMinMax: bigints (Math.min takes numbers)
      const end = to < l.to ? to : l.to;
      return {
        trades: slice<TradeColumns>(l.ticks.trades, from, end),
        quotes: slice<QuoteColumns>(l.ticks.quotes, from, end),
        book: slice<BookColumns>(l.ticks.book, from, end),
      };
    },
    days: [...new Set(days)],
    bytes_read: bytesRead,
    bytes_total: bytesTotal,
  };
}
