/**
 * The tick loader: the rows of one instrument inside a time window [fromNs, toNs), read with byte
 * ranges. For each UTC day the window touches it opens the day's files, reads the footer, picks the
 * row groups whose `ts_event` statistics (min/max) overlap the window, fetches only those column
 * chunks and keeps the rows inside the window. On our own files (one row group per minute) that is
 * the window's minutes; on files cut otherwise it reads more, and without statistics it reads all.
 *
 * Errors are loud: a missing file is a {@link TickDataMissingError} naming the file and the window,
 * a file that cannot be decoded (or lacks the SPEC columns) a {@link ParquetFileError} naming the
 * file. A window in which the instrument simply traded nothing returns empty columns.
 */
import type { ColumnChunk, FileMetaData, SchemaElement } from 'hyparquet';
import type { ParquetColumn, PlannedFileRead, WindowTickReads } from '../../shared/backtest/model.ts';
import {
  BOOK_ASK,
  BOOK_BID,
  type BookColumns,
  emptyBook,
  emptyQuotes,
  emptyTrades,
  type QuoteColumns,
  SIDE_BUY,
  SIDE_SELL,
  SIDE_UNKNOWN,
  type TradeColumns,
} from '../../shared/data/tick-columns.ts';
import { daysInWindow, type TickKind, tickFileKey } from '../../shared/data/tick-layout.ts';
import { type Nanos, nanosToIso } from '../../shared/domain/time.ts';
import { BlobNotFoundError, type BlobStore } from '../../shared/ports/blob-store.ts';
import {
  type ColumnArray,
  columnElements,
  type FooterCache,
  NeededRangesFile,
  newReadStats,
  type OpenedParquet,
  openParquetBlob,
  ParquetFileError,
  type ReadStats,
  readRows,
  rowGroupBytes,
  rowGroupStarts,
} from '../parquet/reader.ts';
import { TS_COLUMN } from './schemas.ts';

/** A tick file the window needs does not exist. */
export class TickDataMissingError extends Error {
  constructor(
    readonly key: string,
    readonly instrument_key: string,
    readonly fromNs: Nanos,
    readonly toNs: Nanos,
  ) {
    super(
      `tick file missing: ${key} (needed for ${instrument_key} window [${nanosToIso(fromNs)}, ${nanosToIso(toNs)}))`,
    );
    this.name = 'TickDataMissingError';
  }
}

export interface LoadWindowRequest {
  instrument_key: string;
  /** Inclusive start, ns since the epoch. */
  fromNs: Nanos;
  /** Exclusive end. */
  toNs: Nanos;
  /** Which files to read (default trades and quotes). `book` is optional data: ask only when present. */
  kinds?: readonly TickKind[] | undefined;
  /** Also read `trade_id` (default false: the matching engine does not need it). */
  tradeIds?: boolean | undefined;
}

export interface LoadWindowOptions {
  /** Reuse parsed footers across windows (a worker serving several windows of the same day). */
  cache?: FooterCache | undefined;
  /**
   * The window's files and row-group byte ranges as planned from the footers (the manifest's
   * window `reads`): the loader then reads no footer and no file metadata, only those ranges. Its kinds
   * replace `req.kinds`.
   */
  planned?: WindowTickReads | undefined;
}

/** What was read from one file. */
export interface TickFileReport {
  key: string;
  kind: TickKind;
  day: string;
  /** Size of the file. */
  bytes_total: number;
  /** Bytes fetched from this file (footer + row groups). */
  bytes_read: number;
  /** Bytes fetched for the footer (0 when it came from the cache). */
  footer_bytes: number;
  /** Bytes of the selected columns' chunks in the row groups read. */
  row_group_bytes: number;
  row_groups_total: number;
  row_groups_read: number;
  rows_read: number;
  rows_in_window: number;
}

