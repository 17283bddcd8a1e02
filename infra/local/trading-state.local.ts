/**
 * The embedded trading state store: the current state per scope in memory, every change appended to
 * `<dataDir>/trading-state.jsonl` (`{"op":"set","entry":{scope, state, reason, updated_by,
 * ts_updated, version, previous}}`) and replayed at start-up — so a HALT survives a restart.
 * `dataDir: null` keeps it in memory only. The journal is the audit trail (`history()`).
 */
import type { Nanos } from '../../shared/domain/time.ts';
import {
  checkTradingStateChange,
  sameScope,
  type TradingScope,
  type TradingStateChange,
  type TradingStateEntry,
  type TradingStateHistoryEntry,
  TradingStateHistoryEntrySchema,
  type TradingStateSnapshot,
  type TradingStateStore,
} from '../../shared/ports/trading-state-store.ts';
import type { Journal, JournalOptions } from './journal.ts';
import { assertJournaledUsable, journaledHealth, openStoreJournal } from './journaled-store.ts';

export interface LocalTradingStateStoreOptions extends JournalOptions {
  /** Folder for the journal; null = memory only. */
  dataDir: string | null;
  /** Journal file name inside dataDir (default `trading-state.jsonl`). */
  fileName?: string;
}

const scopeKey = (s: TradingScope) => (s.kind === 'global' ? 'global' : `strategy:${s.strategy_id}`);

function entryOf(h: TradingStateHistoryEntry): TradingStateEntry {
  return {
    state: h.state,
    reason: h.reason,
    updated_by: h.updated_by,
    ts_updated: h.ts_updated,
    version: h.version,
  };
}

export class LocalTradingStateStore implements TradingStateStore {
  private readonly current = new Map<string, TradingStateHistoryEntry>();
  private readonly changes: TradingStateHistoryEntry[] = [];
  private journal: Journal | null = null;
  private closed = false;

  private constructor() {}

  static async open(opts: LocalTradingStateStoreOptions): Promise<LocalTradingStateStore> {
    const store = new LocalTradingStateStore();
    store.journal = await openStoreJournal(opts, 'trading-state.jsonl', (rec, where) =>
      store.replay(rec, where),
    );
    return store;
  }

  static memory(): LocalTradingStateStore {
    return new LocalTradingStateStore();
  }

  async snapshot(): Promise<TradingStateSnapshot> {
    this.assertUsable();
    let global: TradingStateEntry | null = null;
    const strategies: Record<string, TradingStateEntry> = {};
    for (const h of this.current.values()) {
      if (h.scope.kind === 'global') global = entryOf(h);
      else strategies[h.scope.strategy_id] = entryOf(h);
    }
    if (this.journal) await this.journal.flushed();
    return { global, strategies };
  }

  async set(scope: TradingScope, change: TradingStateChange, ts: Nanos): Promise<TradingStateEntry> {
    this.assertUsable();
    checkTradingStateChange(scope, change);
    const key = scopeKey(scope);
    const before = this.current.get(key);
    const entry: TradingStateHistoryEntry = {
      scope:
        scope.kind === 'global' ? { kind: 'global' } : { kind: 'strategy', strategy_id: scope.strategy_id },
      state: change.state,
      reason: change.reason,
      updated_by: change.updated_by,
      ts_updated: ts,
      version: (before?.version ?? 0) + 1,
      previous: before?.state ?? null,
    };
    this.apply(entry);
    if (this.journal) await this.journal.append({ op: 'set', entry });
    return entryOf(entry);
  }

  async history(
    opts: { scope?: TradingScope | undefined; limit?: number | undefined } = {},
  ): Promise<TradingStateHistoryEntry[]> {
    this.assertUsable();
    const limit = opts.limit ?? 100;
    const out: TradingStateHistoryEntry[] = [];
    for (let i = this.changes.length - 1; i >= 0 && out.length < limit; i--) {
      const h = this.changes[i] as TradingStateHistoryEntry;
      if (opts.scope === undefined || sameScope(h.scope, opts.scope)) out.push(structuredClone(h));
    }
    if (this.journal) await this.journal.flushed();
    return out;
  }

  async health(): Promise<{ ok: boolean; detail?: string }> {
    return journaledHealth('trading state store', this.closed, this.journal);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.journal?.close();
  }

  private apply(entry: TradingStateHistoryEntry): void {
    this.current.set(scopeKey(entry.scope), entry);
    this.changes.push(entry);
  }

  private replay(raw: unknown, where: string): void {
    if (typeof raw !== 'object' || raw === null || (raw as { op?: unknown }).op !== 'set') {
      throw new Error(`${where}: not a trading state journal record`);
    }
    const r = TradingStateHistoryEntrySchema.safeParse((raw as { entry?: unknown }).entry);
    if (!r.success) {
      const i = r.error.issues[0];
      throw new Error(
        `${where}: corrupt trading state entry at ${i?.path.map(String).join('.') ?? ''}: ${i?.message ?? ''}`,
      );
    }
    this.apply(r.data);
  }

  private assertUsable(): void {
    assertJournaledUsable('trading state store', 'trading state', this.closed, this.journal);
  }
}
