import { describe, expect, it } from 'vitest';
import {
  BlobRangeFile,
  FooterCache,
  formatUnscaled,
  openParquetBlob,
  ParquetFileError,
  readParquetBlob,
  readParquetBytes,
  readRows,
  rowGroupStarts,
} from '../../../infra/parquet/reader.ts';
import { parquetSchemaFor } from '../../../infra/parquet/schema.ts';
import { fixedRowGroupSizes, minuteRowGroupSizes, writeParquet } from '../../../infra/parquet/writer.ts';
import { BlobNotFoundError } from '../../../shared/ports/blob-store.ts';
import { tempBlobStore } from './helpers.ts';

const MIN = 60_000_000_000n;
const T0 = 1_751_328_000_000_000_000n; // 2025-07-01T00:00:00Z

describe('Parquet writer and reader', () => {
  it('round-trips every column kind exactly, timestamps to the nanosecond', async () => {
    const ts = new BigInt64Array([
      T0 + 1n,
      T0 + 999_999_999n,
      T0 + MIN + 123_456_789n,
      9_223_372_036_854_775_807n,
    ]);
    const bytes = writeParquet({
      columns: [
        { def: { name: 'ts_event', kind: 'TIMESTAMP_NS' }, data: ts },
        { def: { name: 'px', kind: 'DOUBLE' }, data: new Float64Array([0.1, 1e-12, 60000.01, -0]) },
        { def: { name: 's', kind: 'STRING' }, data: ['BUY', 'SELL', 'ünïcødé', ''] },
        { def: { name: 'i32', kind: 'INT32' }, data: new Int32Array([1, -2, 2147483647, -2147483648]) },
        { def: { name: 'i64', kind: 'INT64' }, data: [1n, -1n, 2n ** 62n, 0n] },
        { def: { name: 'b', kind: 'BOOLEAN' }, data: [true, false, true, true] },
        {
          def: { name: 'qty', kind: 'DECIMAL', precision: 18, scale: 8 },
          data: ['0.00000001', '1234567890.12345678', '-3.5', '0'],
        },
        { def: { name: 'maybe', kind: 'DOUBLE', nullable: true }, data: [1.5, null, 2.5, null] },
      ],
    });
    const { metadata, columns } = await readParquetBytes(bytes);
    expect(columns.get('ts_event')).toEqual(ts);
    expect(Array.from(columns.get('px') as Float64Array)).toEqual([0.1, 1e-12, 60000.01, -0]);
    expect(columns.get('s')).toEqual(['BUY', 'SELL', 'ünïcødé', '']);
    expect(Array.from(columns.get('i32') as Int32Array)).toEqual([1, -2, 2147483647, -2147483648]);
    expect(Array.from(columns.get('i64') as BigInt64Array)).toEqual([1n, -1n, 2n ** 62n, 0n]);
    expect(columns.get('b')).toEqual([true, false, true, true]);
    expect(columns.get('qty')).toEqual(['0.00000001', '1234567890.12345678', '-3.5', '0']);
    expect(columns.get('maybe')).toEqual([1.5, null, 2.5, null]);

    const ts0 = metadata.schema[1];
    expect(ts0).toMatchObject({
      name: 'ts_event',
      type: 'INT64',
      repetition_type: 'REQUIRED',
      logical_type: { type: 'TIMESTAMP', isAdjustedToUTC: false, unit: 'NANOS' },
    });
    expect(metadata.row_groups[0]?.columns[0]?.meta_data?.codec).toBe('SNAPPY');
    // Statistics come back as bigint nanoseconds, not Dates.
    expect(metadata.row_groups[0]?.columns[0]?.meta_data?.statistics?.min_value).toBe(T0 + 1n);
  });

  it('refuses what it cannot store exactly', () => {
    const dec = { name: 'q', kind: 'DECIMAL' as const, precision: 4, scale: 2 };
    expect(() => writeParquet({ columns: [{ def: dec, data: ['1.234'] }] })).toThrow(
      /more than 2 decimal places/,
    );
    expect(() => writeParquet({ columns: [{ def: dec, data: ['100.00'] }] })).toThrow(
      /exceeds DECIMAL\(4,2\)/,
    );
    expect(() => parquetSchemaFor([{ name: 'q', kind: 'DECIMAL', precision: 19, scale: 2 }])).toThrow(
      /precision/,
    );
    expect(() =>
      writeParquet({ columns: [{ def: { name: 'x', kind: 'DOUBLE' }, data: [1, null] }] }),
    ).toThrow(/row 1: null in a non-nullable column/);
    expect(() =>
      writeParquet({
        columns: [
          { def: { name: 'a', kind: 'DOUBLE' }, data: [1, 2] },
          { def: { name: 'b', kind: 'DOUBLE' }, data: [1] },
        ],
      }),
    ).toThrow(/has 1 values, expected 2/);
    expect(() =>
      writeParquet({ columns: [{ def: { name: 'a', kind: 'DOUBLE' }, data: [1, 2] }], rowGroupSizes: [1] }),
    ).toThrow(/sum to 1, but the table has 2 rows/);
  });

  it('writes an empty table that reads back empty', async () => {
    const bytes = writeParquet({
      columns: [
        { def: { name: 'ts_event', kind: 'TIMESTAMP_NS' }, data: new BigInt64Array(0) },
        { def: { name: 'p', kind: 'DOUBLE' }, data: new Float64Array(0) },
      ],
    });
    const { metadata, columns } = await readParquetBytes(bytes);
    expect(metadata.row_groups).toHaveLength(0);
    expect(columns.get('ts_event')).toEqual(new BigInt64Array(0));
  });

  it('formats unscaled decimals canonically', () => {
    expect(formatUnscaled(123n, 2)).toBe('1.23');
    expect(formatUnscaled(-5n, 3)).toBe('-0.005');
    expect(formatUnscaled(1000n, 3)).toBe('1');
    expect(formatUnscaled(0n, 4)).toBe('0');
    expect(formatUnscaled(42n, 0)).toBe('42');
  });
});