export interface TickWindow {
  instrument_key: string;
  fromNs: Nanos;
  toNs: Nanos;
  trades?: TradeColumns | undefined;
  quotes?: QuoteColumns | undefined;
  book?: BookColumns | undefined;
  /** Bytes fetched over all files, footers included. */
  bytes_read: number;
  /** Sum of the sizes of the files opened. */
  bytes_total: number;
  requests: number;
  files: TickFileReport[];
}

export const COLUMNS: Record<TickKind, readonly string[]> = {
  trades: [TS_COLUMN, 'price', 'size', 'side'],
  quotes: [TS_COLUMN, 'bid_px', 'bid_sz', 'ask_px', 'ask_sz'],
  book: [TS_COLUMN, 'side', 'level', 'price', 'size'],
};

/** Read the rows of one instrument in [fromNs, toNs). */
export async function loadWindow(
  blobs: BlobStore,
  req: LoadWindowRequest,
  opts: LoadWindowOptions = {},
): Promise<TickWindow> {
  const { instrument_key, fromNs, toNs } = req;
  if (toNs < fromNs) {
    throw new RangeError(`window ends before it starts: [${nanosToIso(fromNs)}, ${nanosToIso(toNs)})`);
  }
  const planned = opts.planned;
  const kinds = [...new Set(planned?.kinds ?? req.kinds ?? (['trades', 'quotes'] as const))];
  const days = daysInWindow(fromNs, toNs);
  const stats = newReadStats();
  const files: TickFileReport[] = [];
  const out: TickWindow = { instrument_key, fromNs, toNs, bytes_read: 0, bytes_total: 0, requests: 0, files };

  await Promise.all(
    kinds.map(async (kind) => {
      const parts: Array<Map<string, ColumnArray>> = [];
      const keys: string[] = [];
      let withIds = false;
      if (planned) {
        const reads = planned.files.filter((f) => f.kind === kind).sort((a, b) => (a.day < b.day ? -1 : 1));
        withIds = reads.some((r) => r.columns.some((c) => c.name === 'trade_id'));
        const got = await Promise.all(reads.map((r) => readPlannedFile(blobs, r, req, stats)));
        for (const g of got) {
          parts.push(g.data);
          files.push(g.report);
          keys.push(g.report.key);
        }
      } else {
        withIds = kind === 'trades' && (req.tradeIds ?? false);
        const columns = withIds ? [...COLUMNS.trades, 'trade_id'] : COLUMNS[kind];
        for (const day of days) {
          const key = tickFileKey(instrument_key, day, kind);
          const { data, report } = await readFileWindow(
            blobs,
            key,
            kind,
            day,
            columns,
            req,
            stats,
            opts.cache,
          );
          parts.push(data);
          files.push(report);
          keys.push(key);
        }
      }
      const keyOf = (i: number) => keys[i] ?? '';
      if (kind === 'trades')
        out.trades = concatTrades(
          parts.map((p, i) => toTrades(p, withIds, keyOf(i))),
          withIds,
        );
      else if (kind === 'quotes') out.quotes = concatQuotes(parts.map((p, i) => toQuotes(p, keyOf(i))));
      else out.book = concatBook(parts.map((p, i) => toBook(p, keyOf(i))));
    }),
  );
  files.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  out.bytes_read = stats.bytesRead;
  out.requests = stats.requests;
  out.bytes_total = files.reduce((s, f) => s + f.bytes_total, 0);
  if (!out.trades && kinds.includes('trades')) out.trades = emptyTrades(req.tradeIds ?? false);
  if (!out.quotes && kinds.includes('quotes')) out.quotes = emptyQuotes();
  if (!out.book && kinds.includes('book')) out.book = emptyBook();
  return out;
}

/** The columns a window reads from a file of this kind (`trade_id` only when asked). */
export function windowColumns(kind: TickKind, tradeIds = false): readonly string[] {
  return kind === 'trades' && tradeIds ? [...COLUMNS.trades, 'trade_id'] : COLUMNS[kind];
}

/**
 * Plan what a window reads from one file, from its footer: the columns' schema elements and the exact
 * byte range of each column chunk of every row group whose `ts_event` range overlaps [fromNs, toNs)
 * (all row groups of a file without statistics). Throws ParquetFileError when the file lacks a
 * column or has the wrong type for it.
 */
