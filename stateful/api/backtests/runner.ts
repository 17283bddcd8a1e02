/**
 * Backtests started from the console (`POST /api/backtests`): the local runner of `npm run
 * backtest` (infra/backtest/runner.ts: plan, windows on a worker-thread pool, merge) over a
 * backtest data root (tick data under `market-data-tick/`, instruments under `instruments/`,
 * signals under `signals/`, as `npm run data:generate` writes them), writing results into the
 * service's results store (`backtest_results/<run_id>/`) where `GET /api/backtests` reads them.
 * The data root is not the service's own blob store: its instrument definitions would become the
 * live catalog.
 *
 * One run at a time (a second start while one runs is a 409): the runner shares the machine with
 * live trading, so it takes `workers` threads (default 1) and never the event loop. Each run's
 * progress (windows planned, done, failed) is kept in memory for the runs table; the outcome is in
 * the results store (summary.json or summary.failed.json), like any run.
 */
import { defaultRunId } from '../../../infra/backtest/plan-run.ts';
import { type LocalRunResult, runLocalBacktest } from '../../../infra/backtest/runner.ts';
import type { ExecutionLog } from '../../../shared/app/execution-recorder.ts';
import { SILENT_EXECUTION_LOG } from '../../../shared/app/execution-recorder.ts';
import { type BacktestSettings, DEFAULT_BACKTEST_SETTINGS } from '../../../shared/backtest/model.ts';
import { type BacktestStartRequest, selectSignals } from '../../../shared/backtest/start-request.ts';
import { ValidationError } from '../../../shared/domain/errors.ts';
import type { TradingState } from '../../../shared/domain/types.ts';
import { BlobNotFoundError, type BlobStore } from '../../../shared/ports/blob-store.ts';
import type { RiskLimits } from '../../../shared/risk/limits.ts';
import { ApiError } from '../errors/index.ts';

export const SIGNALS_PREFIX = 'signals/';
export const TICK_PREFIX = 'market-data-tick/';

export interface BacktestProgress {
  run_id: string;
  state: 'planning' | 'running' | 'completed' | 'failed';
  windows_total: number | null;
  windows_done: number;
  windows_failed: number;
  started_ms: number;
  finished_ms: number | null;
  error: string | null;
}

export interface BacktestInputs {
  /** Signals files of the store (`signals/….jsonl`). */
  signals: string[];
  /** Tick data per venue: the first and last day stored. */
  data: Array<{ venue: string; first_day: string; last_day: string; days: number }>;
}

export interface BacktestRunnerDeps {
  /** The backtest data root: tick data, instruments and signals. */
  data: BlobStore;
  /** Its location for the worker threads (a folder, or gs://bucket). */
  dataLocation: string;
  /** The results store (the one `GET /api/backtests` reads) and its location. */
  results: BlobStore;
  resultsLocation: string;
  /** Risk limits and defaults of the configuration (as `npm run backtest --config` uses them). */
  limits: RiskLimits;
  defaults: { window_minutes: number; seed: number; trading_state: TradingState };
  /** Worker threads per run (default 1). */
  workers?: number | undefined;
  /** Run the windows on the calling thread instead (tests). */
  inline?: boolean | undefined;
  log?: ExecutionLog | undefined;
  /** Wall clock in ms (default Date.now). */
  now?: (() => number) | undefined;
  /** The run itself (default runLocalBacktest; tests pass a stand-in). */
  run?: typeof runLocalBacktest | undefined;
}

export interface BacktestRunner {
  inputs(): Promise<BacktestInputs>;
  /** Validate the request, start the run in the background; its id. */
  start(req: BacktestStartRequest): Promise<{ run_id: string; signals: { kept: number; total: number } }>;
  /** Runs started here, newest first. */
  progress(): BacktestProgress[];
  /** Resolves when the current run (if any) has finished. */
  idle(): Promise<void>;
}

const KEEP_PROGRESS = 50;

