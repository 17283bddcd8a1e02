/**
 * The embedded lease store: the leases in memory, every change appended to
 * `<dataDir>/leases.jsonl` (`{"op":"set","lease":{...}}`) and replayed at start-up, so the fencing
 * token keeps increasing across restarts. `memory()` keeps them in memory only. One process owns a
 * data folder (like every local store), so within it the store is the single arbiter; the
 * embedded default takes its venue-edge lease here through the same code path as on Firestore.
 */
import type { Nanos } from '../../shared/domain/time.ts';
import {
  decideAcquire,
  decideRelease,
  decideRenew,
  type LeaseRecord,
  type LeaseResult,
  type LeaseStore,
  leaseActive,
  parseLeaseRecord,
} from '../../shared/ports/lease-store.ts';
import type { Journal, JournalOptions } from './journal.ts';
import { assertJournaledUsable, journaledHealth, openStoreJournal } from './journaled-store.ts';

export interface LocalLeaseStoreOptions extends JournalOptions {
  /** Folder for the journal; null = memory only. */
  dataDir: string | null;
  /** Journal file name inside dataDir (default `leases.jsonl`). */
  fileName?: string;
}

export class LocalLeaseStore implements LeaseStore {
  private readonly leases = new Map<string, LeaseRecord>();
  private journal: Journal | null = null;
  private closed = false;

  private constructor() {}

  static async open(opts: LocalLeaseStoreOptions): Promise<LocalLeaseStore> {
    const store = new LocalLeaseStore();
    store.journal = await openStoreJournal(opts, 'leases.jsonl', (rec, where) => store.replay(rec, where));
    return store;
  }

  static memory(): LocalLeaseStore {
    return new LocalLeaseStore();
  }

  private async change(
    name: string,
    decide: (current: LeaseRecord | null) => LeaseResult,
  ): Promise<LeaseResult> {
    this.assertUsable();
    const result = decide(this.leases.get(name) ?? null);
    if (result.ok) {
      this.leases.set(name, result.lease);
      if (this.journal) await this.journal.append({ op: 'set', lease: result.lease });
    }
    return structuredClone(result);
  }

  acquire(name: string, holder: string, ttlMs: number, now: Nanos): Promise<LeaseResult> {
    return this.change(name, (current) => decideAcquire(current, name, holder, ttlMs, now));
  }

  renew(name: string, holder: string, token: number, ttlMs: number, now: Nanos): Promise<LeaseResult> {
    return this.change(name, (current) => decideRenew(current, name, holder, token, ttlMs, now));
  }

  async release(name: string, holder: string, token: number, now: Nanos): Promise<boolean> {
    const result = await this.change(name, (current) => {
      const next = decideRelease(current, holder, token, now);
      return next === null ? { ok: false, reason: 'lost', current } : { ok: true, lease: next };
    });
    return result.ok;
  }

  async get(name: string): Promise<LeaseRecord | null> {
    this.assertUsable();
    const l = this.leases.get(name);
    return l === undefined ? null : structuredClone(l);
  }

  async held(now: Nanos): Promise<LeaseRecord[]> {
    this.assertUsable();
    return [...this.leases.values()]
      .filter((l) => leaseActive(l, now))
      .sort((a, b) => (a.ts_expires < b.ts_expires ? -1 : a.ts_expires > b.ts_expires ? 1 : 0))
      .map((l) => structuredClone(l));
  }

  async health(): Promise<{ ok: boolean; detail?: string }> {
    return journaledHealth('lease store', this.closed, this.journal);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.journal?.close();
  }

  private replay(raw: unknown, where: string): void {
    if (typeof raw !== 'object' || raw === null || (raw as { op?: unknown }).op !== 'set') {
      throw new Error(`${where}: not a lease journal record`);
    }
    const lease = parseLeaseRecord((raw as { lease?: unknown }).lease, where);
    this.leases.set(lease.name, lease);
  }

  private assertUsable(): void {
    assertJournaledUsable('lease store', 'lease', this.closed, this.journal);
  }
}