export function planFileRead(
  opened: { key: string; metadata: FileMetaData; size: number },
  kind: TickKind,
  day: string,
  columns: readonly string[],
  fromNs: Nanos,
  toNs: Nanos,
): PlannedFileRead {
  const { key, metadata } = opened;
  checkSchema({ key, metadata }, kind, columns);
  const elements = columnElements(metadata);
  const cols: ParquetColumn[] = columns.map((name) => columnOf(key, elements.get(name) as SchemaElement));
  const row_groups: PlannedFileRead['row_groups'] = [];
  for (const index of overlappingRowGroups(metadata, fromNs, toNs)) {
    const rg = metadata.row_groups[index];
    if (!rg) continue;
    const chunks = columns.map((name) => {
      const c = rg.columns.find(
        (x) => x.meta_data?.path_in_schema.length === 1 && x.meta_data.path_in_schema[0] === name,
      );
      const md = c?.meta_data;
      if (!md || c.file_path) {
        throw new ParquetFileError(key, `row group ${index} has no readable chunk for column ${name}`);
      }
      const start = Number(md.dictionary_page_offset || md.data_page_offset);
      return [
        start,
        Number(md.total_compressed_size),
        Number(md.total_uncompressed_size),
        Number(md.num_values),
        md.codec,
      ] as PlannedFileRead['row_groups'][number]['chunks'][number];
    });
    row_groups.push({ index, rows: Number(rg.num_rows), chunks });
  }
  return {
    key,
    kind,
    day,
    size: opened.size,
    row_groups_total: metadata.row_groups.length,
    columns: cols,
    row_groups,
  };
}

function columnOf(key: string, e: SchemaElement): ParquetColumn {
  const rep = e.repetition_type;
  if (e.type === undefined || (rep !== 'REQUIRED' && rep !== 'OPTIONAL')) {
    throw new ParquetFileError(key, `column ${e.name} is not a flat leaf column`);
  }
  const c: ParquetColumn = { name: e.name, type: e.type, repetition_type: rep };
  if (e.type_length !== undefined) c.type_length = e.type_length;
  if (e.converted_type !== undefined) c.converted_type = e.converted_type;
  if (e.scale !== undefined) c.scale = e.scale;
  if (e.precision !== undefined) c.precision = e.precision;
  if (e.logical_type !== undefined) c.logical_type = { ...e.logical_type };
  return c;
}

/**
 * The footer a planned read stands for: the planned columns and only the planned row groups, with
 * each chunk's absolute offsets in the file (enough for the decoder; statistics are not needed).
 */
export function metadataOfRead(read: PlannedFileRead): FileMetaData {
  const schema = [
    { name: 'root', num_children: read.columns.length },
    ...read.columns.map((c) => ({ ...c }) as SchemaElement),
  ];
  let rows = 0;
  const row_groups = read.row_groups.map((rg) => {
    if (rg.chunks.length !== read.columns.length) {
      throw new ParquetFileError(
        read.key,
        `planned row group ${rg.index} has ${rg.chunks.length} chunks for ${read.columns.length} columns`,
      );
    }
    rows += rg.rows;
    let bytes = 0;
    const columns: ColumnChunk[] = rg.chunks.map(([start, compressed, uncompressed, values, codec], i) => {
      const c = read.columns[i] as ParquetColumn;
      bytes += uncompressed;
      return {
        file_offset: BigInt(start + compressed),
        meta_data: {
          type: c.type,
          encodings: [],
          path_in_schema: [c.name],
          codec,
          num_values: BigInt(values),
          total_uncompressed_size: BigInt(uncompressed),
          total_compressed_size: BigInt(compressed),
          data_page_offset: BigInt(start),
        },
      } as ColumnChunk;
    });
    return { columns, total_byte_size: BigInt(bytes), num_rows: BigInt(rg.rows) };
  });
  return { version: 2, schema, num_rows: BigInt(rows), row_groups, metadata_length: 0 } as FileMetaData;
}

