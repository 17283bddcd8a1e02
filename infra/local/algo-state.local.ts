/**
 * The embedded algorithm-state store of the venue edge: a map in memory plus an append-only journal
 * `<dataDir>/algo-states.jsonl` (one `{"op":"put","expected_version":n,"record":AlgoStateRecord}`
 * per successful put, written before `put` resolves) replayed at start-up — so a TWAP running under
 * `npm start` resumes after a restart. `dataDir: null` keeps it in memory only. Same semantics as
 * the Firestore adapter: versioned puts (0 = must not exist), a conflict reports what is stored.
 *
 * Compaction at start-up rewrites the journal as one `{"op":"snapshot","record":...}` per parent,
 * keeping finished (inactive) parents for `maxInactiveAgeMs` after their last update (default 7
 * days) so a late duplicate still finds them; older finished ones are dropped.
 */
import {
  type AlgoStatePutResult,
  type AlgoStateRecord,
  type AlgoStateStore,
  checkAlgoStatePut,
  compareAlgoStateRecords,
  parseAlgoStateRecord,
} from '../../shared/ports/algo-state-store.ts';
import type { Journal, JournalOptions } from './journal.ts';
import { assertJournaledUsable, journaledHealth, openStoreJournal } from './journaled-store.ts';

export interface LocalAlgoStateStoreOptions extends JournalOptions {
  /** Folder for the journal; null = memory only. */
  dataDir: string | null;
  /** Journal file name inside dataDir (default `algo-states.jsonl`). */
  fileName?: string;
  /**
   * Compact at start-up when the journal holds at least this many records and more than twice as
   * many as there are parents (default 10,000; `Infinity` never compacts).
   */
  compactMinRecords?: number;
  /** Finished parents older than this (by ts_updated, against `now`) are dropped at compaction (default 7 days). */
  maxInactiveAgeMs?: number;
  /** Wall clock in ns for the age above (default Date.now). */
  nowNs?: () => bigint;
}

type JournalRecord =
  | { op: 'put'; expected_version: number; record: AlgoStateRecord }
  | { op: 'snapshot'; record: AlgoStateRecord };

export class LocalAlgoStateStore implements AlgoStateStore {
  private readonly records = new Map<string, AlgoStateRecord>();
  private journal: Journal | null = null;
  private closed = false;

  private constructor() {}

  static async open(opts: LocalAlgoStateStoreOptions): Promise<LocalAlgoStateStore> {
    const store = new LocalAlgoStateStore();
    const maxAgeNs = BigInt(Math.max(0, Math.trunc(opts.maxInactiveAgeMs ?? 7 * 86_400_000))) * 1_000_000n;
    const now = opts.nowNs ?? (() => BigInt(Date.now()) * 1_000_000n);
    store.journal = await openStoreJournal(
      opts,
      'algo-states.jsonl',
      (rec, where) => store.replay(rec, where),
      {
        minRecords: opts.compactMinRecords ?? 10_000,
        factor: 2,
        live: () => store.records.size,
        snapshot: () => store.snapshotRecords(now() - maxAgeNs),
      },
    );
    return store;
  }

  /** An in-memory store (same as `open({dataDir: null})`). */
  static memory(): LocalAlgoStateStore {
    return new LocalAlgoStateStore();
  }

  async get(operationId: string): Promise<AlgoStateRecord | null> {
    this.assertUsable();
    const r = this.records.get(operationId);
    const out = r ? structuredClone(r) : null;
    await this.durable();
    return out;
  }

  async put(next: AlgoStateRecord, expectedVersion: number): Promise<AlgoStatePutResult> {
    this.assertUsable();
    const checked = checkAlgoStatePut(next, expectedVersion);
    const stored = this.records.get(checked.operation_id) ?? null;
    if ((stored?.version ?? 0) !== expectedVersion) {
      await this.durable();
      return { ok: false, reason: 'version_conflict', current: stored && structuredClone(stored) };
    }
    // Installed synchronously (the event loop is the lock), answered once journaled.
    this.records.set(checked.operation_id, structuredClone(checked));
    if (this.journal)
      await this.journal.append({ op: 'put', expected_version: expectedVersion, record: checked });
    return { ok: true, record: structuredClone(checked) };
  }

  async listActive(filter: { venue?: string | undefined } = {}): Promise<AlgoStateRecord[]> {
    this.assertUsable();
    const out: AlgoStateRecord[] = [];
    for (const r of this.records.values()) {
      if (!r.active) continue;
      if (filter.venue !== undefined && r.venue !== filter.venue) continue;
      out.push(structuredClone(r));
    }
    await this.durable();
    return out.sort(compareAlgoStateRecords);
  }

  async health(): Promise<{ ok: boolean; detail?: string }> {
    const suffix = `, ${[...this.records.values()].filter((r) => r.active).length} active`;
    return journaledHealth('algo state store', this.closed, this.journal, suffix);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.journal?.close();
  }

  /** Resolves once everything installed so far is journaled (a read never shows unwritten data as durable). */
  private async durable(): Promise<void> {
    if (this.journal) await this.journal.flushed();
  }

  private *snapshotRecords(droppedBefore: bigint): Generator<JournalRecord> {
    for (const [op, record] of this.records) {
      if (!record.active && record.ts_updated < droppedBefore) {
        this.records.delete(op);
        continue;
      }
      yield { op: 'snapshot', record };
    }
  }

  private replay(raw: unknown, where: string): void {
    if (typeof raw !== 'object' || raw === null)
      throw new Error(`${where}: not an algo state journal record`);
    const rec = raw as { op?: unknown; expected_version?: unknown; record?: unknown };
    const record = parseAlgoStateRecord(rec.record, where, 'corrupt_journal');
    if (rec.op === 'snapshot') {
      if (this.records.has(record.operation_id)) {
        throw new Error(`${where}: snapshot of ${record.operation_id}, which already exists`);
      }
      this.records.set(record.operation_id, record);
      return;
    }
    if (rec.op !== 'put' || typeof rec.expected_version !== 'number') {
      throw new Error(`${where}: not an algo state journal record (op ${JSON.stringify(rec.op)})`);
    }
    if (record.version !== rec.expected_version + 1) {
      throw new Error(`${where}: version ${record.version} does not follow ${rec.expected_version}`);
    }
    const stored = this.records.get(record.operation_id);
    if ((stored?.version ?? 0) !== rec.expected_version) {
      throw new Error(`${where}: put of version ${record.version} does not apply to what is stored`);
    }
    this.records.set(record.operation_id, record);
  }

  private assertUsable(): void {
    assertJournaledUsable('algo state store', 'algo state', this.closed, this.journal);
  }
}
