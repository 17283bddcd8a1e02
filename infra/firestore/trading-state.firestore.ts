/**
 * The trading state on Firestore.
 *
 *   <prefix>trading_state/global                        the platform's state
 *   <prefix>trading_state/strategy|{escaped id}          one strategy's state
 *   <prefix>trading_state_history/{doc id}|{version}     every change (the audit trail)
 *
 * Fields: `scope_kind`, `strategy_id` (null for global), `state`, `reason`, `updated_by`,
 * `ts_updated` (20-digit zero-padded nanoseconds), `version`; history documents add `scope_key`
 * (the state document id) and `previous`.
 *
 * `snapshot()` is one query over the small `trading_state` collection. `set()` reads the scope's
 * document and commits one batch: the new state (`update` with the read `lastUpdateTime` as
 * precondition, or `create`) plus `create` of the history document for the new version — a
 * concurrent change makes the batch fail as a whole and is retried on the fresh state, so versions
 * never repeat and the history never misses a change.
 */
import type { DocumentReference, Firestore } from '@google-cloud/firestore';
import type { Nanos } from '../../shared/domain/time.ts';
import { TRADING_STATES } from '../../shared/domain/types.ts';
import {
  checkTradingStateChange,
  type TradingScope,
  type TradingStateChange,
  type TradingStateEntry,
  TradingStateEntrySchema,
  type TradingStateHistoryEntry,
  TradingStateHistoryEntrySchema,
  type TradingStateSnapshot,
  type TradingStateStore,
} from '../../shared/ports/trading-state-store.ts';
import { encodeNanos, escapeDocId } from './codec.ts';
import { collectionHealth, GrpcStatus, grpcCode } from './grpc.ts';

export interface FirestoreTradingStateStoreOptions {
  firestore: Firestore;
  /** Prepended to the collection names (default ''). */
  collectionPrefix?: string;
  ownsClient?: boolean;
  healthTimeoutMs?: number;
  /** Retries of `set()` when a concurrent change wins (default 20). */
  maxAttempts?: number;
}

function docIdOf(scope: TradingScope): string {
  return scope.kind === 'global' ? 'global' : `strategy|${escapeDocId(scope.strategy_id)}`;
}

function decodeNanos(v: unknown, where: string): Nanos {
  if (typeof v !== 'string' || !/^\d{20}$/.test(v)) throw new Error(`${where}: ts_updated is not 20 digits`);
  return BigInt(v);
}

function scopeFromDoc(data: Record<string, unknown>, where: string): TradingScope {
  if (data.scope_kind === 'global') return { kind: 'global' };
  if (data.scope_kind === 'strategy' && typeof data.strategy_id === 'string' && data.strategy_id.length > 0) {
    return { kind: 'strategy', strategy_id: data.strategy_id };
  }
  throw new Error(`${where}: corrupt trading state: bad scope_kind / strategy_id`);
}

function entryFromDoc(data: Record<string, unknown>, where: string): TradingStateEntry {
  const r = TradingStateEntrySchema.safeParse({
    state: data.state,
    reason: data.reason,
    updated_by: data.updated_by,
    ts_updated: decodeNanos(data.ts_updated, where),
    version: data.version,
  });
  if (!r.success) {
    const i = r.error.issues[0];
    throw new Error(
      `${where}: corrupt trading state at ${i?.path.map(String).join('.') ?? ''}: ${i?.message ?? ''}`,
    );
  }
  return r.data;
}

export class FirestoreTradingStateStore implements TradingStateStore {
  readonly collection: string;
  readonly historyCollection: string;
  private readonly db: Firestore;
  private readonly ownsClient: boolean;
  private readonly healthTimeoutMs: number;
  private readonly maxAttempts: number;

  constructor(opts: FirestoreTradingStateStoreOptions) {
    this.db = opts.firestore;
    this.collection = `${opts.collectionPrefix ?? ''}trading_state`;
    this.historyCollection = `${opts.collectionPrefix ?? ''}trading_state_history`;
    this.ownsClient = opts.ownsClient ?? false;
    this.healthTimeoutMs = opts.healthTimeoutMs ?? 2_000;
    this.maxAttempts = opts.maxAttempts ?? 20;
  }

