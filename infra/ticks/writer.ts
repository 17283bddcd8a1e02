/**
 * Writes tick files in the SPEC layout: one Parquet file per instrument, UTC day and kind, sorted by
 * `ts_event`, row groups cut at every whole minute and at most 100,000 rows (so a window reads
 * little more than its own rows), SNAPPY-compressed; plus `instruments/<day>.json`.
 */
import {
  type BookColumns,
  bookSideName,
  type QuoteColumns,
  type TickRowGroup,
  type TradeColumns,
  tradeSideName,
} from '../../shared/data/tick-columns.ts';
import {
  dayStartNs,
  instrumentsFileKey,
  NS_PER_DAY,
  TICK_KINDS,
  type TickKind,
  tickFileKey,
} from '../../shared/data/tick-layout.ts';
import { InstrumentFileSchema } from '../../shared/domain/instrument.ts';
import type { InstrumentSpec } from '../../shared/domain/types.ts';
import { type BlobStore, type BlobUpload, openBlobUpload } from '../../shared/ports/blob-store.ts';
import type { ColumnDef } from '../parquet/schema.ts';
import {
  type ColumnInput,
  DEFAULT_MAX_ROW_GROUP_ROWS,
  minuteRowGroupSizes,
  type ParquetCodec,
  ParquetStreamWriter,
  type StreamColumn,
  writeParquet,
} from '../parquet/writer.ts';
import { BOOK_COLUMNS, QUOTES_COLUMNS, TRADES_COLUMNS } from './schemas.ts';

export interface TickWriteOptions {
  codec?: ParquetCodec | undefined;
  /** Row-group cap (default 100,000). Row groups are always cut at whole minutes too. */
  maxRowGroupRows?: number | undefined;
}

export const PARQUET_CONTENT_TYPE = 'application/vnd.apache.parquet';

/**
 * Column i of a tick schema. `ts_event` (column 0) is delta-encoded (sorted nanoseconds shrink to a
 * few bytes a row) and carries the min/max statistics the loader selects row groups by; the other
 * columns carry none, which keeps the footer of a 1,440-row-group file small. Doubles and ids are
 * PLAIN (SNAPPY does the rest; the dictionary trial costs a quarter of the write time and rarely
 * wins); `side` and `level` are left to the writer, which dictionary-encodes them.
 */
function col(i: number, defs: readonly ColumnDef[], data: ColumnInput['data']): ColumnInput {
  return { ...streamCol(i, defs), data };
}

function streamCol(i: number, defs: readonly ColumnDef[]): StreamColumn {
  const def = defs[i];
  if (!def) throw new RangeError(`no column ${i}`);
  if (i === 0) return { def, encoding: 'DELTA_BINARY_PACKED', statistics: true };
  const plain = def.kind === 'DOUBLE' || def.name === 'trade_id';
  return plain ? { def, encoding: 'PLAIN', statistics: false } : { def, statistics: false };
}

/** Timestamps are sorted increasing (SPEC: files are sorted by ts_event). */
function assertSorted(ts: BigInt64Array, what: string): void {
  for (let i = 1; i < ts.length; i++) {
    if ((ts[i] as bigint) < (ts[i - 1] as bigint)) {
      throw new RangeError(`${what}: ts_event not sorted at row ${i}`);
    }
  }
}

function assertLengths(what: string, n: number, cols: Record<string, { length: number }>): void {
  for (const [name, c] of Object.entries(cols)) {
    if (c.length !== n) throw new RangeError(`${what}: column ${name} has ${c.length} rows, ts has ${n}`);
  }
}

