/**
 * A risk ledger its holder OWNS and changes in place: the embedded ledger store's working copy.
 *
 * The pure transitions (ledger.ts) never modify their input, so each one copies what it touches —
 * the `open` map (O(open reservations)) and the recent-times arrays (O(retention)). That is the
 * right shape for a value that travels (a Firestore document read, changed and written back), but
 * a single in-process writer pays it on every order. `OwnedLedger` applies the very same
 * transitions (`LedgerOp`s, each computed by the same patch code as the pure function) in place:
 * a map entry is set or deleted, a recent time is appended and the expired head cut off
 * (`pushRecentInPlace`). A transition then costs O(1) amortised, whatever the ledger holds.
 *
 * Rules that keep this safe:
 * - `ledger` is the live value. Its holder may hand it to a pure reader (`riskContextFromLedger`,
 *   a `LedgerUpdateFn`) for the duration of a synchronous call, never keep it or give it away:
 *   hand out `snapshot()` (a deep copy) instead.
 * - Entries are replaced, never modified: a `LedgerInstrument`, `LedgerBook`, `OpenReservation` or
 *   `Reservation` object seen once never changes. Only the maps and the recent-times arrays change.
 * - `apply(ops)` is all or nothing: every change is recorded in an undo log while it runs, and a
 *   throwing op (a `LedgerConflictError`, a malformed value) leaves the ledger as it was (equal in
 *   every value; a map entry that was removed and put back comes last in its map's key order).
 *   `begin()` / `commit()` / `rollback()` extend that to several ops, or several ledgers.
 *
 * Maps are null-prototype dictionaries (keys such as `__proto__` are plain keys; V8 keeps a map
 * whose keys come and go in dictionary mode). The unit test `owned-ledger.test.ts` checks, over
 * random sequences, that `apply` and the pure `applyLedgerOps` always agree.
 */
import {
  emptyLedger,
  type LedgerBook,
  type LedgerInstrument,
  type LedgerOp,
  type LedgerPatch,
  type LedgerStrategy,
  type OpenReservation,
  ownEntry,
  type RiskLedger,
  runLedgerOp,
} from './ledger.ts';
import { pushRecentInPlace } from './recent.ts';
import type { Reservation } from './types.ts';

type Dict<T> = Record<string, T>;
type Undo = () => void;

function dict<T>(): Dict<T> {
  return Object.create(null) as Dict<T>;
}

/** Copy a map's entries (through `copy`) into `out`; `__proto__` stays a plain key. */
function copyInto<T>(out: Dict<T>, from: Readonly<Dict<T>>, copy: (v: T) => T): Dict<T> {
  for (const k of Object.keys(from)) {
    const v = copy(from[k] as T);
    if (k === '__proto__')
      Object.defineProperty(out, k, { value: v, enumerable: true, writable: true, configurable: true });
    else out[k] = v;
  }
  return out;
}

const copyBook = (b: LedgerBook): LedgerBook => ({
  position: b.position,
  working_buy: b.working_buy,
  working_sell: b.working_sell,
});

const copyInstrument = (i: LedgerInstrument): LedgerInstrument => ({
  ...copyBook(i),
  mark: i.mark,
  exposure: i.exposure,
  ...(i.contract_size === undefined ? {} : { contract_size: i.contract_size }),
});

const copyReservation = (r: Reservation): Reservation => ({
  ...r,
  balance: r.balance === null ? null : { ...r.balance },
});

const copyOpenReservation = (o: OpenReservation): OpenReservation => ({
  reservation: copyReservation(o.reservation),
  filled: o.filled,
  balance_remaining: o.balance_remaining,
});

/**
 * A deep copy of a ledger whose maps are made by `newMap` (null-prototype dictionaries for an
 * owned ledger, ordinary objects for one handed out). Shares nothing with `l`.
 */
function copyLedger(l: RiskLedger, newMap: <T>() => Dict<T>): RiskLedger {
  return {
    version: l.version,
    instruments: copyInto(newMap<LedgerInstrument>(), l.instruments, copyInstrument),
    strategies: copyInto(
      newMap<LedgerStrategy>(),
      l.strategies,
      (s): LedgerStrategy => ({
        books: copyInto(newMap<LedgerBook>(), s.books, copyBook),
        recent: s.recent.slice(),
      }),
    ),
    total_exposure: l.total_exposure,
    recent: l.recent.slice(),
    reserved_balance: copyInto(newMap<string>(), l.reserved_balance, (v) => v),
    open: copyInto(newMap<OpenReservation>(), l.open, copyOpenReservation),
  };
}