/** Read a planned file: only its planned column chunks, no footer, no stat. */
async function readPlannedFile(
  blobs: BlobStore,
  read: PlannedFileRead,
  req: LoadWindowRequest,
  stats: ReadStats,
): Promise<{ data: Map<string, ColumnArray>; report: TickFileReport }> {
  const needed: Array<[number, number]> = [];
  let groupBytes = 0;
  for (const rg of read.row_groups) {
    for (const [start, len] of rg.chunks) {
      needed.push([start, start + len]);
      groupBytes += len;
    }
  }
  const file = new NeededRangesFile(blobs, read.key, read.size, needed, stats);
  const metadata = metadataOfRead(read);
  const columns = read.columns.map((c) => c.name);
  let all: Map<string, ColumnArray>;
  try {
    await file.prefetch();
    all = await readRows({ key: read.key, file, metadata }, { columns });
  } catch (err) {
    const cause = err instanceof ParquetFileError ? err.cause : err;
    if (cause instanceof BlobNotFoundError)
      throw new TickDataMissingError(read.key, req.instrument_key, req.fromNs, req.toNs);
    // Tick files are immutable once written; a planned range that no longer decodes means the file
    // was replaced after planning.
    throw new ParquetFileError(
      read.key,
      `planned row groups do not decode (${cause instanceof Error ? cause.message : String(cause)}); was the file replaced after the run was planned?`,
      { cause },
    );
  }
  const { data, rowsRead, kept } = keepWindowRows(read.key, all, columns, req.fromNs, req.toNs);
  return {
    data,
    report: {
      key: read.key,
      kind: read.kind,
      day: read.day,
      bytes_total: read.size,
      bytes_read: file.bytesRead,
      footer_bytes: 0,
      row_group_bytes: groupBytes,
      row_groups_total: read.row_groups_total,
      row_groups_read: read.row_groups.length,
      rows_read: rowsRead,
      rows_in_window: kept,
    },
  };
}

/** The [min, max] of `ts_event` in a row group from the footer statistics, or null when absent. */
export function rowGroupTimeRange(
  metadata: FileMetaData,
  index: number,
): { min: bigint; max: bigint } | null {
  const rg = metadata.row_groups[index];
  const chunk = rg?.columns.find((c) => c.meta_data?.path_in_schema[0] === TS_COLUMN);
  const st = chunk?.meta_data?.statistics;
  if (!st) return null;
  const min = st.min_value ?? st.min;
  const max = st.max_value ?? st.max;
  return typeof min === 'bigint' && typeof max === 'bigint' ? { min, max } : null;
}

/** Indexes of the row groups that may hold rows in [fromNs, toNs) (all of them without statistics). */
export function overlappingRowGroups(metadata: FileMetaData, fromNs: Nanos, toNs: Nanos): number[] {
  const out: number[] = [];
  for (let i = 0; i < metadata.row_groups.length; i++) {
    if (Number(metadata.row_groups[i]?.num_rows ?? 0) === 0) continue;
    const r = rowGroupTimeRange(metadata, i);
    if (r === null || (r.max >= fromNs && r.min < toNs)) out.push(i);
  }
  return out;
}

function checkSchema(
  opened: Pick<OpenedParquet, 'key' | 'metadata'>,
  kind: TickKind,
  columns: readonly string[],
): void {
  const elements = columnElements(opened.metadata);
  for (const name of columns) {
    const e = elements.get(name);
    if (!e) {
      throw new ParquetFileError(
        opened.key,
        `${kind} file lacks column ${name} (has ${[...elements.keys()].join(', ') || 'none'})`,
      );
    }
    const problem = columnProblem(name, e);
    if (problem) throw new ParquetFileError(opened.key, `column ${name}: ${problem}`);
  }
}

