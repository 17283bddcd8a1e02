/**
 * The cloud fan-out (backtest-planner → backtest-window × N → backtest-merge) driven through the
 * handlers' cores with at-least-once delivery: windows out of order and twice, done messages
 * duplicated. It must produce the same result files as the local runner, fail cleanly on a broken
 * tick file, and dead-letter poison.
 */
import { unlink } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mergeOnDone } from '../../../functions/backtest-merge/handler.ts';
import { createBacktestPlannerHandler, planRequest } from '../../../functions/backtest-planner/handler.ts';
import { runWindowMessage } from '../../../functions/backtest-window/handler.ts';
import { memoryLogger } from '../../../functions/shared/log.ts';
import { SUMMARY_FILE } from '../../../infra/backtest/keys.ts';
import { LocalBlobStore } from '../../../infra/local/blob-store.local.ts';
import { FooterCache } from '../../../infra/parquet/reader.ts';
import { DEFAULT_BACKTEST_SETTINGS } from '../../../shared/backtest/model.ts';
import { tickFileKey } from '../../../shared/data/tick-layout.ts';
import {
  copyData,
  DAY,
  exists,
  failedDoc,
  generatedData,
  LIMITS,
  outputs,
  removeAll,
  resultPath,
  run,
  tempDir,
} from './helpers.ts';

interface Published {
  topic: string;
  data: unknown;
  attributes: Record<string, string>;
}

function captureBus() {
  const published: Published[] = [];
  return {
    published,
    bus: {
      publish: async (topic: string, data: unknown, attributes: Record<string, string> = {}) => {
        published.push({ topic, data, attributes });
        return `msg-${published.length}`;
      },
    },
  };
}

let data: string;
let signals: string;
const dirs: string[] = [];

beforeAll(async () => {
  ({ root: data, signals } = await generatedData('fn'));
  dirs.push(data);
});

afterAll(async () => {
  await removeAll(...dirs);
});

function deps(dataDir: string, resultsDir: string) {
  const { bus, published } = captureBus();
  const log = memoryLogger();
  const d = {
    data: new LocalBlobStore(dataDir, { durable: false }),
    results: new LocalBlobStore(resultsDir, { durable: false }),
    bus,
    log,
    settings: DEFAULT_BACKTEST_SETTINGS,
    limits: LIMITS,
    cache: new FooterCache(),
    now: () => 1_000_000,
  };
  return { d, published };
}

/**
 * Drive a whole run as Pub/Sub would: plan; run the windows in reverse order, each followed by the
 * merge of its done message; then the first window again (a redelivery) and every done message once
 * more (duplicates).
 */
async function driveRun(dataDir: string, resultsDir: string, runId: string) {
  const { d, published } = deps(dataDir, resultsDir);
  const planned = await planRequest(d, { run_id: runId, signals_key: 'signals/sample.jsonl' });
  expect(planned).toMatchObject({ kind: 'ack', outcome: 'planned' });
  const windowMsgs = published.filter((p) => p.topic === 'backtests.windows');
  const order = [...windowMsgs].reverse();
  if (order[0]) order.push(order[0]); // redelivered
  const windowVerdicts = [];
  const mergeOutcomes: string[] = [];
  let seen = published.length;
  for (const m of order) {
    windowVerdicts.push(await runWindowMessage(d, m.data));
    const fresh = published.slice(seen).filter((p) => p.topic === 'backtests.done');
    seen = published.length;
    for (const done of fresh) mergeOutcomes.push((await mergeOnDone(d, done.data)).outcome);
  }
  const dones = published.filter((p) => p.topic === 'backtests.done');
  for (const done of dones) mergeOutcomes.push((await mergeOnDone(d, done.data)).outcome);
  return { windowMsgs, windowVerdicts, dones, mergeOutcomes, published, d };
}

