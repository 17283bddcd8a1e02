/**
 * The order book of record on Firestore (see docs/storage.md for the data model).
 *
 *   <prefix>orders/{escaped operation_id}            the OrderRecord (+ sequence counters)
 *   <prefix>orders/{id}/events/{0000000000..}         the timeline, one document per event
 *   <prefix>orders/{id}/fills/{escaped fill_id}       each fill, stored once
 *
 * Writes use preconditions instead of transactions (contended transactions are slow and
 * retry-heavy): create = one WriteBatch whose `create()` of the order document fails atomically
 * with ALREADY_EXISTS if the operation_id was seen; transition = read the order (and the fill
 * documents), check the version, then one WriteBatch whose `update()` carries the read
 * `lastUpdateTime` as precondition and `create()`s the new events and fills. A concurrent writer
 * makes the precondition fail (FAILED_PRECONDITION) and nothing is written.
 */
import {
  type DocumentReference,
  type DocumentSnapshot,
  Firestore,
  type Query,
  type Settings,
} from '@google-cloud/firestore';
import type { OrderEvent } from '../../shared/domain/events.ts';
import type { Fill, OrderRecord, OrderStatus } from '../../shared/domain/types.ts';
import type {
  CreateResult,
  OrderQuery,
  OrderStore,
  TransitionResult,
} from '../../shared/ports/order-store.ts';
import {
  checkLimit,
  checkRecord,
  encodeNanos,
  escapeDocId,
  eventDocId,
  eventFromDoc,
  eventToDoc,
  FillSchema,
  fillFromDoc,
  fillToDoc,
  type OrderCounters,
  OrderRecordSchema,
  orderFromDoc,
  orderToDoc,
} from './codec.ts';
import { collectionHealth, GrpcStatus, grpcCode, replaceFields } from './grpc.ts';

/**
 * Equality filters of `query()` besides `status` (which may be `in`). Every query orders by
 * `ts_created` desc (with an optional range on it), so production needs one composite index
 * (field, ts_created DESC) per filter; Firestore merges them for combinations
 * (firestore.indexes.json declares these plus the common pairs with status).
 */
export const ORDER_EQUALITY_FILTERS = ['venue', 'strategy_id', 'instrument_key', 'parent_order_id'] as const;

export interface FirestoreOrderStoreOptions {
  /** A configured client (see `createFirestore`). */
  firestore: Firestore;
  /** Prepended to top-level collection names, e.g. `test-123-` → `test-123-orders`. Default ''. */
  collectionPrefix?: string;
  /** Terminate the client on `close()` (default false: the caller owns it). */
  ownsClient?: boolean;
  /** Upper bound for `health()` (default 2000 ms). */
  healthTimeoutMs?: number;
  /** Retries when a write loses a race it must re-examine (default 20). */
  maxAttempts?: number;
}

export class FirestoreOrderStore implements OrderStore {
  readonly collection: string;
  private readonly db: Firestore;
  private readonly ownsClient: boolean;
  private readonly healthTimeoutMs: number;
  private readonly maxAttempts: number;

  constructor(opts: FirestoreOrderStoreOptions) {
    this.db = opts.firestore;
    this.collection = `${opts.collectionPrefix ?? ''}orders`;
    this.ownsClient = opts.ownsClient ?? false;
    this.healthTimeoutMs = opts.healthTimeoutMs ?? 2_000;
    this.maxAttempts = opts.maxAttempts ?? 20;
  }

  private ref(operationId: string): DocumentReference {
    return this.db.collection(this.collection).doc(escapeDocId(operationId));
  }

  async create(order: OrderRecord, events: OrderEvent[]): Promise<CreateResult> {
    const checked = checkRecord(OrderRecordSchema, order, 'order');
    if (checked.version !== 1)
      throw new RangeError(`a new order must have version 1, got ${checked.version}`);
    const ref = this.ref(checked.operation_id);
    const doc = orderToDoc(checked, { next_event_seq: events.length, next_fill_seq: 0 });
    const eventDocs = events.map((e, i) => eventToDoc(e, i));
    for (let attempt = 1; ; attempt++) {
      const batch = this.db.batch();
      batch.create(ref, doc);
      eventDocs.forEach((e) => {
        batch.create(ref.collection('events').doc(eventDocId(e.seq)), e);
      });
      try {
        await batch.commit();
        return { created: true, order: checked };
      } catch (err) {
        const code = grpcCode(err);
        if (code === GrpcStatus.ALREADY_EXISTS) {
          // Idempotent: the first writer won; hand back what is stored, untouched.
          const existing = await this.readOrder(ref);
          if (existing) return { created: false, order: existing.order };
        } else if (code !== GrpcStatus.ABORTED) {
          throw err;
        }
        if (attempt >= this.maxAttempts) throw err;
      }
    }
  }

  async get(operationId: string): Promise<OrderRecord | null> {
    return (await this.readOrder(this.ref(operationId)))?.order ?? null;
  }

