/**
 * `backtest-merge`: every `backtests.done` message → is every planned window of the run done
 * (a partial or an error record per window id)? If not, ack and wait for the next one; if so,
 * write the run's five result files (summary.json last) or summary.failed.json. Idempotent: the
 * partials are keyed by window id (duplicates and retries count once), a run whose summary.json
 * exists is not merged again, and two merges racing on the last windows write the same bytes.
 *
 * | what happened                                           | function                         |
 * | ------------------------------------------------------- | -------------------------------- |
 * | windows still running                                   | ack (`waiting`, k of n)          |
 * | all done: merged / failed run recorded / already merged | ack                              |
 * | bad message, unknown run                                | dead-letter + ack                |
 * | store unavailable                                       | throw → Pub/Sub redelivers       |
 */
import { resultKey, STARTED_FILE } from '../../infra/backtest/keys.ts';
import { mergeIfComplete } from '../../infra/backtest/merge-run.ts';
import { WindowDoneSchema } from '../../shared/backtest/model.ts';
import type { BlobStore } from '../../shared/ports/blob-store.ts';
import type { EventBus, TopicName } from '../../shared/ports/event-bus.ts';
import { jsonPubSubFunction, readRunMessage } from '../shared/backtest-function.ts';
import type { FunctionLogger } from '../shared/log.ts';
import type { PubSubFunction, Verdict } from '../shared/pubsub-function.ts';

export const BACKTEST_MERGE = 'backtest-merge';
export const BACKTEST_MERGE_TOPIC: TopicName = 'backtests.done';

export interface MergeFunctionDeps {
  results: BlobStore;
  bus: Pick<EventBus, 'publish'>;
  log: FunctionLogger;
  now: () => number;
}

async function wallSeconds(deps: MergeFunctionDeps, runId: string): Promise<number> {
  const key = resultKey(runId, STARTED_FILE);
  if ((await deps.results.stat(key)) === null) return 0;
  try {
    const v: unknown = JSON.parse(new TextDecoder().decode(await deps.results.get(key)));
    const started = typeof v === 'object' && v !== null && 'started_at_ms' in v ? v.started_at_ms : null;
    return typeof started === 'number' ? Math.max(0, Math.round((deps.now() - started) / 10) / 100) : 0;
  } catch {
    return 0;
  }
}

/** Merge the run a done message names, if complete (the core of the function). */
export async function mergeOnDone(deps: MergeFunctionDeps, payload: unknown): Promise<Verdict> {
  const read = await readRunMessage(deps.results, WindowDoneSchema, payload, 'invalid_done_message');
  if (!read.ok) return read.verdict;
  const { run_id, window_id } = read.message;
  const { manifest } = read;
  const outcome = await mergeIfComplete(deps.results, manifest, {
    wallSeconds: await wallSeconds(deps, run_id),
  });
  switch (outcome.kind) {
    case 'waiting':
      return {
        kind: 'ack',
        outcome: 'waiting',
        fields: { run_id, window_id, done: outcome.done, total: outcome.total },
      };
    case 'already_complete':
      return { kind: 'ack', outcome: 'already_complete', fields: { run_id, window_id } };
    case 'completed':
      return { kind: 'ack', outcome: 'merged', fields: { run_id, window_id, files: outcome.keys.length } };
    case 'failed':
      return {
        kind: 'ack',
        outcome: 'run_failed',
        fields: { run_id, window_id, errors: outcome.failure.errors.length, key: outcome.key },
      };
  }
}

export function createBacktestMergeHandler(deps: MergeFunctionDeps): PubSubFunction {
  return jsonPubSubFunction({
    functionName: BACKTEST_MERGE,
    topic: BACKTEST_MERGE_TOPIC,
    bus: deps.bus,
    log: deps.log,
    handle: (payload) => mergeOnDone(deps, payload),
  });
}
