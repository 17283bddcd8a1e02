/**
 * Parquet writing over hyparquet-writer with an explicit schema and caller-controlled row groups.
 *
 * hyparquet-writer takes `rowGroupSize` as a number or an array of sizes (the last one repeating);
 * we always pass the exact list of sizes, computed by a policy such as {@link minuteRowGroupSizes}
 * (our tick files: one row group per whole minute of `ts_event`, at most 100,000 rows each).
 */
import type { DecodedArray, KeyValue } from 'hyparquet';
import { ByteWriter, type ColumnSource, ParquetWriter } from 'hyparquet-writer';
import { Dec, toDec } from '../../shared/domain/decimal.ts';
import { type ColumnDef, decimalOf, parquetSchemaFor } from './schema.ts';

/** Values for one column; the accepted shapes depend on the column kind (see ColumnKind). */
export type ColumnValues =
  | BigInt64Array
  | Float64Array
  | Int32Array
  | ReadonlyArray<bigint | number | string | boolean | null | undefined>;

export interface ColumnInput {
  def: ColumnDef;
  data: ColumnValues;
  /** Override the encoding (default: dictionary when it pays, else PLAIN). */
  encoding?: 'PLAIN' | 'DELTA_BINARY_PACKED' | 'BYTE_STREAM_SPLIT' | 'RLE_DICTIONARY' | undefined;
  /** Write min/max statistics for this column (default true). */
  statistics?: boolean | undefined;
}

export type ParquetCodec = 'SNAPPY' | 'UNCOMPRESSED';

export interface WriteParquetOptions {
  columns: readonly ColumnInput[];
  /** Exact row-group sizes, summing to the row count. Default: one row group per 100,000 rows. */
  rowGroupSizes?: readonly number[] | undefined;
  codec?: ParquetCodec | undefined;
  /** Key-value metadata stored in the footer. */
  metadata?: Readonly<Record<string, string>> | undefined;
  /** `created_by` in the footer. */
  createdBy?: string | undefined;
}

export const DEFAULT_MAX_ROW_GROUP_ROWS = 100_000;
const NS_PER_MINUTE = 60_000_000_000n;

/**
 * Row-group sizes that cut at every whole minute of `ts` (UTC) and at most `maxRows` rows:
 * each group holds rows of a single minute. `ts` must be sorted ascending.
 */
export function minuteRowGroupSizes(
  ts: BigInt64Array | readonly bigint[],
  maxRows: number = DEFAULT_MAX_ROW_GROUP_ROWS,
): number[] {
  if (!Number.isInteger(maxRows) || maxRows < 1) throw new RangeError(`maxRows must be ≥ 1, got ${maxRows}`);
  const sizes: number[] = [];
  const n = ts.length;
  if (n === 0) return sizes;
  let groupStart = 0;
  let prev = ts[0] as bigint;
  let boundary = floorDiv(prev, NS_PER_MINUTE) * NS_PER_MINUTE + NS_PER_MINUTE;
  for (let i = 1; i < n; i++) {
    const t = ts[i] as bigint;
    if (t < prev) throw new RangeError(`timestamps not sorted at row ${i}: ${t} < ${prev}`);
    prev = t;
    if (t >= boundary) {
      sizes.push(i - groupStart);
      groupStart = i;
      boundary = floorDiv(t, NS_PER_MINUTE) * NS_PER_MINUTE + NS_PER_MINUTE;
    } else if (i - groupStart === maxRows) {
      sizes.push(maxRows);
      groupStart = i;
    }
  }
  sizes.push(n - groupStart);
  return sizes;
}

/** Row-group sizes of at most `maxRows` rows each, with no time alignment. */
export function fixedRowGroupSizes(rows: number, maxRows: number = DEFAULT_MAX_ROW_GROUP_ROWS): number[] {
  if (!Number.isInteger(maxRows) || maxRows < 1) throw new RangeError(`maxRows must be ≥ 1, got ${maxRows}`);
  const sizes: number[] = [];
  for (let start = 0; start < rows; start += maxRows) sizes.push(Math.min(maxRows, rows - start));
  return sizes;
}

function floorDiv(a: bigint, b: bigint): bigint {
  const q = a / b;
  return a % b < 0n ? q - 1n : q;
}

