/**
 * The reconciliation log: every difference the reconciler found (and resolved), with the correction
 * recorded for it, plus the balance baseline per venue (shared/recon/balances.ts). It is the
 * durable memory of reconciliation: a difference still open after a restart is not reported again,
 * and the balance baseline survives restarts.
 *
 * - {@link MemoryReconciliationLog}: in memory (tests, and a process that keeps no history);
 * - {@link LocalReconciliationLog}: the memory log journaled to `<dataDir>/reconciliation.jsonl`
 *   (records `{op: "entry", entry}` and `{op: "baseline", baseline}`), replayed at start.
 *
 * The cloud deployment can back this port with a Firestore collection
 * (`<prefix>reconciliation_log/{venue}|{run_id}|{key}|{state}`, `<prefix>reconciliation_baselines/{venue}`)
 * — same records, same semantics.
 */
import { join } from 'node:path';
import { z } from 'zod';
import { Journal, type JournalOptions } from '../../../infra/local/journal.ts';
import type { Nanos } from '../../../shared/domain/time.ts';
import type { BalanceBaseline } from '../../../shared/recon/balances.ts';
import {
  CORRECTION_OUTCOMES,
  RECONCILER_KINDS,
  type ReconcilerKind,
} from '../../../shared/recon/messages.ts';

/** One recorded difference (found or resolved). */
export interface ReconciliationLogEntry {
  venue: string;
  run_id: string;
  kind: ReconcilerKind;
  key: string;
  state: 'found' | 'resolved';
  /** Still open after this entry: found and not corrected. */
  open: boolean;
  /** Identifies the values: the same key with another fingerprint is recorded again. */
  fingerprint: string;
  operation_id: string | null;
  instrument_key: string | null;
  ours: string | null;
  theirs: string | null;
  message: string;
  detail: Record<string, string | null>;
  correction: { kind: string; outcome: (typeof CORRECTION_OUTCOMES)[number]; detail: string } | null;
  ts_event: Nanos;
}

export interface ReconciliationLog {
  append(entries: readonly ReconciliationLogEntry[]): Promise<void>;
  /** Newest first, at most `limit` (default 100). */
  entries(filter?: {
    venue?: string | undefined;
    limit?: number | undefined;
  }): Promise<ReconciliationLogEntry[]>;
  /** The venue's open differences: key → the entry that opened it. */
  open(venue: string): Promise<Map<string, ReconciliationLogEntry>>;
  baseline(venue: string): Promise<BalanceBaseline | null>;
  setBaseline(baseline: BalanceBaseline): Promise<void>;
  close(): Promise<void>;
}

export const ReconciliationLogEntrySchema = z.strictObject({
  venue: z.string().min(1),
  run_id: z.string().min(1),
  kind: z.enum(RECONCILER_KINDS),
  key: z.string().min(1),
  state: z.enum(['found', 'resolved']),
  open: z.boolean(),
  fingerprint: z.string(),
  operation_id: z.string().nullable(),
  instrument_key: z.string().nullable(),
  ours: z.string().nullable(),
  theirs: z.string().nullable(),
  message: z.string(),
  detail: z.record(z.string(), z.string().nullable()),
  correction: z
    .strictObject({ kind: z.string(), outcome: z.enum(CORRECTION_OUTCOMES), detail: z.string() })
    .nullable(),
  ts_event: z.bigint(),
});

export const BalanceBaselineSchema = z.strictObject({
  venue: z.string().min(1),
  assets: z.record(z.string(), z.string().regex(/^-?\d+(\.\d+)?$/)),
  ts_updated: z.string().regex(/^\d+$/),
});

const RecordSchema = z.discriminatedUnion('op', [
  z.strictObject({ op: z.literal('entry'), entry: ReconciliationLogEntrySchema }),
  z.strictObject({ op: z.literal('baseline'), baseline: BalanceBaselineSchema }),
]);

/** Entries kept in memory per venue (the journal keeps everything). */
const KEEP_PER_VENUE = 10_000;

