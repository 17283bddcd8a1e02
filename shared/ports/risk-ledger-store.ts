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
  emptyLedger,
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
}

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
  const open = ledger.open[operationId];
  if (open === undefined) return ledger;
  return releaseReservationIn(ledger, open.reservation, filledQty);
}

/** The ledger after a fill of `operationId`'s reservation; the same object when none is open. */
export function fillByOperationId(ledger: RiskLedger, operationId: string, fillQty: Decimalish): RiskLedger {
  if (ledger.open[operationId] === undefined) return ledger;
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
// Storage schema (validated on write and on read by every adapter)
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
  balance: z.object({ currency: z.string(), amount: decimal }).nullable(),
  ts_ns: nsDigits,
  ledger_version: z.number().int().nullable(),
});

/** zod schema of a stored `RiskLedger`. */
export const RiskLedgerSchema = z.object({
  version: z.number().int().min(0),
  instruments: z.record(z.string(), BookSchema.extend({ mark: decimal.nullable(), exposure: decimal })),
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
