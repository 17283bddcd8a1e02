import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  BlobInstrumentCatalog,
  createInstrumentCatalog,
  DEFAULT_INSTRUMENTS_PATH,
  defaultInstrumentCatalog,
  loadInstrumentsFile,
} from '../../../infra/instruments/catalog.ts';
import { LocalBlobStore } from '../../../infra/local/blob-store.local.ts';
import { isoToNanos, NANOS_PER_MILLI } from '../../../shared/domain/time.ts';
import { TestClock } from '../../../shared/ports/clock.ts';
import { StaticInstrumentCatalog } from '../../../shared/ports/instrument-catalog.ts';

const dirs: string[] = [];
async function blobs(): Promise<LocalBlobStore> {
  const d = await mkdtemp(join(tmpdir(), 'instruments-'));
  dirs.push(d);
  return new LocalBlobStore(d, { durable: false });
}
afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

const spec = (key: string, tick = '0.01') => ({
  instrument_key: key,
  tick_size: tick,
  step_size: '0.001',
  min_qty: '0.001',
  max_qty: '100',
  min_notional: '10',
  maker_fee: '0.0002',
  taker_fee: '0.0005',
});

describe('config/instruments.json (the embedded default)', () => {
  it('validates and lists BTC-USDT and ETH-USDT spot on SIM and BINANCE-SPOT and the BTC-USDT perpetual', async () => {
    const specs = await loadInstrumentsFile();
    const keys = specs.map((s) => s.instrument_key);
    for (const k of [
      'BINANCE-SPOT:SPOT_PAIR:BTC-USDT',
      'BINANCE-SPOT:SPOT_PAIR:ETH-USDT',
      'SIM:SPOT_PAIR:BTC-USDT',
      'SIM:SPOT_PAIR:ETH-USDT',
      'SIM:PERPETUAL:BTC-USDT@LIN',
    ]) {
      expect(keys).toContain(k);
    }
    const catalog = await defaultInstrumentCatalog();
    // Either spelling of the perpetual finds it; junk is null, never an exception.
    expect((await catalog.get('SIM:PERPETUAL:BTC-USDT'))?.instrument_key).toBe('SIM:PERPETUAL:BTC-USDT@LIN');
    expect(await catalog.get('not an id')).toBeNull();
    expect(catalog.source()).toBe(DEFAULT_INSTRUMENTS_PATH);
  });
});

describe('BlobInstrumentCatalog', () => {
  it('uses the latest instruments/<date>.json on or before today and follows the day', async () => {
    const store = await blobs();
    await store.put('instruments/2025-06-01.json', JSON.stringify([spec('SIM:SPOT_PAIR:BTC-USDT', '0.1')]));
    await store.put('instruments/2025-07-02.json', JSON.stringify([spec('SIM:SPOT_PAIR:BTC-USDT', '0.5')]));
    const clock = new TestClock(isoToNanos('2025-07-01T23:59:59Z'));
    const catalog = new BlobInstrumentCatalog({ blobs: store, clock });
    expect((await catalog.get('SIM:SPOT_PAIR:BTC-USDT'))?.tick_size).toBe('0.1');
    expect(catalog.source()).toBe('instruments/2025-06-01.json');
    clock.advance(2_000n * NANOS_PER_MILLI);
    expect((await catalog.get('SIM:SPOT_PAIR:BTC-USDT'))?.tick_size).toBe('0.5');
    expect(catalog.source()).toBe('instruments/2025-07-02.json');
  });

  it('picks up a new file after the refresh interval and keeps a good catalog over a bad file', async () => {
    const store = await blobs();
    await store.put('instruments/2025-07-01.json', JSON.stringify([spec('SIM:SPOT_PAIR:BTC-USDT')]));
    const clock = new TestClock(isoToNanos('2025-07-01T10:00:00Z'));
    const catalog = new BlobInstrumentCatalog({ blobs: store, clock, refreshMs: 60_000 });
    expect(await catalog.get('SIM:SPOT_PAIR:ETH-USDT')).toBeNull();
    await store.put(
      'instruments/2025-07-01.json',
      JSON.stringify([spec('SIM:SPOT_PAIR:BTC-USDT'), spec('SIM:SPOT_PAIR:ETH-USDT')]),
    );
    expect(await catalog.get('SIM:SPOT_PAIR:ETH-USDT')).toBeNull(); // cached
    clock.advance(60_000n * NANOS_PER_MILLI);
    expect(await catalog.get('SIM:SPOT_PAIR:ETH-USDT')).not.toBeNull();
    await store.put('instruments/2025-07-01.json', '[{"instrument_key": "nope"}]');
    clock.advance(60_000n * NANOS_PER_MILLI);
    expect(await catalog.get('SIM:SPOT_PAIR:ETH-USDT')).not.toBeNull();
  });

  it('a bad file with nothing loaded before is an error naming the file and the entry', async () => {
    const store = await blobs();
    await store.put('instruments/2025-07-01.json', JSON.stringify([spec('SIM:SPOT_PAIR:BTC-USDT', '-1')]));
    const catalog = new BlobInstrumentCatalog({
      blobs: store,
      clock: new TestClock(isoToNanos('2025-07-01T10:00:00Z')),
    });
    await expect(catalog.get('SIM:SPOT_PAIR:BTC-USDT')).rejects.toThrow(
      /instruments\/2025-07-01\.json\[0\]\.tick_size/,
    );
  });

  it('falls back to config/instruments.json when the store has no instruments file', async () => {
    const catalog = await createInstrumentCatalog({
      blobs: await blobs(),
      clock: new TestClock(isoToNanos('2025-07-01T10:00:00Z')),
    });
    expect(await catalog.get('BINANCE-SPOT:SPOT_PAIR:BTC-USDT')).not.toBeNull();
    expect(catalog.source()).toBe(DEFAULT_INSTRUMENTS_PATH);
    const empty = new BlobInstrumentCatalog({ blobs: await blobs(), clock: new TestClock(0n) });
    expect(await empty.list()).toEqual([]);
    expect(empty.source()).toMatch(/^none/);
  });

  it('StaticInstrumentCatalog lists specs sorted by key', async () => {
    const c = new StaticInstrumentCatalog([spec('SIM:SPOT_PAIR:ETH-USDT'), spec('SIM:SPOT_PAIR:BTC-USDT')]);
    expect((await c.list()).map((s) => s.instrument_key)).toEqual([
      'SIM:SPOT_PAIR:BTC-USDT',
      'SIM:SPOT_PAIR:ETH-USDT',
    ]);
  });
});
