/**
 * The risk ledger store: where the pre-trade risk engine's shared state (shared/risk/ledger.ts, a
 * serialisable `RiskLedger` per scope) lives, so that concurrent order intakes — several Cloud
 * Function instances, or many handlers in one process — never jointly breach a limit.
 *
 * `update(scopeKeys, fn)` is the one primitive: read the ledgers of the scopes, call `fn` (pure,
 * synchronous, may be called several times), and write what it returns atomically — only if no
 * other writer changed any of those ledgers since the read; otherwise read again and call `fn`
 * again. Every approval is therefore evaluated on a ledger that includes every earlier approval.
 *
 * Scopes: a scope key names one ledger document. The order pipeline keeps ONE scope (`global`)
 * because the engine's global limits (orders per second/minute, total exposure, global position)
 * need every order in one ledger. See docs/order-pipeline.md ("Consistency model") for the
 * throughput this allows and how to shard.
 */
import { z } from 'zod';
import {
  applyLedgerOps,
  emptyLedger,
  type LedgerOp,
  openReservation,
  type RiskLedger,
  recordFill as recordFillIn,
  releaseReservation as releaseReservationIn,
} from '../risk/ledger.ts';
import type { Decimalish } from '../risk/types.ts';

/** The scope the order pipeline uses when nothing else is configured. */
export const DEFAULT_LEDGER_SCOPE = 'global';

/** What `fn` returns: a result for the caller and, optionally, the ledgers to write. */
export interface LedgerChange<R> {
  result: R;
  /**
   * New ledgers by scope key (each key must be one of the scopes read); omitted or empty = write
   * nothing. A ledger equal (by identity) to the one read is not written.
   */
  next?: Readonly<Record<string, RiskLedger>> | undefined;
  /**
   * Optional, additive: the same change as ledger operations per scope (`LedgerOp`, one per pure
   * transition). A store that owns a mutable copy of its ledgers (the embedded
   * `LocalRiskLedgerStore`) applies these in place — O(change) instead of the O(ledger) copy the
   * pure functions make — and journals them; other stores read `next`. When `ops` is given, `next`
   * MUST be what `applyLedgerOps` makes of the ledgers read: build both with {@link changeByOps},
   * whose `next` is computed only if a store reads it.
   */
  ops?: Readonly<Record<string, readonly LedgerOp[]>> | undefined;
}

/**
 * The ledgers `fn` receives are the store's to read during the call only: a store may change them
 * in place once `fn` has returned (the embedded one does), and ledgers the pure functions make from
 * them share their unchanged parts. Copy (`structuredClone`) anything kept beyond the call; the
 * `Reservation` objects inside are never modified and may be kept.
 */
export type LedgerUpdateFn<R> = (ledgers: Readonly<Record<string, RiskLedger>>) => LedgerChange<R>;

export interface RiskLedgerStore {
  /**
   * Atomic read-modify-write of the ledgers of `scopeKeys` (an unknown scope reads as
   * `emptyLedger()`). `fn` must be pure: it may run more than once under contention, and only the
   * run whose write succeeded counts. Throws when the store cannot reach agreement in its retry
   * budget (a transient failure: the caller retries the whole message).
   */
  update<R>(scopeKeys: readonly string[], fn: LedgerUpdateFn<R>): Promise<R>;
  /** The current ledger of one scope (`emptyLedger()` when none is stored). */
  get(scopeKey: string): Promise<RiskLedger>;
  /**
   * Close the reservation of `operationId` (its order is terminal): the cumulative `filledQty` moves
   * to position, the rest of the working quantity and committed balance is released. Idempotent:
   * returns false (and writes nothing) when no such reservation is open.
   */
  releaseReservation(operationId: string, filledQty: Decimalish, scopeKey?: string): Promise<boolean>;
  /**
   * A (partial) fill of an open reservation: `fillQty` moves from working to position. NOT
   * idempotent by itself — call it once per fill, after the order store accepted the fill (the
   * order store rejects a fill_id it already has). Returns false when no reservation is open.
   */
  recordFill(operationId: string, fillQty: Decimalish, scopeKey?: string): Promise<boolean>;
  health(): Promise<{ ok: boolean; detail?: string }>;
  close(): Promise<void>;
}

// ---------------------------------------------------------------------------------------------
// Pure helpers (used by the adapters and by the venue edge when it has a ledger in hand)
// ---------------------------------------------------------------------------------------------

/**
 * The ledger after closing `operationId`'s reservation with the order's cumulative filled quantity;
 * the same ledger object when no such reservation is open (so callers can skip the write).
 */
export function releaseByOperationId(
  ledger: RiskLedger,
  operationId: string,
  filledQty: Decimalish,
): RiskLedger {
  const open = openReservation(ledger, operationId);
  if (open === undefined) return ledger;
  return releaseReservationIn(ledger, open.reservation, filledQty);
}

