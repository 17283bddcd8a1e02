import { parquetWriteBuffer } from 'hyparquet-writer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalBlobStore } from '../../../infra/local/blob-store.local.ts';
import {
  FooterCache,
  openParquetBlob,
  ParquetFileError,
  readParquetBlob,
} from '../../../infra/parquet/reader.ts';
import { fixedRowGroupSizes, writeParquet } from '../../../infra/parquet/writer.ts';
import { loadWindow, TickDataMissingError } from '../../../infra/ticks/loader.ts';
import { TRADES_COLUMNS } from '../../../infra/ticks/schemas.ts';
import { encodeTrades, writeTickDay } from '../../../infra/ticks/writer.ts';
import { tradesForEngine } from '../../../shared/data/engine-columns.ts';
import type { SyntheticDay } from '../../../shared/data/synthetic.ts';
import { tickFileKey } from '../../../shared/data/tick-layout.ts';
import { isoToNanos } from '../../../shared/domain/time.ts';
import {
  BTC_SPOT,
  ETH_SPOT,
  indexesInWindow,
  pick,
  storeWithTickDays,
  syntheticDays,
  tempBlobStore,
  tradeParquetColumns,
} from './helpers.ts';

const DAY1 = '2025-07-01';
const DAY2 = '2025-07-02';
const ns = isoToNanos;

let blobs: LocalBlobStore;
let cleanup: () => Promise<void>;
let days: SyntheticDay[];

beforeAll(async () => {
  ({ blobs, cleanup, days } = await storeWithTickDays('loader', BTC_SPOT, [DAY1, DAY2], {
    seed: 11,
    tradesPerDay: 50_000,
  }));
}, 120_000);

afterAll(async () => {
  await cleanup();
});

function day(i: number): SyntheticDay {
  const d = days[i];
  if (!d) throw new Error(`no day ${i}`);
  return d;
}

/** Bytes of the row groups that hold at least one row in [from, to), for the given columns. */
async function bytesOfGroupsHolding(
  key: string,
  from: bigint,
  to: bigint,
  columns: readonly string[],
): Promise<number> {
  const opened = await openParquetBlob(blobs, key);
  const { columns: all } = await readParquetBlob(blobs, key, { columns: ['ts_event'] });
  const ts = all.get('ts_event') as BigInt64Array;
  let at = 0;
  let total = 0;
  for (const rg of opened.metadata.row_groups) {
    const n = Number(rg.num_rows);
    let holds = false;
    for (let i = at; i < at + n; i++) {
      const t = ts[i] as bigint;
      if (t >= from && t < to) {
        holds = true;
        break;
      }
    }
    if (holds) {
      for (const c of rg.columns) {
        if (columns.includes(c.meta_data?.path_in_schema[0] ?? ''))
          total += Number(c.meta_data?.total_compressed_size);
      }
    }
    at += n;
  }
  return total;
}

