/**
 * The venue edge's algorithm states on Firestore: `<prefix>algo_states/{escaped operation_id}`.
 *
 * Fields (plain values, queryable): `operation_id`, `order_id`, `venue`, `account_id`,
 * `strategy_id`, `instrument_key`, `venue_instrument_key`, `algo`, `status` (the scheduler's
 * RUNNING / CANCELING / DONE, for the console), `active`, `version`, `ts_created` / `ts_updated`
 * (20-digit zero-padded nanoseconds), and `body_json`: the scheduler state, the children's venue
 * order ids, the cancel reason and the last child rejection as exact JSON (one string, not a map:
 * the state is nested arrays of objects that must come back exactly, and nothing queries inside it,
 * so it costs no index entries).
 *
 * Versioned put without transactions (as the position book): expectedVersion 0 → `create()`
 * (ALREADY_EXISTS → conflict); otherwise read, compare the version and `update()` with the read
 * `lastUpdateTime` as precondition (FAILED_PRECONDITION → read again and report the conflict).
 *
 * `listActive` filters `active == true` (and `venue ==`): equality filters only, served by the
 * single-field indexes (no composite index needed); sorted in memory.
 */
import type { DocumentReference, Firestore, Query } from '@google-cloud/firestore';
import { ValidationError } from '../../shared/domain/errors.ts';
import {
  type AlgoStatePutResult,
  type AlgoStateRecord,
  type AlgoStateStore,
  checkAlgoStatePut,
  compareAlgoStateRecords,
  parseAlgoStateRecord,
} from '../../shared/ports/algo-state-store.ts';
import { encodeNanos, escapeDocId, taggedParse, taggedStringify } from './codec.ts';
import { collectionHealth } from './grpc.ts';
import { putVersionedDoc } from './versioned-doc.ts';

export interface FirestoreAlgoStateStoreOptions {
  firestore: Firestore;
  /** Prepended to the collection name (default ''): `<prefix>algo_states`. */
  collectionPrefix?: string;
  /** Terminate the client on `close()` (default false: the caller owns it). */
  ownsClient?: boolean;
  /** Upper bound for `health()` (default 2000 ms). */
  healthTimeoutMs?: number;
  /** Retries when a write loses a race it must re-examine (default 20). */
  maxAttempts?: number;
}

type Doc = Record<string, unknown>;

function toDoc(r: AlgoStateRecord): Doc {
  return {
    operation_id: r.operation_id,
    order_id: r.order_id,
    venue: r.venue,
    account_id: r.account_id,
    strategy_id: r.strategy_id,
    instrument_key: r.instrument_key,
    venue_instrument_key: r.venue_instrument_key,
    algo: r.state.algo,
    status: r.state.status,
    active: r.active,
    version: r.version,
    ts_created: encodeNanos(r.ts_created),
    ts_updated: encodeNanos(r.ts_updated),
    body_json: taggedStringify({
      state: r.state,
      venue_order_ids: r.venue_order_ids,
      cancel_reason: r.cancel_reason,
      last_child_rejection: r.last_child_rejection,
    }),
  };
}

function corrupt(path: string, field: string, message: string): ValidationError {
  return new ValidationError('corrupt_document', [{ path: field, message: `${path}: ${message}` }]);
}

function decodeNanos(v: unknown, path: string, field: string): bigint {
  if (typeof v !== 'string' || !/^\d{20}$/.test(v)) {
    throw corrupt(path, field, 'expected nanoseconds as a 20-digit zero-padded string');
  }
  return BigInt(v);
}

function fromDoc(data: Doc | undefined, path: string): AlgoStateRecord {
  if (data === undefined) throw corrupt(path, '', 'empty document');
  if (typeof data.body_json !== 'string') throw corrupt(path, 'body_json', 'expected a JSON string');
  let body: unknown;
  try {
    body = taggedParse(data.body_json);
  } catch (err) {
    throw corrupt(path, 'body_json', (err as Error).message);
  }
  if (typeof body !== 'object' || body === null) throw corrupt(path, 'body_json', 'expected an object');
  const { body_json: _body, algo: _algo, status: _status, ...fields } = data;
  return parseAlgoStateRecord(
    {
      ...fields,
      ...(body as Record<string, unknown>),
      ts_created: decodeNanos(data.ts_created, path, 'ts_created'),
      ts_updated: decodeNanos(data.ts_updated, path, 'ts_updated'),
    },
    path,
    'corrupt_document',
  );
}

export class FirestoreAlgoStateStore implements AlgoStateStore {
  readonly collection: string;
  private readonly db: Firestore;
  private readonly ownsClient: boolean;
  private readonly healthTimeoutMs: number;
  private readonly maxAttempts: number;

  constructor(opts: FirestoreAlgoStateStoreOptions) {
    this.db = opts.firestore;
    this.collection = `${opts.collectionPrefix ?? ''}algo_states`;
    this.ownsClient = opts.ownsClient ?? false;
    this.healthTimeoutMs = opts.healthTimeoutMs ?? 2_000;
    this.maxAttempts = opts.maxAttempts ?? 20;
  }

  private ref(operationId: string): DocumentReference {
    return this.db.collection(this.collection).doc(escapeDocId(operationId));
  }

  async get(operationId: string): Promise<AlgoStateRecord | null> {
    const snap = await this.ref(operationId).get();
    return snap.exists ? fromDoc(snap.data(), snap.ref.path) : null;
  }

  async put(next: AlgoStateRecord, expectedVersion: number): Promise<AlgoStatePutResult> {
    const checked = checkAlgoStatePut(next, expectedVersion);
    const ref = this.ref(checked.operation_id);
    const res = await putVersionedDoc(ref, toDoc(checked), expectedVersion, fromDoc, this.maxAttempts);
    return res.ok
      ? { ok: true, record: checked }
      : { ok: false, reason: 'version_conflict', current: res.current };
  }

  async listActive(filter: { venue?: string | undefined } = {}): Promise<AlgoStateRecord[]> {
    let q: Query = this.db.collection(this.collection).where('active', '==', true);
    if (filter.venue !== undefined) q = q.where('venue', '==', filter.venue);
    const snap = await q.get();
    return snap.docs.map((d) => fromDoc(d.data(), d.ref.path)).sort(compareAlgoStateRecords);
  }

  health(): Promise<{ ok: boolean; detail?: string }> {
    return collectionHealth(this.db, this.collection, this.healthTimeoutMs);
  }

  async close(): Promise<void> {
    if (this.ownsClient) await this.db.terminate();
  }
}
