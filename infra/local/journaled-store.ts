/**
 * What every embedded store does around its journal (journal.ts): open `<dataDir>/<fileName>` (or
 * nothing when `dataDir` is null: memory only), compact at start-up when the journal has grown well
 * past the live state, and refuse use once closed or once a journal write has failed.
 */
import { join } from 'node:path';
import { Journal, type JournalOptions, type ReplayFn } from './journal.ts';

export interface JournaledStoreOptions extends JournalOptions {
  /** Folder for the journal; null = memory only (nothing survives the process). */
  dataDir: string | null;
  /** Journal file name inside dataDir (each store has its default). */
  fileName?: string;
}

/** When to rewrite the journal at start-up as a snapshot of the live state. */
export interface Compaction {
  /** Compact only when the journal holds at least this many records... */
  minRecords: number;
  /** ...and more than `factor` × `live()` of them. */
  factor: number;
  /** How many records a snapshot would hold (orders, positions, scopes, ...). */
  live: () => number;
  /** The snapshot records (asked only when compacting). */
  snapshot: () => Iterable<unknown>;
}

/** Open the store's journal, replaying every record through `replay`; null when memory only. */
export async function openStoreJournal(
  opts: JournaledStoreOptions,
  defaultFileName: string,
  replay: ReplayFn,
  compaction?: Compaction,
): Promise<Journal | null> {
  if (opts.dataDir === null) return null;
  const path = join(opts.dataDir, opts.fileName ?? defaultFileName);
  if (compaction === undefined) return Journal.open(path, replay, opts);
  const { minRecords, factor, live, snapshot } = compaction;
  return Journal.open(path, replay, {
    ...opts,
    snapshot: (replayed) => (replayed >= minRecords && replayed > factor * live() ? snapshot() : null),
  });
}

/** `health()` of a store named `what` (e.g. `order store`); `suffix` is appended to an ok detail. */
export function journaledHealth(
  what: string,
  closed: boolean,
  journal: Journal | null,
  suffix = '',
): { ok: boolean; detail?: string } {
  if (closed) return { ok: false, detail: `${what} is closed` };
  const failure = journal?.failure;
  if (failure) return { ok: false, detail: failure.message };
  return journal
    ? { ok: true, detail: `journal ${journal.path}${suffix}` }
    : { ok: true, detail: `memory only${suffix}` };
}

/** Throw unless the store named `what` is open and its journal (named `journalWhat`) is healthy. */
export function assertJournaledUsable(
  what: string,
  journalWhat: string,
  closed: boolean,
  journal: Journal | null,
): void {
  if (closed) throw new Error(`${what} is closed`);
  const failure = journal?.failure;
  if (failure) {
    throw new Error(
      `${journalWhat} journal failed; restart to recover from the journal: ${failure.message}`,
      {
        cause: failure,
      },
    );
  }
}
