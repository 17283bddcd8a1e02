/**
 * Streamed tick files: `writeTickDayStream` writes one row group at a time through a streamed
 * upload, in the same layout (byte for byte) as the whole-day writer, and `generate-data --profile
 * binance-btcusdt` uses it end to end (real process, deterministic output, bounded memory by
 * structure: a row group is encoded and sunk before the next one is generated).
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GcsBlobStore } from '../../../infra/gcs/blob-store.gcs.ts';
import type { LocalBlobStore } from '../../../infra/local/blob-store.local.ts';
import { openParquetBlob } from '../../../infra/parquet/reader.ts';
import { ParquetStreamWriter, writeParquet } from '../../../infra/parquet/writer.ts';
import { loadWindow } from '../../../infra/ticks/loader.ts';
import { writeTickDay, writeTickDayStream } from '../../../infra/ticks/writer.ts';
import { generateData } from '../../../scripts/generate-data.ts';
import { BINANCE_ARRIVALS } from '../../../shared/data/bursty.ts';
import { syntheticProfile } from '../../../shared/data/profiles.ts';
import { SyntheticMarket } from '../../../shared/data/synthetic.ts';
import {
  type BookColumns,
  type QuoteColumns,
  type TickRowGroup,
  type TradeColumns,
  tickRowGroupRows,
} from '../../../shared/data/tick-columns.ts';
import { dayStartNs, tickFileKey } from '../../../shared/data/tick-layout.ts';
import type { BlobStore, BlobUpload } from '../../../shared/ports/blob-store.ts';
import { startOrSkip } from '../../support/emulator-guard.ts';
import { startGcsEmulator } from '../../support/gcs-emulator.ts';
import { BTC_PERP, BTC_SPOT, fileDigests, tempBlobStore } from '../../unit/ticks/helpers.ts';

const run = promisify(execFile);
const REPO = path.resolve(import.meta.dirname, '../../..');
const TSX = path.join(REPO, 'node_modules/.bin/tsx');
const DAY = '2025-07-01';
const CAP = 64;

const cleanups: Array<() => Promise<void>> = [];
async function tempStore(label: string): Promise<{ blobs: LocalBlobStore; root: string }> {
  const t = await tempBlobStore(label);
  cleanups.push(t.cleanup);
  return t;
}
afterAll(async () => {
  for (const c of cleanups) await c();
});

function btcGroups(seed = 3): TickRowGroup[] {
  const inst = syntheticProfile('binance-btcusdt').instruments.find(
    (i) => i.spec.instrument_key === BTC_SPOT,
  );
  if (!inst) throw new Error('no BTC spot');
  const market = new SyntheticMarket({
    seed,
    instruments: [inst],
    tradesPerDay: 3_000,
    quotesPerTrade: 8,
    l2Levels: 2,
    arrivals: BINANCE_ARRIVALS,
  });
  market.startDay(DAY);
  return [...market.instrumentDayGroups(inst, CAP)];
}

function concat<T extends BigInt64Array | Float64Array | Int8Array | Int32Array>(
  parts: T[],
  Ctor: new (n: number) => T,
): T {
  const out = new Ctor(parts.reduce((s, p) => s + p.length, 0));
  let at = 0;
  for (const p of parts) {
    (out as unknown as { set(a: T, o: number): void }).set(p, at);
    at += p.length;
  }
  return out;
}

/** The whole day of each kind, concatenated from the row groups. */
function wholeDay(groups: TickRowGroup[]): {
  trades: TradeColumns & { trade_id: string[] };
  quotes: QuoteColumns;
  book: BookColumns;
} {
  const t = groups.flatMap((g) => (g.kind === 'trades' ? [g.trades] : []));
  const q = groups.flatMap((g) => (g.kind === 'quotes' ? [g.quotes] : []));
  const b = groups.flatMap((g) => (g.kind === 'book' ? [g.book] : []));
  return {
    trades: {
      ts: concat(
        t.map((x) => x.ts),
        BigInt64Array,
      ),
      price: concat(
        t.map((x) => x.price),
        Float64Array,
      ),
      size: concat(
        t.map((x) => x.size),
        Float64Array,
      ),
      side: concat(
        t.map((x) => x.side),
        Int8Array,
      ),
      trade_id: t.flatMap((x) => x.trade_id),
    },
    quotes: {
      ts: concat(
        q.map((x) => x.ts),
        BigInt64Array,
      ),
      bid_px: concat(
        q.map((x) => x.bid_px),
        Float64Array,
      ),
      bid_sz: concat(
        q.map((x) => x.bid_sz),
        Float64Array,
      ),
      ask_px: concat(
        q.map((x) => x.ask_px),
        Float64Array,
      ),
      ask_sz: concat(
        q.map((x) => x.ask_sz),
        Float64Array,
      ),
    },
    book: {
      ts: concat(
        b.map((x) => x.ts),
        BigInt64Array,
      ),
      side: concat(
        b.map((x) => x.side),
        Int8Array,
      ),
      level: concat(
        b.map((x) => x.level),
        Int32Array,
      ),
      price: concat(
        b.map((x) => x.price),
        Float64Array,
      ),
      size: concat(
        b.map((x) => x.size),
        Float64Array,
      ),
    },
  };
}

