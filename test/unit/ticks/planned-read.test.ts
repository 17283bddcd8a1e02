/**
 * Planned reads: the planner reads each tick file's footer once and hands every window the byte
 * ranges of its row groups (the manifest's `reads`); the window then reads exactly those column
 * chunks — no footer, no stat — and gets the same rows as a reader that opens the file itself.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { planWindowReads } from '../../../infra/backtest/window-task.ts';
import type { LocalBlobStore } from '../../../infra/local/blob-store.local.ts';
import {
  mergeAdjacent,
  newReadStats,
  openParquetBlob,
  ParquetFileError,
} from '../../../infra/parquet/reader.ts';
import { fixedRowGroupSizes, writeParquet } from '../../../infra/parquet/writer.ts';
import {
  loadWindow,
  planFileRead,
  TickDataMissingError,
  windowColumns,
} from '../../../infra/ticks/loader.ts';
import { writeTickDay } from '../../../infra/ticks/writer.ts';
import {
  type PlannedFileRead,
  type WindowPlan,
  WindowTickReadsSchema,
} from '../../../shared/backtest/model.ts';
import type { SyntheticDay } from '../../../shared/data/synthetic.ts';
import { type TickKind, tickFileKey } from '../../../shared/data/tick-layout.ts';
import { isoToNanos } from '../../../shared/domain/time.ts';
import type { BlobInfo, BlobStore } from '../../../shared/ports/blob-store.ts';
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
  ({ blobs, cleanup, days } = await storeWithTickDays('planned', BTC_SPOT, [DAY1, DAY2], {
    seed: 5,
    tradesPerDay: 30_000,
  }));
}, 120_000);

afterAll(async () => {
  await cleanup();
});

/** A BlobStore that records every call made through it. */
class RecordingStore implements BlobStore {
  stats: string[] = [];
  gets: string[] = [];
  ranges: Array<{ key: string; start: number; end: number }> = [];
  constructor(private readonly inner: BlobStore) {}
  put(key: string, data: Uint8Array | string, opts?: { contentType?: string | undefined }) {
    return this.inner.put(key, data, opts);
  }
  get(key: string) {
    this.gets.push(key);
    return this.inner.get(key);
  }
  getRange(key: string, start: number, end: number) {
    this.ranges.push({ key, start, end });
    return this.inner.getRange(key, start, end);
  }
  list(prefix: string) {
    return this.inner.list(prefix);
  }
  stat(key: string): Promise<BlobInfo | null> {
    this.stats.push(key);
    return this.inner.stat(key);
  }
  delete(key: string) {
    return this.inner.delete(key);
  }
  health() {
    return this.inner.health();
  }
}

async function plan(
  store: BlobStore,
  kinds: readonly TickKind[],
  instrument: string,
  from: bigint,
  to: bigint,
  dayList: readonly string[],
): Promise<PlannedFileRead[]> {
  const out: PlannedFileRead[] = [];
  for (const day of dayList) {
    for (const kind of kinds) {
      const key = tickFileKey(instrument, day, kind);
      const o = await openParquetBlob(store, key);
      out.push(
        planFileRead(
          { key, metadata: o.metadata, size: o.file.byteLength },
          kind,
          day,
          windowColumns(kind),
          from,
          to,
        ),
      );
    }
  }
  return out;
}

/** First byte of the footer (metadata + length + magic) of a blob. */
async function footerStart(store: BlobStore, key: string): Promise<number> {
  const o = await openParquetBlob(store, key);
  return o.file.byteLength - o.footerBytes;
}

