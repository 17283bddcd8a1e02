/**
 * The recorder and the reader on real blob stores (a local folder and the Cloud Storage emulator):
 * layout, periodic flush, restart appends, the crash loss bound, recovery of parts written just
 * before a crash, and the reader's errors naming the file and the problem.
 */
import { mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { GcsBlobStore } from '../../../infra/gcs/blob-store.gcs.ts';
import { LocalBlobStore } from '../../../infra/local/blob-store.local.ts';
import { openRecording, type RecordingError } from '../../../infra/recording/reader.ts';
import { Recorder, type RecorderOptions } from '../../../infra/recording/recorder.ts';
import { loadWindow } from '../../../infra/ticks/loader.ts';
import type { BlobStore } from '../../../shared/ports/blob-store.ts';
import {
  type JournalInput,
  type MarketEvent,
  manifestKey,
  type SequencedMarketEvent,
} from '../../../shared/recording/format.ts';
import { replaySteps } from '../../../shared/recording/timeline.ts';
import { startOrSkip } from '../../support/emulator-guard.ts';
import { startGcsEmulator } from '../../support/gcs-emulator.ts';
import { BTC, BTC_SPEC, SEC, T0 } from '../../support/recording.ts';

process.env.METADATA_SERVER_DETECTION = 'none';

const dirs: string[] = [];
function localStore(): { store: LocalBlobStore; root: string } {
  const root = mkdtempSync(join(tmpdir(), 'recording-'));
  dirs.push(root);
  return { store: new LocalBlobStore(root, { durable: false }), root };
}
afterAll(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function options(blobs: BlobStore, over: Partial<RecorderOptions> = {}): RecorderOptions {
  return {
    blobs,
    session_id: 'binance-spot-2025-07-01',
    mode: 'SHADOW',
    venues: ['BINANCE-SPOT'],
    seed: 42,
    config: { venues: [{ id: 'BINANCE-SPOT', mode: 'SHADOW' }] },
    instruments: [BTC_SPEC],
    starting_cash: '100000',
    auto_flush: false,
    ...over,
  };
}

const trade = (t: bigint, price: number, id: string): MarketEvent => ({
  kind: 'trade',
  instrument_key: BTC,
  ts_event: t,
  ts_init: t + 2_000_000n,
  price,
  size: 0.01,
  side: 'BUY',
  trade_id: id,
});
const book = (t: bigint, bid: number): MarketEvent => ({
  kind: 'book',
  instrument_key: BTC,
  ts_event: t,
  ts_init: t + 1_000_000n,
  bids: [
    [bid, 1],
    [bid - 1, 2],
  ],
  asks: [
    [bid + 1, 1.5],
    [bid + 2, 3],
  ],
});
const routed = (t: bigint, id: string): JournalInput => ({
  type: 'parent_routed',
  ts_init: t,
  arrival_mid: '60000.5',
  parent: {
    order_id: id,
    operation_id: `OP-${id}`,
    strategy_id: 's1',
    instrument_key: BTC,
    venue: 'BINANCE-SPOT',
    side: 'BUY',
    order_type: 'MARKET',
    quantity: '0.1',
    price: null,
    exec_algorithm: 'TWAP',
    exec_algorithm_params: { duration_sec: 60, max_slices: 3 },
  },
});

async function readAll(blobs: BlobStore) {
  const rec = await openRecording(blobs);
  const market: SequencedMarketEvent[] = [];
  for await (const part of rec.market()) market.push(...part);
  return { ...rec, events: market, steps: [...replaySteps(rec.records, market)] };
}

async function expectRecordingError(blobs: BlobStore, file: string, problem: string, detail: RegExp) {
  const err = (await openRecording(blobs)
    .then(async (r) => {
      for await (const _ of r.market()) {
        /* read every part */
      }
      return null;
    })
    .catch((e: unknown) => e)) as RecordingError | null;
  expect(err?.name).toBe('RecordingError');
  expect(err?.file).toBe(file);
  expect(err?.problem).toBe(problem);
  expect(err?.message).toMatch(detail);
}

/** Record two flushes across a minute boundary and close. */
async function recordSession(blobs: BlobStore) {
  const r = await Recorder.open(options(blobs), T0);
  r.marketEvent(book(T0 + 1n * SEC, 60000));
  r.record(routed(T0 + 2n * SEC, 'P1'));
  r.marketEvent(trade(T0 + 3n * SEC, 60001, 't1'));
  await r.flush();
  r.marketEvent(book(T0 + 61n * SEC, 60010));
  r.marketEvent(trade(T0 + 62n * SEC, 60011, 't2'));
  r.record({
    type: 'trading_state_changed',
    ts_init: T0 + 63n * SEC,
    strategy_id: null,
    state: 'HALTED',
    reason: 'ops',
  });
  await r.close(T0 + 70n * SEC);
  return r;
}

function describeOn(name: string, make: () => Promise<BlobStore>) {
  describe(`recording on ${name}`, () => {
    it('writes parts per flush, a manifest, and the market data as backtestable tick files', async () => {
      const blobs = await make();
      await recordSession(blobs);
      const keys = (await blobs.list('')).map((b) => b.key);
      expect(keys).toEqual(
        expect.arrayContaining([
          'recordings/binance-spot-2025-07-01/manifest.json',
          'recordings/binance-spot-2025-07-01/journal/r0001-p000001.jsonl',
          'recordings/binance-spot-2025-07-01/market/r0001-p000001.parquet',
          'recordings/binance-spot-2025-07-01/journal/r0001-p000002.jsonl',
          'recordings/binance-spot-2025-07-01/market/r0001-p000002.parquet',
          'market-data-tick/BINANCE-SPOT/2025-07-01/BTC-USDT/trades.parquet',
          'market-data-tick/BINANCE-SPOT/2025-07-01/BTC-USDT/quotes.parquet',
          'market-data-tick/BINANCE-SPOT/2025-07-01/BTC-USDT/book.parquet',
          'instruments/2025-07-01.json',
        ]),
      );
      const { manifest, records, events, steps } = await readAll(blobs);
      expect(manifest.runs).toEqual([
        { run: 1, started_ts_init: String(T0), closed_ts_init: String(T0 + 70n * SEC) },
      ]);
      expect(records.map((r) => r.type)).toEqual([
        'session_started',
        'parent_routed',
        'trading_state_changed',
        'session_closed',
      ]);
      expect(events.map((e) => [e.kind, e.seq, e.ts_event, e.ts_init])).toEqual([
        ['book', 1, T0 + SEC, T0 + SEC + 1_000_000n],
        ['trade', 3, T0 + 3n * SEC, T0 + 3n * SEC + 2_000_000n],
        ['book', 4, T0 + 61n * SEC, T0 + 61n * SEC + 1_000_000n],
        ['trade', 5, T0 + 62n * SEC, T0 + 62n * SEC + 2_000_000n],
      ]);
      expect(events[0]).toMatchObject({
        bids: [
          [60000, 1],
          [59999, 2],
        ],
        asks: [
          [60001, 1.5],
          [60002, 3],
        ],
      });
      // Everything in the order the edge consumed it.
      expect(steps.map((s) => s.seq)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);

      // The tick files are ordinary tick data: the backtest's loader reads them, minute row groups.
      const w = await loadWindow(blobs, {
        instrument_key: BTC,
        fromNs: T0,
        toNs: T0 + 120n * SEC,
        kinds: ['trades', 'quotes', 'book'],
        tradeIds: true,
      });
      expect([...(w.trades?.price ?? [])]).toEqual([60001, 60011]);
      expect(w.trades?.trade_id).toEqual(['t1', 't2']);
      expect([...(w.quotes?.bid_px ?? [])]).toEqual([60000, 60010]);
      expect([...(w.quotes?.ask_px ?? [])]).toEqual([60001, 60011]);
      expect(w.book?.ts.length).toBe(8);
      const tradesFile = w.files.find((f) => f.kind === 'trades');
      expect(tradesFile?.row_groups_total).toBe(2); // minute 0 and minute 1
      expect(manifest.tick_files.map((f) => f.key)).toContain('instruments/2025-07-01.json');
    });

    it('a restart appends a run and never rewrites an earlier file', async () => {
      const blobs = await make();
      await recordSession(blobs);
      const before = await blobs.get('recordings/binance-spot-2025-07-01/journal/r0001-p000001.jsonl');
      const r2 = await Recorder.open(options(blobs), T0 + 100n * SEC);
      expect(r2.run).toBe(2);
      r2.marketEvent(trade(T0 + 101n * SEC, 60020, 't3'));
      await r2.close(T0 + 110n * SEC);
      expect(await blobs.get('recordings/binance-spot-2025-07-01/journal/r0001-p000001.jsonl')).toEqual(
        before,
      );
      const { manifest, records, events } = await readAll(blobs);
      expect(manifest.runs.map((r) => r.run)).toEqual([1, 2]);
      expect(manifest.segments.map((s) => `${s.run}.${s.part}`)).toEqual(['1.1', '1.2', '2.1']);
      expect(records.filter((r) => r.type === 'session_started').map((r) => r.run)).toEqual([1, 2]);
      expect(events.map((e) => `${e.run}.${e.seq}`)).toEqual(['1.1', '1.3', '1.4', '1.5', '2.1']);
      // The tick files now hold both runs' data.
      const w = await loadWindow(blobs, { instrument_key: BTC, fromNs: T0, toNs: T0 + 200n * SEC });
      expect([...(w.trades?.price ?? [])]).toEqual([60001, 60011, 60020]);
    });
  });
}

describeOn('a local folder', async () => localStore().store);

describe('crashes and the loss bound (local folder)', () => {
  it('a crash loses at most what arrived since the last completed flush', async () => {
    const { store } = localStore();
    const r = await Recorder.open(options(store), T0);
    r.record(routed(T0 + SEC, 'P1'));
    r.marketEvent(trade(T0 + 2n * SEC, 60001, 't1'));
    await r.flush();
    r.marketEvent(trade(T0 + 3n * SEC, 60002, 't2')); // never flushed
    r.abandon(); // the process dies
    const { records, events, manifest } = await readAll(store);
    expect(records.map((x) => x.type)).toEqual(['session_started', 'parent_routed']);
    expect(events.map((e) => (e.kind === 'trade' ? e.trade_id : null))).toEqual(['t1']);
    expect(manifest.runs[0]?.closed_ts_init).toBeNull();
  });

  it('a part written just before the manifest update is refused by the reader, then adopted on restart', async () => {
    const { store } = localStore();
    let failManifest = false;
    const flaky: BlobStore = Object.assign(Object.create(store) as BlobStore, {
      put: async (key: string, data: Uint8Array | string, o?: { contentType?: string | undefined }) => {
        if (failManifest && key.endsWith('manifest.json')) throw new Error('connection reset');
        return store.put(key, data, o);
      },
    });
    const errors: unknown[] = [];
    const r = await Recorder.open(options(flaky, { onError: (e) => errors.push(e) }), T0);
    r.marketEvent(trade(T0 + SEC, 60001, 't1'));
    await r.flush();
    r.marketEvent(trade(T0 + 2n * SEC, 60002, 't2'));
    failManifest = true;
    await expect(r.flush()).rejects.toThrow(/connection reset/);
    r.abandon();
    await expectRecordingError(
      store,
      'recordings/binance-spot-2025-07-01/market/r0001-p000002.parquet',
      'unlisted',
      /written after the last manifest update/,
    );
    const r2 = await Recorder.open(options(store), T0 + 10n * SEC);
    await r2.close(T0 + 11n * SEC);
    const { manifest, events } = await readAll(store);
    expect(manifest.segments.find((s) => s.run === 1 && s.part === 2)?.recovered).toBe(true);
    expect(events.map((e) => (e.kind === 'trade' ? e.trade_id : null))).toEqual(['t1', 't2']);
  });

  it('a torn part is discarded on restart, never replayed', async () => {
    const { store, root } = localStore();
    const r = await Recorder.open(options(store), T0);
    r.record(routed(T0 + SEC, 'P1'));
    await r.flush();
    r.abandon();
    const torn = join(root, 'recordings/binance-spot-2025-07-01/journal/r0001-p000002.jsonl');
    writeFileSync(torn, '{"seq":2,"ts_init":"1","type":"parent_ro');
    const r2 = await Recorder.open(options(store), T0 + 10n * SEC);
    await r2.close(T0 + 11n * SEC);
    const { manifest, records } = await readAll(store);
    expect(manifest.discarded).toEqual([
      {
        key: 'recordings/binance-spot-2025-07-01/journal/r0001-p000002.jsonl',
        reason: expect.stringContaining('truncated'),
      },
    ]);
    expect(records.map((x) => `${x.run}:${x.type}`)).toEqual([
      '1:session_started',
      '1:parent_routed',
      '2:session_started',
      '2:session_closed',
    ]);
  });

  it('a full buffer drops and counts, and the recording then refuses to replay, naming the gap', async () => {
    const { store } = localStore();
    const r = await Recorder.open(options(store, { max_buffered_events: 2 }), T0);
    for (let i = 0; i < 10; i++) r.marketEvent(trade(T0 + BigInt(i) * SEC, 60000 + i, `t${i}`));
    await r.close(T0 + 20n * SEC);
    expect(r.stats().dropped_market_events).toBeGreaterThan(0);
    await expectRecordingError(
      store,
      'recordings/binance-spot-2025-07-01/journal/r0001-p000001.jsonl',
      'gap',
      /\d+ market events and 0 records were not recorded/,
    );
  });
});

describe('the reader names the file and the problem', () => {
  const sid = 'binance-spot-2025-07-01';
  it('missing file', async () => {
    const { store, root } = localStore();
    await recordSession(store);
    rmSync(join(root, `recordings/${sid}/market/r0001-p000002.parquet`));
    await expectRecordingError(
      store,
      `recordings/${sid}/market/r0001-p000002.parquet`,
      'missing',
      /not found/,
    );
  });
  it('truncated file', async () => {
    const { store, root } = localStore();
    await recordSession(store);
    const f = join(root, `recordings/${sid}/journal/r0001-p000002.jsonl`);
    truncateSync(f, readFileSync(f).byteLength - 10);
    await expectRecordingError(
      store,
      `recordings/${sid}/journal/r0001-p000002.jsonl`,
      'truncated',
      /the manifest says/,
    );
  });
  it('altered bytes', async () => {
    const { store, root } = localStore();
    await recordSession(store);
    const f = join(root, `recordings/${sid}/journal/r0001-p000001.jsonl`);
    writeFileSync(f, readFileSync(f, 'utf8').replace('60000.5', '60000.7'));
    await expectRecordingError(store, `recordings/${sid}/journal/r0001-p000001.jsonl`, 'corrupt', /SHA-256/);
  });
  it('incompatible version', async () => {
    const { store, root } = localStore();
    await recordSession(store);
    const f = join(root, manifestKey(sid));
    writeFileSync(f, readFileSync(f, 'utf8').replace('"format_version": 1', '"format_version": 2'));
    await expectRecordingError(store, manifestKey(sid), 'incompatible_version', /format_version 2 is not 1/);
  });
  it('no manifest at all', async () => {
    const { store } = localStore();
    await expectRecordingError(store, 'recordings/', 'no_recording', /manifest/);
  });
});

const emulator = await startOrSkip('Cloud Storage (firebase-tools)', () => startGcsEmulator());
describe.skipIf(!emulator.ok)('on the Cloud Storage emulator', () => {
  if (!emulator.ok) return;
  const emu = emulator.value;
  afterAll(() => emu.stop());
  let n = 0;
  describeOn(
    'Cloud Storage',
    async () =>
      new GcsBlobStore({
        bucket: emu.bucket,
        prefix: `rec-${process.pid}-${n++}`,
        projectId: emu.projectId,
        apiEndpoint: emu.endpoint,
      }),
  );
});