/** The ledger after a fill of `operationId`'s reservation; the same object when none is open. */
export function fillByOperationId(ledger: RiskLedger, operationId: string, fillQty: Decimalish): RiskLedger {
  if (openReservation(ledger, operationId) === undefined) return ledger;
  return recordFillIn(ledger, operationId, fillQty);
}

/** Check the `next` map of a LedgerChange against the scopes read; returns the entries to write. */
export function changedLedgers(
  scopeKeys: readonly string[],
  read: Readonly<Record<string, RiskLedger>>,
  next: Readonly<Record<string, RiskLedger>> | undefined,
): Array<[string, RiskLedger]> {
  if (next === undefined) return [];
  const out: Array<[string, RiskLedger]> = [];
  for (const [scope, ledger] of Object.entries(next)) {
    if (!scopeKeys.includes(scope)) {
      throw new RangeError(`ledger update wrote scope ${JSON.stringify(scope)}, which it did not read`);
    }
    if (ledger !== read[scope]) out.push([scope, ledger]);
  }
  return out;
}

/**
 * A `LedgerChange` given as operations: `ops` for stores that apply them in place, and `next` (the
 * pure `applyLedgerOps` of each scope's ledger as read) computed lazily, on first access, for
 * stores that only know `next`. Call it inside `fn` with the ledgers `fn` received; `next` must be
 * read (if at all) before `fn`'s store applies the change — which every store does, synchronously,
 * right after `fn` returns. Scopes whose op list is empty are left out.
 */
export function changeByOps<R>(
  read: Readonly<Record<string, RiskLedger>>,
  result: R,
  ops: Readonly<Record<string, readonly LedgerOp[]>>,
): LedgerChange<R> {
  const lists: Record<string, readonly LedgerOp[]> = {};
  for (const [scope, list] of Object.entries(ops)) if (list.length > 0) lists[scope] = list;
  if (Object.keys(lists).length === 0) return { result };
  let next: Record<string, RiskLedger> | undefined;
  return {
    result,
    ops: lists,
    get next(): Record<string, RiskLedger> {
      if (next === undefined) {
        const out: Record<string, RiskLedger> = {};
        for (const [scope, list] of Object.entries(lists)) {
          const ledger = read[scope];
          // A scope that was not read: `changedLedgers` refuses it by name.
          out[scope] =
            ledger === undefined ? applyLedgerOps(emptyLedger(), list) : applyLedgerOps(ledger, list);
        }
        next = out;
      }
      return next;
    },
  };
}

/** Scope keys deduplicated and sorted (a fixed lock / read order). Throws on an empty key. */
export function normaliseScopes(scopeKeys: readonly string[]): string[] {
  if (scopeKeys.length === 0) throw new RangeError('a ledger update needs at least one scope key');
  for (const s of scopeKeys) {
    if (typeof s !== 'string' || s.length === 0) throw new RangeError('ledger scope keys must not be empty');
  }
  return [...new Set(scopeKeys)].sort();
}

export { emptyLedger };

// ---------------------------------------------------------------------------------------------
// Storage schema: validated in full on every read from storage; before a write, Firestore checks
// the whole ledger, the embedded store only the change (`checkLedgerOps` / `checkLedgerChange`)
// ---------------------------------------------------------------------------------------------

const decimal = z.string().regex(/^-?\d+(\.\d+)?$/, 'expected a decimal string such as "1.5"');
const nsDigits = z.string().regex(/^\d+$/, 'expected nanoseconds as a string of digits');

const BookSchema = z.object({ position: decimal, working_buy: decimal, working_sell: decimal });

const ReservationSchema = z.object({
  id: z.string().min(1),
  instrument_key: z.string().min(1),
  strategy_id: z.string(),
  side: z.enum(['BUY', 'SELL']),
  quantity: decimal,
  mark: decimal,
  contract_size: decimal.optional(),
  balance: z.object({ currency: z.string(), amount: decimal }).nullable(),
  ts_ns: nsDigits,
  ledger_version: z.number().int().nullable(),
});

/** zod schema of a stored `RiskLedger`. */
export const RiskLedgerSchema = z.object({
  version: z.number().int().min(0),
  instruments: z.record(
    z.string(),
    BookSchema.extend({ mark: decimal.nullable(), exposure: decimal, contract_size: decimal.optional() }),
  ),
  strategies: z.record(
    z.string(),
    z.object({ books: z.record(z.string(), BookSchema), recent: z.array(nsDigits) }),
  ),
  total_exposure: decimal,
  recent: z.array(nsDigits),
  reserved_balance: z.record(z.string(), decimal),
  open: z.record(
    z.string(),
    z.object({ reservation: ReservationSchema, filled: decimal, balance_remaining: decimal }),
  ),
});

