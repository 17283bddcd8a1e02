/**
 * One window end to end: read its ticks from the data store with byte ranges (infra/ticks loader:
 * only the row groups of the window's minutes), simulate it (shared/backtest/window.ts), and write
 * its partial result to `_partials/<window_id>.json` in the results store. Idempotent: a retry
 * computes the same partial and overwrites it.
 *
 * Failures that will never go away (a tick file missing, a corrupt Parquet file, a plan the
 * algorithm cannot run) become a {@link WindowFailedError} naming the window and the file; anything
 * else (a network error) is thrown as is, for the caller to retry.
 */

import type { FileMetaData } from 'hyparquet';
import {
  type BacktestSettings,
  type PlannedFileRead,
  type WindowPartial,
  WindowPartialSchema,
  type WindowPlan,
} from '../../shared/backtest/model.ts';
import { simulateWindow, WindowSimulationError } from '../../shared/backtest/window.ts';
import { daysInWindow, type TickKind, tickFileKey } from '../../shared/data/tick-layout.ts';
import { nanosToIso } from '../../shared/domain/time.ts';
import { type BlobInfo, BlobNotFoundError, type BlobStore } from '../../shared/ports/blob-store.ts';
import type { RiskLimits } from '../../shared/risk/limits.ts';
import { type FooterCache, openParquetBlob, ParquetFileError, type ReadStats } from '../parquet/reader.ts';
import { loadWindow, planFileRead, TickDataMissingError, windowColumns } from '../ticks/loader.ts';
import { partialKey } from './keys.ts';

export interface WindowTask {
  run_id: string;
  window: WindowPlan;
  settings: BacktestSettings;
  limits: RiskLimits;
}

export interface WindowTaskDeps {
  data: BlobStore;
  results: BlobStore;
  /** Parsed footers reused across the windows one worker runs. */
  cache?: FooterCache | undefined;
}

export type WindowFailureCode = 'tick_data_missing' | 'corrupt_parquet' | 'window_failed';

/** A window that cannot succeed; names the window and, when there is one, the file. */
export class WindowFailedError extends Error {
  constructor(
    readonly window_id: string,
    readonly code: WindowFailureCode,
    readonly file: string | null,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'WindowFailedError';
  }
}

/** What a finished window reports back (the partial itself is in the results store). */
export interface WindowOutcome {
  window_id: string;
  fills: number;
  orders: number;
  ticks: number;
  bytes_read: number;
  warnings: number;
}

function describe(w: WindowPlan): string {
  return `window ${w.window_id} (${w.instrument_key} ${nanosToIso(BigInt(w.start_ns))} → ${nanosToIso(BigInt(w.end_ns))})`;
}

/** Map a permanent failure to a WindowFailedError; rethrow anything else. */
export function classifyWindowError(w: WindowPlan, err: unknown): WindowFailedError {
  if (err instanceof WindowFailedError) return err;
  if (err instanceof TickDataMissingError) {
    return new WindowFailedError(
      w.window_id,
      'tick_data_missing',
      err.key,
      `${describe(w)}: ${err.message}`,
      {
        cause: err,
      },
    );
  }
  if (err instanceof ParquetFileError) {
    return new WindowFailedError(w.window_id, 'corrupt_parquet', err.key, `${describe(w)}: ${err.message}`, {
      cause: err,
    });
  }
  if (err instanceof WindowSimulationError) {
    return new WindowFailedError(w.window_id, 'window_failed', null, `${describe(w)}: ${err.message}`, {
      cause: err,
    });
  }
  throw err;
}

/**
 * The tick files a window reads: trades plus the L2 book when every day of the window has one,
 * else trades plus quotes (the engine takes its book from one source).
 */
export async function windowTickFiles(
  data: BlobStore,
  w: WindowPlan,
): Promise<{ kinds: TickKind[]; keys: string[] }> {
  const days = daysInWindow(BigInt(w.start_ns), BigInt(w.end_ns));
  if (days.length === 0) return { kinds: ['trades', 'quotes'], keys: [] };
  const books = await Promise.all(days.map((d) => data.stat(tickFileKey(w.instrument_key, d, 'book'))));
  const kinds: TickKind[] = books.every((b) => b !== null) ? ['trades', 'book'] : ['trades', 'quotes'];
  return { kinds, keys: days.flatMap((d) => kinds.map((k) => tickFileKey(w.instrument_key, d, k))) };
}

/**
 * Plan what every window reads (the manifest's `reads`): each tick file the windows need is stat'ed
 * and its footer read ONCE (counted in `stats`), and each window gets the exact byte
 * ranges of its row groups' column chunks plus the columns' schema, so it reads no footer at all.
 * Which files: trades plus the L2 book when every day of the window has one, else trades plus
 * quotes. A window whose file is missing or unreadable gets no `reads`: it then opens its files
 * itself and fails with an error naming the file, as before.
 */
