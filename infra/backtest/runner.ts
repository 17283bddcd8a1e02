/**
 * The local (embedded) backtest runner: the same steps as the cloud fan-out, in one process.
 *
 *   signals → planRun → _manifest.json → windows on a worker-thread pool (or inline) → each writes
 *   _partials/<window_id>.json → mergeIfComplete → orders/fills/positions/equity_curve.parquet,
 *   then summary.json (or summary.failed.json naming every failed window, file or signal line)
 *
 * A run starts clean: anything under `backtest_results/<run_id>/` from an earlier run with the same
 * id is removed first. Results do not depend on the number of workers: windows are independent and
 * the merge orders everything by window id and time.
 */

import type { BacktestSettings, Manifest } from '../../shared/backtest/model.ts';
import { ValidationError } from '../../shared/domain/errors.ts';
import type { BlobStore } from '../../shared/ports/blob-store.ts';
import type { RiskLimits } from '../../shared/risk/limits.ts';
import { FooterCache, newReadStats } from '../parquet/reader.ts';
import { runPrefix } from './keys.ts';
import { mergeIfComplete } from './merge-run.ts';
import { defaultRunId, planRun, writeManifest } from './plan-run.ts';
import { PoolTaskError, WindowPool } from './pool.ts';
import { type RunError, type RunFailure, writeFailure } from './results.ts';
import { runWindowTask, WindowFailedError, type WindowOutcome, type WindowTask } from './window-task.ts';

export interface LocalRunOptions {
  signals: { text: string; source: string };
  data: BlobStore;
  /** Folder or gs:// location of `data` (workers open their own store on it). */
  dataLocation: string;
  results: BlobStore;
  resultsLocation: string;
  runId?: string | undefined;
  settings: BacktestSettings;
  limits: RiskLimits;
  /** Worker threads (≥ 1). */
  workers: number;
  /** How worker threads load their code (default `bundle`, see worker-entry.ts). */
  workerEntry?: 'bundle' | 'tsx' | undefined;
  /** Run windows in this thread instead of a pool (tests, functions). */
  inline?: boolean | undefined;
  onPlanned?: ((manifest: Manifest) => void) | undefined;
  onWindow?: ((done: number, total: number, windowId: string, ok: boolean) => void) | undefined;
  /** Milliseconds clock for wall_seconds (default performance.now). */
  clock?: (() => number) | undefined;
}

export type LocalRunResult =
  | {
      status: 'completed';
      run_id: string;
      manifest: Manifest;
      summary: Record<string, unknown>;
      keys: string[];
      peak_worker_rss: number;
    }
  | { status: 'failed'; run_id: string; failure: RunFailure; key: string };

async function clearRun(results: BlobStore, runId: string): Promise<void> {
  for (const b of await results.list(runPrefix(runId))) await results.delete(b.key);
}

function failureOf(err: unknown, windowId: string): RunError {
  if (err instanceof WindowFailedError) {
    return {
      stage: 'window',
      window_id: err.window_id,
      file: err.file ?? undefined,
      code: err.code,
      message: err.message,
    };
  }
  if (err instanceof PoolTaskError) {
    const f = err.failure;
    return {
      stage: 'window',
      window_id: f.window_id ?? windowId,
      file: f.file ?? undefined,
      code: f.code,
      message: f.message,
    };
  }
  const message = err instanceof Error ? err.message : String(err);
  return { stage: 'window', window_id: windowId, code: 'error', message: `window ${windowId}: ${message}` };
}

/** Run a backtest locally. Resolves with the outcome; a failed run is a result, not a rejection. */
export async function runLocalBacktest(opts: LocalRunOptions): Promise<LocalRunResult> {
  const clock = opts.clock ?? (() => performance.now());
  const t0 = clock();
  const runId = opts.runId ?? defaultRunId(opts.signals.text, opts.settings, opts.limits);
  // Workers start while the run is planned (their start-up overlaps the planning and footer reads).
  const pool = opts.inline
    ? null
    : new WindowPool({
        size: Math.max(1, opts.workers),
        dataLocation: opts.dataLocation,
        resultsLocation: opts.resultsLocation,
        entry: opts.workerEntry,
      });
  try {
    return await runWith(opts, runId, pool, clock, t0);
  } finally {
    await pool?.close();
  }
}