describe('loadWindow', () => {
  it('returns exactly the rows of a 5-minute window, reading only its row groups', async () => {
    const from = ns('2025-07-01T10:05:00Z');
    const to = ns('2025-07-01T10:10:00Z');
    const w = await loadWindow(blobs, {
      instrument_key: BTC_SPOT,
      fromNs: from,
      toNs: to,
      kinds: ['trades', 'quotes'],
    });

    const d = day(0);
    const ti = indexesInWindow(d.trades.ts, from, to);
    const qi = indexesInWindow(d.quotes.ts, from, to);
    expect(ti.length).toBeGreaterThan(50);
    expect(w.trades?.ts).toEqual(d.trades.ts.filter((_, i) => ti.includes(i)));
    expect(Array.from(w.trades?.price ?? [])).toEqual(pick(d.trades.price, ti));
    expect(Array.from(w.trades?.size ?? [])).toEqual(pick(d.trades.size, ti));
    expect(Array.from(w.trades?.side ?? [])).toEqual(pick(d.trades.side, ti));
    expect(w.trades?.trade_id).toBeUndefined();
    expect(Array.from(w.quotes?.ts ?? [])).toEqual(pick(d.quotes.ts, qi));
    expect(Array.from(w.quotes?.ask_px ?? [])).toEqual(pick(d.quotes.ask_px, qi));
    expect(Array.from(w.quotes?.bid_sz ?? [])).toEqual(pick(d.quotes.bid_sz, qi));

    expect(w.files.map((f) => [f.kind, f.row_groups_read, f.row_groups_total])).toEqual([
      ['quotes', 5, 1440],
      ['trades', 5, 1440],
    ]);
    let windowGroupBytes = 0;
    let footers = 0;
    for (const f of w.files) {
      const cols =
        f.kind === 'trades'
          ? ['ts_event', 'price', 'size', 'side']
          : ['ts_event', 'bid_px', 'bid_sz', 'ask_px', 'ask_sz'];
      const held = await bytesOfGroupsHolding(f.key, from, to, cols);
      expect(f.row_group_bytes).toBe(held);
      // The data fetched is within 1.2× of the row groups that hold the window's rows...
      expect(f.bytes_read - f.footer_bytes).toBeLessThanOrEqual(1.2 * held);
      windowGroupBytes += held;
      footers += f.footer_bytes;
    }
    // ...the whole read (footers included) is those row groups plus the footers...
    expect(w.bytes_read).toBeLessThanOrEqual(1.2 * windowGroupBytes + footers);
    expect(w.bytes_read).toBe(w.files.reduce((s, f) => s + f.bytes_read, 0));
    // ...and far below the size of the files.
    expect(w.bytes_total).toBe(w.files.reduce((s, f) => s + f.bytes_total, 0));
    expect(w.bytes_read).toBeLessThan(w.bytes_total / 5);

    // With footers cached (a worker serving more windows of the day) only the row groups are read.
    const cache = new FooterCache();
    await loadWindow(blobs, { instrument_key: BTC_SPOT, fromNs: from, toNs: to }, { cache });
    const warm = await loadWindow(blobs, { instrument_key: BTC_SPOT, fromNs: from, toNs: to }, { cache });
    expect(warm.files.every((f) => f.footer_bytes === 0)).toBe(true);
    expect(warm.bytes_read).toBeLessThanOrEqual(1.2 * windowGroupBytes);
    expect(warm.trades?.ts).toEqual(w.trades?.ts);
  });

  it('cuts windows that do not start on a minute to the nanosecond', async () => {
    const d = day(0);
    const from = (d.trades.ts[20_000] as bigint) + 1n;
    const to = (d.trades.ts[20_150] as bigint) + 1n;
    const w = await loadWindow(blobs, {
      instrument_key: BTC_SPOT,
      fromNs: from,
      toNs: to,
      kinds: ['trades'],
      tradeIds: true,
    });
    expect(w.trades?.ts.length).toBe(150);
    expect(w.trades?.ts[0]).toBe(d.trades.ts[20_001]);
    expect(w.trades?.trade_id).toEqual(d.trades.trade_id.slice(20_001, 20_151));
    expect(w.quotes).toBeUndefined();
    expect(w.files.map((f) => f.kind)).toEqual(['trades']);
    // The matching engine's batch columns: float ns relative to its epoch, same side codes.
    const engine = tradesForEngine(
      w.trades ?? {
        ts: new BigInt64Array(0),
        price: new Float64Array(0),
        size: new Float64Array(0),
        side: new Int8Array(0),
      },
      from,
    );
    expect(engine.ts[0]).toBe(Number((d.trades.ts[20_001] as bigint) - from));
    expect(engine.side).toBe(w.trades?.side);
  });

  it('joins a window across midnight from both days, in time order', async () => {
    const from = ns('2025-07-01T23:58:00Z');
    const to = ns('2025-07-02T00:03:00Z');
    const w = await loadWindow(blobs, { instrument_key: BTC_SPOT, fromNs: from, toNs: to });
    const a = indexesInWindow(day(0).trades.ts, from, to);
    const b = indexesInWindow(day(1).trades.ts, from, to);
    expect(a.length).toBeGreaterThan(0);
    expect(b.length).toBeGreaterThan(0);
    expect(Array.from(w.trades?.ts ?? [])).toEqual([
      ...pick(day(0).trades.ts, a),
      ...pick(day(1).trades.ts, b),
    ]);
    expect(w.files.map((f) => `${f.kind}:${f.day}:${f.row_groups_read}`)).toEqual([
      'quotes:2025-07-01:2',
      'trades:2025-07-01:2',
      'quotes:2025-07-02:3',
      'trades:2025-07-02:3',
    ]);
  });

  it('returns empty columns for a window where the instrument did not trade, reading only footers', async () => {
    const { blobs: b, cleanup: c } = await tempBlobStore('loader-gap');
    try {
      const t0 = ns('2025-07-01T09:00:00Z');
      const ts = new BigInt64Array([t0, t0 + 1_000n, ns('2025-07-01T15:00:00Z')]);
      await writeTickDay(b, ETH_SPOT, DAY1, {
        trades: {
          ts,
          price: new Float64Array([1, 2, 3]),
          size: new Float64Array([1, 1, 1]),
          side: new Int8Array([1, -1, 1]),
          trade_id: ['1', '2', '3'],
        },
      });
      const w = await loadWindow(b, {
        instrument_key: ETH_SPOT,
        fromNs: ns('2025-07-01T10:00:00Z'),
        toNs: ns('2025-07-01T10:05:00Z'),
        kinds: ['trades'],
      });
      expect(w.trades?.ts.length).toBe(0);
      expect(w.trades?.price).toEqual(new Float64Array(0));
      expect(w.files[0]?.row_groups_read).toBe(0);
      expect(w.bytes_read).toBe(w.files[0]?.footer_bytes);
      // An empty window reads nothing and is not an error.
      const empty = await loadWindow(b, {
        instrument_key: ETH_SPOT,
        fromNs: t0,
        toNs: t0,
        kinds: ['trades'],
      });
      expect(empty.trades?.ts.length).toBe(0);
      expect(empty.files).toEqual([]);
    } finally {
      await c();
    }
  });

  it('fails on a missing file, naming the file and the window', async () => {
    const from = ns('2025-07-02T23:58:00Z');
    const to = ns('2025-07-03T00:02:00Z');
    const err = await loadWindow(blobs, { instrument_key: BTC_SPOT, fromNs: from, toNs: to }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(TickDataMissingError);
    expect((err as Error).message).toContain('market-data-tick/BINANCE-SPOT/2025-07-03/BTC-USDT/');
    expect((err as Error).message).toContain(
      '[2025-07-02T23:58:00.000000000Z, 2025-07-03T00:02:00.000000000Z)',
    );
    expect((err as Error).message).toContain(BTC_SPOT);
    // Book data was not written: asking for it is an error too, never a silent empty result.
    await expect(
      loadWindow(blobs, {
        instrument_key: BTC_SPOT,
        fromNs: ns('2025-07-01T10:00:00Z'),
        toNs: ns('2025-07-01T10:01:00Z'),
        kinds: ['book'],
      }),
    ).rejects.toThrow(
      /tick file missing: market-data-tick\/BINANCE-SPOT\/2025-07-01\/BTC-USDT\/book\.parquet/,
    );
  });

  it('fails on a corrupt file or a file without the SPEC columns, naming the file', async () => {
    const { blobs: b, cleanup: c } = await tempBlobStore('loader-corrupt');
    try {
      const key = tickFileKey(ETH_SPOT, DAY1, 'trades');
      const good = encodeTrades(day(0).trades);
      const from = ns('2025-07-01T10:00:00Z');
      const to = ns('2025-07-01T10:05:00Z');
      const req = { instrument_key: ETH_SPOT, fromNs: from, toNs: to, kinds: ['trades'] as const };

      await b.put(key, good.subarray(0, good.byteLength - 100));
      await expect(loadWindow(b, req)).rejects.toThrow(`corrupt or unreadable Parquet file ${key}`);

      // Footer intact, column data garbled in the window's row groups.
      const opened = await (async () => {
        await b.put(key, good);
        return openParquetBlob(b, key);
      })();
      const garbled = good.slice();
      let touched = 0;
      for (const rg of opened.metadata.row_groups) {
        const st = rg.columns[0]?.meta_data?.statistics;
        if ((st?.max_value as bigint) >= from && (st?.min_value as bigint) < to) {
          for (const col of rg.columns) {
            const start = Number(col.meta_data?.dictionary_page_offset ?? col.meta_data?.data_page_offset);
            for (let i = start; i < start + 12; i++) garbled[i] = 0xff;
            touched++;
          }
        }
      }
      expect(touched).toBeGreaterThan(0);
      await b.put(key, garbled);
      const err = await loadWindow(b, req).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ParquetFileError);
      expect((err as ParquetFileError).key).toBe(key);

      const wrong = writeParquet({
        columns: [
          { def: { name: 'ts_event', kind: 'TIMESTAMP_NS' }, data: new BigInt64Array([from]) },
          { def: { name: 'price', kind: 'DOUBLE' }, data: [1.5] },
        ],
      });
      await b.put(key, wrong);
      await expect(loadWindow(b, req)).rejects.toThrow(`${key}: trades file lacks column size`);
      const wrongType = writeParquet({
        columns: TRADES_COLUMNS.map((def) => ({
          def: def.name === 'price' ? { name: 'price', kind: 'STRING' as const } : def,
          data:
            def.name === 'price'
              ? ['1.5']
              : def.kind === 'TIMESTAMP_NS'
                ? new BigInt64Array([from])
                : def.kind === 'DOUBLE'
                  ? new Float64Array([1])
                  : ['BUY'],
        })),
      });
      await b.put(key, wrongType);
      await expect(loadWindow(b, req)).rejects.toThrow(
        `${key}: column price: expected DOUBLE, found BYTE_ARRAY/UTF8/STRING`,
      );
    } finally {
      await c();
    }
  });

  it('works, reading more, on files cut otherwise and on files without statistics', async () => {
    const { blobs: b, cleanup: c } = await tempBlobStore('loader-foreign');
    try {
      const t = day(0).trades;
      const key = tickFileKey(ETH_SPOT, DAY1, 'trades');
      const columns = (stats: boolean) => tradeParquetColumns(t, stats);
      const from = ns('2025-07-01T10:05:00Z');
      const to = ns('2025-07-01T10:10:00Z');
      const expected = indexesInWindow(t.ts, from, to);
      const req = { instrument_key: ETH_SPOT, fromNs: from, toNs: to, kinds: ['trades'] as const };

      // Fixed 7,000-row groups, not aligned to minutes.
      await b.put(
        key,
        writeParquet({ columns: columns(true), rowGroupSizes: fixedRowGroupSizes(t.ts.length, 7_000) }),
      );
      const coarse = await loadWindow(b, req);
      expect(Array.from(coarse.trades?.ts ?? [])).toEqual(pick(t.ts, expected));
      expect(Array.from(coarse.trades?.price ?? [])).toEqual(pick(t.price, expected));
      expect(coarse.files[0]?.rows_read).toBeGreaterThan(expected.length);
      expect(coarse.files[0]?.row_groups_read).toBeLessThanOrEqual(2);

      // No statistics: every row group has to be read.
      await b.put(
        key,
        writeParquet({ columns: columns(false), rowGroupSizes: fixedRowGroupSizes(t.ts.length, 7_000) }),
      );
      const blind = await loadWindow(b, req);
      expect(Array.from(blind.trades?.ts ?? [])).toEqual(pick(t.ts, expected));
      expect(blind.files[0]?.row_groups_read).toBe(blind.files[0]?.row_groups_total);
      expect(blind.files[0]?.rows_read).toBe(t.ts.length);
      expect(blind.bytes_read).toBeGreaterThan(coarse.bytes_read);
    } finally {
      await c();
    }
  });

  it('accepts a foreign writer: optional columns, millisecond timestamps, one row group', async () => {
    const { blobs: b, cleanup: c } = await tempBlobStore('loader-millis');
    try {
      const t0 = ns('2025-07-01T10:00:00Z');
      const ms = [0n, 1_500n, 61_000n, 400_000n].map((x) => t0 / 1_000_000n + x);
      // hyparquet-writer's own type guessing: OPTIONAL columns, TIMESTAMP_MILLIS, default row groups.
      const bytes = parquetWriteBuffer({
        columnData: [
          { name: 'ts_event', data: ms, type: 'TIMESTAMP' },
          { name: 'price', data: [10, 11, 12, 13], type: 'DOUBLE' },
          { name: 'size', data: [1, 2, 3, 4], type: 'DOUBLE' },
          { name: 'side', data: ['buy', 'SELL', null, 'BUY'], type: 'STRING' },
          { name: 'trade_id', data: ['a', 'b', 'c', 'd'], type: 'STRING' },
        ],
      });
      await b.put(tickFileKey(ETH_SPOT, DAY1, 'trades'), new Uint8Array(bytes));
      const w = await loadWindow(b, {
        instrument_key: ETH_SPOT,
        fromNs: t0 + 1n,
        toNs: t0 + 300_000_000_000n,
        kinds: ['trades'],
        tradeIds: true,
      });
      expect(Array.from(w.trades?.ts ?? [])).toEqual([t0 + 1_500_000_000n, t0 + 61_000_000_000n]);
      expect(Array.from(w.trades?.side ?? [])).toEqual([-1, 0]);
      expect(w.trades?.trade_id).toEqual(['b', 'c']);
    } finally {
      await c();
    }
  });

  it('reads L2 book snapshots when asked', async () => {
    const { blobs: b, cleanup: c } = await tempBlobStore('loader-book');
    try {
      const [d] = syntheticDays(ETH_SPOT, [DAY1], { tradesPerDay: 3_000, l2Levels: 2 });
      if (!d?.book) throw new Error('no book');
      await writeTickDay(b, ETH_SPOT, DAY1, d);
      const from = ns('2025-07-01T00:00:00Z');
      const to = ns('2025-07-01T00:30:00Z');
      const w = await loadWindow(b, {
        instrument_key: ETH_SPOT,
        fromNs: from,
        toNs: to,
        kinds: ['book', 'quotes'],
      });
      const idx = indexesInWindow(d.book.ts, from, to);
      expect(idx.length).toBeGreaterThan(0);
      expect(Array.from(w.book?.level ?? [])).toEqual(pick(d.book.level, idx));
      expect(Array.from(w.book?.side ?? [])).toEqual(pick(d.book.side, idx));
      expect(Array.from(w.book?.price ?? [])).toEqual(pick(d.book.price, idx));
      expect(w.book?.ts.length).toBe((w.quotes?.ts.length ?? 0) * 4);
    } finally {
      await c();
    }
  });

  it('rejects a window that ends before it starts', async () => {
    await expect(loadWindow(blobs, { instrument_key: BTC_SPOT, fromNs: 10n, toNs: 5n })).rejects.toThrow(
      RangeError,
    );
  });
});
