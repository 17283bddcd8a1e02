/**
 * The local backtest end to end on a generated market (1 day, 3 instruments, 29 signals): the five
 * result files read by DuckDB as an independent reader, determinism, workers 1 vs 2 vs inline, and
 * every bad input failing with a message that names the window, the file or the line.
 */
import { rm, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { type DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SUMMARY_FILE } from '../../../infra/backtest/keys.ts';
import type { LocalRunResult } from '../../../infra/backtest/runner.ts';
import { LocalBlobStore } from '../../../infra/local/blob-store.local.ts';
import { writeTickDay } from '../../../infra/ticks/writer.ts';
import { emptyQuotes, emptyTrades } from '../../../shared/data/tick-columns.ts';
import { tickFileKey } from '../../../shared/data/tick-layout.ts';
import {
  copyData,
  DAY,
  exists,
  failedDoc,
  generatedData,
  outputs,
  removeAll,
  resultPath,
  run,
  tempDir,
} from './helpers.ts';

const BTC = 'BINANCE-SPOT:SPOT_PAIR:BTC-USDT';
const ETH = 'BINANCE-SPOT:SPOT_PAIR:ETH-USDT';

let data: string;
let signals: string;
let out: string;
let first: LocalRunResult;
let instance: DuckDBInstance;
let con: DuckDBConnection;
const dirs: string[] = [];

async function rows(sql: string): Promise<Array<Record<string, unknown>>> {
  const reader = await con.runAndReadAll(sql);
  return reader.getRowObjectsJson() as Array<Record<string, unknown>>;
}

async function types(file: string): Promise<Record<string, unknown>> {
  const r = await rows(`DESCRIBE SELECT * FROM read_parquet('${file}')`);
  return Object.fromEntries(r.map((x) => [x.column_name, x.column_type]));
}

beforeAll(async () => {
  ({ root: data, signals } = await generatedData('e2e'));
  out = await tempDir('out');
  dirs.push(data, out);
  first = await run({ data, out, signals, workers: 2 });
  instance = await DuckDBInstance.create(':memory:');
  con = await instance.connect();
});

afterAll(async () => {
  con?.closeSync();
  instance?.closeSync();
  await removeAll(...dirs);
});

describe('local backtest end to end', () => {
  it('completes on worker threads and writes the five files, summary.json last with the SPEC fields', async () => {
    expect(first.status).toBe('completed');
    if (first.status !== 'completed') return;
    const s = first.summary;
    for (const k of [
      'run_id',
      'config',
      'period',
      'signals',
      'windows',
      'orders',
      'fills',
      'pnl',
      'fees',
      'sharpe',
      'max_drawdown',
      'turnover',
      'implementation_shortfall_bps',
      'slippage_bps',
      'fill_ratio',
      'per_algorithm',
      'bytes_read',
      'bytes_total',
      'wall_seconds',
    ]) {
      expect(s, k).toHaveProperty(k);
    }
    expect(Object.keys(s).at(-1)).toBe('wall_seconds');
    expect(s.run_id).toBe('run-a');
    expect(s.signals).toMatchObject({ total: 29 });
    const windows = s.windows as { total: number };
    expect(windows.total).toBe(first.manifest.windows.length);
    expect(windows.total).toBeGreaterThan(10);
    expect(s.fills as number).toBeGreaterThan(windows.total);
    expect(s.bytes_read as number).toBeGreaterThan(0);
    expect(s.bytes_read as number).toBeLessThan(s.bytes_total as number);
    expect(first.keys.at(-1)).toMatch(/summary\.json$/);
  });

  it('DuckDB reads the four Parquet files with the SPEC columns and types', async () => {
    const f = (name: string) => resultPath(out, 'run-a', name);
    expect(await types(f('orders.parquet'))).toEqual({
      order_id: 'VARCHAR',
      parent_order_id: 'VARCHAR',
      operation_id: 'VARCHAR',
      instrument_key: 'VARCHAR',
      venue: 'VARCHAR',
      side: 'VARCHAR',
      order_type: 'VARCHAR',
      quantity: 'DOUBLE',
      price: 'DOUBLE',
      status: 'VARCHAR',
      ts_submitted: 'TIMESTAMP_NS',
      ts_last: 'TIMESTAMP_NS',
    });
    expect(await types(f('fills.parquet'))).toEqual({
      fill_id: 'VARCHAR',
      order_id: 'VARCHAR',
      instrument_key: 'VARCHAR',
      venue: 'VARCHAR',
      side: 'VARCHAR',
      quantity: 'DOUBLE',
      price: 'DOUBLE',
      fee: 'DOUBLE',
      fee_currency: 'VARCHAR',
      liquidity: 'VARCHAR',
      ts_event: 'TIMESTAMP_NS',
    });
    expect(await types(f('positions.parquet'))).toEqual({
      ts_event: 'TIMESTAMP_NS',
      instrument_key: 'VARCHAR',
      quantity: 'DOUBLE',
      avg_price: 'DOUBLE',
      realized_pnl: 'DOUBLE',
      unrealized_pnl: 'DOUBLE',
    });
    expect(await types(f('equity_curve.parquet'))).toEqual({
      ts_event: 'TIMESTAMP_NS',
      equity: 'DOUBLE',
      cash: 'DOUBLE',
      exposure: 'DOUBLE',
    });
  });

  it('the files agree with the summary and with each other (checked in DuckDB)', async () => {
    if (first.status !== 'completed') throw new Error('run failed');
    const f = (name: string) => resultPath(out, 'run-a', name);
    const s = first.summary;
    const [o] = await rows(
      `SELECT count(*) AS n, count(*) FILTER (WHERE parent_order_id IS NULL) AS parents FROM read_parquet('${f('orders.parquet')}')`,
    );
    expect(o).toEqual({ n: String(s.orders), parents: String(s.parent_orders) });
    const [fl] = await rows(
      `SELECT count(*) AS n, sum(fee) AS fees, sum(quantity * price) AS notional FROM read_parquet('${f('fills.parquet')}')`,
    );
    expect(fl?.n).toBe(String(s.fills));
    expect(fl?.fees as number).toBeCloseTo(s.fees as number, 6);
    expect(fl?.notional as number).toBeCloseTo(s.traded_notional as number, 4);
    // Every fill belongs to an order; every child to a parent.
    const [orphans] = await rows(
      `SELECT (SELECT count(*) FROM read_parquet('${f('fills.parquet')}') x
                WHERE x.order_id NOT IN (SELECT order_id FROM read_parquet('${f('orders.parquet')}'))) AS fills,
              (SELECT count(*) FROM read_parquet('${f('orders.parquet')}') c WHERE c.parent_order_id IS NOT NULL
                AND c.parent_order_id NOT IN (SELECT order_id FROM read_parquet('${f('orders.parquet')}'))) AS children`,
    );
    expect(orphans).toEqual({ fills: '0', children: '0' });
    // The last position of each instrument = Σ signed fill quantity.
    const pos = await rows(
      `WITH net AS (SELECT instrument_key, round(sum(CASE side WHEN 'BUY' THEN quantity ELSE -quantity END), 9) AS q
                      FROM read_parquet('${f('fills.parquet')}') GROUP BY 1),
            last AS (SELECT instrument_key, arg_max(quantity, ts_event) AS q FROM read_parquet('${f('positions.parquet')}') GROUP BY 1)
       SELECT net.instrument_key, net.q AS net, round(last.q, 9) AS last FROM net JOIN last USING (instrument_key) ORDER BY 1`,
    );
    expect(pos.length).toBeGreaterThan(0);
    for (const p of pos) expect(p.last).toBe(p.net);
    // The equity curve ends at the summary's final equity; timestamps keep their nanoseconds.
    const [eq] = await rows(
      `SELECT arg_max(equity, ts_event) AS last, count(*) AS n, count(DISTINCT ts_event) AS distinct_ts FROM read_parquet('${f('equity_curve.parquet')}')`,
    );
    expect(eq?.last as number).toBeCloseTo(s.final_equity as number, 6);
    expect(eq?.n).toBe(eq?.distinct_ts);
    const [ns] = await rows(
      `SELECT epoch_ns(min(ts_event)) AS first FROM read_parquet('${f('fills.parquet')}')`,
    );
    const firstFill = first.manifest.windows[0];
    expect(BigInt(String(ns?.first))).toBeGreaterThan(BigInt(firstFill?.start_ns ?? 0));
    expect(BigInt(String(ns?.first)) % 1000n).not.toBe(0n); // nanoseconds survive (5 ms latency + jitter)
  });

  it('is deterministic: same inputs and seed → byte-identical Parquet and the same summary but wall_seconds', async () => {
    const out2 = await tempDir('out2');
    dirs.push(out2);
    const again = await run({ data, out: out2, signals, inline: true });
    expect(again.status).toBe('completed');
    const a = await outputs(out, 'run-a');
    const b = await outputs(out2, 'run-a');
    a.parquet.forEach((buf, i) => {
      expect(buf.equals(b.parquet[i] as Buffer), `file ${i}`).toBe(true);
    });
    expect(b.summary).toEqual(a.summary);
  });

  it('workers 1 and 2 give identical outputs', async () => {
    const out1 = await tempDir('w1');
    dirs.push(out1);
    expect((await run({ data, out: out1, signals, workers: 1 })).status).toBe('completed');
    const one = await outputs(out1, 'run-a');
    const two = await outputs(out, 'run-a');
    one.parquet.forEach((buf, i) => {
      expect(buf.equals(two.parquet[i] as Buffer), `file ${i}`).toBe(true);
    });
    expect(one.summary).toEqual(two.summary);
  });

  it('reads a small share of the tick bytes: only the windows’ row groups plus each footer once', () => {
    if (first.status !== 'completed') throw new Error('run failed');
    const s = first.summary as {
      bytes_read: number;
      bytes_total: number;
      io: { row_group_bytes: number; run_level_bytes: number };
    };
    expect(s.bytes_read).toBe(s.io.row_group_bytes + s.io.run_level_bytes);
    expect(s.bytes_read / s.bytes_total).toBeLessThan(0.5);
  });
});

describe('bad inputs fail the run with a message naming the window, file or line; no summary.json', () => {
  const broken = async (label: string) => {
    const d = await copyData(data, label);
    const o = await tempDir(`${label}-out`);
    dirs.push(d, o);
    return { d, o };
  };

  it('a missing tick file names the window and the file', async () => {
    const { d, o } = await broken('missing');
    // A completed run under the same id first: the failure must remove its summary.json.
    expect((await run({ data, out: o, signals, inline: true })).status).toBe('completed');
    const key = tickFileKey(ETH, DAY, 'trades');
    await unlink(path.join(d, key));
    const r = await run({ data: d, out: o, signals, inline: true });
    expect(r.status).toBe('failed');
    expect(await exists(resultPath(o, 'run-a', SUMMARY_FILE))).toBe(false);
    const doc = await failedDoc(o, 'run-a');
    const ethWindows = (r.status === 'failed' ? r.failure.errors : []).map((e) => e.window_id);
    expect(ethWindows.length).toBeGreaterThan(0);
    for (const e of doc.errors) {
      expect(e).toMatchObject({ stage: 'window', code: 'tick_data_missing', file: key });
      expect(String(e.message)).toMatch(
        new RegExp(`^window ${String(e.window_id)} \\(${ETH.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} `),
      );
      expect(String(e.message)).toContain(`tick file missing: ${key}`);
    }
  });

  it('a corrupt Parquet file names the window and the file', async () => {
    const { d, o } = await broken('corrupt');
    const key = tickFileKey(BTC, DAY, 'quotes');
    await writeFile(path.join(d, key), Buffer.from('PAR1 this is not a parquet file at all PAR1'));
    const r = await run({ data: d, out: o, signals, workers: 2 });
    expect(r.status).toBe('failed');
    expect(await exists(resultPath(o, 'run-a', SUMMARY_FILE))).toBe(false);
    const doc = await failedDoc(o, 'run-a');
    expect(doc.errors.length).toBeGreaterThan(0);
    for (const e of doc.errors) {
      expect(e).toMatchObject({ code: 'corrupt_parquet', file: key });
      expect(String(e.message)).toMatch(/^window w\d{6} \(/);
      expect(String(e.message)).toContain(`corrupt or unreadable Parquet file ${key}`);
    }
  });

  it('a signal for an unknown instrument names the line and the key', async () => {
    const o = await tempDir('unknown-out');
    dirs.push(o);
    const bad = `${signals}${JSON.stringify({ ts: `${DAY}T23:55:00Z`, instrument_key: 'BINANCE-SPOT:SPOT_PAIR:SOL-USDT', target_position: '1', strategy_id: 's' })}\n`;
    const line = bad.trimEnd().split('\n').length;
    const r = await run({ data, out: o, signals: bad, inline: true });
    expect(r.status).toBe('failed');
    const doc = await failedDoc(o, 'run-a');
    expect(doc.errors).toEqual([
      {
        stage: 'signals',
        path: `sample.jsonl:${line}.instrument_key`,
        code: 'invalid_signals',
        message: `sample.jsonl:${line}.instrument_key: unknown instrument BINANCE-SPOT:SPOT_PAIR:SOL-USDT: not in instruments/${DAY}.json`,
      },
    ]);
    expect(await exists(resultPath(o, 'run-a', SUMMARY_FILE))).toBe(false);
  });

  it('a malformed signal line names the line', async () => {
    const o = await tempDir('malformed-out');
    dirs.push(o);
    const lines = signals.trimEnd().split('\n');
    lines.splice(4, 0, '{"ts": "2025-07-01T10:00:00Z", "instrument_key": ');
    const r = await run({ data, out: o, signals: lines.join('\n'), inline: true });
    expect(r.status).toBe('failed');
    const doc = await failedDoc(o, 'run-a');
    expect(doc.errors).toHaveLength(1);
    expect(doc.errors[0]?.path).toBe('sample.jsonl:5');
    expect(String(doc.errors[0]?.message)).toMatch(/^sample\.jsonl:5: not valid JSON/);
  });

  it('an empty window (no ticks) is recorded with a warning, not a crash', async () => {
    const { d, o } = await broken('empty');
    const blobs = new LocalBlobStore(d, { durable: false });
    await writeTickDay(blobs, BTC, '2025-07-03', { trades: emptyTrades(true), quotes: emptyQuotes() });
    const sig = `${JSON.stringify({ ts: '2025-07-03T00:05:00Z', instrument_key: BTC, target_position: '0.1', strategy_id: 'e', exec_algorithm: 'TWAP', exec_algorithm_params: { duration_sec: 120 } })}\n`;
    const r = await run({ data: d, out: o, signals: sig, inline: true });
    expect(r.status).toBe('completed');
    if (r.status !== 'completed') return;
    expect(r.summary).toMatchObject({ fills: 0, windows: { total: 1, without_ticks: 1, with_fills: 0 } });
    expect((r.summary.warnings as string[])[0]).toMatch(
      /^window w000000 \(BINANCE-SPOT:SPOT_PAIR:BTC-USDT 2025-07-03T00:05:00.*no ticks/,
    );
  });

  it('a run with no change of target completes with empty files', async () => {
    const o = await tempDir('none-out');
    dirs.push(o);
    const sig = `${JSON.stringify({ ts: `${DAY}T00:05:00Z`, instrument_key: BTC, target_position: '0', strategy_id: 's' })}\n`;
    const r = await run({ data, out: o, signals: sig, workers: 2 });
    expect(r.status).toBe('completed');
    const [n] = await rows(
      `SELECT count(*) AS n FROM read_parquet('${resultPath(o, 'run-a', 'fills.parquet')}')`,
    );
    expect(n?.n).toBe('0');
    await rm(o, { recursive: true, force: true });
  });
});
