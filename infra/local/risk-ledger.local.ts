/**
 * The embedded risk ledger store: one ledger per scope in memory, owned by the store and changed
 * in place (`OwnedLedger`, shared/risk/owned-ledger.ts), plus an append-only journal
 * `<dataDir>/risk-ledger.jsonl` replayed at start-up; `dataDir: null` keeps it in memory only.
 *
 * Journal records:
 *   {"op":"apply","scope":"global","version":n,"ops":[LedgerOp...]}   a change given as ops;
 *                                                                      `version` = after it
 *   {"op":"put","scope":"global","ledger":{...}}                        a whole ledger: a change
 *                                                                      given as `next`, and
 *                                                                      compaction's snapshot
 *
 * Atomicity: `update` reads, calls `fn` and installs the result in one synchronous step, so no other
 * update of this process can interleave (the event loop is the mutex, for every scope at once);
 * the change is journalled in that same order and the call resolves once its line — and every line
 * before it — is written. A journal write failure makes the store refuse further use (restart to
 * recover from the journal), like the other embedded stores.
 *
 * Cost: a change given as ops (`changeByOps`, what the order pipeline, `releaseReservation` and
 * `recordFill` use) is checked op by op (`checkLedgerOps`, never the whole ledger) and applied in
 * place: O(change), whatever the ledger holds. A change given as `next` (any pure `fn`) is checked
 * where it differs from the current ledger (`checkLedgerChange`) and installed as an owned deep
 * copy: O(ledger), as the pure functions that made it already were. What is validated where
 * (docs/order-pipeline.md, "Validation"): ops and changed entries before they are installed or
 * journalled; every journal record when it is read back at start-up (the boundary with the disk).
 */
import { z } from 'zod';
import { fmt, toDec } from '../../shared/domain/decimal.ts';
import {
  changedLedgers,
  checkLedgerChange,
  checkLedgerOps,
  DEFAULT_LEDGER_SCOPE,
  LedgerOpSchema,
  type LedgerUpdateFn,
  normaliseScopes,
  parseStoredLedger,
  type RiskLedgerStore,
} from '../../shared/ports/risk-ledger-store.ts';
import { type LedgerOp, openReservation, type RiskLedger } from '../../shared/risk/ledger.ts';
import { OwnedLedger } from '../../shared/risk/owned-ledger.ts';
import type { Decimalish } from '../../shared/risk/types.ts';
import type { Journal, JournalOptions } from './journal.ts';
import { assertJournaledUsable, journaledHealth, openStoreJournal } from './journaled-store.ts';

export interface LocalRiskLedgerStoreOptions extends JournalOptions {
  /** Folder for the journal; null = memory only. */
  dataDir: string | null;
  /** Journal file name inside dataDir (default `risk-ledger.jsonl`). */
  fileName?: string;
  /** Rewrite the journal as one line per scope at start-up once it holds this many lines (default 1000). */
  compactMinRecords?: number;
}

const JournalRecordSchema = z.discriminatedUnion('op', [
  z.object({ op: z.literal('put'), scope: z.string().min(1), ledger: z.unknown() }),
  z.object({
    op: z.literal('apply'),
    scope: z.string().min(1),
    version: z.number().int().min(0),
    ops: z.array(LedgerOpSchema).min(1),
  }),
]);

export class LocalRiskLedgerStore implements RiskLedgerStore {
  private readonly ledgers = new Map<string, OwnedLedger>();
  private journal: Journal | null = null;
  private closed = false;

  private constructor() {}

  static async open(opts: LocalRiskLedgerStoreOptions): Promise<LocalRiskLedgerStore> {
    const store = new LocalRiskLedgerStore();
    store.journal = await openStoreJournal(
      opts,
      'risk-ledger.jsonl',
      (rec, where) => store.replay(rec, where),
      {
        minRecords: opts.compactMinRecords ?? 1000,
        factor: 1,
        live: () => store.ledgers.size,
        snapshot: () =>
          [...store.ledgers].map(([scope, owned]) => ({ op: 'put', scope, ledger: owned.ledger })),
      },
    );
    return store;
  }

  /** An in-memory store (same as `open({dataDir: null})`). */
  static memory(): LocalRiskLedgerStore {
    return new LocalRiskLedgerStore();
  }

  async update<R>(scopeKeys: readonly string[], fn: LedgerUpdateFn<R>): Promise<R> {
    this.assertUsable();
    const scopes = normaliseScopes(scopeKeys);
    // The live ledgers, read-only for fn; a scope never written reads as a fresh empty ledger.
    const owned = new Map<string, OwnedLedger>();
    const read: Record<string, RiskLedger> = {};
    for (const s of scopes) {
      const o = this.ledgers.get(s) ?? OwnedLedger.empty();
      owned.set(s, o);
      read[s] = o.ledger;
    }
    const change = fn(read);
    const lines =
      change.ops !== undefined
        ? this.applyOps(scopes, owned, change.ops)
        : this.install(scopes, read, change.next);
    if (this.journal) {
      if (lines.length === 0) await this.journal.flushed();
      else await Promise.all(lines.map((line) => this.journal?.append(line)));
    }
    return change.result;
  }

  async get(scopeKey: string): Promise<RiskLedger> {
    this.assertUsable();
    const ledger = (this.ledgers.get(scopeKey) ?? OwnedLedger.empty()).snapshot();
    if (this.journal) await this.journal.flushed();
    return ledger;
  }

