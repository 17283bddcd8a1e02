/**
 * Decorators that append to the audit trail whatever the stores commit: every event of an order's
 * timeline (fills arrive as OrderFilled events) and every trading-state change. They write AFTER
 * the store has committed, so the trail never shows what did not happen; the chain's head for an
 * order is taken from a small cache when the order's version says nothing moved in between, else
 * recomputed from the stored timeline (the chain is a function of the timeline, see
 * shared/audit/chain.ts), so any process may write any order's next records.
 *
 * A failed audit write does not undo the trade: it is reported through `onError` (logged and
 * counted by the caller), and `npm run audit -- rebuild` can re-derive every record of an order
 * from its stored timeline.
 */
import {
  appendRecords,
  type ChainEntry,
  type ChainHead,
  chainRecords,
  eventEntry,
  orderStream,
  tradingStateStream,
} from '../../shared/audit/chain.ts';
import type { AuditSink } from '../../shared/audit/sink.ts';
import type { OrderEvent } from '../../shared/domain/events.ts';
import type { Nanos } from '../../shared/domain/time.ts';
import type { Fill, OrderRecord } from '../../shared/domain/types.ts';
import type { CreateResult, OrderStore, TransitionResult } from '../../shared/ports/order-store.ts';
import type {
  TradingScope,
  TradingStateChange,
  TradingStateEntry,
  TradingStateHistoryEntry,
  TradingStateStore,
} from '../../shared/ports/trading-state-store.ts';

export type AuditErrorHandler = (err: unknown, stream: string) => void;

/** A bounded map: the oldest entry goes when full. */
class Lru<K, V> {
  private readonly map = new Map<K, V>();
  constructor(private readonly max: number) {}
  get(key: K): V | undefined {
    const v = this.map.get(key);
    if (v !== undefined) {
      this.map.delete(key);
      this.map.set(key, v);
    }
    return v;
  }
  set(key: K, value: V): void {
    this.map.delete(key);
    this.map.set(key, value);
    if (this.map.size > this.max) this.map.delete(this.map.keys().next().value as K);
  }
}

interface CachedHead {
  head: ChainHead;
  /** The order (or scope) version this head belongs to. */
  version: number;
}

export function auditOrderStore<S extends OrderStore>(
  store: S,
  sink: AuditSink,
  onError: AuditErrorHandler,
  options: { cacheSize?: number } = {},
): S {
  const heads = new Lru<string, CachedHead>(options.cacheSize ?? 10_000);
  const write = async (stream: string, fn: () => Promise<void>) => {
    try {
      await fn();
    } catch (err) {
      onError(err, stream);
    }
  };
  const create = async (order: OrderRecord, events: OrderEvent[]): Promise<CreateResult> => {
    const r = await store.create(order, events);
    if (r.created) {
      const stream = orderStream(order.operation_id);
      await write(stream, async () => {
        const out = appendRecords(stream, null, events.map(eventEntry));
        if (out.head !== null) heads.set(order.operation_id, { head: out.head, version: r.order.version });
        await sink.append(out.records);
      });
    }
    return r;
  };
  const transition = async (
    operationId: string,
    expectedVersion: number,
    next: OrderRecord,
    events: OrderEvent[],
    fills?: Fill[],
  ): Promise<TransitionResult> => {
    const r = await store.transition(operationId, expectedVersion, next, events, fills);
    if (r.ok && events.length > 0) {
      const stream = orderStream(operationId);
      await write(stream, async () => {
        const cached = heads.get(operationId);
        let out: ReturnType<typeof appendRecords>;
        if (cached !== undefined && cached.version === expectedVersion) {
          out = appendRecords(stream, cached.head, events.map(eventEntry));
        } else {
          // Someone else moved the order since we last wrote it: the stored timeline says where the chain is.
          const all = chainRecords(stream, (await store.timeline(operationId)).map(eventEntry));
          const last = all.at(-1);
          out = {
            records: all.slice(all.length - events.length),
            head: last === undefined ? null : { seq: last.seq, hash: last.hash },
          };
        }
        if (out.head !== null) heads.set(operationId, { head: out.head, version: r.order.version });
        await sink.append(out.records);
      });
    }
    return r;
  };
  return decorate(store, { create, transition });
}

/** `target` with some methods replaced; everything else (and `instanceof`) is the target's. */
function decorate<S extends object>(target: S, overrides: Readonly<Record<string, unknown>>): S {
  return new Proxy(target, {
    get(t, prop, receiver) {
      if (typeof prop === 'string' && Object.hasOwn(overrides, prop)) return overrides[prop];
      const v: unknown = Reflect.get(t, prop, receiver);
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(t) : v;
    },
  });
}

function scopeKey(scope: TradingScope): string {
  return scope.kind === 'global' ? 'global' : `strategy:${scope.strategy_id}`;
}

/** A trading-state change as a chain entry (the same from `set`'s answer and from the history). */
export function tradingStateEntry(
  scope: TradingScope,
  e: Pick<TradingStateEntry, 'state' | 'reason' | 'updated_by' | 'ts_updated' | 'version'>,
): ChainEntry {
  return {
    kind: 'TradingStateChanged',
    ts_event: e.ts_updated,
    payload: {
      scope,
      state: e.state,
      reason: e.reason,
      updated_by: e.updated_by,
      ts_updated: e.ts_updated,
      version: e.version,
    },
  };
}

const HISTORY_LIMIT = 100_000;

export function auditTradingStateStore<S extends TradingStateStore>(
  store: S,
  sink: AuditSink,
  onError: AuditErrorHandler,
): S {
  const heads = new Map<string, CachedHead>();
  const set = async (
    scope: TradingScope,
    change: TradingStateChange,
    ts: Nanos,
  ): Promise<TradingStateEntry> => {
    const entry = await store.set(scope, change, ts);
    const key = scopeKey(scope);
    const stream = tradingStateStream(key);
    try {
      const cached = heads.get(key);
      let out: ReturnType<typeof appendRecords>;
      if (cached !== undefined && cached.version === entry.version - 1) {
        out = appendRecords(stream, cached.head, [tradingStateEntry(scope, entry)]);
      } else {
        const history: TradingStateHistoryEntry[] = await store.history({ scope, limit: HISTORY_LIMIT });
        const ordered = history
          .filter((h) => h.version <= entry.version)
          .sort((a, b) => a.version - b.version);
        const all = chainRecords(
          stream,
          ordered.map((h) => tradingStateEntry(scope, h)),
        );
        const last = all.at(-1);
        out = {
          records: last === undefined ? [] : [last],
          head: last ? { seq: last.seq, hash: last.hash } : null,
        };
      }
      if (out.head !== null) heads.set(key, { head: out.head, version: entry.version });
      await sink.append(out.records);
    } catch (err) {
      onError(err, stream);
    }
    return entry;
  };
  return decorate(store, { set });
}
