/**
 * `scripts/backtest.ts` as a real process (tsx): a completed run prints the summary table and exits
 * 0; a run that fails exits 1 and says what failed, naming the line.
 */
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SUMMARY_FILE } from '../../../infra/backtest/keys.ts';
import { exists, generatedData, removeAll, resultPath, tempDir } from './helpers.ts';

const exec = promisify(execFile);
const REPO = path.resolve(import.meta.dirname, '../../..');
const TSX = path.join(REPO, 'node_modules/.bin/tsx');
const CLI = path.join(REPO, 'scripts/backtest.ts');

let data: string;
let out: string;

beforeAll(async () => {
  ({ root: data } = await generatedData('cli', 10_000));
  out = await tempDir('cli-out');
});

afterAll(async () => {
  await removeAll(data, out);
});

describe('npm run backtest', () => {
  it('runs on 2 workers, prints the summary table and the results folder', async () => {
    const { stdout } = await exec(
      TSX,
      [
        CLI,
        '--signals',
        path.join(data, 'signals/sample.jsonl'),
        '--data',
        data,
        '--out',
        out,
        '--workers',
        '2',
        '--run-id',
        'cli-1',
      ],
      { cwd: REPO, env: { ...process.env, METADATA_SERVER_DETECTION: 'none' } },
    );
    expect(stdout).toMatch(/^run_id\s+cli-1$/m);
    expect(stdout).toMatch(/^fill ratio\s+[\d.]+$/m);
    expect(stdout).toMatch(/^implementation shortfall\s+-?[\d.]+ bps$/m);
    expect(stdout).toContain(`results: ${out}/backtest_results/cli-1/`);
    expect(await exists(resultPath(out, 'cli-1', SUMMARY_FILE))).toBe(true);
  });

  it('a bad signals file exits 1 and names the line', async () => {
    const bad = path.join(out, 'bad.jsonl');
    await writeFile(
      bad,
      '{"ts":"2025-07-01T00:05:00Z","instrument_key":"BINANCE-SPOT:SPOT_PAIR:BTC-USDT"}\n',
    );
    const err = await exec(
      TSX,
      [CLI, '--signals', bad, '--data', data, '--out', out, '--run-id', 'cli-2', '--quiet'],
      {
        cwd: REPO,
      },
    ).then(
      () => null,
      (e: { code: number; stderr: string }) => e,
    );
    expect(err?.code).toBe(1);
    expect(err?.stderr).toContain('backtest cli-2 FAILED');
    expect(err?.stderr).toContain('bad.jsonl:1.target_position: required field is missing');
  });

  it('bad arguments exit with a usage error', async () => {
    const err = await exec(TSX, [CLI, '--signals', 'x', '--data', data, '--out', out, '--workers', '0'], {
      cwd: REPO,
    }).then(
      () => null,
      (e: { code: number; stderr: string }) => e,
    );
    expect(err?.code).not.toBe(0);
    expect(err?.stderr).toContain('--workers must be a positive integer');
  });
});
