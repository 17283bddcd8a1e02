/**
 * The embedded order book, used when no cloud is configured: in-memory maps for speed, plus an
 * append-only journal `<dataDir>/orders.jsonl` replayed at start-up so state survives a restart
 * (`dataDir: null` keeps everything in memory only). Semantics match the Firestore adapter:
 * idempotent create, versioned transitions, fills stored once, the same queries and ordering.
 *
 * Every check-and-change happens synchronously on the in-memory state (so concurrent callers are
 * serialised by the event loop) and is journalled in that same order; a call resolves only after
 * its journal line — and any line it read the effect of — is written.
 *
 * Journal records:
 *   {"op":"create","order":OrderRecord,"events":[OrderEvent...]}
 *   {"op":"transition","expected_version":n,"order":OrderRecord,"events":[...],"fills":[Fill...]}
 *   {"op":"snapshot","order":OrderRecord,"events":[...],"fills":[...]}   (written by compaction)
 */
import { z } from 'zod';
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
  FillSchema,
  OrderEventSchema,
  OrderRecordSchema,
  parseStored,
} from '../firestore/codec.ts';
import { copyData } from './copy.ts';
import type { Journal, JournalOptions } from './journal.ts';
import { assertJournaledUsable, journaledHealth, openStoreJournal } from './journaled-store.ts';

export interface LocalOrderStoreOptions extends JournalOptions {
  /** Folder for the journal; null = memory only (nothing survives the process). */
  dataDir: string | null;
  /** Journal file name inside dataDir (default `orders.jsonl`). */
  fileName?: string;
  /**
   * Compact at start-up (rewrite the journal as one snapshot record per order) when it holds at
   * least this many records and more than twice as many as there are orders (default 10,000;
   * `Infinity` never compacts).
   */
  compactMinRecords?: number;
}

interface Entry {
  order: OrderRecord;
  events: OrderEvent[];
  fills: Fill[];
  fillIds: Set<string>;
}

const JournalRecordSchema = z.discriminatedUnion('op', [
  z.object({ op: z.literal('create'), order: OrderRecordSchema, events: z.array(OrderEventSchema) }),
  z.object({
    op: z.literal('snapshot'),
    order: OrderRecordSchema,
    events: z.array(OrderEventSchema),
    fills: z.array(FillSchema),
  }),
  z.object({
    op: z.literal('transition'),
    expected_version: z.number().int().min(1),
    order: OrderRecordSchema,
    events: z.array(OrderEventSchema),
    fills: z.array(FillSchema),
  }),
]);
type JournalRecord =
  | { op: 'create'; order: OrderRecord; events: OrderEvent[] }
  | { op: 'snapshot'; order: OrderRecord; events: OrderEvent[]; fills: Fill[] }
  | { op: 'transition'; expected_version: number; order: OrderRecord; events: OrderEvent[]; fills: Fill[] };

export class LocalOrderStore implements OrderStore {
  private readonly entries = new Map<string, Entry>();
  private journal: Journal | null = null;
  private closed = false;

  private constructor() {}

  /** Open the store, replaying `<dataDir>/<fileName>` when a data folder is given. */
  static async open(opts: LocalOrderStoreOptions): Promise<LocalOrderStore> {
    const store = new LocalOrderStore();
    store.journal = await openStoreJournal(opts, 'orders.jsonl', (rec, where) => store.replay(rec, where), {
      minRecords: opts.compactMinRecords ?? 10_000,
      factor: 2,
      live: () => store.entries.size,
      snapshot: () => store.snapshotRecords(),
    });
    return store;
  }

  /** An in-memory store (same as `open({dataDir: null})`). */
  static memory(): LocalOrderStore {
    return new LocalOrderStore();
  }

  async create(order: OrderRecord, events: OrderEvent[]): Promise<CreateResult> {
    this.assertUsable();
    checkRecord(OrderRecordSchema, order, 'order');
    if (order.version !== 1) throw new RangeError(`a new order must have version 1, got ${order.version}`);
    this.checkBeforeJournal(OrderEventSchema, events, 'events');
    const existing = this.entries.get(order.operation_id);
    if (existing) {
      await this.durable();
      return { created: false, order: copyData(existing.order) };
    }
    const rec: JournalRecord = { op: 'create', order, events };
    this.applyCreate(rec);
    await this.write(rec);
    return { created: true, order: copyData(order) };
  }

  async get(operationId: string): Promise<OrderRecord | null> {
    this.assertUsable();
    const e = this.entries.get(operationId);
    const out = e ? copyData(e.order) : null;
    await this.durable();
    return out;
  }

  async transition(
    operationId: string,
    expectedVersion: number,
    next: OrderRecord,
    events: OrderEvent[],
    fills: Fill[] = [],
  ): Promise<TransitionResult> {
    this.assertUsable();
    checkRecord(OrderRecordSchema, next, 'next');
    if (next.operation_id !== operationId) {
      throw new RangeError(`next.operation_id ${next.operation_id} is not ${operationId}`);
    }
    if (next.version !== expectedVersion + 1) {
      throw new RangeError(
        `next.version must be ${expectedVersion + 1} (expectedVersion + 1), got ${next.version}`,
      );
    }
    this.checkBeforeJournal(OrderEventSchema, events, 'events');
    // Fills always: their ids are what keeps a fill from being stored twice.
    for (const [i, f] of fills.entries()) checkRecord(FillSchema, f, `fills[${i}]`);
    const rec: JournalRecord = {
      op: 'transition',
      expected_version: expectedVersion,
      order: next,
      events,
      fills,
    };
    const result = this.applyTransition(rec);
    if (result.ok) await this.write(rec);
    else await this.durable();
    return result.ok ? { ok: true, order: copyData(next) } : result;
  }

