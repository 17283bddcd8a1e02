/**
 * Backtest runs from the results store (SPEC "Backtest results", infra/backtest/keys.ts):
 *
 *   GET /api/backtests                      runs, newest first: status and summary figures
 *   GET /api/backtests/:run_id              the run's summary.json (or summary.failed.json)
 *   GET /api/backtests/:run_id/equity       the equity curve with its drawdown, as columns
 *   GET /api/backtests/:run_id/orders|fills the run's orders / fills (first `limit` rows)
 *   GET /api/backtests/_inputs              what a run can start from: signals files, tick data
 *   POST /api/backtests                     start a run here (./runner.ts; 503 without a runner)
 *
 * Runs started here show their progress (windows done of planned) in the list while they run.
 * A run without summary.json is `running` (its manifest is written first) or `failed`
 * (summary.failed.json). Timestamps are integer nanoseconds as digit strings.
 */
import { Hono } from 'hono';
import { z } from 'zod';
import {
  FAILED_FILE,
  MANIFEST_FILE,
  RESULTS_ROOT,
  resultKey,
  STARTED_FILE,
  SUMMARY_FILE,
} from '../../../infra/backtest/keys.ts';
import { readParquetBlob } from '../../../infra/parquet/reader.ts';
import { BacktestStartRequestSchema } from '../../../shared/backtest/start-request.ts';
import { parseWith } from '../../../shared/domain/schemas.ts';
import { BlobNotFoundError, type BlobStore } from '../../../shared/ports/blob-store.ts';
import { ApiError, callDependency } from '../errors/index.ts';
import { readJsonBody, sendJson } from '../json/index.ts';
import type { ApiEnv } from '../types.ts';
import type { BacktestProgress, BacktestRunner } from './runner.ts';

const RunIdSchema = z
  .string()
  .min(1, { error: 'must not be empty' })
  .max(128, { error: 'must be at most 128 characters' })
  .regex(/^[A-Za-z0-9._-]+$/, { error: "may contain only letters, digits, '.', '_' and '-'" });

/** Figures of summary.json shown in the runs table. */
const LISTED = [
  'period',
  'orders',
  'fills',
  'pnl',
  'return_pct',
  'sharpe',
  'max_drawdown',
  'fees',
  'implementation_shortfall_bps',
  'slippage_bps',
  'fill_ratio',
  'final_equity',
  'starting_cash',
] as const;

export interface BacktestRunRow {
  run_id: string;
  status: 'completed' | 'failed' | 'running';
  updated_ms: number | null;
  summary: Record<string, unknown> | null;
  error: string | null;
  /** Windows done of planned, for a run started here (absent otherwise). */
  progress?: BacktestProgress;
}

function runnerUnavailable(): ApiError {
  return new ApiError(
    503,
    'backtest_runner_unavailable',
    'no backtest runner in this deployment: start runs with npm run backtest or the backtest functions',
  );
}

function runIdParam(value: string): string {
  const r = parseWith(RunIdSchema, value, 'invalid_run_id');
  if (!r.success) throw r.error;
  return r.data;
}

async function readJson(blobs: BlobStore, key: string): Promise<Record<string, unknown> | null> {
  try {
    const json: unknown = JSON.parse(new TextDecoder().decode(await blobs.get(key)));
    return json !== null && typeof json === 'object' ? (json as Record<string, unknown>) : null;
  } catch (err) {
    if (err instanceof BlobNotFoundError) return null;
    throw err;
  }
}

function columnValues(col: unknown, n: number): unknown[] {
  if (col === undefined || col === null) return new Array(n).fill(null);
  return Array.from(col as ArrayLike<unknown>);
}

/** Rows of a result table as objects (bigint nanoseconds stay bigint: the JSON replacer writes digits). */
async function readTable(blobs: BlobStore, key: string, limit: number): Promise<Record<string, unknown>[]> {
  const { columns } = await readParquetBlob(blobs, key);
  const names = [...columns.keys()];
  const first = columns.get(names[0] ?? '');
  const n = Math.min(first === undefined ? 0 : (first as ArrayLike<unknown>).length, limit);
  const values = names.map((name) => columnValues(columns.get(name), n));
  const rows: Record<string, unknown>[] = [];
  for (let i = 0; i < n; i++) {
    const row: Record<string, unknown> = {};
    names.forEach((name, j) => {
      row[name] = values[j]?.[i] ?? null;
    });
    rows.push(row);
  }
  return rows;
}

/** Most points of an equity curve sent to the browser (every k-th point above it, last kept). */
export const MAX_EQUITY_POINTS = 20_000;

