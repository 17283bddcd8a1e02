/**
 * Parquet reading over a BlobStore with byte-range requests (hyparquet's AsyncBuffer), counting every
 * byte fetched. The footer is read with exactly the bytes it occupies (8-byte tail, then the
 * metadata), and row groups are read by row range, so a reader that picks its row groups from the
 * footer statistics fetches little more than those row groups.
 */
import {
  type AsyncBuffer,
  type ColumnData,
  type FileMetaData,
  type ParquetParsers,
  parquetMetadata,
  parquetRead,
  type SchemaElement,
} from 'hyparquet';
import { BlobNotFoundError, type BlobStore } from '../../shared/ports/blob-store.ts';

const PAR1 = 0x31524150;

/** A Parquet file that exists but cannot be decoded (truncated, garbled, not Parquet, wrong schema). */
export class ParquetFileError extends Error {
  constructor(
    readonly key: string,
    detail: string,
    options?: { cause?: unknown },
  ) {
    super(`corrupt or unreadable Parquet file ${key}: ${detail}`, options);
    this.name = 'ParquetFileError';
  }
}

/** Byte counters shared by the files of one read (e.g. one backtest window). */
export interface ReadStats {
  bytesRead: number;
  requests: number;
}

export function newReadStats(): ReadStats {
  return { bytesRead: 0, requests: 0 };
}

/** An AsyncBuffer over one blob, fetching with BlobStore.getRange and counting bytes and requests. */
export class BlobRangeFile implements AsyncBuffer {
  bytesRead = 0;
  requests = 0;

  constructor(
    readonly blobs: BlobStore,
    readonly key: string,
    readonly byteLength: number,
    private readonly shared?: ReadStats,
  ) {}

  async slice(start: number, end: number = this.byteLength): Promise<ArrayBuffer> {
    if (start < 0 || end > this.byteLength || start > end) {
      throw new RangeError(`byte range [${start}, ${end}) outside ${this.key} (${this.byteLength} bytes)`);
    }
    if (start === end) return new ArrayBuffer(0);
    const bytes = await this.blobs.getRange(this.key, start, end);
    if (bytes.byteLength !== end - start) {
      throw new ParquetFileError(
        this.key,
        `range [${start}, ${end}) returned ${bytes.byteLength} bytes; the object changed while reading?`,
      );
    }
    this.bytesRead += bytes.byteLength;
    this.requests += 1;
    if (this.shared) {
      this.shared.bytesRead += bytes.byteLength;
      this.shared.requests += 1;
    }
    return toArrayBuffer(bytes);
  }
}

/**
 * An AsyncBuffer over one blob that fetches only the byte ranges it was told are needed (the column
 * chunks a plan names), in one request per run of touching ranges, whatever larger span a decoder
 * asks for: the bytes between needed ranges are never fetched (they read as zeros and are never
 * decoded). {@link prefetch} fetches every needed range at once (the fewest requests); a span that
 * touches no needed range is fetched whole. Counts bytes and requests like {@link BlobRangeFile}.
 */
export class NeededRangesFile implements AsyncBuffer {
  private readonly ranges: Array<[number, number]>;
  private readonly inner: BlobRangeFile;
  private loaded: Map<number, Promise<ArrayBuffer>> | null = null;

  constructor(
    blobs: BlobStore,
    readonly key: string,
    readonly byteLength: number,
    needed: ReadonlyArray<readonly [number, number]>,
    shared?: ReadStats,
  ) {
    this.inner = new BlobRangeFile(blobs, key, byteLength, shared);
    this.ranges = mergeAdjacent(needed);
  }

  get bytesRead(): number {
    return this.inner.bytesRead;
  }

  get requests(): number {
    return this.inner.requests;
  }

  /** Fetch every needed range now, one request per run of touching ranges. */
  async prefetch(): Promise<void> {
    if (this.loaded) return;
    const loaded = new Map(this.ranges.map(([a, b]) => [a, this.inner.slice(a, b)] as const));
    this.loaded = loaded;
    await Promise.all(loaded.values());
  }

  private async part(a: number, b: number): Promise<Uint8Array> {
    if (this.loaded) {
      for (const [ra, rb] of this.ranges) {
        if (ra <= a && b <= rb) {
          const buf = await this.loaded.get(ra);
          if (buf) return new Uint8Array(buf, a - ra, b - a);
        }
      }
    }
    return new Uint8Array(await this.inner.slice(a, b));
  }

