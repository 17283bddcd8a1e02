/**
 * `backtest-merge`: every `backtests.done` message → is every planned window of the run done
 * (a partial or an error record per window id)? Counted by blocks of 100 windows against the
 * run's `_windows.json` (infra/backtest/merge-run.ts `noteWindowDone`), so a message costs the same
 * whatever the run's size; runs planned without that file are counted through the manifest. If
 * not, ack and wait for the next one; if so,
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
import { mergeIfComplete, noteWindowDone, readRunWindows } from '../../infra/backtest/merge-run.ts';
import { readManifest } from '../../infra/backtest/plan-run.ts';
import { type Manifest, WindowDoneSchema } from '../../shared/backtest/model.ts';
import { fromZodIssues } from '../../shared/domain/errors.ts';
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

function unknownRun(run_id: string, window_id: string): Verdict {
  return {
    kind: 'dead_letter',
    outcome: 'invalid',
    reason: 'unknown_run',
    issues: [{ path: 'run_id', message: `run ${run_id} has no manifest` }],
    fields: { run_id, window_id },
  };
}

/** Merge the run a done message names, if complete (the core of the function). */
export async function mergeOnDone(deps: MergeFunctionDeps, payload: unknown): Promise<Verdict> {
  const parsed = WindowDoneSchema.safeParse(payload);
  if (!parsed.success) {
    return {
      kind: 'dead_letter',
      outcome: 'invalid',
      reason: 'invalid_done_message',
      issues: fromZodIssues(parsed.error.issues),
    };
  }
  const { run_id, window_id } = parsed.data;
  const total = await readRunWindows(deps.results, run_id);
  if (total === null) {
    // A run planned without `_windows.json`: every message reads the manifest.
    const read = await readRunMessage(deps.results, WindowDoneSchema, payload, 'invalid_done_message');
    if (!read.ok) return read.verdict;
    return mergeWith(deps, read.manifest, window_id);
  }
  const progress = await noteWindowDone(deps.results, run_id, window_id, total);
  switch (progress.kind) {
    case 'unknown_window':
      return {
        kind: 'dead_letter',
        outcome: 'invalid',
        reason: 'unknown_window',
        issues: [
          { path: 'window_id', message: `run ${run_id} has no window ${window_id} (${total} planned)` },
        ],
        fields: { run_id, window_id },
      };
    case 'block_waiting':
      return {
        kind: 'ack',
        outcome: 'waiting',
        fields: {
          run_id,
          window_id,
          block: progress.block,
          block_done: progress.done,
          block_size: progress.size,
        },
      };
    case 'run_waiting':
      return {
        kind: 'ack',
        outcome: 'waiting',
        fields: { run_id, window_id, blocks_done: progress.blocks_done, blocks: progress.blocks },
      };
    case 'all_done': {
      const manifest = await readManifest(deps.results, run_id);
      if (manifest === null) return unknownRun(run_id, window_id);
      return mergeWith(deps, manifest, window_id);
    }
  }
}

async function mergeWith(deps: MergeFunctionDeps, manifest: Manifest, window_id: string): Promise<Verdict> {
  const run_id = manifest.run_id;
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