export function createBacktestRunner(deps: BacktestRunnerDeps): BacktestRunner {
  const log = deps.log ?? SILENT_EXECUTION_LOG;
  const now = deps.now ?? Date.now;
  const run = deps.run ?? runLocalBacktest;
  const runs: BacktestProgress[] = [];
  let current: Promise<void> | null = null;

  async function signalsText(req: BacktestStartRequest): Promise<{ text: string; source: string }> {
    if (req.signals_text !== undefined)
      return { text: req.signals_text, source: req.signals_name ?? 'upload.jsonl' };
    const key = req.signals_key as string;
    try {
      return {
        text: new TextDecoder().decode(await deps.data.get(key)),
        source: key.slice(SIGNALS_PREFIX.length),
      };
    } catch (err) {
      if (err instanceof BlobNotFoundError)
        throw new ValidationError('invalid_request', [
          { path: 'signals_key', message: `no such signals file: ${key}` },
        ]);
      throw err;
    }
  }

  return {
    async inputs() {
      const [signals, ticks] = await Promise.all([
        deps.data.list(SIGNALS_PREFIX),
        deps.data.list(TICK_PREFIX),
      ]);
      const days = new Map<string, Set<string>>();
      for (const b of ticks) {
        const m = /^market-data-tick\/([^/]+)\/(\d{4}-\d{2}-\d{2})\//.exec(b.key);
        if (m === null) continue;
        const [, venue, day] = m as unknown as [string, string, string];
        const set = days.get(venue) ?? new Set<string>();
        set.add(day);
        days.set(venue, set);
      }
      return {
        signals: signals
          .map((b) => b.key)
          .filter((k) => k.endsWith('.jsonl'))
          .sort(),
        data: [...days]
          .map(([venue, set]) => {
            const sorted = [...set].sort();
            return {
              venue,
              first_day: sorted[0] as string,
              last_day: sorted[sorted.length - 1] as string,
              days: sorted.length,
            };
          })
          .sort((a, b) => a.venue.localeCompare(b.venue)),
      };
    },

    async start(req) {
      if (current !== null) {
        const running = runs.find((r) => r.finished_ms === null);
        throw new ApiError(
          409,
          'backtest_running',
          `backtest ${running?.run_id ?? ''} is still running: one run at a time`,
        );
      }
      const source = await signalsText(req);
      const selected = selectSignals(source.text, {
        instruments: req.instruments,
        from: req.from,
        to: req.to,
        exec_algorithm: req.exec_algorithm,
      });
      if (selected.kept === 0) {
        const path = req.instruments?.length
          ? 'instruments'
          : req.from !== undefined || req.to !== undefined
            ? 'from'
            : 'signals_key';
        throw new ValidationError('invalid_request', [
          {
            path,
            message: `no signal of ${source.source} (${selected.total} lines) is left by the chosen instruments and dates`,
          },
        ]);
      }
      const settings: BacktestSettings = {
        ...DEFAULT_BACKTEST_SETTINGS,
        window_minutes: req.window_minutes ?? deps.defaults.window_minutes,
        seed: req.seed ?? deps.defaults.seed,
        starting_cash: req.starting_cash ?? DEFAULT_BACKTEST_SETTINGS.starting_cash,
        trading_state: deps.defaults.trading_state,
      };
      const runId = req.run_id ?? defaultRunId(selected.text, settings, deps.limits);
      const progress: BacktestProgress = {
        run_id: runId,
        state: 'planning',
        windows_total: null,
        windows_done: 0,
        windows_failed: 0,
        started_ms: now(),
        finished_ms: null,
        error: null,
      };
      runs.unshift(progress);
      runs.splice(KEEP_PROGRESS);
      log.info(`backtest ${runId} started from the console (${selected.kept} of ${selected.total} signals)`, {
        run_id: runId,
      });
      current = run({
        signals: { text: selected.text, source: source.source },
        data: deps.data,
        dataLocation: deps.dataLocation,
        results: deps.results,
        resultsLocation: deps.resultsLocation,
        runId,
        settings,
        limits: deps.limits,
        workers: Math.max(1, deps.workers ?? 1),
        inline: deps.inline,
        onPlanned: (m) => {
          progress.state = 'running';
          progress.windows_total = m.windows.length;
        },
        onWindow: (done, _total, _id, ok) => {
          progress.windows_done = done;
          if (!ok) progress.windows_failed++;
        },
      })
        .then((r: LocalRunResult) => {
          progress.state = r.status;
          if (r.status === 'failed') progress.error = r.failure.errors[0]?.message ?? 'failed';
          log.info(`backtest ${runId} ${r.status}`, { run_id: runId });
        })
        .catch((err: unknown) => {
          progress.state = 'failed';
          progress.error = err instanceof Error ? err.message : String(err);
          log.warn(`backtest ${runId} failed: ${progress.error}`, { run_id: runId });
        })
        .finally(() => {
          progress.finished_ms = now();
          current = null;
        });
      return { run_id: runId, signals: { kept: selected.kept, total: selected.total } };
    },

    progress: () => runs.map((r) => ({ ...r })),

    async idle() {
      await current;
    },
  };
}
