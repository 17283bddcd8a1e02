/**
 * The data CLIs end to end: `scripts/generate-data.ts` (real process, deterministic output) and
 * `scripts/import-binance-trades.ts` (fixture CSVs in, trades.parquet out, errors with line numbers).
 */
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalBlobStore } from '../../../infra/local/blob-store.local.ts';
import { loadInstrumentSpecs } from '../../../infra/ticks/instruments.ts';
import { loadWindow } from '../../../infra/ticks/loader.ts';
import { generateData } from '../../../scripts/generate-data.ts';
import { isoToNanos } from '../../../shared/domain/time.ts';
import { BTC_PERP, BTC_SPOT, ETH_SPOT, fileDigests, tempBlobStore } from '../../unit/ticks/helpers.ts';

const run = promisify(execFile);
const REPO = path.resolve(import.meta.dirname, '../../..');
const TSX = path.join(REPO, 'node_modules/.bin/tsx');
const FIXTURES = path.join(REPO, 'test/fixtures/binance');

const cleanups: Array<() => Promise<void>> = [];
async function tempDir(label: string): Promise<string> {
  const t = await tempBlobStore(label);
  cleanups.push(t.cleanup);
  return t.root;
}
afterAll(async () => {
  for (const c of cleanups) await c();
});

describe('generate-data', () => {
  let cliOut: string;
  beforeAll(async () => {
    cliOut = await tempDir('gen-cli');
    const { stdout } = await run(
      TSX,
      [
        'scripts/generate-data.ts',
        '--out',
        cliOut,
        '--days',
        '2',
        '--start',
        '2025-07-01',
        '--seed',
        '42',
        '--trades-per-day',
        '4000',
        '--l2',
        '--l2-levels',
        '2',
        '--quiet',
      ],
      { cwd: REPO, env: { ...process.env, NO_COLOR: '1' } },
    );
    expect(stdout).toMatch(/wrote 21 files .* 19200 trades, 48000 quotes, 192000 book rows, 58 signals/);
  }, 120_000);

  it('writes the SPEC layout, instruments and a sample signals file', async () => {
    const files = [...(await fileDigests(cliOut)).keys()].sort();
    expect(files).toContain('market-data-tick/BINANCE-SPOT/2025-07-01/BTC-USDT/trades.parquet');
    expect(files).toContain('market-data-tick/BINANCE-SPOT/2025-07-02/ETH-USDT/quotes.parquet');
    expect(files).toContain('market-data-tick/BINANCE-FUTURES/2025-07-02/BTC-USDT/book.parquet');
    expect(files).toContain('instruments/2025-07-01.json');
    expect(files).toContain('signals/sample.jsonl');
    expect(files).toHaveLength(3 * 2 * 3 + 2 + 1);

    const blobs = new LocalBlobStore(cliOut);
    const { specs } = await loadInstrumentSpecs(blobs, '2025-07-02');
    expect(specs.map((s) => s.instrument_key).sort()).toEqual([BTC_PERP, BTC_SPOT, ETH_SPOT].sort());

    const lines = (await readFile(path.join(cliOut, 'signals/sample.jsonl'), 'utf8')).trim().split('\n');
    expect(lines).toHaveLength(58);
    for (const line of lines) {
      const s = JSON.parse(line) as Record<string, unknown>;
      expect(typeof s.ts).toBe('string');
      expect(typeof s.target_position).toBe('string');
      // Every signal's 5-minute window has data to replay.
      const from = isoToNanos(s.ts as string);
      const w = await loadWindow(blobs, {
        instrument_key: s.instrument_key as string,
        fromNs: from,
        toNs: from + 300_000_000_000n,
      });
      expect(w.quotes?.ts.length).toBeGreaterThan(0);
    }
  });

  it('is byte-identical for the same seed, and different for another seed', async () => {
    const a = await tempDir('gen-a');
    const b = await tempDir('gen-b');
    const c = await tempDir('gen-c');
    const opts = { start: '2025-07-01', days: 2, seed: 42, tradesPerDay: 4000, l2Levels: 2 };
    await generateData(new LocalBlobStore(a, { durable: false }), opts);
    await generateData(new LocalBlobStore(b, { durable: false }), opts);
    await generateData(new LocalBlobStore(c, { durable: false }), { ...opts, seed: 43 });
    const [ta, tb, tc, tcli] = await Promise.all([
      fileDigests(a),
      fileDigests(b),
      fileDigests(c),
      fileDigests(cliOut),
    ]);
    expect(ta.size).toBe(21);
    expect(tb).toEqual(ta);
    expect(tcli).toEqual(ta); // the CLI with the same options writes the same bytes
    const key = 'market-data-tick/BINANCE-SPOT/2025-07-01/BTC-USDT/trades.parquet';
    expect(tc.get(key)).not.toBe(ta.get(key));
  });

  it('rejects bad options with a clear message', async () => {
    const out = await tempDir('gen-bad');
    const err = await run(TSX, ['scripts/generate-data.ts', '--out', out, '--days', '0', '--quiet'], {
      cwd: REPO,
    }).catch((e: unknown) => e as { code: number; stderr: string });
    expect((err as { code: number }).code).not.toBe(0);
    expect((err as { stderr: string }).stderr).toMatch(/--days must be a positive integer/);
    await expect(
      generateData(new LocalBlobStore(out), {
        start: '2025-07-01',
        days: 1,
        seed: 1,
        instruments: ['BINANCE-SPOT:SPOT_PAIR:DOGE-USDT'],
      }),
    ).rejects.toThrow(/unknown instrument\(s\) BINANCE-SPOT:SPOT_PAIR:DOGE-USDT/);
  });
});