/** A store whose streamed uploads count the chunks they receive. */
function countingUploads(inner: BlobStore): { blobs: BlobStore; chunks: () => number } {
  let chunks = 0;
  const blobs: BlobStore = Object.create(inner) as BlobStore;
  blobs.openUpload = async (key, opts) => {
    const upload = await inner.openUpload?.(key, opts);
    if (!upload) throw new Error('inner store has no streamed uploads');
    const counted: BlobUpload = {
      get bytes() {
        return upload.bytes;
      },
      write: async (chunk) => {
        chunks++;
        await upload.write(chunk);
      },
      commit: () => upload.commit(),
      abort: () => upload.abort(),
    };
    return counted;
  };
  return { blobs, chunks: () => chunks };
}

describe('writeTickDayStream', { timeout: 120_000 }, () => {
  let groups: TickRowGroup[];
  beforeAll(() => {
    groups = btcGroups();
  }, 120_000);

  it('writes the same bytes as the whole-day writer (minute and row-cap cuts), one row group at a time', async () => {
    const whole = await tempStore('whole');
    const streamed = await tempStore('streamed');
    const day = wholeDay(groups);
    const a = await writeTickDay(whole.blobs, BTC_SPOT, DAY, day, { maxRowGroupRows: CAP });
    const { blobs, chunks } = countingUploads(streamed.blobs);
    let pulled = 0;
    const source = (function* () {
      for (const g of groups) {
        // The writer has encoded and sunk every group it pulled before it asks for the next one:
        // it never holds more than one row group.
        expect(chunks()).toBe(pulled);
        pulled++;
        yield g;
      }
    })();
    const b = await writeTickDayStream(blobs, BTC_SPOT, DAY, source, { maxRowGroupRows: CAP });
    expect(pulled).toBe(groups.length);
    expect(b.map((f) => [f.kind, f.rows, f.bytes])).toEqual(a.map((f) => [f.kind, f.rows, f.bytes]));
    expect(b.reduce((s, f) => s + f.rowGroups, 0)).toBe(groups.length);
    for (const kind of ['trades', 'quotes', 'book'] as const) {
      const key = tickFileKey(BTC_SPOT, DAY, kind);
      expect(Buffer.from(await streamed.blobs.get(key)).equals(Buffer.from(await whole.blobs.get(key)))).toBe(
        true,
      );
    }
    const opened = await openParquetBlob(streamed.blobs, tickFileKey(BTC_SPOT, DAY, 'quotes'));
    expect(opened.metadata.row_groups.length).toBe(groups.filter((g) => g.kind === 'quotes').length);
    expect(Math.max(...groups.map(tickRowGroupRows))).toBe(CAP); // busy minutes were cut at the cap
  });

  it('reads back through the loader: a window returns exactly its rows', async () => {
    const { blobs } = await tempStore('readback');
    await writeTickDayStream(blobs, BTC_SPOT, DAY, groups, { maxRowGroupRows: CAP });
    const from = dayStartNs(DAY) + 14n * 3_600_000_000_000n;
    const to = from + 300_000_000_000n;
    const w = await loadWindow(blobs, {
      instrument_key: BTC_SPOT,
      fromNs: from,
      toNs: to,
      kinds: ['trades', 'quotes', 'book'],
    });
    const day = wholeDay(groups);
    const inWindow = (ts: BigInt64Array) => ts.filter((t) => t >= from && t < to);
    expect(w.trades?.ts).toEqual(inWindow(day.trades.ts));
    expect(w.quotes?.ts).toEqual(inWindow(day.quotes.ts));
    expect(w.book?.ts).toEqual(inWindow(day.book.ts));
    expect(w.quotes?.ts.length).toBeGreaterThan(100);
  });

  it('rejects a group across minutes, over the cap or out of order, and leaves no file at all', async () => {
    const { blobs } = await tempStore('bad');
    const quotes = groups.filter((g) => g.kind === 'quotes');
    const trades = groups.find((g) => g.kind === 'trades');
    const [q0, q1] = quotes;
    if (!q0 || !q1 || !trades || q0.kind !== 'quotes' || q1.kind !== 'quotes') throw new Error('fixture');
    const merged: TickRowGroup = { kind: 'quotes', quotes: wholeDay([trades, q0, q1]).quotes };
    await expect(
      writeTickDayStream(blobs, BTC_SPOT, DAY, [trades, merged], { maxRowGroupRows: 10_000 }),
    ).rejects.toThrow(/quotes: a row group spans more than one minute/);
    await expect(
      writeTickDayStream(blobs, BTC_SPOT, DAY, [trades, q0], { maxRowGroupRows: 10 }),
    ).rejects.toThrow(/exceeds the cap of 10/);
    await expect(writeTickDayStream(blobs, BTC_SPOT, DAY, [trades, q1, q0])).rejects.toThrow(
      /starts before the previous one ends/,
    );
    await expect(writeTickDayStream(blobs, BTC_SPOT, '2025-07-02', [trades])).rejects.toThrow(
      /outside the day/,
    );
    expect(await blobs.list('')).toEqual([]);
  });
});

