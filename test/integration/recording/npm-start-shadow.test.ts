/**
 * `npm start` as a process with a SHADOW venue (BINANCE-SPOT's public data from the local exchange,
 * fills by our matching engine): the session is recorded by default under the data folder's blobs,
 * the process stops on SIGTERM (closing the recording), and the recording is replayed through the
 * backtester with `npm run replay`'s runner.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalExchange, startLocalExchange } from '../../../dev/local-exchange/index.ts';
import { LocalBlobStore } from '../../../infra/local/blob-store.local.ts';
import { openRecording } from '../../../infra/recording/reader.ts';
import { runReplay } from '../../../infra/recording/replay-run.ts';
import { DEFAULT_PARITY_TOLERANCES, formatParityTable } from '../../../shared/recording/parity.ts';
import { eventually } from '../edge/support.ts';
import { type MainProcess, startMainProcess } from '../support/main-process.ts';
import { expectIdenticalReplayOfMix, killService, tradeMixThenStop } from './support.ts';

let ex: LocalExchange;
let dataDir: string;
let service: MainProcess;

beforeAll(async () => {
  ex = await startLocalExchange({ seed: 7, quoteIntervalMs: [50, 100] });
  dataDir = await mkdtemp(join(tmpdir(), 'npm-start-shadow-'));
  const config = {
    venues: [
      {
        id: 'BINANCE-SPOT',
        exchange: 'binance',
        mode: 'SHADOW',
        instrument_types: ['SPOT_PAIR'],
        latency_ms: 5,
        urls: { rest: ex.url, ws: ex.url.replace(/^http/, 'ws') },
        shadow: { starting_cash: '100000', cash_currency: 'USDT' },
        fees: { maker: '0.001', taker: '0.001' },
        status: { stale_red_ms: 600_000 },
      },
    ],
    risk: { trading_state_poll_ms: 200 },
    storage: { data_dir: dataDir },
    recording: { flush_interval_ms: 200 },
  };
  const file = join(dataDir, 'shadow.json');
  await writeFile(file, JSON.stringify(config));
  service = await startMainProcess(
    { EXEC_CONFIG: file, LOG_LEVEL: 'info', METADATA_SERVER_DETECTION: 'none' },
    { startTimeoutMs: 60_000 },
  );
}, 90_000);

afterAll(async () => {
  await killService(service);
  await ex?.stop();
  await rm(dataDir, { recursive: true, force: true });
});

interface SessionView {
  mode: string;
  stale_limits_ms: { amber: number; red: number };
  rate_limits: Array<{ name: string; kind: string; used: number; limit: number }> | null;
}

describe('npm start with a SHADOW venue: its session on the Status page', () => {
  it("shows the venue budgets its market data spends and the venue's own staleness limits", async () => {
    const session = await eventually(
      async () => {
        const body = (await (await fetch(`${service.url}/api/venues`)).json()) as {
          venues: Array<{ id: string; session: SessionView | null }>;
        };
        const s = body.venues.find((v) => v.id === 'BINANCE-SPOT')?.session;
        return s?.rate_limits?.some((b) => b.used > 0) ? s : undefined;
      },
      30_000,
      'BINANCE-SPOT session with request weight spent',
    );
    expect(session.mode).toBe('SHADOW');
    expect(session.stale_limits_ms).toEqual({ amber: 15_000, red: 600_000 });
    expect(session.rate_limits?.map((b) => [b.name, b.kind, b.limit])).toEqual([
      ['REQUEST_WEIGHT_1M', 'weight', 6_000],
      ['ORDERS_10S', 'orders', 100],
      ['ORDERS_1D', 'orders', 200_000],
    ]);
  }, 60_000);
});

describe('npm start with a SHADOW venue: recorded, then replayed', () => {
  it('records the session by default; the replay compares it order by order and fill by fill', async () => {
    await tradeMixThenStop(service, 'OP-SH');

    const blobs = new LocalBlobStore(join(dataDir, 'blobs'), { durable: false });
    const rec = await openRecording(blobs);
    expect(rec.manifest.mode).toBe('SHADOW');
    expect(rec.manifest.runs).toHaveLength(1);
    expect(rec.manifest.runs[0]?.closed_ts_init).not.toBeNull();
    expect(rec.records.filter((r) => r.type === 'parent_routed')).toHaveLength(3);
    expect(rec.records.filter((r) => r.type === 'child_submitted')).toHaveLength(5);
    expect(rec.manifest.tick_files.some((f) => f.key.endsWith('/BTC-USDT/trades.parquet'))).toBe(true);

    const out = new LocalBlobStore(join(dataDir, 'replay'), { durable: false });
    const r = await runReplay({ recording: blobs, out, tolerances: DEFAULT_PARITY_TOLERANCES });
    console.info(`SHADOW session of npm start, replayed:\n${formatParityTable(r.report)}`);
    expectIdenticalReplayOfMix(r.report);
    expect(rec.records.some((x) => x.type === 'timer_fired')).toBe(true);
  }, 120_000);
});