  async transition(
    operationId: string,
    expectedVersion: number,
    next: OrderRecord,
    events: OrderEvent[],
    fills: Fill[] = [],
  ): Promise<TransitionResult> {
    const checked = checkRecord(OrderRecordSchema, next, 'next');
    if (checked.operation_id !== operationId) {
      throw new RangeError(`next.operation_id ${checked.operation_id} is not ${operationId}`);
    }
    if (checked.version !== expectedVersion + 1) {
      throw new RangeError(
        `next.version must be ${expectedVersion + 1} (expectedVersion + 1), got ${checked.version}`,
      );
    }
    const checkedFills = fills.map((f, i) => checkRecord(FillSchema, f, `fills[${i}]`));
    const ref = this.ref(operationId);
    const fillRefs = checkedFills.map((f) => ref.collection('fills').doc(escapeDocId(f.fill_id)));
    // A fill id twice in one call is a duplicate too (reported after the version check, as locally).
    const ids = checkedFills.map((f) => f.fill_id);
    const repeated = ids.find((id, i) => ids.indexOf(id) !== i);

    for (let attempt = 1; ; attempt++) {
      const [snap, ...fillSnaps] = await this.db.getAll(ref, ...fillRefs);
      if (!snap?.exists) return { ok: false, reason: 'not_found' };
      const { order: current, counters } = orderFromDoc(snap.data(), snap.ref.path);
      if (current.version !== expectedVersion) return { ok: false, reason: 'version_conflict', current };
      const dup = fillSnaps.findIndex((s) => s.exists);
      if (dup >= 0) {
        return { ok: false, reason: 'duplicate_fill', current, fill_id: checkedFills[dup]!.fill_id };
      }
      if (repeated !== undefined) return { ok: false, reason: 'duplicate_fill', current, fill_id: repeated };

      const nextCounters: OrderCounters = {
        next_event_seq: counters.next_event_seq + events.length,
        next_fill_seq: counters.next_fill_seq + checkedFills.length,
      };
      const batch = this.db.batch();
      // update() requires existence and matches only the exact version of the document we read.
      const [first, firstValue, ...more] = replaceFields(snap.data(), orderToDoc(checked, nextCounters));
      batch.update(ref, first, firstValue, ...more, { lastUpdateTime: snap.updateTime! });
      events.forEach((e, i) => {
        const seq = counters.next_event_seq + i;
        batch.create(ref.collection('events').doc(eventDocId(seq)), eventToDoc(e, seq));
      });
      checkedFills.forEach((f, i) => {
        batch.create(fillRefs[i]!, fillToDoc(f, counters.next_fill_seq + i));
      });
      try {
        await batch.commit();
        return { ok: true, order: checked };
      } catch (err) {
        const code = grpcCode(err);
        const raced =
          code === GrpcStatus.FAILED_PRECONDITION ||
          code === GrpcStatus.ALREADY_EXISTS ||
          code === GrpcStatus.ABORTED;
        // Someone moved the order after our read: the next read reports the conflict.
        if (!raced || attempt >= this.maxAttempts) throw err;
      }
    }
  }

  async timeline(operationId: string): Promise<OrderEvent[]> {
    const snap = await this.ref(operationId).collection('events').orderBy('seq').get();
    return snap.docs.map((d) => eventFromDoc(d.data(), d.ref.path));
  }

  async fills(operationId: string): Promise<Fill[]> {
    const snap = await this.ref(operationId).collection('fills').orderBy('seq').get();
    return snap.docs.map((d) => fillFromDoc(d.data(), d.ref.path));
  }

  async query(q: OrderQuery): Promise<OrderRecord[]> {
    const limit = checkLimit(q.limit);
    let query: Query = this.db.collection(this.collection);
    if (q.status !== undefined) {
      const statuses: OrderStatus[] = [...new Set(Array.isArray(q.status) ? q.status : [q.status])];
      if (statuses.length === 0) return [];
      query =
        statuses.length === 1
          ? query.where('status', '==', statuses[0])
          : query.where('status', 'in', statuses);
    }
    for (const field of ORDER_EQUALITY_FILTERS) {
      const value = q[field];
      if (value !== undefined) query = query.where(field, '==', value);
    }
    if (q.from !== undefined && q.from > 0n) query = query.where('ts_created', '>=', encodeNanos(q.from));
    if (q.to !== undefined) {
      if (q.to <= 0n || (q.from !== undefined && q.to <= q.from)) return [];
      query = query.where('ts_created', '<', encodeNanos(q.to));
    }
    const snap = await query.orderBy('ts_created', 'desc').limit(limit).get();
    return snap.docs.map((d) => orderFromDoc(d.data(), d.ref.path).order);
  }

  health(): Promise<{ ok: boolean; detail?: string }> {
    return collectionHealth(this.db, this.collection, this.healthTimeoutMs);
  }

  async close(): Promise<void> {
    if (this.ownsClient) await this.db.terminate();
  }

  private async readOrder(
    ref: DocumentReference,
  ): Promise<{ order: OrderRecord; counters: OrderCounters; snap: DocumentSnapshot } | null> {
    const snap = await ref.get();
    if (!snap.exists) return null;
    return { ...orderFromDoc(snap.data(), snap.ref.path), snap };
  }
}

export interface CreateFirestoreOptions {
  projectId?: string;
  databaseId?: string;
  /** `host:port` of an emulator; defaults to FIRESTORE_EMULATOR_HOST when set. */
  emulatorHost?: string;
  /** Extra client settings (credentials, preferRest, ...). */
  settings?: Settings;
}

/**
 * A Firestore client. With an emulator host it talks plaintext without credentials and turns off
 * metadata-server detection (no Google account needed); otherwise it uses Application Default
 * Credentials as usual.
 */
export function createFirestore(opts: CreateFirestoreOptions = {}): Firestore {
  const emulatorHost = opts.emulatorHost ?? process.env.FIRESTORE_EMULATOR_HOST;
  const settings: Settings = { ...opts.settings };
  if (opts.projectId !== undefined) settings.projectId = opts.projectId;
  if (opts.databaseId !== undefined) settings.databaseId = opts.databaseId;
  if (emulatorHost) {
    process.env.METADATA_SERVER_DETECTION ??= 'none';
    settings.host = emulatorHost;
    settings.ssl = false;
    settings.projectId ??= 'demo-local';
  }
  return new Firestore(settings);
}