process.env.METADATA_SERVER_DETECTION = 'none';
const emulator = await startOrSkip('Cloud Storage (firebase-tools)', () => startGcsEmulator());

describe.skipIf(!emulator.ok)(
  'streamed tick files on the Cloud Storage emulator',
  { timeout: 120_000 },
  () => {
    if (!emulator.ok) return;
    const emu = emulator.value;
    afterAll(() => emu.stop());

    it('uploads each file through one resumable session and reads back the same bytes', async () => {
      const gcs = new GcsBlobStore({
        bucket: emu.bucket,
        prefix: `stream-${Date.now()}`,
        projectId: emu.projectId,
        apiEndpoint: emu.endpoint,
      });
      const local = await tempStore('gcs-ref');
      const groups = btcGroups(4);
      const written = await writeTickDayStream(gcs, BTC_SPOT, DAY, groups, { maxRowGroupRows: CAP });
      await writeTickDayStream(local.blobs, BTC_SPOT, DAY, groups, { maxRowGroupRows: CAP });
      expect(written.map((f) => f.kind)).toEqual(['trades', 'quotes', 'book']);
      for (const f of written) {
        expect((await gcs.stat(f.key))?.size).toBe(f.bytes);
        expect(Buffer.from(await gcs.get(f.key)).equals(Buffer.from(await local.blobs.get(f.key)))).toBe(
          true,
        );
      }
      const from = dayStartNs(DAY) + 9n * 3_600_000_000_000n;
      const w = await loadWindow(gcs, {
        instrument_key: BTC_SPOT,
        fromNs: from,
        toNs: from + 300_000_000_000n,
      });
      const ref = await loadWindow(local.blobs, {
        instrument_key: BTC_SPOT,
        fromNs: from,
        toNs: from + 300_000_000_000n,
      });
      expect(w.quotes?.ts).toEqual(ref.quotes?.ts);
      expect(w.trades?.price).toEqual(ref.trades?.price);
    });
  },
);