async function runWith(
  opts: LocalRunOptions,
  runId: string,
  pool: WindowPool | null,
  clock: () => number,
  t0: number,
): Promise<LocalRunResult> {
  const wall = () => Math.round((clock() - t0) / 10) / 100;
  await clearRun(opts.results, runId);

  const failed = async (errors: RunError[], total: number, completed: number): Promise<LocalRunResult> => {
    const failure: RunFailure = {
      run_id: runId,
      status: 'failed',
      errors,
      windows: { total, completed, failed: total - completed },
      wall_seconds: wall(),
    };
    return { status: 'failed', run_id: runId, failure, key: await writeFailure(opts.results, failure) };
  };

  // The planner's footer reads: the only footers a run reads (windows get byte ranges).
  const stats = newReadStats();
  let manifest: Manifest;
  try {
    manifest = await planRun({
      run_id: runId,
      stats,
      signals: opts.signals,
      settings: opts.settings,
      limits: opts.limits,
      data: opts.data,
    });
  } catch (e) {
    if (e instanceof ValidationError) {
      return failed(
        e.issues.map((i) => ({
          stage: 'signals',
          path: i.path,
          code: e.code,
          message: `${i.path}: ${i.message}`,
        })),
        0,
        0,
      );
    }
    throw e;
  }
  await writeManifest(opts.results, manifest);
  opts.onPlanned?.(manifest);

  const total = manifest.windows.length;
  const errors: RunError[] = [];
  let done = 0;
  let completed = 0;
  const record = (w: string, r: { ok: true; o: WindowOutcome } | { ok: false; e: unknown }) => {
    done++;
    if (r.ok) completed++;
    else errors.push(failureOf(r.e, w));
    opts.onWindow?.(done, total, w, r.ok);
  };
  const tasks: WindowTask[] = manifest.windows.map((window) => ({
    run_id: runId,
    window,
    settings: manifest.settings,
    limits: manifest.risk_limits,
  }));
  let peakRss = 0;
  if (pool === null || total === 0) {
    const cache = new FooterCache();
    for (const task of tasks) {
      try {
        record(task.window.window_id, {
          ok: true,
          o: await runWindowTask({ data: opts.data, results: opts.results, cache }, task),
        });
      } catch (e) {
        record(task.window.window_id, { ok: false, e });
      }
    }
    peakRss = process.memoryUsage().rss;
  } else {
    await Promise.all(
      tasks.map((task) =>
        pool.run(task).then(
          (o) => record(task.window.window_id, { ok: true, o }),
          (e: unknown) => record(task.window.window_id, { ok: false, e }),
        ),
      ),
    );
    peakRss = pool.peakRss;
  }
  if (errors.length > 0) {
    errors.sort((a, b) => ((a.window_id ?? '') < (b.window_id ?? '') ? -1 : 1));
    return failed(errors, total, completed);
  }

  const merged = await mergeIfComplete(opts.results, manifest, {
    wallSeconds: wall(),
    force: true,
    runIo: { bytes_read: stats.bytesRead, requests: stats.requests },
  });
  switch (merged.kind) {
    case 'completed':
      return {
        status: 'completed',
        run_id: runId,
        manifest,
        summary: merged.summary,
        keys: merged.keys,
        peak_worker_rss: peakRss,
      };
    case 'failed':
      return { status: 'failed', run_id: runId, failure: merged.failure, key: merged.key };
    default:
      return failed(
        [
          {
            stage: 'merge',
            code: 'merge_incomplete',
            message: `merge found the run incomplete (${merged.kind})`,
          },
        ],
        total,
        completed,
      );
  }
}