describe('cloud fan-out', () => {
  it('a window function reads its task file and planned byte ranges only: no manifest, no footer, no stat', async () => {
    const cloud = await tempDir('cloud-reads');
    dirs.push(cloud);
    const { d, published } = deps(data, cloud);
    expect(await planRequest(d, { run_id: 'run-r', signals_key: 'signals/sample.jsonl' })).toMatchObject({
      outcome: 'planned',
    });
    const msg = published.find((p) => p.topic === 'backtests.windows');
    if (msg === undefined) throw new Error('no window message published');
    const calls: string[] = [];
    const watch = (store: LocalBlobStore, name: string) =>
      new Proxy(store, {
        get(target, prop, receiver) {
          const v = Reflect.get(target, prop, receiver);
          if (typeof v !== 'function') return v;
          return (...args: unknown[]) => {
            calls.push(
              `${name}.${String(prop)} ${String(args[0])}${prop === 'getRange' ? ` ${String(args[1])}-${String(args[2])}` : ''}`,
            );
            return (v as (...a: unknown[]) => unknown).apply(target, args);
          };
        },
      });
    const verdict = await runWindowMessage(
      { ...d, data: watch(d.data, 'data'), results: watch(d.results, 'results'), cache: undefined },
      msg.data,
    );
    expect(verdict).toMatchObject({ kind: 'ack', outcome: 'window_done' });
    const windowId = (msg.data as { window_id: string }).window_id;
    expect(calls.filter((c) => c.startsWith('results.'))).toEqual([
      `results.get backtest_results/run-r/_tasks/${windowId}.json`,
      `results.put backtest_results/run-r/_partials/${windowId}.json`,
    ]);
    const dataCalls = calls.filter((c) => c.startsWith('data.'));
    expect(dataCalls.length).toBeGreaterThan(0);
    expect(dataCalls.every((c) => c.startsWith('data.getRange '))).toBe(true);
    // No range reaches a footer (the last bytes of the file).
    for (const c of dataCalls) {
      const [, key, range] = c.split(' ');
      const end = Number(range?.split('-')[1]);
      const size = (await d.data.stat(key ?? ''))?.size ?? 0;
      expect(end).toBeLessThan(size - 8);
    }
  });

  it('planner → windows (out of order, duplicated) → merge gives the local runner’s files', async () => {
    const cloud = await tempDir('cloud');
    const local = await tempDir('local');
    dirs.push(cloud, local);
    const r = await driveRun(data, cloud, 'run-c');
    expect(r.windowMsgs.length).toBeGreaterThan(10);
    for (const m of r.windowMsgs) {
      expect(m.attributes).toEqual({
        run_id: 'run-c',
        window_id: (m.data as { window_id: string }).window_id,
      });
    }
    expect(r.windowVerdicts.every((v) => v.kind === 'ack' && v.outcome === 'window_done')).toBe(true);
    expect(r.dones).toHaveLength(r.windowMsgs.length + 1);
    expect(r.dones[0]?.attributes.run_id).toBe('run-c');
    // Waiting until every distinct window is in (the duplicate does not count twice), merged once.
    const n = r.windowMsgs.length;
    expect(r.mergeOutcomes.slice(0, n - 1).every((o) => o === 'waiting')).toBe(true);
    expect(r.mergeOutcomes[n - 1]).toBe('merged');
    expect(r.mergeOutcomes.slice(n)).toEqual(Array.from({ length: n + 2 }, () => 'already_complete'));

    expect((await run({ data, out: local, signals, runId: 'run-c', inline: true })).status).toBe('completed');
    const a = await outputs(cloud, 'run-c');
    const b = await outputs(local, 'run-c');
    a.parquet.forEach((buf, i) => {
      expect(buf.equals(b.parquet[i] as Buffer), `file ${i}`).toBe(true);
    });
    // I/O differs by design (cloud windows read their own footers); everything else is equal.
    for (const s of [a.summary, b.summary]) {
      delete s.bytes_read;
      delete s.io;
    }
    a.summary.config = { ...(a.summary.config as object) };
    expect(a.summary).toEqual({ ...b.summary, config: { ...(b.summary.config as object) } });
  });

  it('a redelivered request re-plans to the same manifest; another request under that id is refused', async () => {
    const out = await tempDir('replan');
    dirs.push(out);
    const { d, published } = deps(data, out);
    const req = { run_id: 'run-r', signals_key: 'signals/sample.jsonl' };
    expect(await planRequest(d, req)).toMatchObject({ kind: 'ack', outcome: 'planned' });
    const first = published.length;
    expect(await planRequest(d, req)).toMatchObject({ kind: 'ack', outcome: 'planned' });
    expect(published.slice(first).map((p) => p.data)).toEqual(published.slice(0, first).map((p) => p.data));
    const other = await planRequest(d, { ...req, seed: 43 });
    expect(other).toMatchObject({ kind: 'dead_letter', reason: 'run_id_conflict' });
  });

  it('a missing tick file: the window records an error naming the file, the merge fails the run', async () => {
    const broken = await copyData(data, 'fn-missing');
    const out = await tempDir('fn-missing-out');
    dirs.push(broken, out);
    const key = tickFileKey('BINANCE-SPOT:SPOT_PAIR:ETH-USDT', DAY, 'trades');
    await unlink(path.join(broken, key));
    const r = await driveRun(broken, out, 'run-m');
    const failedWindows = r.windowVerdicts.filter((v) => v.kind === 'dead_letter');
    expect(failedWindows.length).toBeGreaterThan(0);
    for (const v of failedWindows) {
      expect(v).toMatchObject({ reason: 'tick_data_missing', issues: [{ path: key }] });
    }
    expect(r.mergeOutcomes).toContain('run_failed');
    expect(await exists(resultPath(out, 'run-m', SUMMARY_FILE))).toBe(false);
    const doc = await failedDoc(out, 'run-m');
    expect(doc.errors.length).toBe(
      new Set(failedWindows.map((v) => (v.fields as { window_id: string }).window_id)).size,
    );
    for (const e of doc.errors) {
      expect(e).toMatchObject({ stage: 'window', code: 'tick_data_missing', file: key });
      expect(String(e.message)).toContain(`window ${String(e.window_id)} (`);
    }
  });

  it('bad signals: the planner records summary.failed.json naming the line and dead-letters the request', async () => {
    const out = await tempDir('fn-bad');
    dirs.push(out);
    const { d } = deps(data, out);
    const jsonl = `${JSON.stringify({ ts: `${DAY}T00:05:00Z`, instrument_key: 'BINANCE-SPOT:SPOT_PAIR:SOL-USDT', target_position: '1', strategy_id: 's' })}\n`;
    const v = await planRequest(d, { run_id: 'run-b', signals_jsonl: jsonl });
    expect(v).toMatchObject({
      kind: 'dead_letter',
      reason: 'invalid_signals',
      issues: [{ path: 'signals_jsonl:1.instrument_key' }],
    });
    const doc = await failedDoc(out, 'run-b');
    expect(String(doc.errors[0]?.message)).toContain('unknown instrument BINANCE-SPOT:SPOT_PAIR:SOL-USDT');
  });

  it('poison: bad request fields, unknown runs and windows are dead-lettered, not retried', async () => {
    const out = await tempDir('fn-poison');
    dirs.push(out);
    const { d } = deps(data, out);
    expect(await planRequest(d, { run_id: 'x y', signals_key: 'k' })).toMatchObject({
      kind: 'dead_letter',
      reason: 'invalid_backtest_request',
      issues: [{ path: 'run_id' }],
    });
    expect(await planRequest(d, { run_id: 'ok', signals_key: 'nope.jsonl' })).toMatchObject({
      kind: 'dead_letter',
      reason: 'signals_not_found',
    });
    expect(await runWindowMessage(d, { run_id: 'ghost', window_id: 'w000001' })).toMatchObject({
      kind: 'dead_letter',
      reason: 'unknown_run',
    });
    expect(await mergeOnDone(d, { run_id: 'ghost', window_id: 'w000001', outcome: 'partial' })).toMatchObject(
      {
        kind: 'dead_letter',
        reason: 'unknown_run',
      },
    );
  });

  it('the CloudEvent shell: malformed JSON is dead-lettered with the original bytes and acked', async () => {
    const out = await tempDir('fn-ce');
    dirs.push(out);
    const { d, published } = deps(data, out);
    const handler = createBacktestPlannerHandler(d);
    const reply = await handler({
      id: 'e1',
      data: {
        message: {
          data: Buffer.from('{not json').toString('base64'),
          messageId: 'm1',
          attributes: { a: 'b' },
        },
      },
    });
    expect(reply).toMatchObject({
      outcome: 'poison',
      dead_letter: { topic: 'backtest-planner.backtests.requests.dlq', reason: 'malformed_json' },
    });
    expect(published).toHaveLength(1);
    expect(Buffer.from(published[0]?.data as Uint8Array).toString()).toBe('{not json');
    expect(published[0]?.attributes).toMatchObject({ a: 'b', dead_letter_reason: 'malformed_json' });
  });
});