describe('ParquetStreamWriter', () => {
  it('refuses malformed row groups and writes after finish, and counts what it sank', async () => {
    const chunks: Uint8Array[] = [];
    const w = new ParquetStreamWriter({ write: async (c) => void chunks.push(c) }, [
      { def: { name: 'ts_event', kind: 'TIMESTAMP_NS' } },
      { def: { name: 'price', kind: 'DOUBLE' } },
    ]);
    await expect(w.writeRowGroup([new BigInt64Array(1)])).rejects.toThrow(/expected 2 columns, got 1/);
    await expect(w.writeRowGroup([new BigInt64Array(0), new Float64Array(0)])).rejects.toThrow(
      /at least one row/,
    );
    await expect(w.writeRowGroup([new BigInt64Array(2), new Float64Array(1)])).rejects.toThrow(
      /column price has 1 values, expected 2/,
    );
    await w.writeRowGroup([BigInt64Array.of(1n, 2n), Float64Array.of(1.5, 2.5)]);
    expect(chunks).toHaveLength(1); // the magic bytes and the first row group, sunk before returning
    await w.writeRowGroup([BigInt64Array.of(3n), Float64Array.of(3.5)]);
    const done = await w.finish();
    expect(done).toMatchObject({ rows: 3, rowGroups: 2 });
    expect(chunks.reduce((s, c) => s + c.byteLength, 0)).toBe(done.bytes);
    const file = Buffer.concat(chunks);
    const whole = writeParquet({
      columns: [
        { def: { name: 'ts_event', kind: 'TIMESTAMP_NS' }, data: BigInt64Array.of(1n, 2n, 3n) },
        { def: { name: 'price', kind: 'DOUBLE' }, data: Float64Array.of(1.5, 2.5, 3.5) },
      ],
      rowGroupSizes: [2, 1],
    });
    expect(file.equals(Buffer.from(whole))).toBe(true);
    await expect(w.writeRowGroup([BigInt64Array.of(4n), Float64Array.of(4.5)])).rejects.toThrow(
      /already finished/,
    );
  });
});

describe('generate-data --profile binance-btcusdt', { timeout: 180_000 }, () => {
  it('streams bursty days, byte-identical for the same seed, and reports rows and peak memory', async () => {
    const cli = await tempStore('profile-cli');
    const args = ['--days', '2', '--seed', '9', '--trades-per-day', '2000', '--quotes-per-trade', '6'];
    const { stdout } = await run(
      TSX,
      [
        'scripts/generate-data.ts',
        '--out',
        cli.root,
        '--profile',
        'binance-btcusdt',
        ...args,
        '--instruments',
        `${BTC_SPOT},${BTC_PERP}`,
        '--quiet',
      ],
      { cwd: REPO, env: { ...process.env, NO_COLOR: '1' } },
    );
    expect(stdout).toMatch(
      /wrote 11 files .* \d+ trades, \d+ quotes, 58 signals .*peak RSS \d+ MB, largest row group \d+ rows/,
    );
    const again = await tempStore('profile-again');
    const other = await tempStore('profile-other');
    const opts = {
      start: '2025-07-01',
      days: 2,
      seed: 9,
      profile: 'binance-btcusdt',
      tradesPerDay: 2000,
      quotesPerTrade: 6,
      instruments: [BTC_SPOT, BTC_PERP],
    };
    const s = await generateData(again.blobs, opts);
    await generateData(other.blobs, { ...opts, seed: 10 });
    const [tc, ta, to] = await Promise.all([
      fileDigests(cli.root),
      fileDigests(again.root),
      fileDigests(other.root),
    ]);
    expect(ta.size).toBe(11);
    expect(tc).toEqual(ta);
    const key = 'market-data-tick/BINANCE-FUTURES/2025-07-02/BTC-USDT/quotes.parquet';
    expect(to.get(key)).not.toBe(ta.get(key));
    // The perpetual is busier than spot in this profile (1.3×), and quotes outnumber trades.
    expect(s.trades).toBeGreaterThan(2 * 2000 * 2.3 * 0.85);
    expect(s.quotes).toBeGreaterThan(4 * s.trades);
    expect(s.maxRowGroupRows).toBeLessThanOrEqual(100_000);
  });

  it('names an unknown profile', async () => {
    const { blobs } = await tempStore('profile-bad');
    await expect(generateData(blobs, { start: DAY, days: 1, seed: 1, profile: 'nasdaq' })).rejects.toThrow(
      /unknown profile "nasdaq"; available: default, binance-btcusdt/,
    );
  });
});