describe('import-binance-trades', () => {
  it('imports µs and ms dumps into per-day trades.parquet the loader reads back exactly', async () => {
    const out = await tempDir('import');
    const { stdout } = await run(
      TSX,
      [
        'scripts/import-binance-trades.ts',
        '--instrument',
        BTC_SPOT,
        '--out',
        out,
        path.join(FIXTURES, 'BTCUSDT-trades-us-header.csv'),
      ],
      { cwd: REPO },
    );
    expect(stdout).toContain('market-data-tick/BINANCE-SPOT/2025-06-30/BTC-USDT/trades.parquet: 3 trades');
    expect(stdout).toContain('market-data-tick/BINANCE-SPOT/2025-07-01/BTC-USDT/trades.parquet: 5 trades');
    await run(
      TSX,
      [
        'scripts/import-binance-trades.ts',
        '--instrument',
        ETH_SPOT,
        '--out',
        out,
        path.join(FIXTURES, 'ETHUSDT-trades-ms-noheader.csv'),
      ],
      { cwd: REPO },
    );

    const blobs = new LocalBlobStore(out);
    const w = await loadWindow(blobs, {
      instrument_key: BTC_SPOT,
      fromNs: isoToNanos('2025-06-30T23:59:59Z'),
      toNs: isoToNanos('2025-07-01T00:01:00Z'),
      kinds: ['trades'],
      tradeIds: true,
    });
    expect(Array.from(w.trades?.ts ?? [])).toEqual([
      1_751_327_999_000_000_000n,
      1_751_327_999_999_999_000n,
      1_751_328_000_000_000_000n,
      1_751_328_000_125_000_000n,
      1_751_328_000_250_000_000n,
      1_751_328_000_250_000_000n,
    ]);
    expect(w.trades?.trade_id).toEqual([
      '5000000002',
      '5000000003',
      '5000000004',
      '5000000005',
      '5000000006',
      '5000000007',
    ]);
    expect(Array.from(w.trades?.side ?? [])).toEqual([1, 1, -1, -1, 1, 1]);
    expect(Array.from(w.trades?.price ?? [])).toEqual([
      107150.02, 107150.02, 107149.99, 107150.5, 107151, 107151,
    ]);

    const eth = await loadWindow(blobs, {
      instrument_key: ETH_SPOT,
      fromNs: isoToNanos('2025-07-01T00:00:00Z'),
      toNs: isoToNanos('2025-07-02T00:00:00Z'),
      kinds: ['trades'],
    });
    expect(Array.from(eth.trades?.ts ?? [])).toEqual([
      1_751_328_000_123_000_000n,
      1_751_328_000_456_000_000n,
      1_751_331_600_000_000_000n,
    ]);
    expect(Array.from(eth.trades?.side ?? [])).toEqual([1, -1, 1]);
    expect(eth.files[0]?.row_groups_total).toBe(2); // minute 00:00 and minute 01:00
  });

  it('fails on a malformed line, naming the file and line, and writes nothing', async () => {
    const out = await tempDir('import-bad');
    const file = path.join(FIXTURES, 'BTCUSDT-trades-malformed.csv');
    const err = (await run(
      TSX,
      ['scripts/import-binance-trades.ts', '--instrument', BTC_SPOT, '--out', out, file],
      { cwd: REPO },
    ).catch((e: unknown) => e)) as { code: number; stderr: string };
    expect(err.code).toBe(1);
    expect(err.stderr).toContain(`${file}:4: qty "abc" is not a positive decimal`);
    expect((await fileDigests(out)).size).toBe(0);

    const badId = (await run(
      TSX,
      ['scripts/import-binance-trades.ts', '--instrument', 'BINANCE-SPOT:BTC-USDT', '--out', out, file],
      { cwd: REPO },
    ).catch((e: unknown) => e)) as { code: number; stderr: string };
    expect(badId.code).toBe(1);
    expect(badId.stderr).toMatch(/BINANCE-SPOT:BTC-USDT/);
  });
});