function columnProblem(name: string, e: SchemaElement): string | null {
  if (e.repetition_type === 'REPEATED') return 'is a repeated (list) column';
  if (name === TS_COLUMN) {
    const isTs =
      e.type === 'INT64' &&
      (e.logical_type?.type === 'TIMESTAMP' ||
        e.converted_type === 'TIMESTAMP_MILLIS' ||
        e.converted_type === 'TIMESTAMP_MICROS');
    return isTs || e.type === 'INT96' ? null : `expected INT64 TIMESTAMP, found ${describe(e)}`;
  }
  if (name === 'side' || name === 'trade_id') {
    return e.type === 'BYTE_ARRAY' ? null : `expected STRING, found ${describe(e)}`;
  }
  if (name === 'level')
    return e.type === 'INT32' || e.type === 'INT64' ? null : `expected an integer, found ${describe(e)}`;
  if (e.converted_type === 'DECIMAL' || e.logical_type?.type === 'DECIMAL') return null;
  return e.type === 'DOUBLE' || e.type === 'FLOAT' ? null : `expected DOUBLE, found ${describe(e)}`;
}

function describe(e: SchemaElement): string {
  return [e.type, e.converted_type, e.logical_type?.type].filter(Boolean).join('/');
}

async function readFileWindow(
  blobs: BlobStore,
  key: string,
  kind: TickKind,
  day: string,
  columns: readonly string[],
  req: LoadWindowRequest,
  stats: ReadStats,
  cache: FooterCache | undefined,
): Promise<{ data: Map<string, ColumnArray>; report: TickFileReport }> {
  let opened: OpenedParquet;
  try {
    opened = await openParquetBlob(blobs, key, { stats, cache });
  } catch (err) {
    if (err instanceof BlobNotFoundError)
      throw new TickDataMissingError(key, req.instrument_key, req.fromNs, req.toNs);
    throw err;
  }
  checkSchema(opened, kind, columns);
  const { metadata } = opened;
  const selected = overlappingRowGroups(metadata, req.fromNs, req.toNs);
  const starts = rowGroupStarts(metadata);

  // Contiguous runs of selected row groups become one row-range read each.
  const runs: Array<{ rowStart: number; rowEnd: number }> = [];
  let groupBytes = 0;
  for (const i of selected) {
    const start = starts[i] as number;
    const end = start + Number(metadata.row_groups[i]?.num_rows ?? 0);
    groupBytes += rowGroupBytes(metadata, i, columns);
    const last = runs[runs.length - 1];
    if (last && last.rowEnd === start) last.rowEnd = end;
    else runs.push({ rowStart: start, rowEnd: end });
  }
  const pieces = await Promise.all(runs.map((r) => readRows(opened, { columns, ...r })));
  const { data, rowsRead, kept } = keepWindowRows(
    key,
    concatParts(pieces, columns),
    columns,
    req.fromNs,
    req.toNs,
  );
  const report: TickFileReport = {
    key,
    kind,
    day,
    bytes_total: opened.file.byteLength,
    bytes_read: opened.file.bytesRead,
    footer_bytes: opened.footerBytes,
    row_group_bytes: groupBytes,
    row_groups_total: metadata.row_groups.length,
    row_groups_read: selected.length,
    rows_read: rowsRead,
    rows_in_window: kept,
  };
  return { data, report };
}

