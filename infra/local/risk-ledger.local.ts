/**
 * The embedded risk ledger store: one `RiskLedger` per scope in memory, plus an append-only journal
 * `<dataDir>/risk-ledger.jsonl` (`{"op":"put","scope":"global","ledger":{...}}`, the whole ledger
 * after each change) replayed at start-up; `dataDir: null` keeps it in memory only.
 *
 * Atomicity: `update` reads, calls `fn` and installs the result in one synchronous step, so no other
 * update of this process can interleave (the event loop is the mutex, for every scope at once);
 * the change is journalled in that same order and the call resolves once its line — and every line
 * before it — is written. A journal write failure makes the store refuse further use (restart to
 * recover from the journal), like the other embedded stores.
 */
import { join } from 'node:path';
import { z } from 'zod';
import {
  changedLedgers,
  DEFAULT_LEDGER_SCOPE,
  emptyLedger,
  fillByOperationId,
  type LedgerUpdateFn,
  normaliseScopes,
  parseStoredLedger,
  RiskLedgerSchema,
  type RiskLedgerStore,
  releaseByOperationId,
} from '../../shared/ports/risk-ledger-store.ts';
import type { RiskLedger } from '../../shared/risk/ledger.ts';
import type { Decimalish } from '../../shared/risk/types.ts';
import { Journal, type JournalOptions } from './journal.ts';

export interface LocalRiskLedgerStoreOptions extends JournalOptions {
  /** Folder for the journal; null = memory only. */
  dataDir: string | null;
  /** Journal file name inside dataDir (default `risk-ledger.jsonl`). */
  fileName?: string;
  /** Rewrite the journal as one line per scope at start-up once it holds this many lines (default 1000). */
  compactMinRecords?: number;
}

const JournalRecordSchema = z.object({ op: z.literal('put'), scope: z.string().min(1), ledger: z.unknown() });

export class LocalRiskLedgerStore implements RiskLedgerStore {
  private readonly ledgers = new Map<string, RiskLedger>();
  private journal: Journal | null = null;
  private closed = false;

  private constructor() {}

  static async open(opts: LocalRiskLedgerStoreOptions): Promise<LocalRiskLedgerStore> {
    const store = new LocalRiskLedgerStore();
    if (opts.dataDir !== null) {
      const path = join(opts.dataDir, opts.fileName ?? 'risk-ledger.jsonl');
      const compactMin = opts.compactMinRecords ?? 1000;
      store.journal = await Journal.open(path, (rec, where) => store.replay(rec, where), {
        ...opts,
        snapshot: (replayed) =>
          replayed >= compactMin && replayed > store.ledgers.size
            ? [...store.ledgers].map(([scope, ledger]) => ({ op: 'put', scope, ledger }))
            : null,
      });
    }
    return store;
  }

  /** An in-memory store (same as `open({dataDir: null})`). */
  static memory(): LocalRiskLedgerStore {
    return new LocalRiskLedgerStore();
  }

  async update<R>(scopeKeys: readonly string[], fn: LedgerUpdateFn<R>): Promise<R> {
    this.assertUsable();
    const scopes = normaliseScopes(scopeKeys);
    const read: Record<string, RiskLedger> = {};
    for (const s of scopes) read[s] = this.ledgers.get(s) ?? emptyLedger();
    const change = fn(read);
    const writes = changedLedgers(scopes, read, change.next);
    // Validate everything before installing anything: a bad ledger must not half-apply.
    const checked = writes.map(([scope, ledger]) => [scope, checkLedger(ledger, scope)] as const);
    for (const [scope, ledger] of checked) this.ledgers.set(scope, ledger);
    if (this.journal) {
      if (checked.length === 0) await this.journal.flushed();
      else
        await Promise.all(
          checked.map(([scope, ledger]) => this.journal?.append({ op: 'put', scope, ledger })),
        );
    }
    return change.result;
  }

  async get(scopeKey: string): Promise<RiskLedger> {
    this.assertUsable();
    const ledger = structuredClone(this.ledgers.get(scopeKey) ?? emptyLedger());
    if (this.journal) await this.journal.flushed();
    return ledger;
  }

  async releaseReservation(
    operationId: string,
    filledQty: Decimalish,
    scopeKey = DEFAULT_LEDGER_SCOPE,
  ): Promise<boolean> {
    return this.update([scopeKey], (l) => {
      const before = l[scopeKey] as RiskLedger;
      const after = releaseByOperationId(before, operationId, filledQty);
      return { result: after !== before, next: { [scopeKey]: after } };
    });
  }

  async recordFill(
    operationId: string,
    fillQty: Decimalish,
    scopeKey = DEFAULT_LEDGER_SCOPE,
  ): Promise<boolean> {
    return this.update([scopeKey], (l) => {
      const before = l[scopeKey] as RiskLedger;
      const after = fillByOperationId(before, operationId, fillQty);
      return { result: after !== before, next: { [scopeKey]: after } };
    });
  }

  async health(): Promise<{ ok: boolean; detail?: string }> {
    if (this.closed) return { ok: false, detail: 'risk ledger store is closed' };
    const failure = this.journal?.failure;
    if (failure) return { ok: false, detail: failure.message };
    return this.journal
      ? { ok: true, detail: `journal ${this.journal.path}` }
      : { ok: true, detail: 'memory only' };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.journal?.close();
  }

  private replay(raw: unknown, where: string): void {
    const r = JournalRecordSchema.safeParse(raw);
    if (!r.success) throw new Error(`${where}: not a risk ledger journal record`);
    this.ledgers.set(r.data.scope, parseStoredLedger(r.data.ledger, `${where} (scope ${r.data.scope})`));
  }

  private assertUsable(): void {
    if (this.closed) throw new Error('risk ledger store is closed');
    const failure = this.journal?.failure;
    if (failure) {
      throw new Error(`risk ledger journal failed; restart to recover from the journal: ${failure.message}`, {
        cause: failure,
      });
    }
  }
}

/** Validate a ledger before it is stored (a bug in `fn` must not corrupt the store). */
function checkLedger(ledger: RiskLedger, scope: string): RiskLedger {
  const r = RiskLedgerSchema.safeParse(ledger);
  if (!r.success) {
    const i = r.error.issues[0];
    throw new RangeError(
      `ledger for scope ${scope} is malformed at ${i?.path.map(String).join('.') || '(root)'}: ${i?.message ?? ''}`,
    );
  }
  return ledger;
}