  async slice(start: number, end: number = this.byteLength): Promise<ArrayBuffer> {
    const parts = clipRanges(this.ranges, start, end);
    if (parts.length === 0) return this.inner.slice(start, end);
    const out = new Uint8Array(end - start);
    const got = await Promise.all(parts.map(([a, b]) => this.part(a, b)));
    for (let i = 0; i < parts.length; i++) {
      out.set(got[i] as Uint8Array, (parts[i] as [number, number])[0] - start);
    }
    return out.buffer;
  }
}

/** Sorted, with overlapping and touching ranges merged. */
export function mergeAdjacent(ranges: ReadonlyArray<readonly [number, number]>): Array<[number, number]> {
  const sorted = ranges.filter(([a, b]) => b > a).sort((x, y) => x[0] - y[0]);
  const out: Array<[number, number]> = [];
  for (const [a, b] of sorted) {
    const last = out[out.length - 1];
    if (last && a <= last[1]) last[1] = Math.max(last[1], b);
    else out.push([a, b]);
  }
  return out;
}

function clipRanges(
  ranges: ReadonlyArray<[number, number]>,
  start: number,
  end: number,
): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (const [a, b] of ranges) {
    if (b <= start || a >= end) continue;
    out.push([Math.max(a, start), Math.min(b, end)]);
  }
  return out;
}

/** An AsyncBuffer over bytes in memory. */
export function memoryFile(bytes: Uint8Array): AsyncBuffer {
  return {
    byteLength: bytes.byteLength,
    slice: (start: number, end: number = bytes.byteLength) => toArrayBuffer(bytes.subarray(start, end)),
  };
}

function toArrayBuffer(bytes: Uint8Array): ArrayBuffer {
  if (
    bytes.byteOffset === 0 &&
    bytes.byteLength === bytes.buffer.byteLength &&
    bytes.buffer instanceof ArrayBuffer
  ) {
    return bytes.buffer;
  }
  return bytes.slice().buffer;
}

/**
 * Parsers that turn every Parquet timestamp into bigint nanoseconds (hyparquet's default is a Date,
 * which drops everything below the millisecond).
 */
export const NANOS_PARSERS: Partial<ParquetParsers> = {
  timestampFromNanoseconds: (n: bigint) => n,
  timestampFromMicroseconds: (n: bigint) => n * 1_000n,
  timestampFromMilliseconds: (n: bigint) => n * 1_000_000n,
};

/**
 * Read and parse the footer with the bytes it occupies. `prefetchBytes` > 8 fetches that much of the
 * tail at once (saving a round trip when the footer fits, at the cost of reading a little data).
 */
export async function readFooter(
  file: AsyncBuffer,
  key: string,
  opts: { prefetchBytes?: number | undefined } = {},
): Promise<FileMetaData> {
  const size = file.byteLength;
  if (size < 12) throw new ParquetFileError(key, `file too short for Parquet (${size} bytes)`);
  const tailLen = Math.min(size, Math.max(8, opts.prefetchBytes ?? 8));
  const tail = new Uint8Array(await file.slice(size - tailLen, size));
  const view = new DataView(tail.buffer, tail.byteOffset, tail.byteLength);
  if (view.getUint32(tailLen - 4, true) !== PAR1) {
    throw new ParquetFileError(key, 'no PAR1 magic at the end of the file');
  }
  const metadataLength = view.getUint32(tailLen - 8, true);
  if (metadataLength + 12 > size) {
    throw new ParquetFileError(key, `footer length ${metadataLength} exceeds the file size ${size}`);
  }
  let footer: Uint8Array;
  if (metadataLength + 8 <= tailLen) {
    footer = tail.subarray(tailLen - metadataLength - 8);
  } else {
    const start = size - metadataLength - 8;
    const head = new Uint8Array(await file.slice(start, size - tailLen));
    footer = new Uint8Array(metadataLength + 8);
    footer.set(head, 0);
    footer.set(tail, head.byteLength);
  }
  try {
    return parquetMetadata(footer, { parsers: NANOS_PARSERS, geoparquet: false });
  } catch (err) {
    throw new ParquetFileError(key, `cannot parse the footer: ${errorMessage(err)}`, { cause: err });
  }
}

/** An opened Parquet blob: its byte-range buffer (with counters) and parsed footer. */
export interface OpenedParquet {
  key: string;
  file: BlobRangeFile;
  metadata: FileMetaData;
  /** Bytes fetched to read the footer (0 when the metadata came from a cache). */
  footerBytes: number;
}