describe('planned window reads', () => {
  it('read exactly the planned column chunks — no footer, no stat — and return the same rows', async () => {
    const from = ns('2025-07-01T10:05:00Z');
    const to = ns('2025-07-01T10:10:00Z');
    const files = await plan(blobs, ['trades', 'quotes'], BTC_SPOT, from, to, [DAY1]);
    // Through JSON and the manifest schema, as a window function gets them.
    const planned = WindowTickReadsSchema.parse(
      JSON.parse(JSON.stringify({ kinds: ['trades', 'quotes'], files })),
    );
    expect(planned.files.map((f) => [f.kind, f.row_groups.length, f.row_groups_total])).toEqual([
      ['trades', 5, 1440],
      ['quotes', 5, 1440],
    ]);

    const rec = new RecordingStore(blobs);
    const req = { instrument_key: BTC_SPOT, fromNs: from, toNs: to };
    const w = await loadWindow(rec, req, { planned });
    const opened = await loadWindow(blobs, { ...req, kinds: ['trades', 'quotes'] });

    expect(rec.stats).toEqual([]);
    expect(rec.gets).toEqual([]);
    for (const r of rec.ranges) expect(r.end).toBeLessThanOrEqual(await footerStart(blobs, r.key));
    // Bytes read = bytes of the planned chunks, exactly.
    const chunkBytes = planned.files.reduce(
      (s, f) => s + f.row_groups.reduce((x, rg) => x + rg.chunks.reduce((y, c) => y + c[1], 0), 0),
      0,
    );
    expect(w.bytes_read).toBe(chunkBytes);
    expect(w.files.every((f) => f.footer_bytes === 0)).toBe(true);
    expect(w.files.reduce((s, f) => s + f.row_group_bytes, 0)).toBe(chunkBytes);
    // One request per run of touching chunks: all of quotes' 5 minutes at once; trades' chunks are
    // split by trade_id (not needed, never fetched), so one request per minute.
    expect(w.requests).toBe(1 + 5);
    // The footer path reads the same row groups plus the footers.
    expect(opened.bytes_read - opened.files.reduce((s, f) => s + f.footer_bytes, 0)).toBe(chunkBytes);

    expect(w.trades).toEqual(opened.trades);
    expect(w.quotes).toEqual(opened.quotes);
    const d = days[0] as SyntheticDay;
    const ti = indexesInWindow(d.trades.ts, from, to);
    expect(ti.length).toBeGreaterThan(20);
    expect(Array.from(w.trades?.price ?? [])).toEqual(pick(d.trades.price, ti));
  }, 60_000);

  it('join a window across midnight from both days, in time order', async () => {
    const from = ns('2025-07-01T23:57:30Z');
    const to = ns('2025-07-02T00:02:30Z');
    const files = await plan(blobs, ['trades', 'quotes'], BTC_SPOT, from, to, [DAY1, DAY2]);
    const req = { instrument_key: BTC_SPOT, fromNs: from, toNs: to };
    const w = await loadWindow(blobs, req, { planned: { kinds: ['trades', 'quotes'], files } });
    const opened = await loadWindow(blobs, { ...req, kinds: ['trades', 'quotes'] });
    expect(w.trades).toEqual(opened.trades);
    expect(w.quotes).toEqual(opened.quotes);
    const ts = Array.from(w.trades?.ts ?? []);
    expect(ts.length).toBeGreaterThan(10);
    expect(
      ts.some((t) => t < ns('2025-07-02T00:00:00Z')) && ts.some((t) => t >= ns('2025-07-02T00:00:00Z')),
    ).toBe(true);
  });

  it('work on files written by other tools: row groups not cut at minutes, or without statistics', async () => {
    const { blobs: b, cleanup: c } = await tempBlobStore('planned-foreign');
    try {
      const t = (days[0] as SyntheticDay).trades;
      const key = tickFileKey(ETH_SPOT, DAY1, 'trades');
      const columns = (stats: boolean) => tradeParquetColumns(t, stats);
      const from = ns('2025-07-01T10:05:00Z');
      const to = ns('2025-07-01T10:10:00Z');
      const expected = indexesInWindow(t.ts, from, to);
      for (const stats of [true, false]) {
        await b.put(
          key,
          writeParquet({ columns: columns(stats), rowGroupSizes: fixedRowGroupSizes(t.ts.length, 7_000) }),
        );
        const files = await plan(b, ['trades'], ETH_SPOT, from, to, [DAY1]);
        const f = files[0] as PlannedFileRead;
        if (stats) expect(f.row_groups.length).toBeLessThanOrEqual(2);
        else expect(f.row_groups.length).toBe(f.row_groups_total);
        const rec = new RecordingStore(b);
        const w = await loadWindow(
          rec,
          { instrument_key: ETH_SPOT, fromNs: from, toNs: to },
          { planned: { kinds: ['trades'], files } },
        );
        expect(Array.from(w.trades?.ts ?? [])).toEqual(pick(t.ts, expected));
        expect(Array.from(w.trades?.size ?? [])).toEqual(pick(t.size, expected));
        expect(rec.stats).toEqual([]);
        // trade_id (not needed) sits after the needed columns: never fetched.
        expect(w.bytes_read).toBe(w.files[0]?.row_group_bytes);
      }
    } finally {
      await c();
    }
  }, 60_000);

  it('fail naming the file when it is gone or was replaced after planning', async () => {
    const { blobs: b, cleanup: c } = await tempBlobStore('planned-changed');
    try {
      const d = days[0] as SyntheticDay;
      await writeTickDay(b, BTC_SPOT, DAY1, d);
      const from = ns('2025-07-01T12:00:00Z');
      const to = ns('2025-07-01T12:05:00Z');
      const files = await plan(b, ['trades'], BTC_SPOT, from, to, [DAY1]);
      const key = tickFileKey(BTC_SPOT, DAY1, 'trades');
      const req = { instrument_key: BTC_SPOT, fromNs: from, toNs: to };
      const planned = { kinds: ['trades' as const], files };

      // Replaced by a file of another shape: the planned ranges no longer decode.
      const other = syntheticDays(BTC_SPOT, [DAY1], { seed: 99, tradesPerDay: 2_000 })[0] as SyntheticDay;
      await writeTickDay(b, BTC_SPOT, DAY1, other);
      const replaced = await loadWindow(b, req, { planned }).catch((e: unknown) => e);
      expect(replaced).toBeInstanceOf(ParquetFileError);
      expect((replaced as ParquetFileError).key).toBe(key);

      await b.delete(key);
      const gone = await loadWindow(b, req, { planned }).catch((e: unknown) => e);
      expect(gone).toBeInstanceOf(TickDataMissingError);
      expect((gone as TickDataMissingError).message).toContain(key);
    } finally {
      await c();
    }
  }, 60_000);

  it('are planned once per file for a whole run; a window whose file is missing gets none', async () => {
    const base = (i: number, start: string, end: string, instrument = BTC_SPOT) =>
      ({
        window_id: `w00000${i}`,
        instrument_key: instrument,
        start_ns: ns(start).toString(),
        end_ns: ns(end).toString(),
      }) as WindowPlan;
    const windows = [
      base(0, '2025-07-01T09:00:00Z', '2025-07-01T09:05:00Z'),
      base(1, '2025-07-01T11:00:00Z', '2025-07-01T11:05:00Z'),
      base(2, '2025-07-02T11:00:00Z', '2025-07-02T11:05:00Z'),
      base(3, '2025-07-01T11:00:00Z', '2025-07-01T11:05:00Z', ETH_SPOT),
    ];
    const rec = new RecordingStore(blobs);
    const stats = newReadStats();
    const planned = await planWindowReads(rec, windows, stats);
    // Four tick files exist (two days × trades, quotes): each footer read once.
    const footerReads = new Map<string, number>();
    for (const r of rec.ranges) footerReads.set(r.key, (footerReads.get(r.key) ?? 0) + 1);
    expect([...footerReads.keys()].sort()).toEqual(
      [DAY1, DAY2]
        .flatMap((d) => [tickFileKey(BTC_SPOT, d, 'quotes'), tickFileKey(BTC_SPOT, d, 'trades')])
        .sort(),
    );
    expect(stats.bytesRead).toBe(rec.ranges.reduce((s, r) => s + r.end - r.start, 0));
    expect(planned.slice(0, 3).map((w) => w.reads?.files.map((f) => f.row_groups.length))).toEqual([
      [5, 5],
      [5, 5],
      [5, 5],
    ]);
    expect(planned[3]?.reads).toBeUndefined();
  }, 60_000);

  it('merge only touching ranges', () => {
    expect(
      mergeAdjacent([
        [10, 20],
        [0, 5],
        [20, 30],
        [31, 40],
        [35, 38],
        [7, 7],
      ]),
    ).toEqual([
      [0, 5],
      [10, 30],
      [31, 40],
    ]);
  });
});
