/**
 * `backtest-planner`: a backtest request from `backtests.requests` → the run's manifest (signals
 * validated against the instrument files, windows planned) → one `backtests.windows` message per
 * window (attributes `run_id`, `window_id`). Idempotent: a redelivered request re-plans to the same
 * manifest and republishes the same window messages (the window function is idempotent too).
 *
 * | what happened                                                 | function                          |
 * | ------------------------------------------------------------- | --------------------------------- |
 * | planned (manifest and one task file per window written,       | ack                               |
 * |   windows published)                                          |                                   |
 * | the run already completed (summary.json exists)               | ack (`already_complete`)          |
 * | no window opened (no change of target)                        | merge at once (empty results), ack |
 * | bad request, signals file missing, bad signal lines (each     | summary.failed.json for signal    |
 * |   named by line and field), run id reused for other inputs    | problems; dead-letter + ack       |
 * | store or bus unavailable                                      | throw → Pub/Sub redelivers        |
 */

import { manifestKey, resultKey, STARTED_FILE, SUMMARY_FILE } from '../../infra/backtest/keys.ts';
import { mergeIfComplete, writeRunWindows } from '../../infra/backtest/merge-run.ts';
import {
  manifestText,
  planRun,
  readManifest,
  writeManifest,
  writeWindowTask,
} from '../../infra/backtest/plan-run.ts';
import { writeFailure } from '../../infra/backtest/results.ts';
import {
  type BacktestRequest,
  BacktestRequestSchema,
  type BacktestSettings,
  type Manifest,
  type WindowMessage,
} from '../../shared/backtest/model.ts';
import { fromZodIssues, ValidationError } from '../../shared/domain/errors.ts';
import { BlobNotFoundError, type BlobStore } from '../../shared/ports/blob-store.ts';
import type { EventBus, TopicName } from '../../shared/ports/event-bus.ts';
import type { RiskLimits } from '../../shared/risk/limits.ts';
import { jsonPubSubFunction } from '../shared/backtest-function.ts';
import type { FunctionLogger } from '../shared/log.ts';
import type { PubSubFunction, Verdict } from '../shared/pubsub-function.ts';

export const BACKTEST_PLANNER = 'backtest-planner';
export const BACKTEST_PLANNER_TOPIC: TopicName = 'backtests.requests';
export const BACKTEST_WINDOWS_TOPIC: TopicName = 'backtests.windows';

export interface PlannerDeps {
  data: BlobStore;
  results: BlobStore;
  bus: Pick<EventBus, 'publish'>;
  log: FunctionLogger;
  /** Defaults of a run (from the configuration); a request may override some. */
  settings: BacktestSettings;
  limits: RiskLimits;
  now: () => number;
}

function settingsFor(defaults: BacktestSettings, req: BacktestRequest): BacktestSettings {
  return {
    ...defaults,
    ...(req.window_minutes !== undefined ? { window_minutes: req.window_minutes } : {}),
    ...(req.seed !== undefined ? { seed: req.seed } : {}),
    ...(req.starting_cash !== undefined ? { starting_cash: req.starting_cash } : {}),
  };
}

async function signalsOf(
  deps: PlannerDeps,
  req: BacktestRequest,
): Promise<{ text: string; source: string } | null> {
  if (req.signals_jsonl !== undefined) return { text: req.signals_jsonl, source: 'signals_jsonl' };
  const key = req.signals_key as string;
  try {
    return { text: new TextDecoder().decode(await deps.data.get(key)), source: key };
  } catch (e) {
    if (e instanceof BlobNotFoundError) return null;
    throw e;
  }
}

/** Plan one request (the core of the function, usable without Pub/Sub). */
export async function planRequest(deps: PlannerDeps, payload: unknown): Promise<Verdict> {
  const parsed = BacktestRequestSchema.safeParse(payload);
  if (!parsed.success) {
    return {
      kind: 'dead_letter',
      outcome: 'invalid',
      reason: 'invalid_backtest_request',
      issues: fromZodIssues(parsed.error.issues),
    };
  }
  const req = parsed.data;
  const runId = req.run_id;
  if ((await deps.results.stat(resultKey(runId, SUMMARY_FILE))) !== null) {
    return { kind: 'ack', outcome: 'already_complete', fields: { run_id: runId } };
  }
  const signals = await signalsOf(deps, req);
  if (signals === null) {
    return {
      kind: 'dead_letter',
      outcome: 'invalid',
      reason: 'signals_not_found',
      issues: [{ path: 'signals_key', message: `no signals file ${req.signals_key} in the data store` }],
      fields: { run_id: runId },
    };
  }
  let manifest: Manifest;
  try {
    manifest = await planRun({
      run_id: runId,
      signals,
      settings: settingsFor(deps.settings, req),
      limits: deps.limits,
      data: deps.data,
    });
  } catch (e) {
    if (!(e instanceof ValidationError)) throw e;
    await writeFailure(deps.results, {
      run_id: runId,
      status: 'failed',
      errors: e.issues.map((i) => ({
        stage: 'signals',
        path: i.path,
        code: e.code,
        message: `${i.path}: ${i.message}`,
      })),
      windows: { total: 0, completed: 0, failed: 0 },
      wall_seconds: 0,
    });
    return {
      kind: 'dead_letter',
      outcome: 'invalid',
      reason: e.code,
      issues: e.issues,
      fields: { run_id: runId },
    };
  }

  const existing = await readManifest(deps.results, runId).catch(() => null);
  if (existing !== null && manifestText(existing) !== manifestText(manifest)) {
    return {
      kind: 'dead_letter',
      outcome: 'invalid',
      reason: 'run_id_conflict',
      issues: [
        { path: 'run_id', message: `run ${runId} already exists with other inputs (${manifestKey(runId)})` },
      ],
      fields: { run_id: runId },
    };
  }
  const startedKey = resultKey(runId, STARTED_FILE);
  if ((await deps.results.stat(startedKey)) === null) {
    await deps.results.put(startedKey, `${JSON.stringify({ started_at_ms: deps.now() })}\n`, {
      contentType: 'application/json',
    });
  }
  if (existing === null) await writeManifest(deps.results, manifest);
  // Before any window message: the merge counts done windows against it.
  await writeRunWindows(deps.results, manifest);

  if (manifest.windows.length === 0) {
    const merged = await mergeIfComplete(deps.results, manifest, { wallSeconds: 0 });
    return { kind: 'ack', outcome: 'completed_empty', fields: { run_id: runId, merge: merged.kind } };
  }
  for (const w of manifest.windows) {
    // The window's task first: its function reads that, not the whole manifest.
    await writeWindowTask(deps.results, manifest, w);
    const msg: WindowMessage = { run_id: runId, window_id: w.window_id };
    await deps.bus.publish(BACKTEST_WINDOWS_TOPIC, msg, { run_id: runId, window_id: w.window_id });
  }
  return { kind: 'ack', outcome: 'planned', fields: { run_id: runId, windows: manifest.windows.length } };
}

export function createBacktestPlannerHandler(deps: PlannerDeps): PubSubFunction {
  return jsonPubSubFunction({
    functionName: BACKTEST_PLANNER,
    topic: BACKTEST_PLANNER_TOPIC,
    bus: deps.bus,
    log: deps.log,
    handle: (payload) => planRequest(deps, payload),
  });
}