export interface OpenOptions {
  /** Counters shared with other files of the same read. */
  stats?: ReadStats | undefined;
  prefetchBytes?: number | undefined;
  /** Reuse footers already parsed for the same key, size and modification time. */
  cache?: FooterCache | undefined;
}

/**
 * Parsed footers by blob key, valid while the object's size and update time stay the same. A worker
 * that serves several windows of the same day reads each footer once.
 */
export class FooterCache {
  private readonly entries = new Map<
    string,
    { size: number; updatedMs: number | undefined; metadata: FileMetaData }
  >();
  constructor(private readonly maxEntries = 256) {}

  get(key: string, size: number, updatedMs: number | undefined): FileMetaData | undefined {
    const e = this.entries.get(key);
    if (!e || e.size !== size || e.updatedMs !== updatedMs) return undefined;
    this.entries.delete(key); // refresh LRU position
    this.entries.set(key, e);
    return e.metadata;
  }

  set(key: string, size: number, updatedMs: number | undefined, metadata: FileMetaData): void {
    this.entries.delete(key);
    this.entries.set(key, { size, updatedMs, metadata });
    while (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next().value;
      if (oldest === undefined) break;
      this.entries.delete(oldest);
    }
  }
}

/** Open a Parquet blob: stat it (BlobNotFoundError when absent) and read its footer. */
export async function openParquetBlob(
  blobs: BlobStore,
  key: string,
  opts: OpenOptions = {},
): Promise<OpenedParquet> {
  const info = await blobs.stat(key);
  if (!info) throw new BlobNotFoundError(key);
  const file = new BlobRangeFile(blobs, key, info.size, opts.stats);
  const cached = opts.cache?.get(key, info.size, info.updatedMs);
  if (cached) return { key, file, metadata: cached, footerBytes: 0 };
  const metadata = await readFooter(file, key, { prefetchBytes: opts.prefetchBytes });
  opts.cache?.set(key, info.size, info.updatedMs, metadata);
  return { key, file, metadata, footerBytes: file.bytesRead };
}

/** Leaf schema elements of a flat file, by column name. */
export function columnElements(metadata: FileMetaData): Map<string, SchemaElement> {
  const out = new Map<string, SchemaElement>();
  for (const e of metadata.schema.slice(1)) if (e.type !== undefined) out.set(e.name, e);
  return out;
}

/** Absolute first row of each row group. */
export function rowGroupStarts(metadata: FileMetaData): number[] {
  const starts: number[] = [];
  let at = 0;
  for (const rg of metadata.row_groups) {
    starts.push(at);
    at += Number(rg.num_rows);
  }
  return starts;
}

/** Bytes of a row group's column chunks (the selected columns, or all). */
export function rowGroupBytes(metadata: FileMetaData, index: number, columns?: readonly string[]): number {
  const rg = metadata.row_groups[index];
  if (!rg) throw new RangeError(`no row group ${index}`);
  let total = 0;
  for (const c of rg.columns) {
    const md = c.meta_data;
    if (!md) continue;
    if (columns && !columns.includes(md.path_in_schema[0] ?? '')) continue;
    total += Number(md.total_compressed_size);
  }
  return total;
}

/**
 * A column as read: timestamps and INT64 as BigInt64Array, DOUBLE as Float64Array, INT32 as
 * Int32Array, DECIMAL as exact decimal strings, strings and booleans as arrays; nullable columns
 * as arrays with nulls.
 */
export type ColumnArray =
  | BigInt64Array
  | Float64Array
  | Int32Array
  | string[]
  | boolean[]
  | Array<string | number | bigint | boolean | null>;

type Collector = {
  out: ColumnArray;
  put(at: number, src: DecodedLike, from: number, to: number): void;
};
type DecodedLike = ColumnData['columnData'];

/**
 * Nanoseconds per unit of an INT64 timestamp column (1 for NANOS), or 0 when the column is not an
 * INT64 timestamp. Such columns are read raw (their annotation dropped, see rawMetadata) and scaled
 * here: no per-value parser call, and nanosecond columns arrive as the decoder's BigInt64Array.
 */
function int64TimestampScale(e: SchemaElement): bigint {
  if (e.type !== 'INT64') return 0n;
  if (e.logical_type?.type === 'TIMESTAMP') {
    return e.logical_type.unit === 'NANOS' ? 1n : e.logical_type.unit === 'MICROS' ? 1_000n : 1_000_000n;
  }
  if (e.converted_type === 'TIMESTAMP_MICROS') return 1_000n;
  if (e.converted_type === 'TIMESTAMP_MILLIS') return 1_000_000n;
  return 0n;
}

