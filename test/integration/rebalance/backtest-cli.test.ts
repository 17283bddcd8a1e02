/**
 * `npm run data:generate -- --daily` then `npm run rebalance -- backtest`: the five result files on
 * disk, readable Parquet, the divergence in summary.json and the --max-divergence gate.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { readParquetBytes } from '../../../infra/parquet/reader.ts';
import { main as generate } from '../../../scripts/generate-data.ts';
import { main } from '../../../scripts/rebalance.ts';

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'rebalance-bt-'));
  vi.spyOn(console, 'log').mockImplementation(() => {});
  await generate([
    'node',
    'generate-data',
    '--out',
    `${dir}/data`,
    '--daily',
    '--assets',
    '6',
    '--days',
    '40',
    '--start',
    '2025-03-01',
    '--rebalance-every',
    '3',
    '--quiet',
  ]);
  vi.restoreAllMocks();
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function quiet() {
  vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
  vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
}

describe('rebalance backtest CLI', () => {
  it('writes the five result files with the divergence', async () => {
    quiet();
    const code = await main([
      'backtest',
      '--weights',
      `${dir}/data/weights/sample-rebalance`,
      '--data',
      `${dir}/data`,
      '--out',
      `${dir}/out`,
      '--run-id',
      'r1',
      '--max-divergence',
      '0.001',
    ]);
    vi.restoreAllMocks();
    expect(code).toBe(0);
    const root = `${dir}/out/backtest_results/r1`;
    const summary = JSON.parse(await readFile(`${root}/summary.json`, 'utf8'));
    expect(summary.signals.applied).toBe(13);
    expect(summary.orders).toBeGreaterThan(20);
    expect(summary.fills).toBe(summary.orders);
    expect(summary.divergence.within).toBe(true);
    expect(summary.divergence.annualized_return_divergence).toBeLessThanOrEqual(0.001);
    expect(typeof summary.wall_seconds).toBe('number');
    const fills = await readParquetBytes(new Uint8Array(await readFile(`${root}/fills.parquet`)));
    expect(Number(fills.metadata.num_rows)).toBe(summary.fills);
    const equity = await readParquetBytes(new Uint8Array(await readFile(`${root}/equity_curve.parquet`)));
    expect(Number(equity.metadata.num_rows)).toBe(40);
    for (const f of ['orders.parquet', 'positions.parquet']) {
      const t = await readParquetBytes(new Uint8Array(await readFile(`${root}/${f}`)));
      expect(Number(t.metadata.num_rows)).toBeGreaterThan(0);
    }
  });

  it('exits 1 beyond --max-divergence, and 1 naming the reasons when no weights file is valid', async () => {
    quiet();
    const args = ['--data', `${dir}/data`, '--out', `${dir}/out`, '--run-id', 'r2'];
    expect(
      await main([
        'backtest',
        '--weights',
        `${dir}/data/weights/sample-rebalance`,
        ...args,
        '--max-divergence',
        '0',
      ]),
    ).toBe(1);
    const err = vi.spyOn(process.stderr, 'write');
    expect(await main(['backtest', '--weights', 'test/fixtures/rebalance/bad-weights.json', ...args])).toBe(
      1,
    );
    expect(err.mock.calls.map((c) => String(c[0])).join('')).toContain('schema_version: must be 1');
    vi.restoreAllMocks();
  });
});
