/**
 * The cloud fan-out as deployed, small: functions-framework serves backtest-planner,
 * backtest-merge and two backtest-window instances (each its own process, entry module imported
 * cold), the Pub/Sub emulator carries requests, window and done messages, the Cloud Storage
 * emulator holds the ticks and the results (./fanout-cluster.ts). A request published on
 * `backtests.requests` ends in the same result files as the local runner's.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RESULT_FILES, resultKey, SUMMARY_FILE } from '../../../infra/backtest/keys.ts';
import { startOrSkip } from '../../support/emulator-guard.ts';
import { startGcsEmulator } from '../../support/gcs-emulator.ts';
import { startPubSubEmulator } from '../../support/pubsub-emulator.ts';
import { type FanoutCluster, startFanoutCluster, uploadFolder, waitForBlob } from './fanout-cluster.ts';
import { generatedData, outputs, removeAll, run, tempDir } from './helpers.ts';

const pubsubEmu = await startOrSkip('Pub/Sub', () => startPubSubEmulator());
const gcsEmu = await startOrSkip('Cloud Storage', () => startGcsEmulator());

describe.skipIf(!pubsubEmu.ok || !gcsEmu.ok)(
  'backtest functions under functions-framework on the emulators',
  () => {
    let cluster: FanoutCluster;
    let data: string;
    let signals: string;
    const dirs: string[] = [];

    beforeAll(async () => {
      if (!pubsubEmu.ok || !gcsEmu.ok) return;
      ({ root: data, signals } = await generatedData('ff', 10_000));
      dirs.push(data);
      cluster = await startFanoutCluster({
        pubsubEmu: pubsubEmu.value,
        gcsEmu: gcsEmu.value,
        instances: 2,
        prefix: 'ff-test',
      });
      await uploadFolder(data, cluster.data);
    }, 120_000);

    afterAll(async () => {
      await cluster?.stop();
      await removeAll(...dirs);
      await Promise.allSettled([
        pubsubEmu.ok ? pubsubEmu.value.stop() : undefined,
        gcsEmu.ok ? gcsEmu.value.stop() : undefined,
      ]);
    });

    it('a published request → planner → windows on 2 instances → merge: the local runner’s files', async () => {
      const runId = 'run-ff';
      await cluster.pubsub
        .topic('backtests.requests')
        .publishMessage({ json: { run_id: runId, signals_key: 'signals/sample.jsonl' } });
      const end = await waitForBlob(
        cluster.results,
        [resultKey(runId, SUMMARY_FILE), resultKey(runId, 'summary.failed.json')],
        90_000,
      );
      expect(end.key).toBe(resultKey(runId, SUMMARY_FILE));

      // Every window went through an instance's HTTP endpoint and was acknowledged; both took some.
      const windows = cluster.dispatcher.dispatches;
      const ids = new Set(windows.map((d) => d.window_id));
      expect(ids.size).toBeGreaterThan(10);
      expect(windows.every((d) => d.status >= 200 && d.status < 300)).toBe(true);
      expect(new Set(windows.map((d) => d.instance)).size).toBe(2);
      const windowLogs = cluster.windows.flatMap((w) => w.logs.filter((l) => l.message === 'window_done'));
      expect(new Set(windowLogs.map((l) => l.window_id))).toEqual(ids);
      // The merge logs its outcome after writing summary.json: wait for the line, then count.
      const merged = () => cluster.merge.logs.filter((l) => l.message === 'merged');
      for (let i = 0; i < 200 && merged().length === 0; i++) await new Promise((r) => setTimeout(r, 50));
      // Done messages of the last windows may race: each merge writes the same bytes (checked below).
      expect(merged().length).toBeGreaterThanOrEqual(1);
      expect(merged().every((l) => l.run_id === runId)).toBe(true);
      expect(cluster.merge.logs.filter((l) => l.message === 'run_failed')).toEqual([]);

      const local = await tempDir('ff-local');
      dirs.push(local);
      expect((await run({ data, out: local, signals, runId, inline: true })).status).toBe('completed');
      const expected = await outputs(local, runId);
      for (const [i, f] of RESULT_FILES.entries()) {
        const cloud = Buffer.from(await cluster.results.get(resultKey(runId, f)));
        expect(cloud.equals(expected.parquet[i] as Buffer), f).toBe(true);
      }
      const summary = JSON.parse(
        new TextDecoder().decode(await cluster.results.get(resultKey(runId, SUMMARY_FILE))),
      ) as Record<string, unknown>;
      // I/O and wall time differ by design (where the bytes were read); everything else is equal.
      for (const s of [summary, expected.summary]) {
        delete s.wall_seconds;
        delete s.bytes_read;
        delete s.io;
      }
      expect(summary).toEqual(expected.summary);
    }, 120_000);
  },
);