describe('row-group policy', () => {
  it('cuts at every whole minute of ts', () => {
    const ts = new BigInt64Array([
      T0,
      T0 + 5n,
      T0 + MIN - 1n,
      T0 + MIN,
      T0 + 3n * MIN + 7n,
      T0 + 3n * MIN + 8n,
    ]);
    expect(minuteRowGroupSizes(ts)).toEqual([3, 1, 2]);
  });

  it('also cuts at the row cap, and restarts the count at each minute', () => {
    const ts = new BigInt64Array(12);
    for (let i = 0; i < 7; i++) ts[i] = T0 + BigInt(i);
    for (let i = 7; i < 12; i++) ts[i] = T0 + MIN + BigInt(i);
    expect(minuteRowGroupSizes(ts, 3)).toEqual([3, 3, 1, 3, 2]);
    expect(fixedRowGroupSizes(7, 3)).toEqual([3, 3, 1]);
  });

  it('rejects unsorted timestamps', () => {
    expect(() => minuteRowGroupSizes(new BigInt64Array([T0 + 2n, T0 + 1n]))).toThrow(/not sorted at row 1/);
  });

  it('the written file has exactly those row groups, each inside one minute and ≤ 100,000 rows', async () => {
    // 250,000 rows in one minute, then 10 rows in each of the next 3 minutes.
    const n = 250_000 + 30;
    const ts = new BigInt64Array(n);
    for (let i = 0; i < 250_000; i++) ts[i] = T0 + BigInt(i) * 200_000n;
    for (let i = 0; i < 30; i++) ts[250_000 + i] = T0 + MIN * BigInt(1 + Math.floor(i / 10)) + BigInt(i);
    const bytes = writeParquet({
      columns: [
        { def: { name: 'ts_event', kind: 'TIMESTAMP_NS' }, data: ts, encoding: 'DELTA_BINARY_PACKED' },
      ],
      rowGroupSizes: minuteRowGroupSizes(ts),
    });
    const { metadata, columns } = await readParquetBytes(bytes);
    expect(metadata.row_groups.map((g) => Number(g.num_rows))).toEqual([
      100_000, 100_000, 50_000, 10, 10, 10,
    ]);
    for (const g of metadata.row_groups) {
      const st = g.columns[0]?.meta_data?.statistics;
      const min = st?.min_value as bigint;
      const max = st?.max_value as bigint;
      expect(max / MIN).toBe(min / MIN); // one minute per group
      expect(Number(g.num_rows)).toBeLessThanOrEqual(100_000);
    }
    expect(columns.get('ts_event')).toEqual(ts);
  });
});

