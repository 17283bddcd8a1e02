/**
 * The position book on Firestore: `<prefix>positions/{escaped account_id}|{escaped instrument_key}`.
 *
 * Versioned put without transactions: expectedVersion 0 → `create()` (fails with ALREADY_EXISTS
 * if the position exists); otherwise read, compare the version, and `update()` with the read
 * `lastUpdateTime` as precondition (fails with FAILED_PRECONDITION if anyone wrote in between).
 */
import type { DocumentReference, Firestore, Query } from '@google-cloud/firestore';
import type { Position } from '../../shared/domain/types.ts';
import type { PositionStore, PositionUpdateResult } from '../../shared/ports/position-store.ts';
import {
  checkRecord,
  comparePositions,
  PositionSchema,
  positionDocId,
  positionFromDoc,
  positionToDoc,
} from './codec.ts';
import { collectionHealth } from './grpc.ts';
import { putVersionedDoc } from './versioned-doc.ts';

export interface FirestorePositionStoreOptions {
  firestore: Firestore;
  /** Prepended to the collection name (default ''): `<prefix>positions`. */
  collectionPrefix?: string;
  /** Terminate the client on `close()` (default false: the caller owns it). */
  ownsClient?: boolean;
  /** Upper bound for `health()` (default 2000 ms). */
  healthTimeoutMs?: number;
  /** Retries when a write loses a race it must re-examine (default 20). */
  maxAttempts?: number;
}

export class FirestorePositionStore implements PositionStore {
  readonly collection: string;
  private readonly db: Firestore;
  private readonly ownsClient: boolean;
  private readonly healthTimeoutMs: number;
  private readonly maxAttempts: number;

  constructor(opts: FirestorePositionStoreOptions) {
    this.db = opts.firestore;
    this.collection = `${opts.collectionPrefix ?? ''}positions`;
    this.ownsClient = opts.ownsClient ?? false;
    this.healthTimeoutMs = opts.healthTimeoutMs ?? 2_000;
    this.maxAttempts = opts.maxAttempts ?? 20;
  }

  private ref(accountId: string, instrumentKey: string): DocumentReference {
    return this.db.collection(this.collection).doc(positionDocId(accountId, instrumentKey));
  }

  async get(accountId: string, instrumentKey: string): Promise<Position | null> {
    const snap = await this.ref(accountId, instrumentKey).get();
    return snap.exists ? positionFromDoc(snap.data(), snap.ref.path) : null;
  }

  async list(
    filter: { account_id?: string | undefined; instrument_key?: string | undefined } = {},
  ): Promise<Position[]> {
    let q: Query = this.db.collection(this.collection);
    if (filter.account_id !== undefined) q = q.where('account_id', '==', filter.account_id);
    if (filter.instrument_key !== undefined) q = q.where('instrument_key', '==', filter.instrument_key);
    const snap = await q.get();
    return snap.docs.map((d) => positionFromDoc(d.data(), d.ref.path)).sort(comparePositions);
  }

  async put(next: Position, expectedVersion: number): Promise<PositionUpdateResult> {
    const checked = checkRecord(PositionSchema, next, 'position');
    if (!Number.isInteger(expectedVersion) || expectedVersion < 0) {
      throw new RangeError(`expectedVersion must be an integer >= 0, got ${expectedVersion}`);
    }
    if (checked.version !== expectedVersion + 1) {
      throw new RangeError(
        `next.version must be ${expectedVersion + 1} (expectedVersion + 1), got ${checked.version}`,
      );
    }
    const ref = this.ref(checked.account_id, checked.instrument_key);
    const res = await putVersionedDoc(
      ref,
      positionToDoc(checked),
      expectedVersion,
      positionFromDoc,
      this.maxAttempts,
    );
    return res.ok
      ? { ok: true, position: checked }
      : { ok: false, reason: 'version_conflict', current: res.current };
  }

  health(): Promise<{ ok: boolean; detail?: string }> {
    return collectionHealth(this.db, this.collection, this.healthTimeoutMs);
  }

  async close(): Promise<void> {
    if (this.ownsClient) await this.db.terminate();
  }
}