export class MemoryReconciliationLog implements ReconciliationLog {
  protected readonly list = new Map<string, ReconciliationLogEntry[]>();
  protected readonly openByVenue = new Map<string, Map<string, ReconciliationLogEntry>>();
  protected readonly baselines = new Map<string, BalanceBaseline>();

  async append(entries: readonly ReconciliationLogEntry[]): Promise<void> {
    for (const e of entries) this.apply(structuredClone(e));
  }

  async entries(
    filter: { venue?: string | undefined; limit?: number | undefined } = {},
  ): Promise<ReconciliationLogEntry[]> {
    const limit = filter.limit ?? 100;
    const all =
      filter.venue !== undefined ? [...(this.list.get(filter.venue) ?? [])] : [...this.list.values()].flat();
    all.sort((a, b) => (a.ts_event === b.ts_event ? 0 : a.ts_event < b.ts_event ? 1 : -1));
    return all.slice(0, limit).map((e) => structuredClone(e));
  }

  async open(venue: string): Promise<Map<string, ReconciliationLogEntry>> {
    return new Map(
      [...(this.openByVenue.get(venue) ?? new Map<string, ReconciliationLogEntry>())].map(([k, e]) => [
        k,
        structuredClone(e),
      ]),
    );
  }

  async baseline(venue: string): Promise<BalanceBaseline | null> {
    const b = this.baselines.get(venue);
    return b === undefined ? null : structuredClone(b);
  }

  async setBaseline(baseline: BalanceBaseline): Promise<void> {
    this.baselines.set(baseline.venue, structuredClone(baseline));
  }

  async close(): Promise<void> {}

  protected apply(e: ReconciliationLogEntry): void {
    const list = this.list.get(e.venue) ?? [];
    list.push(e);
    if (list.length > KEEP_PER_VENUE) list.splice(0, list.length - KEEP_PER_VENUE);
    this.list.set(e.venue, list);
    const open = this.openByVenue.get(e.venue) ?? new Map<string, ReconciliationLogEntry>();
    if (e.open) open.set(e.key, e);
    else open.delete(e.key);
    this.openByVenue.set(e.venue, open);
  }
}

export interface LocalReconciliationLogOptions extends JournalOptions {
  dataDir: string;
  /** Default `reconciliation.jsonl`. */
  fileName?: string | undefined;
}

export class LocalReconciliationLog extends MemoryReconciliationLog {
  private journal: Journal | null = null;

  static async open(opts: LocalReconciliationLogOptions): Promise<LocalReconciliationLog> {
    const log = new LocalReconciliationLog();
    const path = join(opts.dataDir, opts.fileName ?? 'reconciliation.jsonl');
    const journalOpts: JournalOptions = {};
    if (opts.fsync !== undefined) journalOpts.fsync = opts.fsync;
    if (opts.warn !== undefined) journalOpts.warn = opts.warn;
    log.journal = await Journal.open(path, (rec, where) => log.replay(rec, where), journalOpts);
    return log;
  }

  override async append(entries: readonly ReconciliationLogEntry[]): Promise<void> {
    const journal = this.usable();
    for (const e of entries) ReconciliationLogEntrySchema.parse(e);
    await super.append(entries);
    await Promise.all(entries.map((entry) => journal.append({ op: 'entry', entry })));
  }

  override async setBaseline(baseline: BalanceBaseline): Promise<void> {
    const journal = this.usable();
    BalanceBaselineSchema.parse(baseline);
    await super.setBaseline(baseline);
    await journal.append({ op: 'baseline', baseline });
  }

  override async close(): Promise<void> {
    const j = this.journal;
    this.journal = null;
    await j?.close();
  }

  private usable(): Journal {
    if (this.journal === null) throw new Error('the reconciliation log is closed');
    return this.journal;
  }

  private replay(raw: unknown, where: string): void {
    const r = RecordSchema.safeParse(raw);
    if (!r.success) {
      const i = r.error.issues[0];
      throw new Error(
        `${where}: not a reconciliation log record: ${i?.path.join('.') ?? ''} ${i?.message ?? ''}`,
      );
    }
    if (r.data.op === 'entry') this.apply(r.data.entry);
    else this.baselines.set(r.data.baseline.venue, r.data.baseline);
  }
}