export async function planWindowReads(
  data: BlobStore,
  windows: readonly WindowPlan[],
  stats: ReadStats,
): Promise<WindowPlan[]> {
  const stats0 = new Map<string, Promise<BlobInfo | null>>();
  const statOnce = (key: string) => {
    let p = stats0.get(key);
    if (!p) {
      p = data.stat(key);
      stats0.set(key, p);
    }
    return p;
  };
  // Parsed footers by key, with their day. A 1,440-row-group footer is a few MB of objects, so
  // footers are dropped once no later window can need them: windows come in start order, and a
  // window never reads a day before the one it starts on.
  const footers = new Map<
    string,
    { day: string; footer: Promise<{ metadata: FileMetaData; size: number } | null> }
  >();
  const footerOnce = (key: string, day: string) => {
    let e = footers.get(key);
    if (!e) {
      const footer = (async () => {
        if ((await statOnce(key)) === null) return null;
        try {
          const o = await openParquetBlob(data, key, { stats });
          return { metadata: o.metadata, size: o.file.byteLength };
        } catch (err) {
          if (err instanceof ParquetFileError || err instanceof BlobNotFoundError) return null;
          throw err;
        }
      })();
      e = { day, footer };
      footers.set(key, e);
    }
    return e.footer;
  };
  const out: WindowPlan[] = [];
  for (const w of windows) {
    const from = BigInt(w.start_ns);
    const to = BigInt(w.end_ns);
    const days = daysInWindow(from, to);
    const firstDay = days[0];
    if (firstDay === undefined || to <= from) {
      out.push(w);
      continue;
    }
    for (const [key, e] of footers) if (e.day < firstDay) footers.delete(key);
    const books = await Promise.all(days.map((d) => statOnce(tickFileKey(w.instrument_key, d, 'book'))));
    const kinds: TickKind[] = books.every((b) => b !== null) ? ['trades', 'book'] : ['trades', 'quotes'];
    const files: PlannedFileRead[] = [];
    let complete = true;
    for (const day of days) {
      for (const kind of kinds) {
        const key = tickFileKey(w.instrument_key, day, kind);
        const f = await footerOnce(key, day);
        if (f === null) {
          complete = false;
          continue;
        }
        try {
          files.push(planFileRead({ key, ...f }, kind, day, windowColumns(kind), from, to));
        } catch (e) {
          if (!(e instanceof ParquetFileError)) throw e;
          complete = false;
        }
      }
    }
    out.push(complete ? { ...w, reads: { kinds, files } } : w);
  }
  return out;
}

/** Compute a window's partial result (no write). */
export async function computeWindow(
  deps: Pick<WindowTaskDeps, 'data' | 'cache'>,
  task: WindowTask,
): Promise<WindowPartial> {
  const w = task.window;
  try {
    const from = BigInt(w.start_ns);
    const to = BigInt(w.end_ns);
    // Planned byte ranges when the manifest has them (no footer, no stat); else open the files.
    const kinds = w.reads?.kinds ?? (to > from ? (await windowTickFiles(deps.data, w)).kinds : []);
    const ticks =
      to > from
        ? await loadWindow(
            deps.data,
            { instrument_key: w.instrument_key, fromNs: from, toNs: to, kinds },
            { cache: deps.cache, planned: w.reads },
          )
        : null;
    const sim = simulateWindow({
      window: w,
      settings: task.settings,
      limits: task.limits,
      ticks: ticks ?? {},
    });
    return {
      version: 1,
      run_id: task.run_id,
      ...sim,
      io: {
        bytes_read: ticks?.bytes_read ?? 0,
        bytes_total: ticks?.bytes_total ?? 0,
        requests: ticks?.requests ?? 0,
        files: (ticks?.files ?? []).map((f) => ({
          key: f.key,
          bytes_total: f.bytes_total,
          bytes_read: f.bytes_read,
          row_group_bytes: f.row_group_bytes,
          rows_read: f.rows_read,
          rows_in_window: f.rows_in_window,
        })),
      },
    };
  } catch (err) {
    throw classifyWindowError(w, err);
  }
}

/** The partial's JSON text (one line; stable key order). */
export function partialText(p: WindowPartial): string {
  return `${JSON.stringify(p)}\n`;
}

/** Read and validate a partial; a bad one names its key. */
export function parsePartial(key: string, bytes: Uint8Array): WindowPartial {
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder().decode(bytes));
  } catch (e) {
    throw new Error(`partial ${key} is not JSON: ${e instanceof Error ? e.message : String(e)}`);
  }
  const r = WindowPartialSchema.safeParse(json);
  if (!r.success) {
    const first = r.error.issues[0];
    throw new Error(
      `partial ${key} is invalid at ${first?.path.join('.') ?? ''}: ${first?.message ?? 'unknown'}`,
    );
  }
  return r.data;
}

/** Run one window and write its partial. */
export async function runWindowTask(deps: WindowTaskDeps, task: WindowTask): Promise<WindowOutcome> {
  const partial = await computeWindow(deps, task);
  await deps.results.put(partialKey(task.run_id, task.window.window_id), partialText(partial), {
    contentType: 'application/json',
  });
  return {
    window_id: partial.window_id,
    fills: partial.fills.length,
    orders: partial.orders.length,
    ticks: partial.ticks.trades + partial.ticks.quotes + partial.ticks.book,
    bytes_read: partial.io.bytes_read,
    warnings: partial.warnings.length,
  };
}
