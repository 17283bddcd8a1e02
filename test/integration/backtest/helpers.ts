/** Shared helpers of the backtest integration tests (not a test file). */
import { cp, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { FAILED_FILE, RESULT_FILES, resultKey, SUMMARY_FILE } from '../../../infra/backtest/keys.ts';
import { type LocalRunResult, runLocalBacktest } from '../../../infra/backtest/runner.ts';
import { LocalBlobStore } from '../../../infra/local/blob-store.local.ts';
import { generateData } from '../../../scripts/generate-data.ts';
import { DEFAULT_BACKTEST_SETTINGS } from '../../../shared/backtest/model.ts';
import type { BlobStore } from '../../../shared/ports/blob-store.ts';
import { NO_LIMITS, type RiskLimits } from '../../../shared/risk/limits.ts';

export const DAY = '2025-07-01';

/** Risk limits as the embedded configuration sets them (velocity, notional, tolerance). */
export const LIMITS: RiskLimits = {
  ...NO_LIMITS,
  max_orders_per_second: 10,
  max_orders_per_minute: 100,
  max_notional_per_order: '1000000',
  max_total_notional: '10000000',
  price_tolerance_bps: 500,
};

export async function tempDir(label: string): Promise<string> {
  return mkdtemp(path.join(tmpdir(), `bt-${label}-`));
}

/** A generated market (1 day, all default instruments, 29 sample signals) in a fresh folder. */
export async function generatedData(
  label: string,
  tradesPerDay = 20_000,
): Promise<{ root: string; signals: string }> {
  const root = await tempDir(label);
  await generateData(new LocalBlobStore(root, { durable: false }), {
    start: DAY,
    days: 1,
    seed: 7,
    tradesPerDay,
  });
  return { root, signals: await readFile(path.join(root, 'signals/sample.jsonl'), 'utf8') };
}

/** A copy of a data folder to break things in. */
export async function copyData(root: string, label: string): Promise<string> {
  const dir = await tempDir(label);
  await cp(root, dir, { recursive: true });
  return dir;
}

export interface RunArgs {
  data: string;
  out: string;
  signals: string;
  runId?: string;
  workers?: number;
  inline?: boolean;
  limits?: RiskLimits;
}

export function run(a: RunArgs): Promise<LocalRunResult> {
  return runLocalBacktest({
    signals: { text: a.signals, source: 'sample.jsonl' },
    data: new LocalBlobStore(a.data, { durable: false }),
    dataLocation: a.data,
    results: new LocalBlobStore(a.out, { durable: false }),
    resultsLocation: a.out,
    runId: a.runId ?? 'run-a',
    settings: DEFAULT_BACKTEST_SETTINGS,
    limits: a.limits ?? LIMITS,
    workers: a.workers ?? 1,
    inline: a.inline ?? false,
  });
}

export function resultPath(out: string, runId: string, file: string): string {
  return path.join(out, resultKey(runId, file));
}

/** The run's five files: Parquet bytes, and the summary without wall_seconds. */
export async function outputs(
  out: string,
  runId: string,
): Promise<{ parquet: Buffer[]; summary: Record<string, unknown> }> {
  const parquet = await Promise.all(RESULT_FILES.map((f) => readFile(resultPath(out, runId, f))));
  const summary = JSON.parse(await readFile(resultPath(out, runId, SUMMARY_FILE), 'utf8')) as Record<
    string,
    unknown
  >;
  delete summary.wall_seconds;
  return { parquet, summary };
}

export async function exists(p: string): Promise<boolean> {
  return readFile(p).then(
    () => true,
    () => false,
  );
}

export async function failedDoc(
  out: string,
  runId: string,
): Promise<{ errors: Array<Record<string, unknown>> }> {
  return JSON.parse(await readFile(resultPath(out, runId, FAILED_FILE), 'utf8')) as {
    errors: Array<Record<string, unknown>>;
  };
}

export async function removeAll(...dirs: string[]): Promise<void> {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
}

/** Upload a local data folder to a store (skipping the local store's temp folder); the file count. */
export async function uploadFolder(root: string, store: BlobStore): Promise<number> {
  let n = 0;
  const walk = async (dir: string): Promise<void> => {
    for (const e of await readdir(dir, { withFileTypes: true })) {
      const full = path.join(dir, e.name);
      if (e.isDirectory()) {
        if (e.name !== '.blobstore-tmp') await walk(full);
      } else {
        await store.put(path.relative(root, full).split(path.sep).join('/'), await readFile(full));
        n++;
      }
    }
  };
  await walk(root);
  return n;
}