function collectorFor(key: string, e: SchemaElement, n: number): Collector {
  const required = e.repetition_type === 'REQUIRED';
  const tsScale = int64TimestampScale(e);
  const isDecimal = e.converted_type === 'DECIMAL' || e.logical_type?.type === 'DECIMAL';
  if (isDecimal) {
    const scale = e.scale ?? (e.logical_type?.type === 'DECIMAL' ? e.logical_type.scale : 0);
    const out: Array<string | null> = new Array(n).fill(null);
    return {
      out,
      put(at, src, from, to) {
        for (let i = from; i < to; i++) {
          const v: unknown = src[i];
          out[at + i - from] =
            v === null || v === undefined ? null : formatUnscaled(unscaledOf(key, v), scale);
        }
      },
    };
  }
  if (required && e.type === 'INT64') {
    const out = new BigInt64Array(n);
    return {
      out,
      put(at, src, from, to) {
        if (src instanceof BigInt64Array && tsScale <= 1n) {
          out.set(src.subarray(from, to), at);
          return;
        }
        const scale = tsScale > 1n ? tsScale : 1n;
        for (let i = from; i < to; i++) {
          const v: unknown = src[i];
          if (typeof v !== 'bigint')
            throw new ParquetFileError(key, `column ${e.name}: expected bigint, got ${typeof v}`);
          out[at + i - from] = v * scale;
        }
      },
    };
  }
  if (required && (e.type === 'DOUBLE' || e.type === 'FLOAT')) {
    const out = new Float64Array(n);
    return {
      out,
      put(at, src, from, to) {
        if (src instanceof Float64Array || src instanceof Float32Array) {
          out.set(src.subarray(from, to), at);
          return;
        }
        for (let i = from; i < to; i++) {
          const v: unknown = src[i];
          if (typeof v !== 'number')
            throw new ParquetFileError(key, `column ${e.name}: expected number, got ${typeof v}`);
          out[at + i - from] = v;
        }
      },
    };
  }
  if (required && e.type === 'INT32' && !e.converted_type && !e.logical_type) {
    const out = new Int32Array(n);
    return {
      out,
      put(at, src, from, to) {
        for (let i = from; i < to; i++) out[at + i - from] = Number(src[i]);
      },
    };
  }
  const out: Array<string | number | bigint | boolean | null> = new Array(n).fill(null);
  return {
    out,
    put(at, src, from, to) {
      for (let i = from; i < to; i++) {
        const v: unknown = src[i];
        out[at + i - from] =
          typeof v === 'bigint' && tsScale > 1n
            ? v * tsScale
            : typeof v === 'string' ||
                typeof v === 'number' ||
                typeof v === 'bigint' ||
                typeof v === 'boolean'
              ? v
              : v === null || v === undefined
                ? null
                : String(v);
      }
    },
  };
}

function unscaledOf(key: string, v: unknown): bigint {
  if (typeof v === 'bigint') return v;
  if (typeof v === 'number' && Number.isInteger(v)) return BigInt(v);
  if (v instanceof Uint8Array) {
    if (v.length === 0) return 0n;
    let x = 0n;
    for (const b of v) x = (x << 8n) | BigInt(b);
    const bits = BigInt(v.length * 8);
    if ((v[0] ?? 0) & 0x80) x -= 1n << bits;
    return x;
  }
  throw new ParquetFileError(key, `unexpected DECIMAL physical value ${String(v)}`);
}

/** Exact decimal string of unscaled × 10^-scale, canonical (no trailing zeros). */
export function formatUnscaled(unscaled: bigint, scale: number): string {
  const neg = unscaled < 0n;
  let digits = (neg ? -unscaled : unscaled).toString();
  if (scale > 0) {
    digits = digits.padStart(scale + 1, '0');
    const int = digits.slice(0, digits.length - scale);
    const frac = digits.slice(digits.length - scale).replace(/0+$/, '');
    digits = frac ? `${int}.${frac}` : int;
  }
  return neg && digits !== '0' ? `-${digits}` : digits;
}

/**
 * A metadata copy in which DECIMAL and INT64 TIMESTAMP columns lose their annotations, so hyparquet
 * hands us the raw integers: DECIMALs unscaled (its own conversion goes through a float; we format
 * them exactly), timestamps as int64 (no parser call and no bigint allocated per value; we scale
 * MICROS/MILLIS to nanoseconds).
 */