export function backtestRoutes(blobs: BlobStore, runner?: BacktestRunner): Hono<ApiEnv> {
  const app = new Hono<ApiEnv>();

  app.get('/_inputs', async (c) => {
    if (runner === undefined) throw runnerUnavailable();
    const inputs = await callDependency('results store', () => runner.inputs());
    return sendJson(c, 200, inputs, { 'Cache-Control': 'no-store' });
  });

  app.post('/', async (c) => {
    if (runner === undefined) throw runnerUnavailable();
    const body = await readJsonBody(c, { required: true, what: 'a backtest to start' });
    const r = parseWith(BacktestStartRequestSchema, body, 'invalid_request');
    if (!r.success) throw r.error;
    const started = await runner.start(r.data);
    return sendJson(c, 202, { status: 'started', ...started });
  });

  app.get('/', async (c) => {
    const runs = await callDependency('results store', async () => {
      const infos = await blobs.list(`${RESULTS_ROOT}/`);
      const byRun = new Map<string, { files: Set<string>; updated: number | null }>();
      for (const info of infos) {
        const m = /^backtest_results\/([^/]+)\/([^/]+)$/.exec(info.key);
        if (m === null) continue;
        const [, runId, file] = m as unknown as [string, string, string];
        const entry = byRun.get(runId) ?? { files: new Set<string>(), updated: null };
        entry.files.add(file);
        if (info.updatedMs !== undefined) entry.updated = Math.max(entry.updated ?? 0, info.updatedMs);
        byRun.set(runId, entry);
      }
      const rows: BacktestRunRow[] = [];
      for (const [runId, e] of byRun) {
        if (!e.files.has(MANIFEST_FILE) && !e.files.has(STARTED_FILE) && !e.files.has(SUMMARY_FILE)) continue;
        if (e.files.has(SUMMARY_FILE)) {
          const s = await readJson(blobs, resultKey(runId, SUMMARY_FILE));
          const summary: Record<string, unknown> = {};
          for (const k of LISTED) if (s !== null && k in s) summary[k] = s[k];
          rows.push({ run_id: runId, status: 'completed', updated_ms: e.updated, summary, error: null });
        } else if (e.files.has(FAILED_FILE)) {
          const f = await readJson(blobs, resultKey(runId, FAILED_FILE));
          const error = typeof f?.error === 'string' ? f.error : 'failed';
          rows.push({ run_id: runId, status: 'failed', updated_ms: e.updated, summary: null, error });
        } else {
          rows.push({ run_id: runId, status: 'running', updated_ms: e.updated, summary: null, error: null });
        }
      }
      for (const p of runner?.progress() ?? []) {
        const row = rows.find((x) => x.run_id === p.run_id);
        if (row !== undefined) {
          if (p.finished_ms === null || row.status === 'running') row.progress = p;
        } else if (p.finished_ms === null) {
          rows.push({
            run_id: p.run_id,
            status: 'running',
            updated_ms: p.started_ms,
            summary: null,
            error: null,
            progress: p,
          });
        }
      }
      return rows.sort((a, b) => (b.updated_ms ?? 0) - (a.updated_ms ?? 0) || (a.run_id < b.run_id ? -1 : 1));
    });
    return sendJson(c, 200, { runs, count: runs.length });
  });

  app.get('/:run_id', async (c) => {
    const runId = runIdParam(c.req.param('run_id'));
    const summary = await callDependency('results store', async () => {
      return (
        (await readJson(blobs, resultKey(runId, SUMMARY_FILE))) ??
        readJson(blobs, resultKey(runId, FAILED_FILE))
      );
    });
    if (summary === null)
      throw new ApiError(404, 'not_found', `no finished backtest run ${runId}`, { run_id: runId });
    return sendJson(c, 200, summary);
  });

  app.get('/:run_id/equity', async (c) => {
    const runId = runIdParam(c.req.param('run_id'));
    const key = resultKey(runId, 'equity_curve.parquet');
    const stat = await callDependency('results store', () => blobs.stat(key));
    if (stat === null)
      throw new ApiError(404, 'not_found', `run ${runId} has no equity curve`, { run_id: runId });
    const { columns } = await callDependency('results store', () =>
      readParquetBlob(blobs, key, { columns: ['ts_event', 'equity'] }),
    );
    const ts = columns.get('ts_event') as BigInt64Array;
    const eq = columns.get('equity') as Float64Array;
    const n = ts.length;
    const step = Math.max(1, Math.ceil(n / MAX_EQUITY_POINTS));
    const outTs: string[] = [];
    const outEq: number[] = [];
    const outDd: number[] = [];
    let peak = Number.NEGATIVE_INFINITY;
    for (let i = 0; i < n; i++) {
      const v = eq[i] ?? 0;
      if (v > peak) peak = v;
      if (i % step !== 0 && i !== n - 1) continue;
      outTs.push(String(ts[i]));
      outEq.push(v);
      outDd.push(peak > 0 ? (v - peak) / peak : 0);
    }
    return sendJson(c, 200, { run_id: runId, points: n, ts_event: outTs, equity: outEq, drawdown: outDd });
  });

  for (const table of ['orders', 'fills'] as const) {
    app.get(`/:run_id/${table}`, async (c) => {
      const runId = runIdParam(c.req.param('run_id'));
      const limit = Math.min(Math.max(Number(c.req.query('limit') ?? 500) || 500, 1), 5000);
      const key = resultKey(runId, `${table}.parquet`);
      const stat = await callDependency('results store', () => blobs.stat(key));
      if (stat === null)
        throw new ApiError(404, 'not_found', `run ${runId} has no ${table}`, { run_id: runId });
      const rows = await callDependency('results store', () => readTable(blobs, key, limit));
      return sendJson(c, 200, { run_id: runId, [table]: rows, count: rows.length, limit });
    });
  }

  return app;
}
