/**
 * Where a run lives in the results store (SPEC "Backtest results": `backtest_results/<run_id>/`):
 *
 *   backtest_results/<run_id>/_started.json             cloud runs: when the request arrived
 *   backtest_results/<run_id>/_manifest.json            the plan (written first)
 *   backtest_results/<run_id>/_windows.json             cloud runs: how many windows were planned
 *                                                        (the merge counts against it, not the manifest)
 *   backtest_results/<run_id>/_tasks/<window_id>.json    cloud runs: one window's task (its plan,
 *                                                        settings and limits), read by its function
 *   backtest_results/<run_id>/_partials/<window_id>.json one per window (a retry overwrites it)
 *   backtest_results/<run_id>/_errors/<window_id>.json   a window that cannot succeed
 *   backtest_results/<run_id>/_blocks/<block>.json       cloud runs: a block of 100 windows all done
 *   backtest_results/<run_id>/orders.parquet             ┐
 *   backtest_results/<run_id>/fills.parquet              │ the results, written by the merge,
 *   backtest_results/<run_id>/positions.parquet          │ summary.json LAST
 *   backtest_results/<run_id>/equity_curve.parquet       │
 *   backtest_results/<run_id>/summary.json               ┘
 *   backtest_results/<run_id>/summary.failed.json        instead of summary.json when the run failed
 */
export const RESULTS_ROOT = 'backtest_results';
export const MANIFEST_FILE = '_manifest.json';
export const STARTED_FILE = '_started.json';
export const PARTIALS_DIR = '_partials';
export const TASKS_DIR = '_tasks';
export const ERRORS_DIR = '_errors';
export const WINDOWS_FILE = '_windows.json';
export const BLOCKS_DIR = '_blocks';
export const SUMMARY_FILE = 'summary.json';
export const FAILED_FILE = 'summary.failed.json';
export const RESULT_FILES = [
  'orders.parquet',
  'fills.parquet',
  'positions.parquet',
  'equity_curve.parquet',
] as const;

export function runPrefix(runId: string): string {
  return `${RESULTS_ROOT}/${runId}/`;
}

export function manifestKey(runId: string): string {
  return `${runPrefix(runId)}${MANIFEST_FILE}`;
}

export function partialKey(runId: string, windowId: string): string {
  return `${runPrefix(runId)}${PARTIALS_DIR}/${windowId}.json`;
}

export function taskKey(runId: string, windowId: string): string {
  return `${runPrefix(runId)}${TASKS_DIR}/${windowId}.json`;
}

export function errorKey(runId: string, windowId: string): string {
  return `${runPrefix(runId)}${ERRORS_DIR}/${windowId}.json`;
}

export function resultKey(runId: string, file: string): string {
  return `${runPrefix(runId)}${file}`;
}

export function blockKey(runId: string, block: string): string {
  return `${runPrefix(runId)}${BLOCKS_DIR}/${block}.json`;
}

/** The window id of a `_partials/<id>.json` or `_errors/<id>.json` key, or null. */
export function windowIdOfKey(key: string): string | null {
  const m = /\/(?:_partials|_errors)\/(w\d{6,})\.json$/.exec(key);
  return m?.[1] ?? null;
}