function rawMetadata(metadata: FileMetaData): FileMetaData {
  const raw = (e: SchemaElement) =>
    e.converted_type === 'DECIMAL' || e.logical_type?.type === 'DECIMAL' || int64TimestampScale(e) > 0n;
  if (!metadata.schema.some(raw)) return metadata;
  return {
    ...metadata,
    schema: metadata.schema.map((e) => {
      if (!raw(e)) return e;
      const { converted_type: _c, logical_type: _l, ...rest } = e;
      return rest;
    }),
  };
}

/**
 * Read the rows [rowStart, rowEnd) of the named columns. Only the row groups that overlap the range
 * are fetched (hyparquet plans the byte ranges from the footer). Throws ParquetFileError naming the
 * key on decoding errors.
 */
export async function readRows(
  opened: { key: string; file: AsyncBuffer; metadata: FileMetaData },
  opts: { columns: readonly string[]; rowStart?: number | undefined; rowEnd?: number | undefined },
): Promise<Map<string, ColumnArray>> {
  const { key, file, metadata } = opened;
  const totalRows = Number(metadata.num_rows);
  const rowStart = Math.max(0, opts.rowStart ?? 0);
  const rowEnd = Math.min(totalRows, opts.rowEnd ?? totalRows);
  const n = Math.max(0, rowEnd - rowStart);
  const elements = columnElements(metadata);
  const collectors = new Map<string, Collector>();
  for (const name of opts.columns) {
    const e = elements.get(name);
    if (!e)
      throw new ParquetFileError(
        key,
        `no column ${JSON.stringify(name)} (has ${[...elements.keys()].join(', ')})`,
      );
    collectors.set(name, collectorFor(key, e, n));
  }
  if (n === 0) return new Map([...collectors].map(([k, c]) => [k, c.out]));

  const written = new Map<string, number>();
  let chunkError: unknown;
  try {
    await parquetRead({
      file,
      metadata: rawMetadata(metadata),
      columns: [...opts.columns],
      rowStart,
      rowEnd,
      parsers: NANOS_PARSERS,
      onChunk: (chunk: ColumnData) => {
        try {
          const c = collectors.get(chunk.columnName);
          if (!c) return;
          const from = Math.max(chunk.rowStart, rowStart);
          const to = Math.min(chunk.rowEnd, rowEnd);
          if (to <= from) return;
          c.put(from - rowStart, chunk.columnData, from - chunk.rowStart, to - chunk.rowStart);
          written.set(chunk.columnName, (written.get(chunk.columnName) ?? 0) + (to - from));
        } catch (err) {
          chunkError ??= err;
        }
      },
    });
  } catch (err) {
    if (err instanceof ParquetFileError) throw err;
    throw new ParquetFileError(key, errorMessage(err), { cause: err });
  }
  if (chunkError) {
    if (chunkError instanceof ParquetFileError) throw chunkError;
    throw new ParquetFileError(key, errorMessage(chunkError), { cause: chunkError });
  }
  for (const name of opts.columns) {
    const got = written.get(name) ?? 0;
    if (got !== n) throw new ParquetFileError(key, `column ${name}: decoded ${got} of ${n} rows`);
  }
  return new Map([...collectors].map(([k, c]) => [k, c.out]));
}

/** Read a whole Parquet blob (all columns unless named). */
export async function readParquetBlob(
  blobs: BlobStore,
  key: string,
  opts: { columns?: readonly string[] | undefined; stats?: ReadStats | undefined } = {},
): Promise<{ metadata: FileMetaData; columns: Map<string, ColumnArray>; bytesRead: number }> {
  const opened = await openParquetBlob(blobs, key, { stats: opts.stats });
  const columns = opts.columns ?? [...columnElements(opened.metadata).keys()];
  const data = await readRows(opened, { columns });
  return { metadata: opened.metadata, columns: data, bytesRead: opened.file.bytesRead };
}

/** Read a whole Parquet file held in memory. */
export async function readParquetBytes(
  bytes: Uint8Array,
  opts: { columns?: readonly string[] | undefined; name?: string | undefined } = {},
): Promise<{ metadata: FileMetaData; columns: Map<string, ColumnArray> }> {
  const key = opts.name ?? '<memory>';
  const file = memoryFile(bytes);
  const metadata = await readFooter(file, key, { prefetchBytes: bytes.byteLength });
  const columns = opts.columns ?? [...columnElements(metadata).keys()];
  return { metadata, columns: await readRows({ key, file, metadata }, { columns }) };
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
