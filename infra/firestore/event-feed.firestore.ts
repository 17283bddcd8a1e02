/**
 * The execution event feed on Firestore.
 *
 *   <prefix>execution_events/{escaped id}    one entry
 *
 * Fields: the entry's own (`id`, `category`, `type`, `outcome`, `venue`, `instrument_key`,
 * `operation_id`, `strategy_id`, `actor`, `message`, `time`) with `ts_event` as a 20-digit
 * zero-padded string (sorts in time order).
 *
 * `append` creates each document (`create`: an id already stored fails with ALREADY_EXISTS and is
 * left as it is — written once, whoever writes it again). `page` is one query, newest first
 * (`ts_event` desc, `id` desc), with the single-valued filters as equality clauses, several
 * categories as `in`, the time window as a range and the cursor as `startAfter`; several outcomes
 * are filtered as the results arrive (reading on in batches until the page is full). The composite
 * indexes these queries use are in firestore.indexes.json (`execution_events`).
 */
import type { Firestore, Query } from '@google-cloud/firestore';
import {
  checkEventEntry,
  decodeEventCursor,
  type EventFeedPage,
  type EventFeedQuery,
  type EventFeedStore,
  type ExecutionEventEntry,
  ExecutionEventEntrySchema,
  encodeEventCursor,
  matchesEventQuery,
} from '../../shared/ports/event-feed-store.ts';
import { encodeNanos, escapeDocId } from './codec.ts';
import { collectionHealth, GrpcStatus, grpcCode } from './grpc.ts';

export interface FirestoreEventFeedStoreOptions {
  firestore: Firestore;
  /** Prepended to the collection name (default ''). */
  collectionPrefix?: string;
  ownsClient?: boolean;
  healthTimeoutMs?: number;
  /** Documents read per query batch when entries are filtered as they arrive (default 200). */
  batchSize?: number;
  /** Batches read at most for one page (default 10): a page may then be short, with a cursor. */
  maxBatches?: number;
}

function toDoc(e: ExecutionEventEntry): Record<string, unknown> {
  return { ...e, ts_event: encodeNanos(e.ts_event) };
}

function fromDoc(data: Record<string, unknown>, where: string): ExecutionEventEntry {
  const ts = data.ts_event;
  if (typeof ts !== 'string' || !/^\d{20}$/.test(ts)) throw new Error(`${where}: ts_event is not 20 digits`);
  const r = ExecutionEventEntrySchema.safeParse({ ...data, ts_event: BigInt(ts) });
  if (!r.success) {
    const i = r.error.issues[0];
    throw new Error(`${where}: corrupt event at ${i?.path.map(String).join('.') ?? ''}: ${i?.message ?? ''}`);
  }
  return r.data;
}

export class FirestoreEventFeedStore implements EventFeedStore {
  readonly collection: string;
  private readonly db: Firestore;
  private readonly ownsClient: boolean;
  private readonly healthTimeoutMs: number;
  private readonly batchSize: number;
  private readonly maxBatches: number;

  constructor(opts: FirestoreEventFeedStoreOptions) {
    this.db = opts.firestore;
    this.collection = `${opts.collectionPrefix ?? ''}execution_events`;
    this.ownsClient = opts.ownsClient ?? false;
    this.healthTimeoutMs = opts.healthTimeoutMs ?? 2_000;
    this.batchSize = opts.batchSize ?? 200;
    this.maxBatches = opts.maxBatches ?? 10;
  }

  async append(entries: readonly ExecutionEventEntry[]): Promise<number> {
    const unique = new Map<string, ExecutionEventEntry>();
    for (const raw of entries) {
      const e = checkEventEntry(raw);
      if (!unique.has(e.id)) unique.set(e.id, e);
    }
    const col = this.db.collection(this.collection);
    const created = await Promise.all(
      [...unique.values()].map(async (e): Promise<number> => {
        try {
          await col.doc(escapeDocId(e.id)).create(toDoc(e));
          return 1;
        } catch (err) {
          if (grpcCode(err) === GrpcStatus.ALREADY_EXISTS) return 0;
          throw err;
        }
      }),
    );
    return created.reduce((a, b) => a + b, 0);
  }

  async page(q: EventFeedQuery): Promise<EventFeedPage> {
    let query: Query = this.db.collection(this.collection);
    if (q.category !== undefined) {
      query =
        q.category.length === 1
          ? query.where('category', '==', q.category[0])
          : query.where('category', 'in', [...q.category]);
    }
    if (q.outcome !== undefined && q.outcome.length === 1) query = query.where('outcome', '==', q.outcome[0]);
    if (q.venue !== undefined) query = query.where('venue', '==', q.venue);
    if (q.instrument_key !== undefined) query = query.where('instrument_key', '==', q.instrument_key);
    if (q.operation_id !== undefined) query = query.where('operation_id', '==', q.operation_id);
    if (q.from !== undefined) query = query.where('ts_event', '>=', encodeNanos(q.from));
    if (q.to !== undefined) query = query.where('ts_event', '<', encodeNanos(q.to));
    query = query.orderBy('ts_event', 'desc').orderBy('id', 'desc');

    // Exact queries read one more than the page; filtered-as-read ones read in batches.
    const exact = q.outcome === undefined || q.outcome.length === 1;
    const batch = exact ? q.limit + 1 : Math.max(this.batchSize, q.limit + 1);
    let after = q.cursor === undefined ? null : decodeEventCursor(q.cursor);
    const events: ExecutionEventEntry[] = [];
    for (let n = 0; n < (exact ? 1 : this.maxBatches); n++) {
      const page = after === null ? query : query.startAfter(encodeNanos(after.ts_event), after.id);
      const snap = await page.limit(batch).get();
      for (const d of snap.docs) {
        const e = fromDoc(d.data(), d.ref.path);
        after = e;
        if (!matchesEventQuery(e, q)) continue;
        if (events.length === q.limit) {
          const last = events[events.length - 1] as ExecutionEventEntry;
          return { events, next_cursor: encodeEventCursor(last) };
        }
        events.push(e);
      }
      if (snap.size < batch) return { events, next_cursor: null };
    }
    // Read as far as one page may: the caller continues from the last entry read.
    return { events, next_cursor: after === null ? null : encodeEventCursor(after) };
  }

  health(): Promise<{ ok: boolean; detail?: string }> {
    return collectionHealth(this.db, this.collection, this.healthTimeoutMs);
  }

  async close(): Promise<void> {
    if (this.ownsClient) await this.db.terminate();
  }
}