function sideNames(side: Int8Array, name: (code: number) => string, what: string): string[] {
  const out = new Array<string>(side.length);
  for (let i = 0; i < side.length; i++) {
    try {
      out[i] = name(side[i] as number);
    } catch (err) {
      throw new RangeError(`${what} row ${i}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  return out;
}

/** Encode trades as `trades.parquet` bytes. `trade_id` is required. */
export function encodeTrades(t: TradeColumns, opts: TickWriteOptions = {}): Uint8Array {
  const n = t.ts.length;
  const ids = t.trade_id;
  if (!ids) throw new RangeError('trades: trade_id is required to write trades.parquet');
  assertLengths('trades', n, { price: t.price, size: t.size, side: t.side, trade_id: ids });
  assertSorted(t.ts, 'trades');
  return writeParquet({
    columns: [
      col(0, TRADES_COLUMNS, t.ts),
      col(1, TRADES_COLUMNS, t.price),
      col(2, TRADES_COLUMNS, t.size),
      col(3, TRADES_COLUMNS, sideNames(t.side, tradeSideName, 'trades')),
      col(4, TRADES_COLUMNS, ids),
    ],
    rowGroupSizes: minuteRowGroupSizes(t.ts, opts.maxRowGroupRows ?? DEFAULT_MAX_ROW_GROUP_ROWS),
    codec: opts.codec ?? 'SNAPPY',
  });
}

/** Encode quotes as `quotes.parquet` bytes. */
export function encodeQuotes(q: QuoteColumns, opts: TickWriteOptions = {}): Uint8Array {
  const n = q.ts.length;
  assertLengths('quotes', n, { bid_px: q.bid_px, bid_sz: q.bid_sz, ask_px: q.ask_px, ask_sz: q.ask_sz });
  assertSorted(q.ts, 'quotes');
  return writeParquet({
    columns: [
      col(0, QUOTES_COLUMNS, q.ts),
      col(1, QUOTES_COLUMNS, q.bid_px),
      col(2, QUOTES_COLUMNS, q.bid_sz),
      col(3, QUOTES_COLUMNS, q.ask_px),
      col(4, QUOTES_COLUMNS, q.ask_sz),
    ],
    rowGroupSizes: minuteRowGroupSizes(q.ts, opts.maxRowGroupRows ?? DEFAULT_MAX_ROW_GROUP_ROWS),
    codec: opts.codec ?? 'SNAPPY',
  });
}

/** Encode L2 snapshots as `book.parquet` bytes. */
export function encodeBook(b: BookColumns, opts: TickWriteOptions = {}): Uint8Array {
  const n = b.ts.length;
  assertLengths('book', n, { side: b.side, level: b.level, price: b.price, size: b.size });
  assertSorted(b.ts, 'book');
  return writeParquet({
    columns: [
      col(0, BOOK_COLUMNS, b.ts),
      col(1, BOOK_COLUMNS, sideNames(b.side, bookSideName, 'book')),
      col(2, BOOK_COLUMNS, b.level),
      col(3, BOOK_COLUMNS, b.price),
      col(4, BOOK_COLUMNS, b.size),
    ],
    rowGroupSizes: minuteRowGroupSizes(b.ts, opts.maxRowGroupRows ?? DEFAULT_MAX_ROW_GROUP_ROWS),
    codec: opts.codec ?? 'SNAPPY',
  });
}

function assertWithinDay(ts: BigInt64Array, day: string, what: string): void {
  if (ts.length === 0) return;
  const start = dayStartNs(day);
  const first = ts[0] as bigint;
  const last = ts[ts.length - 1] as bigint;
  if (first < start || last >= start + NS_PER_DAY) {
    throw new RangeError(`${what}: rows outside ${day} UTC (first ${first}, last ${last})`);
  }
}

export interface TickDayData {
  trades?: TradeColumns | undefined;
  quotes?: QuoteColumns | undefined;
  book?: BookColumns | undefined;
}

/** Write the tick files of one instrument-day; returns the keys and sizes written. */
export async function writeTickDay(
  blobs: BlobStore,
  instrumentKey: string,
  day: string,
  data: TickDayData,
  opts: TickWriteOptions = {},
): Promise<Array<{ key: string; kind: TickKind; rows: number; bytes: number }>> {
  const out: Array<{ key: string; kind: TickKind; rows: number; bytes: number }> = [];
  const put = async (kind: TickKind, rows: number, bytes: Uint8Array) => {
    const key = tickFileKey(instrumentKey, day, kind);
    await blobs.put(key, bytes, { contentType: PARQUET_CONTENT_TYPE });
    out.push({ key, kind, rows, bytes: bytes.byteLength });
  };
  if (data.trades) {
    assertWithinDay(data.trades.ts, day, `${instrumentKey} trades`);
    await put('trades', data.trades.ts.length, encodeTrades(data.trades, opts));
  }
  if (data.quotes) {
    assertWithinDay(data.quotes.ts, day, `${instrumentKey} quotes`);
    await put('quotes', data.quotes.ts.length, encodeQuotes(data.quotes, opts));
  }
  if (data.book) {
    assertWithinDay(data.book.ts, day, `${instrumentKey} book`);
    await put('book', data.book.ts.length, encodeBook(data.book, opts));
  }
  return out;
}

export interface WrittenTickFile {
  key: string;
  kind: TickKind;
  rows: number;
  bytes: number;
  rowGroups: number;
}

const NS_PER_MINUTE = 60_000_000_000n;

const STREAM_SCHEMAS: Record<TickKind, readonly ColumnDef[]> = {
  trades: TRADES_COLUMNS,
  quotes: QUOTES_COLUMNS,
  book: BOOK_COLUMNS,
};

/** The columns of a row group in schema order (sides as names), with its timestamps. */
function rowGroupValues(g: TickRowGroup): { ts: BigInt64Array; values: ColumnInput['data'][] } {
  switch (g.kind) {
    case 'trades': {
      const t = g.trades;
      assertLengths('trades', t.ts.length, {
        price: t.price,
        size: t.size,
        side: t.side,
        trade_id: t.trade_id,
      });
      return {
        ts: t.ts,
        values: [t.ts, t.price, t.size, sideNames(t.side, tradeSideName, 'trades'), t.trade_id],
      };
    }
    case 'quotes': {
      const q = g.quotes;
      assertLengths('quotes', q.ts.length, {
        bid_px: q.bid_px,
        bid_sz: q.bid_sz,
        ask_px: q.ask_px,
        ask_sz: q.ask_sz,
      });
      return { ts: q.ts, values: [q.ts, q.bid_px, q.bid_sz, q.ask_px, q.ask_sz] };
    }
    case 'book': {
      const b = g.book;
      assertLengths('book', b.ts.length, { side: b.side, level: b.level, price: b.price, size: b.size });
      return { ts: b.ts, values: [b.ts, sideNames(b.side, bookSideName, 'book'), b.level, b.price, b.size] };
    }
  }
}

interface OpenTickFile {
  key: string;
  upload: BlobUpload;
  parquet: ParquetStreamWriter;
  lastTs: bigint;
}

/**
 * Write one instrument-day from a stream of row groups (kinds interleaved, each kind in time
 * order), one row group at a time: each group is encoded and handed to a streamed upload
 * (`openBlobUpload`) before the next one is pulled from `groups`, so memory stays at one row group
 * per kind however large the day. Every group must be sorted, inside the day, inside one UTC minute
 * and at most `maxRowGroupRows` rows: the files come out in the same layout as {@link writeTickDay}
 * (byte-identical when the groups are the minute cuts `minuteRowGroupSizes` would make). The files
 * appear only when the whole day is written; on any error every upload is aborted and nothing
 * appears. A kind with no rows gets no file.
 */
export async function writeTickDayStream(
  blobs: BlobStore,
  instrumentKey: string,
  day: string,
  groups: Iterable<TickRowGroup> | AsyncIterable<TickRowGroup>,
  opts: TickWriteOptions = {},
): Promise<WrittenTickFile[]> {
  const maxRows = opts.maxRowGroupRows ?? DEFAULT_MAX_ROW_GROUP_ROWS;
  const dayStart = dayStartNs(day);
  const dayEnd = dayStart + NS_PER_DAY;
  const open = new Map<TickKind, OpenTickFile>();
  try {
    for await (const g of groups) {
      const { ts, values } = rowGroupValues(g);
      const what = `${instrumentKey} ${day} ${g.kind}`;
      const n = ts.length;
      if (n === 0) continue;
      if (n > maxRows)
        throw new RangeError(`${what}: a row group of ${n} rows exceeds the cap of ${maxRows}`);
      assertSorted(ts, what);
      const first = ts[0] as bigint;
      const last = ts[n - 1] as bigint;
      if (first < dayStart || last >= dayEnd) throw new RangeError(`${what}: ts_event outside the day`);
      if ((first - dayStart) / NS_PER_MINUTE !== (last - dayStart) / NS_PER_MINUTE) {
        throw new RangeError(`${what}: a row group spans more than one minute (${first} … ${last})`);
      }
      let file = open.get(g.kind);
      if (!file) {
        const key = tickFileKey(instrumentKey, day, g.kind);
        const upload = await openBlobUpload(blobs, key, { contentType: PARQUET_CONTENT_TYPE });
        const defs = STREAM_SCHEMAS[g.kind];
        const parquet = new ParquetStreamWriter(
          upload,
          defs.map((_, i) => streamCol(i, defs)),
          { codec: opts.codec ?? 'SNAPPY' },
        );
        file = { key, upload, parquet, lastTs: first };
        open.set(g.kind, file);
      }
      if (first < file.lastTs) throw new RangeError(`${what}: row group starts before the previous one ends`);
      file.lastTs = last;
      await file.parquet.writeRowGroup(values);
    }
    const out: WrittenTickFile[] = [];
    for (const kind of TICK_KINDS) {
      const file = open.get(kind);
      if (!file) continue;
      const done = await file.parquet.finish();
      out.push({ key: file.key, kind, rows: done.rows, bytes: done.bytes, rowGroups: done.rowGroups });
    }
    // Commit only when every file of the day is complete.
    for (const kind of TICK_KINDS) await open.get(kind)?.upload.commit();
    return out;
  } catch (error) {
    for (const file of open.values()) await file.upload.abort().catch(() => undefined);
    throw error;
  }
}

/** Canonical JSON of an instruments file (validated, stable key order, trailing newline). */
export function encodeInstrumentSpecs(specs: readonly InstrumentSpec[]): string {
  const parsed = InstrumentFileSchema.parse(specs);
  const ordered = parsed.map((s) => ({
    instrument_key: s.instrument_key,
    tick_size: s.tick_size,
    step_size: s.step_size,
    min_qty: s.min_qty,
    max_qty: s.max_qty,
    min_notional: s.min_notional,
    maker_fee: s.maker_fee,
    taker_fee: s.taker_fee,
  }));
  return `${JSON.stringify(ordered, null, 2)}\n`;
}

/** Write `instruments/<day>.json`. */
export async function writeInstrumentSpecs(
  blobs: BlobStore,
  day: string,
  specs: readonly InstrumentSpec[],
): Promise<string> {
  const key = instrumentsFileKey(day);
  await blobs.put(key, encodeInstrumentSpecs(specs), { contentType: 'application/json' });
  return key;
}