  async timeline(operationId: string): Promise<OrderEvent[]> {
    this.assertUsable();
    const out = copyData(this.entries.get(operationId)?.events ?? []);
    await this.durable();
    return out;
  }

  async fills(operationId: string): Promise<Fill[]> {
    this.assertUsable();
    const out = copyData(this.entries.get(operationId)?.fills ?? []);
    await this.durable();
    return out;
  }

  async query(q: OrderQuery): Promise<OrderRecord[]> {
    this.assertUsable();
    const limit = checkLimit(q.limit);
    const statuses =
      q.status === undefined ? null : new Set<OrderStatus>(Array.isArray(q.status) ? q.status : [q.status]);
    const hits: OrderRecord[] = [];
    for (const { order: o } of this.entries.values()) {
      if (statuses && !statuses.has(o.status)) continue;
      if (q.venue !== undefined && o.venue !== q.venue) continue;
      if (q.strategy_id !== undefined && o.strategy_id !== q.strategy_id) continue;
      if (q.instrument_key !== undefined && o.instrument_key !== q.instrument_key) continue;
      if (q.parent_order_id !== undefined && o.parent_order_id !== q.parent_order_id) continue;
      if (q.from !== undefined && o.ts_created < q.from) continue;
      if (q.to !== undefined && o.ts_created >= q.to) continue;
      hits.push(o);
    }
    // Newest first; ties by operation_id, descending (as Firestore breaks ties by document id).
    hits.sort((a, b) =>
      a.ts_created !== b.ts_created
        ? a.ts_created > b.ts_created
          ? -1
          : 1
        : a.operation_id === b.operation_id
          ? 0
          : a.operation_id > b.operation_id
            ? -1
            : 1,
    );
    const out = copyData(hits.slice(0, limit));
    await this.durable();
    return out;
  }

  async health(): Promise<{ ok: boolean; detail?: string }> {
    return journaledHealth('order store', this.closed, this.journal);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.journal?.close();
  }

  private assertUsable(): void {
    assertJournaledUsable('order store', 'order store', this.closed, this.journal);
  }

  /**
   * Timeline events are checked before they are journalled — a line that fails validation at
   * replay would keep the store from starting — and when read back at start-up. In memory only
   * they are not: nothing reads them back but `timeline()`, and they are the order machine's own
   * output (docs/order-pipeline.md, "Validation"). Order records and fills are checked always.
   */
  private checkBeforeJournal<T>(schema: z.ZodType<T>, records: readonly T[], what: string): void {
    if (this.journal === null) return;
    for (const [i, r] of records.entries()) checkRecord(schema, r, `${what}[${i}]`);
  }

  private async write(rec: JournalRecord): Promise<void> {
    if (this.journal) await this.journal.append(rec);
  }

  /** Wait until whatever state we just read is on disk (no answers from unwritten data). */
  private async durable(): Promise<void> {
    if (this.journal) await this.journal.flushed();
  }

  private applyCreate(rec: Extract<JournalRecord, { op: 'create' }>): boolean {
    if (this.entries.has(rec.order.operation_id)) return false;
    this.entries.set(rec.order.operation_id, {
      order: copyData(rec.order),
      events: copyData(rec.events),
      fills: [],
      fillIds: new Set(),
    });
    return true;
  }

  private applyTransition(
    rec: Extract<JournalRecord, { op: 'transition' }>,
  ): { ok: true } | Exclude<TransitionResult, { ok: true }> {
    const entry = this.entries.get(rec.order.operation_id);
    if (!entry) return { ok: false, reason: 'not_found' };
    if (entry.order.version !== rec.expected_version) {
      return { ok: false, reason: 'version_conflict', current: copyData(entry.order) };
    }
    const seen = new Set<string>();
    for (const f of rec.fills) {
      if (entry.fillIds.has(f.fill_id) || seen.has(f.fill_id)) {
        return {
          ok: false,
          reason: 'duplicate_fill',
          current: copyData(entry.order),
          fill_id: f.fill_id,
        };
      }
      seen.add(f.fill_id);
    }
    entry.order = copyData(rec.order);
    for (const e of rec.events) entry.events.push(copyData(e));
    for (const f of rec.fills) {
      entry.fills.push(copyData(f));
      entry.fillIds.add(f.fill_id);
    }
    return { ok: true };
  }

  private *snapshotRecords(): Generator<JournalRecord> {
    for (const e of this.entries.values()) {
      yield { op: 'snapshot', order: e.order, events: e.events, fills: e.fills };
    }
  }

  private replay(raw: unknown, where: string): void {
    const rec: JournalRecord = parseStored(JournalRecordSchema, raw, where, 'corrupt_journal');
    if (rec.op === 'snapshot') {
      if (this.entries.has(rec.order.operation_id)) {
        throw new Error(`${where}: snapshot of order ${rec.order.operation_id}, which already exists`);
      }
      this.entries.set(rec.order.operation_id, {
        order: rec.order,
        events: rec.events,
        fills: rec.fills,
        fillIds: new Set(rec.fills.map((f) => f.fill_id)),
      });
      return;
    }
    if (rec.op === 'create') {
      if (!this.applyCreate(rec)) throw new Error(`${where}: order ${rec.order.operation_id} created twice`);
      return;
    }
    if (rec.order.version !== rec.expected_version + 1) {
      throw new Error(`${where}: version ${rec.order.version} does not follow ${rec.expected_version}`);
    }
    const r = this.applyTransition(rec);
    if (!r.ok)
      throw new Error(`${where}: transition of ${rec.order.operation_id} does not apply (${r.reason})`);
  }
}
