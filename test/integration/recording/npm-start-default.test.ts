/**
 * `npm start` as a process with the embedded default and no local exchange
 * (`EXEC_LOCAL_EXCHANGE=off`): its venues run behind the edge as shadows of the seeded synthetic
 * market and are recorded by default under `<data_dir>/blobs`. A TWAP and two direct orders trade on
 * BINANCE-SPOT, the process stops on SIGTERM (closing the recordings), and the BINANCE-SPOT session
 * is replayed through the backtester with `npm run replay`'s runner.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalBlobStore } from '../../../infra/local/blob-store.local.ts';
import { openRecording } from '../../../infra/recording/reader.ts';
import { runReplay } from '../../../infra/recording/replay-run.ts';
import { sessionIdsOf } from '../../../shared/recording/format.ts';
import { DEFAULT_PARITY_TOLERANCES, formatParityTable } from '../../../shared/recording/parity.ts';
import { type MainProcess, startMainProcess } from '../support/main-process.ts';
import { expectIdenticalReplayOfMix, killService, tradeMixThenStop } from './support.ts';

let dataDir: string;
let service: MainProcess;

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'npm-start-default-'));
  service = await startMainProcess(
    {
      EXEC_DATA_DIR: dataDir,
      EXEC_CONFIG: '',
      EXEC_LOCAL_EXCHANGE: 'off',
      LOG_LEVEL: 'info',
      METADATA_SERVER_DETECTION: 'none',
    },
    { startTimeoutMs: 60_000 },
  );
}, 90_000);

afterAll(async () => {
  await killService(service);
  await rm(dataDir, { recursive: true, force: true });
});

describe('npm start (embedded default): its shadow venues are recorded and replay', () => {
  it('records BINANCE-SPOT by default; the replay compares it order by order and fill by fill', async () => {
    await tradeMixThenStop(service, 'OP-DEF');

    const blobs = new LocalBlobStore(join(dataDir, 'blobs'), { durable: false });
    const sessions = sessionIdsOf((await blobs.list('recordings/')).map((b) => b.key));
    const session = sessions.find((s) => s.startsWith('binance-spot-'));
    expect(session).toBeDefined();
    const rec = await openRecording(blobs, { session_id: session });
    expect(rec.manifest.mode).toBe('SHADOW');
    expect(rec.manifest.runs[0]?.closed_ts_init).not.toBeNull();
    expect(rec.records.filter((r) => r.type === 'parent_routed')).toHaveLength(3);
    expect(rec.records.filter((r) => r.type === 'child_submitted')).toHaveLength(5);

    const out = new LocalBlobStore(join(dataDir, 'replay'), { durable: false });
    const r = await runReplay({
      recording: blobs,
      out,
      session_id: session,
      tolerances: DEFAULT_PARITY_TOLERANCES,
    });
    console.info(`SHADOW session of npm start (embedded default), replayed:\n${formatParityTable(r.report)}`);
    expectIdenticalReplayOfMix(r.report);
  }, 120_000);
});