/** zod schema of one `LedgerOp` (journal records of the embedded store, and ops given to it). */
export const LedgerOpSchema = z.discriminatedUnion('op', [
  z.object({
    op: z.literal('reserve'),
    reservation: ReservationSchema,
    max_recent: z.number().int().min(0).nullable(),
  }),
  z.object({ op: z.literal('fill'), id: z.string().min(1), quantity: decimal }),
  z.object({ op: z.literal('release'), id: z.string().min(1), filled: decimal }),
  z.object({ op: z.literal('mark'), instrument_key: z.string().min(1), price: decimal }),
  z.object({
    op: z.literal('set_position'),
    instrument_key: z.string().min(1),
    strategy_id: z.string().nullable(),
    quantity: decimal,
  }),
]);
const _opShape: (x: z.output<typeof LedgerOpSchema>) => LedgerOp = (x) => x;
void _opShape;

/**
 * Check ops before they change a ledger (a bug must not corrupt the store); the error names the
 * scope, the op's index and the field. Cheap: only the ops, never the ledger they apply to.
 */
export function checkLedgerOps(ops: readonly unknown[], scope: string): LedgerOp[] {
  return ops.map((op, i) => {
    const r = LedgerOpSchema.safeParse(op);
    if (r.success) return r.data;
    const issue = r.error.issues[0];
    throw new RangeError(
      `ledger ops for scope ${scope} are malformed at ops.${i}${issue?.path.length ? `.${issue.path.map(String).join('.')}` : ''}: ${issue?.message ?? 'invalid'}`,
    );
  });
}

const InstrumentEntrySchema = BookSchema.extend({ mark: decimal.nullable(), exposure: decimal });
const OpenEntrySchema = z.object({
  reservation: ReservationSchema,
  filled: decimal,
  balance_remaining: decimal,
});
const RecentSchema = z.array(nsDigits);
const LedgerScalarsSchema = z.object({
  version: z.number().int().min(0),
  total_exposure: decimal,
  instruments: z.record(z.string(), z.unknown()),
  strategies: z.record(z.string(), z.unknown()),
  recent: z.array(z.unknown()),
  reserved_balance: z.record(z.string(), decimal),
  open: z.record(z.string(), z.unknown()),
});
const StrategyShellSchema = z.object({
  books: z.record(z.string(), z.unknown()),
  recent: z.array(z.unknown()),
});

/**
 * Validate `next`, a ledger about to replace `prev`, looking only at what changed: the scalars,
 * then every map entry and recent-times array that is not the very object `prev` holds (the pure
 * transitions share everything they do not touch, so an update checks O(its change), not
 * O(ledger)). `prev` must itself be valid (a store's current ledger). Throws a RangeError naming
 * the scope and the field — the same guard as `RiskLedgerSchema` on the whole ledger.
 */
export function checkLedgerChange(prev: RiskLedger, next: RiskLedger, scope: string): RiskLedger {
  const fail = (path: readonly PropertyKey[], message: string): never => {
    throw new RangeError(
      `ledger for scope ${scope} is malformed at ${path.map(String).join('.') || '(root)'}: ${message}`,
    );
  };
  const check = (schema: z.ZodType, value: unknown, path: readonly PropertyKey[]): void => {
    const r = schema.safeParse(value);
    if (!r.success) {
      const i = r.error.issues[0];
      fail([...path, ...(i?.path ?? [])], i?.message ?? 'invalid');
    }
  };
  check(LedgerScalarsSchema, next, []);
  const changed = <T>(
    p: Readonly<Record<string, T>>,
    n: Readonly<Record<string, T>>,
    each: (key: string, value: T) => void,
  ): void => {
    if (p === n) return;
    for (const k of Object.keys(n)) {
      const v = n[k] as T;
      if (!Object.hasOwn(p, k) || p[k] !== v) each(k, v);
    }
  };
  changed(prev.instruments, next.instruments, (k, v) => check(InstrumentEntrySchema, v, ['instruments', k]));
  changed(prev.open, next.open, (k, v) => check(OpenEntrySchema, v, ['open', k]));
  if (next.recent !== prev.recent) check(RecentSchema, next.recent, ['recent']);
  changed(prev.strategies, next.strategies, (id, s) => {
    check(StrategyShellSchema, s, ['strategies', id]);
    const before = Object.hasOwn(prev.strategies, id) ? prev.strategies[id] : undefined;
    changed(before?.books ?? {}, s.books, (k, b) => check(BookSchema, b, ['strategies', id, 'books', k]));
    if (s.recent !== before?.recent) check(RecentSchema, s.recent, ['strategies', id, 'recent']);
  });
  return next;
}

// Compile-time check: the schema's output is the risk module's type.
const _ledgerShape: (x: z.output<typeof RiskLedgerSchema>) => RiskLedger = (x) => x;
void _ledgerShape;

/** Validate a ledger read from storage; the error names `where` and the bad field. */
export function parseStoredLedger(value: unknown, where: string): RiskLedger {
  const r = RiskLedgerSchema.safeParse(value);
  if (r.success) return r.data;
  const first = r.error.issues[0];
  const path = first?.path.map(String).join('.') ?? '';
  throw new Error(`${where}: corrupt risk ledger at ${path || '(root)'}: ${first?.message ?? 'invalid'}`);
}
