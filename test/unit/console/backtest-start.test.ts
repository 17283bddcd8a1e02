/**
 * Starting a backtest from the console over the API (stateful/api/backtests/runner.ts): the
 * request is checked with the shared schema (400 naming the field), the signals are selected by
 * instrument, dates and algorithm, a real run of the local runner lands in the results store with
 * its progress in the runs list, one run at a time, and 503 where no runner is configured.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalBlobStore } from '../../../infra/local/blob-store.local.ts';
import { LocalOrderStore } from '../../../infra/local/order-store.local.ts';
import { LocalPositionStore } from '../../../infra/local/position-store.local.ts';
import { generateData } from '../../../scripts/generate-data.ts';
import { selectSignals } from '../../../shared/backtest/start-request.ts';
import { NO_LIMITS } from '../../../shared/risk/limits.ts';
import { createBacktestRunner } from '../../../stateful/api/backtests/runner.ts';
import { createApp, storeOrderReader } from '../../../stateful/api/index.ts';

const JSON_HEADERS = { 'Content-Type': 'application/json' };
let dir: string;
let blobs: LocalBlobStore;
let runner: ReturnType<typeof createBacktestRunner>;
let app: ReturnType<typeof createApp>;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'console-bt-'));
  blobs = new LocalBlobStore(dir, { durable: false });
  await generateData(blobs, { start: '2025-07-01', days: 1, seed: 7, tradesPerDay: 2_000 });
  runner = createBacktestRunner({
    data: blobs,
    dataLocation: dir,
    results: blobs,
    resultsLocation: dir,
    limits: { ...NO_LIMITS, price_tolerance_bps: 500 },
    defaults: { window_minutes: 5, seed: 42, trading_state: 'ACTIVE' },
    inline: true,
  });
  app = createApp({
    orders: storeOrderReader(LocalOrderStore.memory()),
    positions: LocalPositionStore.memory(),
    health: { checks: {} },
    backtests: blobs,
    backtestRunner: runner,
  });
});

afterAll(async () => {
  await runner?.idle();
  await rm(dir, { recursive: true, force: true });
});

const post = async (body: unknown, target = app) => {
  const res = await target.request('/api/backtests', {
    method: 'POST',
    headers: JSON_HEADERS,
    body: JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
};

describe('POST /api/backtests', () => {
  it('lists what a run can start from: the signals files and the tick data per venue', async () => {
    const res = await app.request('/api/backtests/_inputs');
    const body = (await res.json()) as {
      signals: string[];
      data: Array<{ venue: string; first_day: string }>;
    };
    expect(body.signals).toContain('signals/sample.jsonl');
    expect(body.data.length).toBeGreaterThan(0);
    expect(body.data[0]?.first_day).toBe('2025-07-01');
  });

  it('refuses a bad request with 400 naming every field', async () => {
    const r = await post({
      window_minutes: 0,
      from: '2025-07-02',
      to: '2025-07-01',
      exec_algorithm: 'FAST',
      seed: -1,
      extra: 1,
    });
    expect(r.status).toBe(400);
    const issues = (r.body.error as { issues: Array<{ path: string; message: string }> }).issues;
    expect(issues.map((i) => i.path).sort()).toEqual(['exec_algorithm', 'extra', 'seed', 'window_minutes']);
    // The rules across fields, once every field is valid on its own.
    const cross = await post({ from: '2025-07-02', to: '2025-07-01' });
    expect(cross.status).toBe(400);
    expect((cross.body.error as { issues: unknown }).issues).toEqual([
      { path: 'signals_key', message: 'choose a stored signals file or upload one (exactly one)' },
      { path: 'to', message: 'must not be before from' },
    ]);
    const missing = await post({ signals_key: 'signals/none.jsonl' });
    expect(missing.status).toBe(400);
    expect(JSON.stringify(missing.body)).toContain('no such signals file: signals/none.jsonl');
    const none = await post({
      signals_key: 'signals/sample.jsonl',
      instruments: ['SIM:SPOT_PAIR:DOGE-USDT'],
    });
    expect(none.status).toBe(400);
    expect((none.body.error as { issues: Array<{ path: string }> }).issues[0]?.path).toBe('instruments');
  });

  it('runs a stored signals file: 202 with the run id, progress while it runs, then completed with its equity curve; one run at a time', async () => {
    const started = await post({
      signals_key: 'signals/sample.jsonl',
      run_id: 'console-start',
      window_minutes: 5,
    });
    expect(started.status).toBe(202);
    expect(started.body).toMatchObject({ status: 'started', run_id: 'console-start' });
    const again = await post({ signals_key: 'signals/sample.jsonl' });
    expect([202, 409]).toContain(again.status); // 409 while the first still runs
    if (again.status === 409) expect((again.body.error as { code: string }).code).toBe('backtest_running');
    await runner.idle();
    const list = (await (await app.request('/api/backtests')).json()) as {
      runs: Array<{ run_id: string; status: string; summary: Record<string, unknown> | null }>;
    };
    expect(list.runs.find((r) => r.run_id === 'console-start')).toMatchObject({ status: 'completed' });
    expect(runner.progress().find((p) => p.run_id === 'console-start')).toMatchObject({
      state: 'completed',
      windows_failed: 0,
    });
    const p = runner.progress().find((x) => x.run_id === 'console-start');
    expect(p?.windows_total).toBeGreaterThan(0);
    expect(p?.windows_done).toBe(p?.windows_total);
    const eq = (await (await app.request('/api/backtests/console-start/equity')).json()) as {
      points: number;
    };
    expect(eq.points).toBeGreaterThan(0);
  });

  it('503 where no runner is configured', async () => {
    const bare = createApp({
      orders: storeOrderReader(LocalOrderStore.memory()),
      positions: LocalPositionStore.memory(),
      health: { checks: {} },
      backtests: blobs,
    });
    const r = await post({ signals_key: 'signals/sample.jsonl' }, bare);
    expect(r.status).toBe(503);
    expect((r.body.error as { code: string }).code).toBe('backtest_runner_unavailable');
  });
});

describe('selectSignals', () => {
  const text = [
    '{"ts":"2025-07-01T00:05:00Z","instrument_key":"SIM:SPOT_PAIR:BTC-USDT","target_position":"1","strategy_id":"s"}',
    '{"ts":"2025-07-02T00:05:00Z","instrument_key":"SIM:SPOT_PAIR:ETH-USDT","target_position":"2","strategy_id":"s","exec_algorithm":"TWAP","exec_algorithm_params":{"duration_sec":60}}',
    'not json',
    '',
  ].join('\n');

  it('keeps the chosen instruments and days, sets the algorithm, and leaves bad lines to the planner', () => {
    const r = selectSignals(text, {
      instruments: ['SIM:SPOT_PAIR:ETH-USDT'],
      from: '2025-07-02',
      exec_algorithm: 'VWAP',
    });
    expect(r.kept).toBe(1);
    expect(r.total).toBe(3);
    const lines = r.text.trim().split('\n');
    expect(lines[1]).toBe('not json');
    expect(JSON.parse(lines[0] as string)).toMatchObject({
      instrument_key: 'SIM:SPOT_PAIR:ETH-USDT',
      exec_algorithm: 'VWAP',
      exec_algorithm_params: {},
    });
    expect(selectSignals(text, { to: '2025-07-01' }).kept).toBe(1);
    expect(selectSignals(text, {}).text).toBe(`${text.trimEnd()}\n`.replace('\n\n', '\n'));
  });
});
