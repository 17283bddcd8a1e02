/**
 * The lease store on Firestore: one document per lease in `<prefix>leases/<name>`, every change a
 * read, the pure decision (shared/ports/lease-store.ts) and a write conditioned on the document not
 * having changed since the read — two edges racing for the lease: exactly one write lands and gets
 * the next fencing token, the other re-reads and sees the lease held.
 *
 * Document: `{ name, holder, token, ts_expires, ts_acquired, ts_updated }`, timestamps as 20-digit
 * nanosecond strings (sortable, exact). The composite index (holder, ts_expires) in
 * firestore.indexes.json serves `held()`.
 */
import type { DocumentData, Firestore } from '@google-cloud/firestore';
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
import { encodeNanos, escapeDocId } from './codec.ts';
import { collectionHealth, GrpcStatus, grpcCode } from './grpc.ts';

export interface FirestoreLeaseStoreOptions {
  firestore: Firestore;
  /** Prepended to the collection name (default ''). */
  collectionPrefix?: string;
  ownsClient?: boolean;
  healthTimeoutMs?: number;
  /** Tries of one change when other writers keep getting in between (default 20). */
  maxAttempts?: number;
}

const NANOS = /^\d{20}$/;

function toDoc(l: LeaseRecord): DocumentData {
  return {
    name: l.name,
    holder: l.holder,
    token: l.token,
    ts_expires: encodeNanos(l.ts_expires),
    ts_acquired: encodeNanos(l.ts_acquired),
    ts_updated: encodeNanos(l.ts_updated),
  };
}

function fromDoc(data: DocumentData | undefined, where: string): LeaseRecord | null {
  if (data === undefined) return null;
  const ns = (v: unknown) => (typeof v === 'string' && NANOS.test(v) ? BigInt(v) : v);
  return parseLeaseRecord(
    {
      ...data,
      ts_expires: ns(data.ts_expires),
      ts_acquired: ns(data.ts_acquired),
      ts_updated: ns(data.ts_updated),
    },
    where,
  );
}

export class FirestoreLeaseStore implements LeaseStore {
  readonly acquire: LeaseStore['acquire'];
  readonly renew: LeaseStore['renew'];
  readonly release: LeaseStore['release'];
  private readonly db: Firestore;
  private readonly collection: string;
  private readonly ownsClient: boolean;
  private readonly healthTimeoutMs: number;
  private readonly maxAttempts: number;

  constructor(opts: FirestoreLeaseStoreOptions) {
    ({
      acquire: this.acquire,
      renew: this.renew,
      release: this.release,
    } = leaseOperations((n, d) => this.change(n, d)));
    this.db = opts.firestore;
    this.collection = `${opts.collectionPrefix ?? ''}leases`;
    this.ownsClient = opts.ownsClient ?? false;
    this.healthTimeoutMs = opts.healthTimeoutMs ?? 2_000;
    this.maxAttempts = opts.maxAttempts ?? 20;
  }

  private ref(name: string) {
    return this.db.collection(this.collection).doc(escapeDocId(name));
  }

  /**
   * Read, decide, write with a precondition (`create` when there is no document, else `update` on
   * the read's update time), retried when another writer got in between. No transaction: a
   * Firestore transaction locks the document it read, and a holder paused between its read and its
   * commit (SIGSTOP, a frozen VM) would keep every other edge off the lease for up to a minute.
   */
  private async change(
    name: string,
    decide: (current: LeaseRecord | null) => LeaseResult,
  ): Promise<LeaseResult> {
    const ref = this.ref(name);
    for (let attempt = 1; ; attempt++) {
      const snap = await ref.get();
      const result = decide(fromDoc(snap.data(), ref.path));
      if (!result.ok) return result;
      try {
        if (snap.exists && snap.updateTime !== undefined) {
          await ref.update(toDoc(result.lease), { lastUpdateTime: snap.updateTime });
        } else {
          await ref.create(toDoc(result.lease));
        }
        return result;
      } catch (err) {
        const code = grpcCode(err);
        const raced = code === GrpcStatus.FAILED_PRECONDITION || code === GrpcStatus.ALREADY_EXISTS;
        if (!raced || attempt >= this.maxAttempts) throw err;
      }
    }
  }

  async get(name: string): Promise<LeaseRecord | null> {
    const ref = this.ref(name);
    return fromDoc((await ref.get()).data(), ref.path);
  }

  async held(now: Nanos): Promise<LeaseRecord[]> {
    // Released leases keep their document (the token must survive) with holder null: the query
    // skips them, served by the composite index (holder, ts_expires) in firestore.indexes.json.
    const snap = await this.db
      .collection(this.collection)
      .where('holder', '!=', null)
      .orderBy('holder')
      .orderBy('ts_expires')
      .get();
    return snap.docs
      .map((d) => fromDoc(d.data(), d.ref.path))
      .filter((l): l is LeaseRecord => l !== null && leaseActive(l, now))
      .sort(compareLeaseExpiry);
  }

  health(): Promise<{ ok: boolean; detail?: string }> {
    return collectionHealth(this.db, this.collection, this.healthTimeoutMs);
  }

  async close(): Promise<void> {
    if (this.ownsClient) await this.db.terminate();
  }
}