/** Encode a table as a Parquet file in memory. */
export function writeParquet(opts: WriteParquetOptions): Uint8Array {
  const { columns } = opts;
  if (columns.length === 0) throw new RangeError('a Parquet file needs at least one column');
  const rows = columns[0]?.data.length ?? 0;
  for (const c of columns) {
    if (c.data.length !== rows) {
      throw new RangeError(`column ${c.def.name} has ${c.data.length} values, expected ${rows}`);
    }
  }
  const sizes = opts.rowGroupSizes ? [...opts.rowGroupSizes] : fixedRowGroupSizes(rows);
  let total = 0;
  for (const s of sizes) {
    if (!Number.isInteger(s) || s < 1)
      throw new RangeError(`row-group sizes must be positive integers, got ${s}`);
    total += s;
  }
  if (total !== rows) throw new RangeError(`row-group sizes sum to ${total}, but the table has ${rows} rows`);

  const writer = new ByteWriter(Math.max(1024, rows * 16));
  const pq = openWriter(writer, columns, opts);
  if (rows > 0) {
    // hyparquet-writer cuts exactly at the listed sizes; the last one repeats, so an exact list is exact.
    const pending = pq.write({ columnData: columnSources(columns), rowGroupSize: sizes });
    if (pending) throw new Error('unexpected asynchronous write to an in-memory buffer');
  }
  const finished = pq.finish();
  if (finished) throw new Error('unexpected asynchronous finish of an in-memory buffer');
  return new Uint8Array(writer.getBuffer());
}

function openWriter(
  writer: ByteWriter,
  columns: readonly { def: ColumnDef }[],
  opts: Pick<WriteParquetOptions, 'codec' | 'metadata' | 'createdBy'>,
): ParquetWriter {
  const kvMetadata: KeyValue[] | undefined = opts.metadata
    ? Object.entries(opts.metadata).map(([key, value]) => ({ key, value }))
    : undefined;
  return new ParquetWriter({
    writer,
    schema: parquetSchemaFor(columns.map((c) => c.def)),
    codec: opts.codec ?? 'SNAPPY',
    createdBy: opts.createdBy ?? 'execution-platform (hyparquet-writer)',
    ...(kvMetadata ? { kvMetadata } : {}),
  });
}

function columnSources(columns: readonly ColumnInput[]): ColumnSource[] {
  return columns.map((c) => {
    const src: ColumnSource = {
      name: c.def.name,
      data: physicalValues(c),
      nullable: c.def.nullable ?? false,
    };
    if (c.encoding !== undefined) src.encoding = c.encoding;
    if (c.statistics !== undefined) src.statistics = c.statistics;
    return src;
  });
}

/** Where a streamed Parquet file goes: chunks in order, then the end (see {@link ParquetStreamWriter}). */
export interface ByteSink {
  write(chunk: Uint8Array): Promise<void>;
}

/** A column of a streamed file: its definition and encoding options, without data. */
export type StreamColumn = Omit<ColumnInput, 'data'>;

/**
 * A Parquet file written one row group at a time: each {@link writeRowGroup} encodes exactly one row
 * group and hands its bytes to the sink before returning, so the writer holds one row group's
 * encoded bytes at most (plus the footer's metadata, about 250 bytes a row group). The bytes are
 * the same as {@link writeParquet} with the same columns and `rowGroupSizes` = the sizes written.
 */
export class ParquetStreamWriter {
  private readonly bytes = new ByteWriter(1 << 16);
  private readonly pq: ParquetWriter;
  private rowCount = 0;
  private groups = 0;
  private finished = false;

  constructor(
    private readonly sink: ByteSink,
    private readonly columns: readonly StreamColumn[],
    opts: Pick<WriteParquetOptions, 'codec' | 'metadata' | 'createdBy'> = {},
  ) {
    if (columns.length === 0) throw new RangeError('a Parquet file needs at least one column');
    this.pq = openWriter(this.bytes, columns, opts);
  }

  /** Rows and row groups written so far. */
  get rows(): number {
    return this.rowCount;
  }
  get rowGroups(): number {
    return this.groups;
  }
  /** Bytes handed to the sink so far (the whole file once finished). */
  get bytesWritten(): number {
    return this.bytes.offset - this.bytes.index;
  }

  /** Encode one row group (values in column order, equal lengths, at least one row) and sink it. */
  async writeRowGroup(values: readonly ColumnInput['data'][]): Promise<void> {
    if (this.finished) throw new Error('Parquet stream already finished');
    if (values.length !== this.columns.length) {
      throw new RangeError(`expected ${this.columns.length} columns, got ${values.length}`);
    }
    const rows = values[0]?.length ?? 0;
    if (rows < 1) throw new RangeError('a row group needs at least one row');
    const inputs = this.columns.map((c, i): ColumnInput => {
      const data = values[i] as ColumnInput['data'];
      if (data.length !== rows) {
        throw new RangeError(`column ${c.def.name} has ${data.length} values, expected ${rows}`);
      }
      return { ...c, data };
    });
    const pending = this.pq.write({ columnData: columnSources(inputs), rowGroupSize: [rows] });
    if (pending) throw new Error('unexpected asynchronous write to an in-memory buffer');
    this.rowCount += rows;
    this.groups++;
    await this.drain();
  }

