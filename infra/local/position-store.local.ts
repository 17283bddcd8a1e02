/**
 * The embedded position book: an in-memory map plus an append-only journal
 * `<dataDir>/positions.jsonl` (one `{"op":"put","expected_version":n,"position":Position}` per
 * successful put) replayed at start-up; `dataDir: null` keeps it in memory only. Same semantics as
 * the Firestore adapter: versioned puts (0 = must not exist), conflicts report what is stored.
 * Compaction rewrites the journal as `{"op":"snapshot","position":Position}` records.
 */
import { z } from 'zod';
import type { Position } from '../../shared/domain/types.ts';
import type { PositionStore, PositionUpdateResult } from '../../shared/ports/position-store.ts';
import { checkRecord, comparePositions, PositionSchema, parseStored } from '../firestore/codec.ts';
import { copyData } from './copy.ts';
import type { Journal, JournalOptions } from './journal.ts';
import { assertJournaledUsable, journaledHealth, openStoreJournal } from './journaled-store.ts';

export interface LocalPositionStoreOptions extends JournalOptions {
  /** Folder for the journal; null = memory only. */
  dataDir: string | null;
  /** Journal file name inside dataDir (default `positions.jsonl`). */
  fileName?: string;
  /**
   * Compact at start-up (rewrite the journal as one snapshot record per position) when it holds at
   * least this many records and more than twice as many as there are positions (default 10,000;
   * `Infinity` never compacts).
   */
  compactMinRecords?: number;
}

const JournalRecordSchema = z.discriminatedUnion('op', [
  z.object({ op: z.literal('put'), expected_version: z.number().int().min(0), position: PositionSchema }),
  z.object({ op: z.literal('snapshot'), position: PositionSchema }),
]);
type PutRecord = { op: 'put'; expected_version: number; position: Position };
type JournalRecord = PutRecord | { op: 'snapshot'; position: Position };

const key = (accountId: string, instrumentKey: string) => `${accountId}\u0000${instrumentKey}`;

export class LocalPositionStore implements PositionStore {
  private readonly positions = new Map<string, Position>();
  private journal: Journal | null = null;
  private closed = false;

  private constructor() {}

  static async open(opts: LocalPositionStoreOptions): Promise<LocalPositionStore> {
    const store = new LocalPositionStore();
    store.journal = await openStoreJournal(
      opts,
      'positions.jsonl',
      (rec, where) => store.replay(rec, where),
      {
        minRecords: opts.compactMinRecords ?? 10_000,
        factor: 2,
        live: () => store.positions.size,
        snapshot: () => store.snapshotRecords(),
      },
    );
    return store;
  }

  /** An in-memory store (same as `open({dataDir: null})`). */
  static memory(): LocalPositionStore {
    return new LocalPositionStore();
  }

  async get(accountId: string, instrumentKey: string): Promise<Position | null> {
    this.assertUsable();
    const p = this.positions.get(key(accountId, instrumentKey));
    const out = p ? copyData(p) : null;
    await this.durable();
    return out;
  }

  async list(
    filter: { account_id?: string | undefined; instrument_key?: string | undefined } = {},
  ): Promise<Position[]> {
    this.assertUsable();
    const out: Position[] = [];
    for (const p of this.positions.values()) {
      if (filter.account_id !== undefined && p.account_id !== filter.account_id) continue;
      if (filter.instrument_key !== undefined && p.instrument_key !== filter.instrument_key) continue;
      out.push(copyData(p));
    }
    await this.durable();
    return out.sort(comparePositions);
  }

  async put(next: Position, expectedVersion: number): Promise<PositionUpdateResult> {
    this.assertUsable();
    const checked = checkRecord(PositionSchema, next, 'position');
    if (!Number.isInteger(expectedVersion) || expectedVersion < 0) {
      throw new RangeError(`expectedVersion must be an integer >= 0, got ${expectedVersion}`);
    }
    if (checked.version !== expectedVersion + 1) {
      throw new RangeError(
        `next.version must be ${expectedVersion + 1} (expectedVersion + 1), got ${checked.version}`,
      );
    }
    const rec: PutRecord = { op: 'put', expected_version: expectedVersion, position: checked };
    const current = this.apply(rec);
    if (current !== undefined) {
      await this.durable();
      return { ok: false, reason: 'version_conflict', current: current && copyData(current) };
    }
    if (this.journal) await this.journal.append(rec);
    return { ok: true, position: copyData(checked) };
  }

  async health(): Promise<{ ok: boolean; detail?: string }> {
    return journaledHealth('position store', this.closed, this.journal);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.journal?.close();
  }

  private *snapshotRecords(): Generator<JournalRecord> {
    for (const position of this.positions.values()) yield { op: 'snapshot', position };
  }

  /** Apply a put; returns undefined when applied, else what is stored (null = nothing). */
  private apply(rec: PutRecord): Position | null | undefined {
    const k = key(rec.position.account_id, rec.position.instrument_key);
    const stored = this.positions.get(k) ?? null;
    if ((stored?.version ?? 0) !== rec.expected_version) return stored;
    this.positions.set(k, copyData(rec.position));
    return undefined;
  }

  private replay(raw: unknown, where: string): void {
    const rec: JournalRecord = parseStored(JournalRecordSchema, raw, where, 'corrupt_journal');
    if (rec.op === 'snapshot') {
      const k = key(rec.position.account_id, rec.position.instrument_key);
      if (this.positions.has(k)) throw new Error(`${where}: snapshot of a position that already exists`);
      this.positions.set(k, rec.position);
      return;
    }
    if (rec.position.version !== rec.expected_version + 1) {
      throw new Error(`${where}: version ${rec.position.version} does not follow ${rec.expected_version}`);
    }
    if (this.apply(rec) !== undefined) {
      throw new Error(`${where}: put of version ${rec.position.version} does not apply to what is stored`);
    }
  }

  private assertUsable(): void {
    assertJournaledUsable('position store', 'position store', this.closed, this.journal);
  }

  private async durable(): Promise<void> {
    if (this.journal) await this.journal.flushed();
  }
}