/** Keep the rows inside [from, to); restore time order if a foreign file was not sorted. */
function keepWindowRows(
  key: string,
  all: Map<string, ColumnArray>,
  columns: readonly string[],
  from: Nanos,
  to: Nanos,
): { data: Map<string, ColumnArray>; rowsRead: number; kept: number } {
  const ts = toBigInt64(key, TS_COLUMN, all.get(TS_COLUMN));
  const rowsRead = ts.length;
  if (isSortedInt64(ts)) {
    // Sorted (every file our tools write): the window is one slice, found by binary search; typed
    // columns are sliced without copying.
    const lo = lowerBound(ts, from);
    const hi = lowerBound(ts, to);
    const data = new Map<string, ColumnArray>();
    for (const name of columns) data.set(name, sliceColumn(all.get(name), lo, Math.max(lo, hi), key, name));
    return { data, rowsRead, kept: Math.max(0, hi - lo) };
  }
  const keep: number[] = [];
  for (let i = 0; i < ts.length; i++) {
    const t = ts[i] as bigint;
    if (t >= from && t < to) keep.push(i);
  }
  keep.sort((a, b) =>
    (ts[a] as bigint) < (ts[b] as bigint) ? -1 : (ts[a] as bigint) > (ts[b] as bigint) ? 1 : a - b,
  );
  const data = new Map<string, ColumnArray>();
  for (const name of columns) data.set(name, take(all.get(name), keep, key, name));
  return { data, rowsRead, kept: keep.length };
}

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/** Non-decreasing? Compared as (signed high word, unsigned low word): no bigint per row. */
export function isSortedInt64(ts: BigInt64Array): boolean {
  if (!LITTLE_ENDIAN) {
    for (let i = 1; i < ts.length; i++) if ((ts[i] as bigint) < (ts[i - 1] as bigint)) return false;
    return true;
  }
  const w = new Uint32Array(ts.buffer, ts.byteOffset, ts.length * 2);
  const hw = new Int32Array(ts.buffer, ts.byteOffset, ts.length * 2);
  for (let i = 1; i < ts.length; i++) {
    const h0 = hw[2 * i - 1] as number;
    const h1 = hw[2 * i + 1] as number;
    if (h1 < h0 || (h1 === h0 && (w[2 * i] as number) < (w[2 * i - 2] as number))) return false;
  }
  return true;
}

