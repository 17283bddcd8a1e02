/**
 * The merge step over the results store (local runner and `backtest-merge` function): list the
 * run's `_partials/` and `_errors/`, and when every planned window is accounted for write either
 * the five result files (summary.json last) or summary.failed.json. Idempotent and safe to run
 * again or concurrently: partials are keyed by window id (a retried window overwrote its own file,
 * so it counts once), ids not in the manifest are ignored, and the merge of the same partials
 * writes the same bytes.
 */

import { mergeRun, type RunIo } from '../../shared/backtest/merge.ts';
import {
  type Manifest,
  type WindowError,
  WindowErrorSchema,
  type WindowPartial,
} from '../../shared/backtest/model.ts';
import type { BlobStore } from '../../shared/ports/blob-store.ts';
import { ERRORS_DIR, PARTIALS_DIR, resultKey, runPrefix, SUMMARY_FILE, windowIdOfKey } from './keys.ts';
import { type RunError, type RunFailure, writeFailure, writeResults } from './results.ts';
import { parsePartial } from './window-task.ts';

export interface RunProgress {
  /** Distinct planned windows with a partial. */
  partials: Set<string>;
  /** Distinct planned windows with an error record. */
  errors: Set<string>;
  total: number;
}

/** Which planned windows have finished (partial or error), counting each id once. */
export async function runProgress(results: BlobStore, manifest: Manifest): Promise<RunProgress> {
  const planned = new Set(manifest.windows.map((w) => w.window_id));
  const prefix = runPrefix(manifest.run_id);
  const [partialBlobs, errorBlobs] = await Promise.all([
    results.list(`${prefix}${PARTIALS_DIR}/`),
    results.list(`${prefix}${ERRORS_DIR}/`),
  ]);
  const ids = (keys: Array<{ key: string }>) =>
    new Set(
      keys.map((b) => windowIdOfKey(b.key)).filter((id): id is string => id !== null && planned.has(id)),
    );
  return { partials: ids(partialBlobs), errors: ids(errorBlobs), total: planned.size };
}

export async function readWindowError(results: BlobStore, key: string): Promise<WindowError> {
  const text = new TextDecoder().decode(await results.get(key));
  return WindowErrorSchema.parse(JSON.parse(text));
}

export type MergeOutcome =
  | { kind: 'waiting'; done: number; total: number }
  | { kind: 'already_complete' }
  | { kind: 'completed'; keys: string[]; summary: Record<string, unknown> }
  | { kind: 'failed'; key: string; failure: RunFailure };

export interface MergeOptions {
  /** Seconds since the run started (the one non-deterministic field of summary.json). */
  wallSeconds: number;
  /** Merge even when summary.json exists (the local runner always rewrites). */
  force?: boolean | undefined;
  /** Extra errors found outside the windows (recorded in a failure). */
  errors?: readonly RunError[] | undefined;
  /** Bytes read for the run as a whole (footers read once up front by the local runner). */
  runIo?: RunIo | undefined;
}

/** Merge a run if every window is done; see MergeOutcome. */
export async function mergeIfComplete(
  results: BlobStore,
  manifest: Manifest,
  opts: MergeOptions,
): Promise<MergeOutcome> {
  const runId = manifest.run_id;
  if (!opts.force && (await results.stat(resultKey(runId, SUMMARY_FILE))) !== null)
    return { kind: 'already_complete' };
  const progress = await runProgress(results, manifest);
  const done = new Set([...progress.partials, ...progress.errors]);
  if (done.size < progress.total) return { kind: 'waiting', done: done.size, total: progress.total };

  const prefix = runPrefix(runId);
  const errors: RunError[] = [...(opts.errors ?? [])];
  for (const id of [...progress.errors].sort()) {
    // A window with both a partial and an error record succeeded on a later attempt.
    if (progress.partials.has(id)) continue;
    const e = await readWindowError(results, `${prefix}${ERRORS_DIR}/${id}.json`);
    errors.push({
      stage: 'window',
      window_id: id,
      file: e.file ?? undefined,
      code: e.code,
      message: e.message,
    });
  }
  const fail = async (extra: RunError[] = []): Promise<MergeOutcome> => {
    const failure: RunFailure = {
      run_id: runId,
      status: 'failed',
      errors: [...errors, ...extra],
      windows: {
        total: progress.total,
        completed: [...progress.partials].length,
        failed: progress.total - progress.partials.size,
      },
      wall_seconds: opts.wallSeconds,
    };
    return { kind: 'failed', key: await writeFailure(results, failure), failure };
  };
  if (errors.length > 0) return fail();

  // Reading can fail transiently (throws: the caller retries); a partial that does not parse, or
  // partials that do not match the plan, are permanent: the run fails with the reason.
  const texts = new Map<string, Uint8Array>();
  for (const w of manifest.windows) {
    texts.set(w.window_id, await results.get(`${prefix}${PARTIALS_DIR}/${w.window_id}.json`));
  }
  let merged: ReturnType<typeof mergeRun>;
  try {
    const partials = new Map<string, WindowPartial>();
    for (const [id, bytes] of texts)
      partials.set(id, parsePartial(`${prefix}${PARTIALS_DIR}/${id}.json`, bytes));
    merged = mergeRun(manifest, partials, opts.runIo);
  } catch (e) {
    return fail([
      { stage: 'merge', code: 'merge_failed', message: e instanceof Error ? e.message : String(e) },
    ]);
  }
  const summary = { ...merged.summary, wall_seconds: opts.wallSeconds };
  const keys = await writeResults(results, runId, merged.tables, summary);
  return { kind: 'completed', keys, summary };
}