describe('byte-range reading over a BlobStore', () => {
  it('reads the footer with exactly its bytes, then only the row groups asked for', async () => {
    const { blobs, cleanup } = await tempBlobStore('pq');
    try {
      const n = 5_000;
      const ts = new BigInt64Array(n);
      const px = new Float64Array(n);
      for (let i = 0; i < n; i++) {
        ts[i] = T0 + BigInt(i) * 1_000_000_000n; // one per second: 84 minutes
        px[i] = 100 + i / 100;
      }
      const bytes = writeParquet({
        columns: [
          { def: { name: 'ts_event', kind: 'TIMESTAMP_NS' }, data: ts },
          { def: { name: 'price', kind: 'DOUBLE' }, data: px, statistics: false },
        ],
        rowGroupSizes: minuteRowGroupSizes(ts),
      });
      await blobs.put('x/data.parquet', bytes);
      const opened = await openParquetBlob(blobs, 'x/data.parquet');
      const footerLen = new DataView(bytes.buffer, bytes.byteOffset).getUint32(bytes.byteLength - 8, true);
      expect(opened.footerBytes).toBe(footerLen + 8); // the 8-byte tail (length + PAR1), then the metadata
      expect(opened.file.requests).toBe(2);
      expect(opened.metadata.row_groups).toHaveLength(84);

      const starts = rowGroupStarts(opened.metadata);
      const g = 10;
      const rowStart = starts[g] as number;
      const rowEnd = starts[g + 2] as number;
      const cols = await readRows(opened, { columns: ['ts_event', 'price'], rowStart, rowEnd });
      expect(cols.get('ts_event')).toEqual(ts.slice(rowStart, rowEnd));
      expect(cols.get('price')).toEqual(px.slice(rowStart, rowEnd));
      let groupBytes = 0;
      for (const i of [g, g + 1]) {
        for (const c of opened.metadata.row_groups[i]?.columns ?? [])
          groupBytes += Number(c.meta_data?.total_compressed_size);
      }
      expect(opened.file.bytesRead - opened.footerBytes).toBe(groupBytes);

      // A cached footer costs nothing the second time.
      const cache = new FooterCache();
      const first = await openParquetBlob(blobs, 'x/data.parquet', { cache });
      const second = await openParquetBlob(blobs, 'x/data.parquet', { cache });
      expect(first.footerBytes).toBeGreaterThan(0);
      expect(second.footerBytes).toBe(0);
      expect(second.file.bytesRead).toBe(0);

      const whole = await readParquetBlob(blobs, 'x/data.parquet');
      expect(whole.columns.get('price')).toEqual(px);
      expect(whole.bytesRead).toBe(bytes.byteLength - 4); // everything but the leading PAR1, each byte once
    } finally {
      await cleanup();
    }
  });

  it('names the key of a missing, a truncated and a garbled file', async () => {
    const { blobs, cleanup } = await tempBlobStore('pq-bad');
    try {
      await expect(openParquetBlob(blobs, 'nope/missing.parquet')).rejects.toBeInstanceOf(BlobNotFoundError);
      const good = writeParquet({
        columns: [{ def: { name: 'p', kind: 'DOUBLE' }, data: new Float64Array(1000).fill(1.5) }],
      });
      await blobs.put('bad/truncated.parquet', good.subarray(0, good.byteLength - 20));
      await expect(readParquetBlob(blobs, 'bad/truncated.parquet')).rejects.toThrow(
        /corrupt or unreadable Parquet file bad\/truncated\.parquet/,
      );
      const garbled = good.slice();
      for (let i = 4; i < 200; i++) garbled[i] = (garbled[i] as number) ^ 0x5a;
      await blobs.put('bad/garbled.parquet', garbled);
      const err = await readParquetBlob(blobs, 'bad/garbled.parquet').catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ParquetFileError);
      expect((err as ParquetFileError).key).toBe('bad/garbled.parquet');
      await blobs.put('bad/text.parquet', 'this is not parquet at all, just text');
      await expect(readParquetBlob(blobs, 'bad/text.parquet')).rejects.toThrow(
        /bad\/text\.parquet: no PAR1 magic/,
      );
    } finally {
      await cleanup();
    }
  });

  it('BlobRangeFile refuses ranges outside the object', async () => {
    const { blobs, cleanup } = await tempBlobStore('pq-range');
    try {
      await blobs.put('k', new Uint8Array([1, 2, 3]));
      const f = new BlobRangeFile(blobs, 'k', 3);
      expect(new Uint8Array(await f.slice(1, 3))).toEqual(new Uint8Array([2, 3]));
      await expect(f.slice(2, 5)).rejects.toThrow(RangeError);
      expect(f.bytesRead).toBe(2);
    } finally {
      await cleanup();
    }
  });
});
