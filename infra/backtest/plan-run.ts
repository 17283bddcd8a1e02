/**
 * Planning a run from its inputs (shared by the local runner and the `backtest-planner` function):
 * signals text → validated signals (their instruments from `instruments/<day>.json` in the data
 * store, the latest file on or before each signal's day) → windows → each tick file's footer read
 * once, giving every window the byte ranges of its row groups → the manifest, written to
 * `backtest_results/<run_id>/_manifest.json`.
 */
import { createHash } from 'node:crypto';
import type { z } from 'zod';
import {
  type BacktestSettings,
  type Manifest,
  ManifestSchema,
  type WindowPlan,
  type WindowTaskFile,
  WindowTaskFileSchema,
} from '../../shared/backtest/model.ts';
import { planWindows } from '../../shared/backtest/planner.ts';
import {
  type InstrumentLookup,
  parseSignalLines,
  resolveSignalInstruments,
  signalDays,
} from '../../shared/backtest/signals.ts';
import { utcDayOf } from '../../shared/data/tick-layout.ts';
import { findInstrument, type InstrumentIndex, indexInstruments } from '../../shared/domain/instrument.ts';
import { BlobNotFoundError, type BlobStore } from '../../shared/ports/blob-store.ts';
import type { RiskLimits } from '../../shared/risk/limits.ts';
import { newReadStats, type ReadStats } from '../parquet/reader.ts';
import { InstrumentsMissingError, loadInstrumentSpecs } from '../ticks/instruments.ts';
import { manifestKey, taskKey } from './keys.ts';
import { planWindowReads } from './window-task.ts';

export function sha256Hex(bytes: Uint8Array | string): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/**
 * A run id derived from the inputs (`bt-` + 12 hex digits of a SHA-256 over the signals, settings
 * and limits): the same inputs give the same id, so re-running overwrites the same results.
 */
export function defaultRunId(
  signals: Uint8Array | string,
  settings: BacktestSettings,
  limits: RiskLimits,
): string {
  const h = createHash('sha256');
  h.update(typeof signals === 'string' ? signals : Buffer.from(signals));
  h.update('\u0000');
  h.update(JSON.stringify(settings));
  h.update('\u0000');
  h.update(JSON.stringify(limits));
  return `bt-${h.digest('hex').slice(0, 12)}`;
}

/** An instrument lookup over the instrument files that apply on the signals' days. */
export async function instrumentLookup(data: BlobStore, days: readonly string[]): Promise<InstrumentLookup> {
  const byDay = new Map<string, { file: string; index: InstrumentIndex } | null>();
  for (const day of days) {
    try {
      const { key, specs } = await loadInstrumentSpecs(data, day);
      byDay.set(day, { file: key, index: indexInstruments(specs) });
    } catch (e) {
      if (e instanceof InstrumentsMissingError) byDay.set(day, null);
      else throw e;
    }
  }
  return (instrumentKey, tsNs) => {
    const entry = byDay.get(utcDayOf(tsNs)) ?? null;
    if (entry === null) return { spec: undefined, file: null };
    const spec = findInstrument(entry.index, instrumentKey);
    return spec === undefined ? { spec: undefined, file: entry.file } : { spec, file: entry.file };
  };
}

export interface PlanRunInput {
  run_id: string;
  /** Counts the footer bytes the planner reads (the run's only footer reads). */
  stats?: ReadStats | undefined;
  /** The signals file's text and a name for messages (e.g. the file name). */
  signals: { text: string; source: string };
  settings: BacktestSettings;
  limits: RiskLimits;
  data: BlobStore;
}

/**
 * Validate the signals and plan the windows. Throws a ValidationError (`invalid_signals`) naming
 * the file, the line and the field of every bad signal (unknown instruments included).
 */