/** A deep copy of `l` made of ordinary objects and arrays (what a store hands out). */
export function cloneLedger(l: RiskLedger): RiskLedger {
  return copyLedger(l, <T>() => ({}) as Dict<T>);
}

export class OwnedLedger {
  /** The live ledger. Read it during a synchronous call; never keep it or hand it out (see above). */
  readonly ledger: RiskLedger;
  private undo: Undo[] | null = null;

  private constructor(ledger: RiskLedger) {
    this.ledger = ledger;
  }

  /** An owned deep copy of `ledger` (which stays untouched). */
  static of(ledger: RiskLedger): OwnedLedger {
    return new OwnedLedger(copyLedger(ledger, dict));
  }

  static empty(): OwnedLedger {
    return OwnedLedger.of(emptyLedger());
  }

  /** A deep copy of the current ledger, made of ordinary objects: safe to hand out. */
  snapshot(): RiskLedger {
    return cloneLedger(this.ledger);
  }

  /**
   * Apply `ops` in order, in place — exactly `applyLedgerOps` (ledger.ts), without the copying.
   * All or nothing: when an op throws, every change made since this call (or since `begin()`)
   * is undone before the error propagates. Returns true when the ledger changed.
   */
  apply(ops: readonly LedgerOp[]): boolean {
    const outer = this.undo !== null;
    if (!outer) this.undo = [];
    const before = this.ledger.version;
    try {
      for (const op of ops) runLedgerOp(this.ledger, op, this.write);
    } catch (err) {
      if (!outer) this.rollback();
      throw err;
    }
    if (!outer) this.undo = null;
    return this.ledger.version !== before;
  }

  /** Start a transaction over several `apply` calls; end it with `commit()` or `rollback()`. */
  begin(): void {
    if (this.undo !== null) throw new Error('OwnedLedger: a transaction is already open');
    this.undo = [];
  }

  /** Keep every change since `begin()`. */
  commit(): void {
    this.undo = null;
  }

  /** Undo every change since `begin()` (or since the failing `apply` started), newest first. */
  rollback(): void {
    const undo = this.undo;
    this.undo = null;
    if (undo === null) return;
    for (let i = undo.length - 1; i >= 0; i--) (undo[i] as Undo)();
  }

  /** The in-place PatchWriter: the same patch `withPatch` copies into a new ledger. */
  private readonly write = (l: RiskLedger, p: LedgerPatch): RiskLedger => {
    if (p.instrument !== undefined) this.set(l.instruments, p.instrument.key, p.instrument.value);
    if (p.total_exposure !== undefined) {
      const old = l.total_exposure;
      this.log(() => {
        l.total_exposure = old;
      });
      l.total_exposure = p.total_exposure;
    }
    if (p.strategy !== undefined) {
      let s = ownEntry(l.strategies, p.strategy.id);
      if (s === undefined) {
        s = { books: dict<LedgerBook>(), recent: [] };
        this.set(l.strategies, p.strategy.id, s);
      }
      if (p.strategy.book !== undefined) this.set(s.books, p.strategy.book.key, p.strategy.book.value);
      if (p.strategy.recent !== undefined) {
        this.log(pushRecentInPlace(s.recent, p.strategy.recent.ts, p.strategy.recent.max_recent));
      }
    }
    if (p.recent !== undefined) this.log(pushRecentInPlace(l.recent, p.recent.ts, p.recent.max_recent));
    if (p.reserved !== undefined) this.set(l.reserved_balance, p.reserved.currency, p.reserved.value);
    if (p.open !== undefined) {
      if (p.open.value === null) this.remove(l.open, p.open.id);
      else this.set(l.open, p.open.id, p.open.value);
    }
    const version = l.version;
    this.log(() => {
      l.version = version;
    });
    l.version = version + 1;
    return l;
  };

  private log(undo: Undo): void {
    this.undo?.push(undo);
  }

  private set<T>(map: Dict<T>, key: string, value: T): void {
    if (this.undo !== null) {
      const had = Object.hasOwn(map, key);
      const old = map[key];
      this.undo.push(() => {
        if (had) map[key] = old as T;
        else delete map[key];
      });
    }
    map[key] = value;
  }

  private remove<T>(map: Dict<T>, key: string): void {
    if (!Object.hasOwn(map, key)) return;
    const old = map[key] as T;
    this.log(() => {
      map[key] = old;
    });
    delete map[key];
  }
}