  /** Write the footer and sink the rest. */
  async finish(): Promise<{ rows: number; rowGroups: number; bytes: number }> {
    if (this.finished) throw new Error('Parquet stream already finished');
    this.finished = true;
    const done = this.pq.finish();
    if (done) throw new Error('unexpected asynchronous finish of an in-memory buffer');
    await this.drain();
    return { rows: this.rowCount, rowGroups: this.groups, bytes: this.bytes.offset };
  }

  private async drain(): Promise<void> {
    if (this.bytes.index === 0) return;
    // A copy: the buffer is reused for the next row group while the sink may still hold the chunk.
    const chunk = this.bytes.getBytes().slice();
    this.bytes.index = 0;
    await this.sink.write(chunk);
  }
}

/** Convert a column's values to what hyparquet-writer expects for its physical type. */
function physicalValues(c: ColumnInput): DecodedArray {
  const { def, data } = c;
  const nullable = def.nullable ?? false;
  const checkNull = (v: unknown, i: number): boolean => {
    if (v === null || v === undefined) {
      if (!nullable) throw new RangeError(`column ${def.name} row ${i}: null in a non-nullable column`);
      return true;
    }
    return false;
  };
  switch (def.kind) {
    case 'TIMESTAMP_NS':
    case 'INT64': {
      if (data instanceof BigInt64Array) return data;
      const out: (bigint | null)[] = new Array(data.length);
      for (let i = 0; i < data.length; i++) {
        const v = data[i];
        if (checkNull(v, i)) out[i] = null;
        else if (typeof v === 'bigint') out[i] = v;
        else if (typeof v === 'number' && Number.isSafeInteger(v)) out[i] = BigInt(v);
        else throw new RangeError(`column ${def.name} row ${i}: expected an integer, got ${String(v)}`);
      }
      return out;
    }
    case 'DOUBLE': {
      if (data instanceof Float64Array) return data;
      const out: (number | null)[] = new Array(data.length);
      for (let i = 0; i < data.length; i++) {
        const v = data[i];
        if (checkNull(v, i)) out[i] = null;
        else if (typeof v === 'number') out[i] = v;
        else throw new RangeError(`column ${def.name} row ${i}: expected a number, got ${String(v)}`);
      }
      return out;
    }
    case 'INT32': {
      if (data instanceof Int32Array) return data;
      const out: (number | null)[] = new Array(data.length);
      for (let i = 0; i < data.length; i++) {
        const v = data[i];
        if (checkNull(v, i)) out[i] = null;
        else if (typeof v === 'number' && Number.isInteger(v) && v >= -(2 ** 31) && v < 2 ** 31) out[i] = v;
        else throw new RangeError(`column ${def.name} row ${i}: expected an int32, got ${String(v)}`);
      }
      return out;
    }
    case 'STRING': {
      const out: (string | null)[] = new Array(data.length);
      for (let i = 0; i < data.length; i++) {
        const v = data[i];
        if (checkNull(v, i)) out[i] = null;
        else if (typeof v === 'string') out[i] = v;
        else throw new RangeError(`column ${def.name} row ${i}: expected a string, got ${String(v)}`);
      }
      return out;
    }
    case 'BOOLEAN': {
      const out: (boolean | null)[] = new Array(data.length);
      for (let i = 0; i < data.length; i++) {
        const v = data[i];
        if (checkNull(v, i)) out[i] = null;
        else if (typeof v === 'boolean') out[i] = v;
        else throw new RangeError(`column ${def.name} row ${i}: expected a boolean, got ${String(v)}`);
      }
      return out;
    }
    case 'DECIMAL': {
      const { precision, scale } = decimalOf(def);
      const limit = 10n ** BigInt(precision);
      const factor = new Dec(10).pow(scale);
      const out: (bigint | null)[] = new Array(data.length);
      for (let i = 0; i < data.length; i++) {
        const v = data[i];
        if (checkNull(v, i)) {
          out[i] = null;
          continue;
        }
        let unscaled: bigint;
        if (typeof v === 'bigint') unscaled = v;
        else if (typeof v === 'string' || typeof v === 'number') {
          const d = toDec(v);
          if (d.decimalPlaces() > scale) {
            throw new RangeError(
              `column ${def.name} row ${i}: ${String(v)} has more than ${scale} decimal places (no silent rounding)`,
            );
          }
          unscaled = BigInt(d.times(factor).toFixed(0));
        } else throw new RangeError(`column ${def.name} row ${i}: expected a decimal, got ${String(v)}`);
        if (unscaled >= limit || unscaled <= -limit) {
          throw new RangeError(
            `column ${def.name} row ${i}: ${String(v)} exceeds DECIMAL(${precision},${scale})`,
          );
        }
        out[i] = unscaled;
      }
      return out;
    }
  }
}