export async function planRun(input: PlanRunInput): Promise<Manifest> {
  const { settings, limits } = input;
  const source = input.signals.source;
  const parsed = parseSignalLines(input.signals.text, source);
  const lookup = await instrumentLookup(input.data, signalDays(parsed));
  const resolved = resolveSignalInstruments(parsed, lookup, source);
  const plan = planWindows(resolved, {
    window_minutes: settings.window_minutes,
    seed: settings.seed,
    source,
  });
  // Each tick file's footer once, here: every window gets its row groups' byte ranges.
  const windows = await planWindowReads(input.data, plan.windows, input.stats ?? newReadStats());
  const manifest: Manifest = {
    version: 1,
    run_id: input.run_id,
    settings,
    risk_limits: limits,
    signals: {
      source,
      sha256: sha256Hex(input.signals.text),
      count: resolved.length,
      strategies: [...new Set(resolved.map((s) => s.strategy_id))].sort(),
      instruments: [...new Set(resolved.map((s) => s.instrument_key))].sort(),
    },
    period: plan.period,
    windows,
    skipped: plan.skipped,
  };
  // The manifest must read back as it was written (workers and the merge validate it).
  return ManifestSchema.parse(JSON.parse(JSON.stringify(manifest)));
}

export function manifestText(m: Manifest): string {
  return `${JSON.stringify(m)}\n`;
}

export async function writeManifest(results: BlobStore, m: Manifest): Promise<void> {
  await results.put(manifestKey(m.run_id), manifestText(m), { contentType: 'application/json' });
}

/** Write one window's task file (idempotent: the same manifest gives the same bytes). */
export async function writeWindowTask(results: BlobStore, m: Manifest, window: WindowPlan): Promise<void> {
  const task: WindowTaskFile = {
    version: 1,
    run_id: m.run_id,
    settings: m.settings,
    risk_limits: m.risk_limits,
    window,
  };
  await results.put(taskKey(m.run_id, window.window_id), `${JSON.stringify(task)}\n`, {
    contentType: 'application/json',
  });
}

/**
 * A small JSON file of a run validated by `schema`: null when absent; an Error naming the key (and
 * the first bad field) when it is not JSON or invalid.
 */
export async function readRunJson<T>(
  results: BlobStore,
  key: string,
  schema: z.ZodType<T>,
  what: string,
): Promise<T | null> {
  let bytes: Uint8Array;
  try {
    bytes = await results.get(key);
  } catch (e) {
    if (e instanceof BlobNotFoundError) return null;
    throw e;
  }
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder().decode(bytes));
  } catch (e) {
    throw new Error(`${what} ${key} is not JSON: ${e instanceof Error ? e.message : String(e)}`);
  }
  const r = schema.safeParse(json);
  if (!r.success) {
    const first = r.error.issues[0];
    throw new Error(`${what} ${key} is invalid at ${first?.path.join('.') ?? ''}: ${first?.message ?? ''}`);
  }
  return r.data;
}

/**
 * A window's task file; null when absent (a run planned before task files existed: read the
 * manifest); an Error naming the key when it is invalid.
 */
export function readWindowTask(
  results: BlobStore,
  runId: string,
  windowId: string,
): Promise<WindowTaskFile | null> {
  return readRunJson(results, taskKey(runId, windowId), WindowTaskFileSchema, 'window task');
}

/** Read a run's manifest; null when absent; an Error naming the key when it is invalid. */
export async function readManifest(results: BlobStore, runId: string): Promise<Manifest | null> {
  const key = manifestKey(runId);
  if ((await results.stat(key)) === null) return null;
  const bytes = await results.get(key);
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder().decode(bytes));
  } catch (e) {
    throw new Error(`manifest ${key} is not JSON: ${e instanceof Error ? e.message : String(e)}`);
  }
  const r = ManifestSchema.safeParse(json);
  if (!r.success) {
    const first = r.error.issues[0];
    throw new Error(`manifest ${key} is invalid at ${first?.path.join('.') ?? ''}: ${first?.message ?? ''}`);
  }
  return r.data;
}
