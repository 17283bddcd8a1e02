/**
 * `backtest-window`: one `backtests.windows` message → the window's task file (`_tasks/<id>.json`;
 * the manifest for runs planned without them) → the window's planned byte ranges read →
 * the simulation → `_partials/<window_id>.json` → a `backtests.done` message (attributes `run_id`,
 * `window_id`). Idempotent: a redelivery recomputes the same partial and overwrites it, and the
 * merge counts each window id once.
 *
 * | what happened                                                  | function                           |
 * | -------------------------------------------------------------- | ---------------------------------- |
 * | window simulated, partial written, done published              | ack                                |
 * | tick file missing / corrupt Parquet / plan the algorithm       | `_errors/<window_id>.json` naming  |
 * |   cannot run (will never succeed)                              | the file; done published (so the   |
 * |                                                                | run fails cleanly); dead-letter    |
 * | bad message, unknown run or window                             | dead-letter + ack                  |
 * | store or bus unavailable                                       | throw → Pub/Sub redelivers         |
 */
import { errorKey } from '../../infra/backtest/keys.ts';
import { readWindowTask } from '../../infra/backtest/plan-run.ts';
import { runWindowTask, WindowFailedError } from '../../infra/backtest/window-task.ts';
import type { FooterCache } from '../../infra/parquet/reader.ts';
import {
  type BacktestSettings,
  type WindowDone,
  type WindowError,
  WindowMessageSchema,
  type WindowPlan,
} from '../../shared/backtest/model.ts';
import type { BlobStore } from '../../shared/ports/blob-store.ts';
import type { EventBus, TopicName } from '../../shared/ports/event-bus.ts';
import type { RiskLimits } from '../../shared/risk/limits.ts';
import { jsonPubSubFunction, readRunMessage } from '../shared/backtest-function.ts';
import type { FunctionLogger } from '../shared/log.ts';
import type { PubSubFunction, Verdict } from '../shared/pubsub-function.ts';

export const BACKTEST_WINDOW = 'backtest-window';
export const BACKTEST_WINDOW_TOPIC: TopicName = 'backtests.windows';
export const BACKTEST_DONE_TOPIC: TopicName = 'backtests.done';

export interface WindowFunctionDeps {
  data: BlobStore;
  results: BlobStore;
  bus: Pick<EventBus, 'publish'>;
  log: FunctionLogger;
  cache?: FooterCache | undefined;
}

async function publishDone(deps: WindowFunctionDeps, done: WindowDone): Promise<void> {
  await deps.bus.publish(BACKTEST_DONE_TOPIC, done, { run_id: done.run_id, window_id: done.window_id });
}

/**
 * The window a message names, with the run's settings and limits: from its task file (one small
 * object), else — a run planned without task files — from the manifest.
 */
async function windowOf(
  deps: WindowFunctionDeps,
  payload: unknown,
): Promise<
  | {
      ok: true;
      run_id: string;
      window_id: string;
      window: WindowPlan;
      settings: BacktestSettings;
      limits: RiskLimits;
    }
  | { ok: false; verdict: Verdict }
> {
  const msg = WindowMessageSchema.safeParse(payload);
  if (msg.success) {
    const task = await readWindowTask(deps.results, msg.data.run_id, msg.data.window_id);
    if (task !== null && task.window.window_id === msg.data.window_id) {
      const { run_id, window_id } = msg.data;
      return {
        ok: true,
        run_id,
        window_id,
        window: task.window,
        settings: task.settings,
        limits: task.risk_limits,
      };
    }
  }
  const read = await readRunMessage(deps.results, WindowMessageSchema, payload, 'invalid_window_message');
  if (!read.ok) return read;
  const { run_id, window_id } = read.message;
  const { manifest } = read;
  const window = manifest.windows.find((w) => w.window_id === window_id);
  if (window === undefined) {
    return {
      ok: false,
      verdict: {
        kind: 'dead_letter',
        outcome: 'invalid',
        reason: 'unknown_window',
        issues: [{ path: 'window_id', message: `run ${run_id} has no window ${window_id}` }],
        fields: { run_id, window_id },
      },
    };
  }
  return { ok: true, run_id, window_id, window, settings: manifest.settings, limits: manifest.risk_limits };
}

/** Run the window a message names (the core of the function, usable without Pub/Sub). */
export async function runWindowMessage(deps: WindowFunctionDeps, payload: unknown): Promise<Verdict> {
  const found = await windowOf(deps, payload);
  if (!found.ok) return found.verdict;
  const { run_id, window_id, window, settings, limits } = found;
  try {
    const outcome = await runWindowTask(
      { data: deps.data, results: deps.results, cache: deps.cache },
      { run_id, window, settings, limits },
    );
    await publishDone(deps, { run_id, window_id, outcome: 'partial' });
    return { kind: 'ack', outcome: 'window_done', fields: { run_id, ...outcome } };
  } catch (e) {
    if (!(e instanceof WindowFailedError)) throw e;
    const record: WindowError = {
      version: 1,
      run_id,
      window_id,
      file: e.file,
      code: e.code,
      message: e.message,
    };
    await deps.results.put(errorKey(run_id, window_id), `${JSON.stringify(record)}\n`, {
      contentType: 'application/json',
    });
    await publishDone(deps, { run_id, window_id, outcome: 'error' });
    return {
      kind: 'dead_letter',
      outcome: 'window_failed',
      reason: e.code,
      issues: [{ path: e.file ?? window_id, message: e.message }],
      fields: { run_id, window_id },
    };
  }
}

export function createBacktestWindowHandler(deps: WindowFunctionDeps): PubSubFunction {
  return jsonPubSubFunction({
    functionName: BACKTEST_WINDOW,
    topic: BACKTEST_WINDOW_TOPIC,
    bus: deps.bus,
    log: deps.log,
    handle: (payload) => runWindowMessage(deps, payload),
  });
}