  async releaseReservation(
    operationId: string,
    filledQty: Decimalish,
    scopeKey = DEFAULT_LEDGER_SCOPE,
  ): Promise<boolean> {
    const op: LedgerOp = { op: 'release', id: operationId, filled: fmt(toDec(filledQty)) };
    return this.applyOwn(scopeKey, operationId, op);
  }

  async recordFill(
    operationId: string,
    fillQty: Decimalish,
    scopeKey = DEFAULT_LEDGER_SCOPE,
  ): Promise<boolean> {
    const qty = toDec(fillQty);
    if (!qty.gt(0)) return this.applyOwn(scopeKey, operationId, null);
    return this.applyOwn(scopeKey, operationId, { op: 'fill', id: operationId, quantity: fmt(qty) });
  }

  async health(): Promise<{ ok: boolean; detail?: string }> {
    return journaledHealth('risk ledger store', this.closed, this.journal);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.journal?.close();
  }

  /**
   * `releaseReservation` / `recordFill`: one op the store built itself (a canonical decimal, an id
   * that must name an open reservation to change anything), so it skips `checkLedgerOps`. Returns
   * whether the ledger changed; journalled like any change.
   */
  private async applyOwn(scope: string, operationId: string, op: LedgerOp | null): Promise<boolean> {
    this.assertUsable();
    normaliseScopes([scope]); // the same refusal of an empty key as `update`
    const o = this.ledgers.get(scope);
    const changed =
      op !== null && o !== undefined && openReservation(o.ledger, operationId) !== undefined && o.apply([op]);
    if (this.journal) {
      if (changed && o !== undefined)
        await this.journal.append({ op: 'apply', scope, version: o.ledger.version, ops: [op] });
      else await this.journal.flushed();
    }
    return changed;
  }

  /**
   * A change given as ops: checked, then applied in place to every scope, all or nothing. Returns
   * the journal lines of the scopes that changed.
   */
  private applyOps(
    scopes: readonly string[],
    owned: ReadonlyMap<string, OwnedLedger>,
    ops: Readonly<Record<string, readonly LedgerOp[]>>,
  ): unknown[] {
    const plan: Array<[string, OwnedLedger, LedgerOp[]]> = [];
    for (const [scope, list] of Object.entries(ops)) {
      const o = owned.get(scope);
      if (o === undefined || !scopes.includes(scope)) {
        throw new RangeError(`ledger update wrote scope ${JSON.stringify(scope)}, which it did not read`);
      }
      if (list.length > 0) plan.push([scope, o, checkLedgerOps(list, scope)]);
    }
    const changed: Array<[string, OwnedLedger, LedgerOp[]]> = [];
    for (const [, o] of plan) o.begin();
    try {
      for (const entry of plan) if (entry[1].apply(entry[2])) changed.push(entry);
    } catch (err) {
      for (const [, o] of plan) o.rollback();
      throw err;
    }
    for (const [, o] of plan) o.commit();
    for (const [scope, o] of changed) this.ledgers.set(scope, o);
    return changed.map(([scope, o, list]) => ({ op: 'apply', scope, version: o.ledger.version, ops: list }));
  }

  /**
   * A change given as whole ledgers: each checked where it differs from the current one, then
   * installed as an owned copy. Returns the journal lines.
   */
  private install(
    scopes: readonly string[],
    read: Readonly<Record<string, RiskLedger>>,
    next: Readonly<Record<string, RiskLedger>> | undefined,
  ): unknown[] {
    const writes = changedLedgers(scopes, read, next);
    // Validate everything before installing anything: a bad ledger must not half-apply.
    for (const [scope, ledger] of writes) checkLedgerChange(read[scope] as RiskLedger, ledger, scope);
    for (const [scope, ledger] of writes) this.ledgers.set(scope, OwnedLedger.of(ledger));
    return writes.map(([scope, ledger]) => ({ op: 'put', scope, ledger }));
  }

  private replay(raw: unknown, where: string): void {
    const r = JournalRecordSchema.safeParse(raw);
    if (!r.success) {
      const i = r.error.issues[0];
      const path = i?.path.map(String).join('.') ?? '';
      throw new Error(
        `${where}: not a risk ledger journal record${path ? ` (at ${path}: ${i?.message ?? ''})` : ''}`,
      );
    }
    const rec = r.data;
    if (rec.op === 'put') {
      this.ledgers.set(
        rec.scope,
        OwnedLedger.of(parseStoredLedger(rec.ledger, `${where} (scope ${rec.scope})`)),
      );
      return;
    }
    const o = this.ledgers.get(rec.scope) ?? OwnedLedger.empty();
    try {
      o.apply(rec.ops);
    } catch (err) {
      throw new Error(`${where} (scope ${rec.scope}): ops do not apply: ${(err as Error).message}`, {
        cause: err,
      });
    }
    if (o.ledger.version !== rec.version) {
      throw new Error(
        `${where} (scope ${rec.scope}): ops leave the ledger at version ${o.ledger.version}, the record says ${rec.version} (a lost or reordered line)`,
      );
    }
    this.ledgers.set(rec.scope, o);
  }

  private assertUsable(): void {
    assertJournaledUsable('risk ledger store', 'risk ledger', this.closed, this.journal);
  }
}