  private ref(scope: TradingScope): DocumentReference {
    return this.db.collection(this.collection).doc(docIdOf(scope));
  }

  async snapshot(): Promise<TradingStateSnapshot> {
    const snap = await this.db.collection(this.collection).get();
    let global: TradingStateEntry | null = null;
    const strategies: Record<string, TradingStateEntry> = {};
    for (const d of snap.docs) {
      const data = d.data();
      const scope = scopeFromDoc(data, d.ref.path);
      const entry = entryFromDoc(data, d.ref.path);
      if (scope.kind === 'global') global = entry;
      else strategies[scope.strategy_id] = entry;
    }
    return { global, strategies };
  }

  async set(scope: TradingScope, change: TradingStateChange, ts: Nanos): Promise<TradingStateEntry> {
    checkTradingStateChange(scope, change);
    const ref = this.ref(scope);
    const docId = docIdOf(scope);
    for (let attempt = 1; ; attempt++) {
      const snap = await ref.get();
      const before = snap.exists ? entryFromDoc(snap.data() ?? {}, ref.path) : null;
      const entry: TradingStateEntry = {
        state: change.state,
        reason: change.reason,
        updated_by: change.updated_by,
        ts_updated: ts,
        version: (before?.version ?? 0) + 1,
      };
      const doc = {
        scope_kind: scope.kind,
        strategy_id: scope.kind === 'strategy' ? scope.strategy_id : null,
        state: entry.state,
        reason: entry.reason,
        updated_by: entry.updated_by,
        ts_updated: encodeNanos(ts),
        version: entry.version,
      };
      const batch = this.db.batch();
      if (snap.exists && snap.updateTime !== undefined)
        batch.update(ref, doc, { lastUpdateTime: snap.updateTime });
      else batch.create(ref, doc);
      batch.create(
        this.db.collection(this.historyCollection).doc(`${docId}|${String(entry.version).padStart(10, '0')}`),
        {
          ...doc,
          scope_key: docId,
          previous: before?.state ?? null,
        },
      );
      try {
        await batch.commit();
        return entry;
      } catch (err) {
        const code = grpcCode(err);
        const conflict =
          code === GrpcStatus.FAILED_PRECONDITION ||
          code === GrpcStatus.ALREADY_EXISTS ||
          code === GrpcStatus.ABORTED;
        if (!conflict || attempt >= this.maxAttempts) throw err;
        await new Promise((r) => setTimeout(r, Math.random() * Math.min(100, 2 ** attempt)));
      }
    }
  }

  async history(
    opts: { scope?: TradingScope | undefined; limit?: number | undefined } = {},
  ): Promise<TradingStateHistoryEntry[]> {
    const limit = opts.limit ?? 100;
    const col = this.db.collection(this.historyCollection);
    // Per scope: an equality filter only (automatic index), sorted here; a scope's history is short.
    const snap =
      opts.scope === undefined
        ? await col.orderBy('ts_updated', 'desc').limit(limit).get()
        : await col.where('scope_key', '==', docIdOf(opts.scope)).get();
    const out = snap.docs.map((d) => {
      const data = d.data();
      const r = TradingStateHistoryEntrySchema.safeParse({
        ...entryFromDoc(data, d.ref.path),
        scope: scopeFromDoc(data, d.ref.path),
        previous: TRADING_STATES.find((s) => s === data.previous) ?? null,
      });
      if (!r.success) throw new Error(`${d.ref.path}: corrupt trading state history entry`);
      return r.data;
    });
    out.sort((a, b) =>
      a.ts_updated === b.ts_updated ? b.version - a.version : a.ts_updated > b.ts_updated ? -1 : 1,
    );
    return out.slice(0, limit);
  }

  health(): Promise<{ ok: boolean; detail?: string }> {
    return collectionHealth(this.db, this.collection, this.healthTimeoutMs);
  }

  async close(): Promise<void> {
    if (this.ownsClient) await this.db.terminate();
  }
}
