/**
 * `--data gs://…` and `--out gs://…`: the local runner (2 worker threads) reads the ticks from the
 * Cloud Storage emulator with byte ranges and writes its results there; the files equal those of a
 * run on local folders.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RESULT_FILES, resultKey, SUMMARY_FILE } from '../../../infra/backtest/keys.ts';
import { runLocalBacktest } from '../../../infra/backtest/runner.ts';
import { GcsBlobStore } from '../../../infra/gcs/blob-store.gcs.ts';
import { DEFAULT_BACKTEST_SETTINGS } from '../../../shared/backtest/model.ts';
import { type GcsEmulator, startGcsEmulator } from '../../support/gcs-emulator.ts';
import { generatedData, LIMITS, outputs, removeAll, run, tempDir, uploadFolder } from './helpers.ts';

let emu: GcsEmulator;
let data: string;
let signals: string;
let local: string;
const previousHost = process.env.STORAGE_EMULATOR_HOST;

beforeAll(async () => {
  emu = await startGcsEmulator();
  // Worker threads open their own stores from the gs:// locations: the client library finds the
  // emulator through STORAGE_EMULATOR_HOST (workers inherit the environment).
  process.env.STORAGE_EMULATOR_HOST = emu.endpoint;
  ({ root: data, signals } = await generatedData('gcs', 10_000));
  local = await tempDir('gcs-local');
});

afterAll(async () => {
  if (previousHost === undefined) delete process.env.STORAGE_EMULATOR_HOST;
  else process.env.STORAGE_EMULATOR_HOST = previousHost;
  await emu?.stop();
  await removeAll(data, local);
});

describe('backtest on Cloud Storage (emulator)', () => {
  it('reads gs:// data, writes gs:// results, and matches a run on local folders', async () => {
    const store = (prefix: string) =>
      new GcsBlobStore({ bucket: emu.bucket, prefix, projectId: emu.projectId, apiEndpoint: emu.endpoint });
    const dataStore = store('data');
    expect(await uploadFolder(data, dataStore)).toBeGreaterThan(6);
    const outStore = store('out');
    const r = await runLocalBacktest({
      signals: { text: signals, source: 'sample.jsonl' },
      data: dataStore,
      dataLocation: `gs://${emu.bucket}/data`,
      results: outStore,
      resultsLocation: `gs://${emu.bucket}/out`,
      runId: 'run-a',
      settings: DEFAULT_BACKTEST_SETTINGS,
      limits: LIMITS,
      workers: 2,
    });
    expect(r.status).toBe('completed');
    expect((await run({ data, out: local, signals, inline: true })).status).toBe('completed');
    const ref = await outputs(local, 'run-a');
    for (const [i, f] of RESULT_FILES.entries()) {
      const bytes = Buffer.from(await outStore.get(resultKey('run-a', f)));
      expect(bytes.equals(ref.parquet[i] as Buffer), f).toBe(true);
    }
    const summary = JSON.parse(
      Buffer.from(await outStore.get(resultKey('run-a', SUMMARY_FILE))).toString(),
    ) as Record<string, unknown>;
    delete summary.wall_seconds;
    expect(summary).toEqual(ref.summary);
    expect(summary.bytes_read as number).toBeLessThan(summary.bytes_total as number);
  });
});
