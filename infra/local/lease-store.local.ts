/**
 * The embedded lease store: the leases in memory, every change appended to
 * `<dataDir>/leases.jsonl` (`{"op":"set","lease":{...}}`) and replayed at start-up, so the fencing
 * token keeps increasing across restarts. `memory()` keeps them in memory only. One process owns a
 * data folder (like every local store), so within it the store is the single arbiter; the
 * embedded default takes its venue-edge lease here through the same code path as on Firestore.
 */
import type { Nanos } from '../../shared/domain/time.ts';
import {
  compareLeaseExpiry,
  type LeaseRecord,
  type LeaseResult,
  type LeaseStore,
  leaseActive,
  leaseOperations,
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
  readonly acquire: LeaseStore['acquire'];
  readonly renew: LeaseStore['renew'];
  readonly release: LeaseStore['release'];
  private readonly leases = new Map<string, LeaseRecord>();
  private journal: Journal | null = null;
  private closed = false;

  private constructor() {
    ({
      acquire: this.acquire,
      renew: this.renew,
      release: this.release,
    } = leaseOperations((n, d) => this.change(n, d)));
  }

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

  async get(name: string): Promise<LeaseRecord | null> {
    this.assertUsable();
    const l = this.leases.get(name);
    return l === undefined ? null : structuredClone(l);
  }

  async held(now: Nanos): Promise<LeaseRecord[]> {
    this.assertUsable();
    return [...this.leases.values()]
      .filter((l) => leaseActive(l, now))
      .sort(compareLeaseExpiry)
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
