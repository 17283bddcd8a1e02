/**
 * The merge step over the results store (local runner and `backtest-merge` function): list the
 * run's `_partials/` and `_errors/`, and when every planned window is accounted for write either
 * the five result files (summary.json last) or summary.failed.json. Idempotent and safe to run
 * again or concurrently: partials are keyed by window id (a retried window overwrote its own file,
 * so it counts once), ids not in the manifest are ignored, and the merge of the same partials
 * writes the same bytes.
 *
 * The cloud merge runs once per done message, so what one message costs must not grow with the
 * run: `noteWindowDone` counts completions by blocks of 100 window ids (list the message's block
 * in `_partials/` and `_errors/`; the message that finds its block complete writes
 * `_blocks/<block>.json` and lists `_blocks/`) against the window count in `_windows.json`. Only a
 * message that finds every block done reads the manifest and merges. Correct under concurrency and
 * redelivery because every window writes its partial (or error) before publishing its done
 * message and listings are strongly consistent: the last window of a block to finish sees the
 * block complete, and the last block to complete sees every block marker.
 */

import { z } from 'zod';
import { mergeRun, type RunIo } from '../../shared/backtest/merge.ts';
import {
  type Manifest,
  type WindowError,
  WindowErrorSchema,
  type WindowPartial,
  windowIdOf,
} from '../../shared/backtest/model.ts';
import type { BlobStore } from '../../shared/ports/blob-store.ts';
import {
  BLOCKS_DIR,
  blockKey,
  ERRORS_DIR,
  PARTIALS_DIR,
  resultKey,
  runPrefix,
  SUMMARY_FILE,
  WINDOWS_FILE,
  windowIdOfKey,
} from './keys.ts';
import { readRunJson } from './plan-run.ts';
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

/** Windows a completion block holds: one listing page, whatever the run's size. */
export const MERGE_BLOCK_WINDOWS = 100;

/** The index of a window id (`w000123` → 123). */
function windowIndex(windowId: string): number {
  return Number.parseInt(windowId.slice(1), 10);
}

/**
 * The id prefix shared by the windows of a block (`w0001` for w000100–w000199). Ids past
 * w999999 grow a digit, so a listing by prefix may return ids of another block: callers filter
 * by index.
 */
function blockPrefix(block: number): string {
  return `w${String(block).padStart(4, '0')}`;
}

/** `_windows.json`: written by the planner before any window message is published. */
export const RunWindowsSchema = z.strictObject({
  version: z.literal(1),
  run_id: z.string(),
  windows: z.number().int().nonnegative(),
});
export type RunWindows = z.output<typeof RunWindowsSchema>;

export async function writeRunWindows(results: BlobStore, manifest: Manifest): Promise<void> {
  manifest.windows.forEach((w, i) => {
    if (w.window_id !== windowIdOf(i))
      throw new Error(
        `manifest ${manifest.run_id}: window ${i} is ${w.window_id}, expected ${windowIdOf(i)}`,
      );
  });
  const body: RunWindows = { version: 1, run_id: manifest.run_id, windows: manifest.windows.length };
  await results.put(resultKey(manifest.run_id, WINDOWS_FILE), `${JSON.stringify(body)}\n`, {
    contentType: 'application/json',
  });
}

/** The planned window count; null for a run planned without `_windows.json` (count via the manifest). */
export async function readRunWindows(results: BlobStore, runId: string): Promise<number | null> {
  const key = resultKey(runId, WINDOWS_FILE);
  const r = await readRunJson(results, key, RunWindowsSchema, 'window count');
  if (r !== null && r.run_id !== runId) throw new Error(`window count ${key} names run ${r.run_id}`);
  return r?.windows ?? null;
}

export type DoneProgress =
  | { kind: 'unknown_window' }
  | { kind: 'block_waiting'; block: number; done: number; size: number }
  | { kind: 'run_waiting'; block: number; blocks_done: number; blocks: number }
  | { kind: 'all_done'; blocks: number };

/**
 * Record that `windowId` of a run of `total` windows finished and say whether the run may be
 * complete (see the module comment). Store operations per call: 2 listings of at most one block,
 * plus a marker write and a listing of the markers for the message that completes its block.
 */
export async function noteWindowDone(
  results: BlobStore,
  runId: string,
  windowId: string,
  total: number,
): Promise<DoneProgress> {
  const index = windowIndex(windowId);
  if (!Number.isSafeInteger(index) || index < 0 || index >= total || windowIdOf(index) !== windowId)
    return { kind: 'unknown_window' };
  const block = Math.floor(index / MERGE_BLOCK_WINDOWS);
  const lo = block * MERGE_BLOCK_WINDOWS;
  const size = Math.min(MERGE_BLOCK_WINDOWS, total - lo);
  const prefix = runPrefix(runId);
  const inBlock = (keys: Array<{ key: string }>) =>
    keys
      .map((b) => windowIdOfKey(b.key))
      .filter((id): id is string => id !== null)
      .map(windowIndex)
      .filter((i) => i >= lo && i < lo + size);
  const [partials, errors] = await Promise.all([
    results.list(`${prefix}${PARTIALS_DIR}/${blockPrefix(block)}`),
    results.list(`${prefix}${ERRORS_DIR}/${blockPrefix(block)}`),
  ]);
  const done = new Set([...inBlock(partials), ...inBlock(errors)]).size;
  if (done < size) return { kind: 'block_waiting', block, done, size };

  const blocks = Math.ceil(total / MERGE_BLOCK_WINDOWS);
  const name = blockPrefix(block);
  await results.put(blockKey(runId, name), `${JSON.stringify({ block: name, windows: size })}\n`, {
    contentType: 'application/json',
  });
  const markers = await results.list(`${prefix}${BLOCKS_DIR}/`);
  const seen = new Set<number>();
  for (const m of markers) {
    const b = /\/_blocks\/w(\d{4,})\.json$/.exec(m.key)?.[1];
    if (b === undefined) continue;
    const n = Number.parseInt(b, 10);
    if (n < blocks && blockPrefix(n) === `w${b}`) seen.add(n);
  }
  return seen.size < blocks
    ? { kind: 'run_waiting', block, blocks_done: seen.size, blocks }
    : { kind: 'all_done', blocks };
}