/** First index i with ts[i] ≥ x in a sorted column (ts.length when none). */
export function lowerBound(ts: BigInt64Array, x: bigint): number {
  let lo = 0;
  let hi = ts.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((ts[mid] as bigint) < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function sliceColumn(
  col: ColumnArray | undefined,
  lo: number,
  hi: number,
  key: string,
  name: string,
): ColumnArray {
  if (col === undefined) throw new ParquetFileError(key, `column ${name} was not read`);
  if (col instanceof BigInt64Array || col instanceof Float64Array || col instanceof Int32Array) {
    return lo === 0 && hi === col.length ? col : col.subarray(lo, hi);
  }
  return col.slice(lo, hi) as ColumnArray;
}

function take(col: ColumnArray | undefined, idx: readonly number[], key: string, name: string): ColumnArray {
  if (col === undefined) throw new ParquetFileError(key, `column ${name} was not read`);
  if (col instanceof BigInt64Array) {
    const out = new BigInt64Array(idx.length);
    for (let i = 0; i < idx.length; i++) out[i] = col[idx[i] as number] as bigint;
    return out;
  }
  if (col instanceof Float64Array) {
    const out = new Float64Array(idx.length);
    for (let i = 0; i < idx.length; i++) out[i] = col[idx[i] as number] as number;
    return out;
  }
  if (col instanceof Int32Array) {
    const out = new Int32Array(idx.length);
    for (let i = 0; i < idx.length; i++) out[i] = col[idx[i] as number] as number;
    return out;
  }
  const src: ReadonlyArray<unknown> = col;
  const out: Array<string | number | bigint | boolean | null> = new Array(idx.length);
  for (let i = 0; i < idx.length; i++) {
    const v = src[idx[i] as number];
    out[i] =
      typeof v === 'string' || typeof v === 'number' || typeof v === 'bigint' || typeof v === 'boolean'
        ? v
        : null;
  }
  return out;
}

function concatParts(
  parts: ReadonlyArray<Map<string, ColumnArray>>,
  columns: readonly string[],
): Map<string, ColumnArray> {
  const out = new Map<string, ColumnArray>();
  for (const name of columns) {
    const cols = parts.map((p) => p.get(name)).filter((c): c is ColumnArray => c !== undefined);
    if (cols.length === 1) {
      out.set(name, cols[0] as ColumnArray);
      continue;
    }
    const n = cols.reduce((s, c) => s + c.length, 0);
    const first = cols[0];
    if (cols.length > 0 && cols.every((c) => c instanceof BigInt64Array)) {
      const o = new BigInt64Array(n);
      let at = 0;
      for (const c of cols as BigInt64Array[]) {
        o.set(c, at);
        at += c.length;
      }
      out.set(name, o);
    } else if (cols.length > 0 && cols.every((c) => c instanceof Float64Array)) {
      const o = new Float64Array(n);
      let at = 0;
      for (const c of cols as Float64Array[]) {
        o.set(c, at);
        at += c.length;
      }
      out.set(name, o);
    } else if (cols.length > 0 && cols.every((c) => c instanceof Int32Array)) {
      const o = new Int32Array(n);
      let at = 0;
      for (const c of cols as Int32Array[]) {
        o.set(c, at);
        at += c.length;
      }
      out.set(name, o);
    } else if (first === undefined) {
      out.set(name, []);
    } else {
      const o: Array<string | number | bigint | boolean | null> = [];
      for (const c of cols) for (const v of c) o.push(v);
      out.set(name, o);
    }
  }
  return out;
}

function toBigInt64(key: string, name: string, col: ColumnArray | undefined): BigInt64Array {
  if (col instanceof BigInt64Array) return col;
  if (col === undefined) return new BigInt64Array(0);
  const out = new BigInt64Array(col.length);
  for (let i = 0; i < col.length; i++) {
    const v = col[i];
    if (typeof v !== 'bigint')
      throw new ParquetFileError(key, `column ${name} row ${i}: expected a timestamp, got ${String(v)}`);
    out[i] = v;
  }
  return out;
}

function toFloat64(key: string, name: string, col: ColumnArray | undefined): Float64Array {
  if (col instanceof Float64Array) return col;
  if (col === undefined) return new Float64Array(0);
  const out = new Float64Array(col.length);
  for (let i = 0; i < col.length; i++) {
    const v = col[i];
    // DECIMAL columns arrive as exact strings; the hot loop wants doubles.
    const x = typeof v === 'number' ? v : typeof v === 'string' ? Number(v) : Number.NaN;
    if (!Number.isFinite(x))
      throw new ParquetFileError(key, `column ${name} row ${i}: expected a number, got ${String(v)}`);
    out[i] = x;
  }
  return out;
}

const TRADE_SIDE_CODES: ReadonlyMap<string, number> = new Map([
  ['BUY', SIDE_BUY],
  ['SELL', SIDE_SELL],
]);
const BOOK_SIDE_CODES: ReadonlyMap<string, number> = new Map([
  ['BID', BOOK_BID],
  ['ASK', BOOK_ASK],
]);

/**
 * Side strings → codes (case-insensitive). A null trade side (a foreign file with an optional
 * column) is SIDE_UNKNOWN; any other value is a corrupt file.
 */
function sideCodes(
  key: string,
  col: ColumnArray | undefined,
  codes: ReadonlyMap<string, number>,
  nullCode: number | null,
): Int8Array {
  if (col === undefined) return new Int8Array(0);
  const out = new Int8Array(col.length);
  for (let i = 0; i < col.length; i++) {
    const v = col[i];
    const code =
      typeof v === 'string'
        ? (codes.get(v) ?? codes.get(v.toUpperCase()))
        : v === null && nullCode !== null
          ? nullCode
          : undefined;
    if (code === undefined) {
      throw new ParquetFileError(
        key,
        `column side row ${i}: expected ${[...codes.keys()].join(' or ')}, got ${String(v)}`,
      );
    }
    out[i] = code;
  }
  return out;
}

function toTrades(cols: Map<string, ColumnArray>, withIds: boolean, key: string): TradeColumns {
  const t: TradeColumns = {
    ts: toBigInt64(key, TS_COLUMN, cols.get(TS_COLUMN)),
    price: toFloat64(key, 'price', cols.get('price')),
    size: toFloat64(key, 'size', cols.get('size')),
    side: sideCodes(key, cols.get('side'), TRADE_SIDE_CODES, SIDE_UNKNOWN),
  };
  if (withIds) t.trade_id = Array.from(cols.get('trade_id') ?? [], (v) => String(v));
  return t;
}

function toQuotes(cols: Map<string, ColumnArray>, key: string): QuoteColumns {
  return {
    ts: toBigInt64(key, TS_COLUMN, cols.get(TS_COLUMN)),
    bid_px: toFloat64(key, 'bid_px', cols.get('bid_px')),
    bid_sz: toFloat64(key, 'bid_sz', cols.get('bid_sz')),
    ask_px: toFloat64(key, 'ask_px', cols.get('ask_px')),
    ask_sz: toFloat64(key, 'ask_sz', cols.get('ask_sz')),
  };
}

function toBook(cols: Map<string, ColumnArray>, key: string): BookColumns {
  const level = cols.get('level');
  let levels: Int32Array;
  if (level instanceof Int32Array) levels = level;
  else {
    levels = new Int32Array(level?.length ?? 0);
    for (let i = 0; i < levels.length; i++) {
      const v = level?.[i];
      const n = typeof v === 'number' || typeof v === 'bigint' ? Number(v) : Number.NaN;
      if (!Number.isInteger(n))
        throw new ParquetFileError(key, `column level row ${i}: expected an integer, got ${String(v)}`);
      levels[i] = n;
    }
  }
  return {
    ts: toBigInt64(key, TS_COLUMN, cols.get(TS_COLUMN)),
    side: sideCodes(key, cols.get('side'), BOOK_SIDE_CODES, null),
    level: levels,
    price: toFloat64(key, 'price', cols.get('price')),
    size: toFloat64(key, 'size', cols.get('size')),
  };
}

function concatTyped<T extends BigInt64Array | Float64Array | Int32Array | Int8Array>(
  parts: readonly T[],
  make: (n: number) => T,
): T {
  if (parts.length === 1) return parts[0] as T;
  const out = make(parts.reduce((s, p) => s + p.length, 0));
  let at = 0;
  for (const p of parts) {
    (out as { set(src: ArrayLike<unknown>, offset: number): void }).set(p as ArrayLike<unknown>, at);
    at += p.length;
  }
  return out;
}

const i64 = (n: number) => new BigInt64Array(n);
const f64 = (n: number) => new Float64Array(n);
const i32 = (n: number) => new Int32Array(n);
const i8 = (n: number) => new Int8Array(n);

/** One column of several parts, concatenated. */
function col<P, T extends BigInt64Array | Float64Array | Int32Array | Int8Array>(
  parts: readonly P[],
  pick: (p: P) => T,
  make: (n: number) => T,
): T {
  return concatTyped(parts.map(pick), make);
}

function concatTrades(parts: readonly TradeColumns[], withIds: boolean): TradeColumns {
  const t: TradeColumns = {
    ts: col(parts, (p) => p.ts, i64),
    price: col(parts, (p) => p.price, f64),
    size: col(parts, (p) => p.size, f64),
    side: col(parts, (p) => p.side, i8),
  };
  if (withIds) t.trade_id = parts.flatMap((p) => p.trade_id ?? []);
  return t;
}

function concatQuotes(parts: readonly QuoteColumns[]): QuoteColumns {
  return {
    ts: col(parts, (p) => p.ts, i64),
    bid_px: col(parts, (p) => p.bid_px, f64),
    bid_sz: col(parts, (p) => p.bid_sz, f64),
    ask_px: col(parts, (p) => p.ask_px, f64),
    ask_sz: col(parts, (p) => p.ask_sz, f64),
  };
}

function concatBook(parts: readonly BookColumns[]): BookColumns {
  return {
    ts: col(parts, (p) => p.ts, i64),
    side: col(parts, (p) => p.side, i8),
    level: col(parts, (p) => p.level, i32),
    price: col(parts, (p) => p.price, f64),
    size: col(parts, (p) => p.size, f64),
  };
}
