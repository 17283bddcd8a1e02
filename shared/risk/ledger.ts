/**
 * The risk ledger: a serialisable document (plain JSON: decimal strings, nanoseconds as digit
 * strings) holding what concurrent risk evaluations must agree on — net positions and working
 * quantities per instrument and per strategy, worst-case exposure, committed quote balance, recent
 * order times for velocity, and the open reservations themselves.
 *
 * Concurrency model: the shell keeps ONE ledger document per risk domain (e.g. a Firestore
 * document `risk/ledger`) and runs, inside one transaction,
 *
 *   read ledger → ctx = riskContextFromLedger(ledger, order, market) → evaluate(order, ctx, …)
 *   → if approved: write applyReservation(ledger, decision.reservation)
 *
 * The store serialises the transactions (Firestore retries a transaction whose read set changed),
 * so every evaluation sees every earlier approval, and approvals cannot jointly breach a position,
 * exposure, balance or velocity limit. `applyReservation` also refuses a reservation evaluated on
 * another ledger version (`LedgerConflictError`), which catches a shell that evaluates outside the
 * transaction. Fills move quantity from working to position (`recordFill`); a terminal order
 * releases what is left (`releaseReservation`). All functions are pure: they return a new ledger
 * and never modify their input. Re-applying or re-releasing the same reservation is a no-op
 * (at-least-once delivery).
 *
 * Every transition is also a `LedgerOp` (plain data: journal-able), computed once as a
 * `LedgerPatch` that `withPatch` applies by copying (here) and `OwnedLedger` (owned-ledger.ts)
 * applies in place for a store that owns its ledger — the same arithmetic either way.
 */
import { Dec, type DecimalString, fmt, toDec } from '../domain/decimal.ts';
import type { Nanos } from '../domain/time.ts';
import type { InstrumentSpec, OrderInstruction, TradingState } from '../domain/types.ts';
import { instrumentInfo, worstCaseQuantity } from './engine.ts';
import { type CompiledRiskLimits, compiledLimits, type RiskLimits } from './limits.ts';
import { pushRecent, recentNanos } from './recent.ts';
import type { Decimalish, Reservation, RiskContext } from './types.ts';

/** Net position and open working quantity of one book (decimal strings, working ≥ 0). */
export interface LedgerBook {
  position: DecimalString;
  working_buy: DecimalString;
  working_sell: DecimalString;
}

/** Platform-wide book of one instrument plus its valuation. */
export interface LedgerInstrument extends LedgerBook {
  /** Price the exposure is valued at (the last reservation's mark or `markInstrument`). */
  mark: DecimalString | null;
  /**
   * worst-case |position| × contract size × mark (or × contract size alone for an inverse
   * contract), where worst case = max(|pos + working buys|, |pos − working sells|).
   */
  exposure: DecimalString;
  /** Contract size from the reservations (absent = 1). */
  contract_size?: DecimalString | undefined;
}

export interface LedgerStrategy {
  /** The strategy's own books, by instrument key. */
  books: Record<string, LedgerBook>;
  /** Approval times (ns digit strings), ascending, last minute only (see recent.ts). */
  recent: string[];
}

export interface OpenReservation {
  reservation: Reservation;
  /** Quantity filled so far (moved from working to position). */
  filled: DecimalString;
  /** Committed quote balance not yet released. */
  balance_remaining: DecimalString;
}

export interface RiskLedger {
  /** +1 on every change; a reservation must be applied to the version it was evaluated on. */
  version: number;
  instruments: Record<string, LedgerInstrument>;
  strategies: Record<string, LedgerStrategy>;
  /** Sum of every instrument's exposure. */
  total_exposure: DecimalString;
  /** Approval times (ns digit strings), ascending, last minute only (see recent.ts). */
  recent: string[];
  /** Quote balance committed by open spot-buy reservations, by currency. */
  reserved_balance: Record<string, DecimalString>;
  /** Open reservations by id (operation_id). */
  open: Record<string, OpenReservation>;
}

/** A reservation evaluated against another ledger version: re-read and re-evaluate. */
export class LedgerConflictError extends Error {
  readonly reservation_id: string;
  readonly expected_version: number;
  readonly actual_version: number;
  constructor(id: string, expected: number, actual: number) {
    super(`reservation ${id} was evaluated on ledger version ${expected} but the ledger is at ${actual}`);
    this.name = 'LedgerConflictError';
    this.reservation_id = id;
    this.expected_version = expected;
    this.actual_version = actual;
  }
}

const ZERO = new Dec(0);
const EMPTY_BOOK: LedgerBook = Object.freeze({ position: '0', working_buy: '0', working_sell: '0' });
// Shared empty values: never mutated (every transition builds new objects).
const EMPTY_STRATEGY: LedgerStrategy = { books: {}, recent: [] };

export function emptyLedger(): RiskLedger {
  return {
    version: 0,
    instruments: {},
    strategies: {},
    total_exposure: '0',
    recent: [],
    reserved_balance: {},
    open: {},
  };
}

export interface ApplyOptions {
  /**
   * Keep at most this many recent timestamps per scope (the largest velocity limit in force is
   * enough for exact decisions, see {@link recentRetention}); default: all within the last minute.
   */
  max_recent?: number | null | undefined;
}

/** How many recent timestamps per scope the velocity checks need: the largest limit, or null if none. */
export function recentRetention(limits: RiskLimits | CompiledRiskLimits): number | null {
  const L = compiledLimits(limits);
  let max: number | null = null;
  const consider = (n: number | null | undefined) => {
    if (n !== null && n !== undefined && (max === null || n > max)) max = n;
  };
  consider(L.max_orders_per_second);
  consider(L.max_orders_per_minute);
  for (const s of Object.values(L.source.per_strategy)) {
    consider(s.max_orders_per_second);
    consider(s.max_orders_per_minute);
  }
  return max;
}

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

/**
 * Parsed decimals, by their string. The ledger keeps decimal strings (a plain JSON value), so every
 * transition would parse the strings the previous one formatted: `f` remembers what it formats and
 * `d` looks it up first. `Dec` values are immutable and `fmt` is exact (`toDec(fmt(x))` equals x),
 * so a hit is the very value a parse would give. Bounded: it starts over when full.
 */
const DEC_MEMO_LIMIT = 8_192;
const decMemo = new Map<string, Dec>();

function remember(s: DecimalString, x: Dec): void {
  if (decMemo.size >= DEC_MEMO_LIMIT) decMemo.clear();
  decMemo.set(s, x);
}

function d(s: DecimalString): Dec {
  let x = decMemo.get(s);
  if (x === undefined) {
    x = toDec(s);
    remember(s, x);
  }
  return x;
}

/** `fmt`, remembering the value of the string it makes (never a negative zero: "0" parses as +0). */
function f(x: Dec): DecimalString {
  const s = fmt(x);
  if (!(x.isZero() && x.isNeg())) remember(s, x);
  return s;
}

/**
 * `map[key]` if it is the map's OWN entry. Keys come from input (operation ids, strategy ids), and
 * `constructor`, `toString` or `__proto__` must read as absent, not as what `Object.prototype`
 * holds under that name (a ledger read from storage is made of ordinary objects).
 */
export function ownEntry<T>(map: Readonly<Record<string, T>>, key: string): T | undefined {
  return Object.hasOwn(map, key) ? map[key] : undefined;
}

/** The open reservation of `id`, if any. */
export function openReservation(ledger: RiskLedger, id: string): OpenReservation | undefined {
  return ownEntry(ledger.open, id);
}

function instrumentOf(ledger: RiskLedger, key: string): LedgerInstrument {
  return ownEntry(ledger.instruments, key) ?? { ...EMPTY_BOOK, mark: null, exposure: '0' };
}

function strategyOf(ledger: RiskLedger, id: string): LedgerStrategy {
  return ownEntry(ledger.strategies, id) ?? EMPTY_STRATEGY;
}

function exposureOf(key: string, book: LedgerBook, mark: DecimalString | null, cs: DecimalString): Dec {
  if (mark === null) return ZERO;
  const units = worstCaseQuantity(d(book.position), d(book.working_buy), d(book.working_sell)).times(d(cs));
  return instrumentInfo(key)?.inverse === true ? units : units.times(d(mark));
}

/** An instrument's new book (and mark) as a patch, keeping `total_exposure` the exact sum. */
function instrumentPatch(
  ledger: RiskLedger,
  key: string,
  book: LedgerBook,
  mark: DecimalString | null,
  contractSize?: DecimalString,
): Pick<LedgerPatch, 'instrument' | 'total_exposure'> {
  const old = instrumentOf(ledger, key);
  const cs = contractSize ?? old.contract_size ?? '1';
  const exposure = exposureOf(key, book, mark, cs);
  const total = d(ledger.total_exposure).minus(d(old.exposure)).plus(exposure);
  const books = { position: book.position, working_buy: book.working_buy, working_sell: book.working_sell };
  return {
    instrument: {
      key,
      value: { ...books, mark, exposure: f(exposure), ...(cs === '1' ? {} : { contract_size: cs }) },
    },
    total_exposure: f(total),
  };
}

function bookOf(books: Record<string, LedgerBook>, key: string): LedgerBook {
  return ownEntry(books, key) ?? EMPTY_BOOK;
}

/** Book after adding `working` (may be negative) on a side and `position` (signed). */
function adjust(book: LedgerBook, buy: boolean, workingDelta: Dec, positionDelta: Dec): LedgerBook {
  const wb = buy ? d(book.working_buy).plus(workingDelta) : d(book.working_buy);
  const ws = buy ? d(book.working_sell) : d(book.working_sell).plus(workingDelta);
  return {
    position: f(d(book.position).plus(positionDelta)),
    working_buy: f(wb.isNeg() ? ZERO : wb),
    working_sell: f(ws.isNeg() ? ZERO : ws),
  };
}

/**
 * Copy of the `open` map without `omit` and with `add` (a new reservation). Built as a
 * null-prototype dictionary: the map's key set changes on every transition, and copying into
 * fresh ordinary objects would make V8 create a hidden class per key set (tens of µs per copy);
 * a dictionary copies at a constant cost per entry. JSON and equality see a plain object.
 */
function copyOpen(
  open: Readonly<Record<string, OpenReservation>>,
  omit: string | null,
  add: OpenReservation | null,
): Record<string, OpenReservation> {
  const out: Record<string, OpenReservation> = Object.create(null);
  const keys = Object.keys(open);
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i] as string;
    if (k !== omit) out[k] = open[k] as OpenReservation;
  }
  if (add !== null) out[add.reservation.id] = add;
  return out;
}

/** The reserved balance of `currency` after adding `delta` (never below zero). */
function balanceAfter(reserved: Record<string, DecimalString>, currency: string, delta: Dec): DecimalString {
  const next = d(ownEntry(reserved, currency) ?? '0').plus(delta);
  return f(next.isNeg() ? ZERO : next);
}

// ---------------------------------------------------------------------------------------------
// Patches: what one transition writes, computed once, applied by copying or in place
// ---------------------------------------------------------------------------------------------

/** A time to add to the recent approval times (see recent.ts). */
export interface RecentPush {
  ts: Nanos;
  max_recent: number | null;
}

/**
 * Everything one ledger transition writes, every value already computed (the version goes up by
 * one). {@link withPatch} applies it by copying the touched parts (the pure functions below);
 * `OwnedLedger` (owned-ledger.ts) applies the very same patch in place. The arithmetic therefore
 * exists once, and the two can only differ in how they store the result.
 */
export interface LedgerPatch {
  /** The instrument's new entry (the book re-valued at its mark). */
  instrument?: { key: string; value: LedgerInstrument } | undefined;
  /** With `instrument`: the new sum of every instrument's exposure. */
  total_exposure?: DecimalString | undefined;
  /** The strategy's new book in one instrument, and/or a time for its recent approvals. */
  strategy?:
    | { id: string; book?: { key: string; value: LedgerBook } | undefined; recent?: RecentPush | undefined }
    | undefined;
  /** A time for the global recent approvals. */
  recent?: RecentPush | undefined;
  /** The new committed balance of one currency. */
  reserved?: { currency: string; value: DecimalString } | undefined;
  /** The new entry of one open reservation; `value: null` closes it. */
  open?: { id: string; value: OpenReservation | null } | undefined;
}

/** Applies a patch to `ledger` and returns the ledger after it (a new one, or `ledger` changed in place). */
export type PatchWriter = (ledger: RiskLedger, patch: LedgerPatch) => RiskLedger;

/** The pure writer: a new ledger sharing everything the patch does not touch. */
export const withPatch: PatchWriter = (ledger, p) => {
  let strategies = ledger.strategies;
  if (p.strategy !== undefined) {
    const s = strategyOf(ledger, p.strategy.id);
    const book = p.strategy.book;
    const recent = p.strategy.recent;
    strategies = {
      ...ledger.strategies,
      [p.strategy.id]: {
        books: book === undefined ? s.books : { ...s.books, [book.key]: book.value },
        recent: recent === undefined ? s.recent : pushRecent(s.recent, recent.ts, recent.max_recent),
      },
    };
  }
  return {
    version: ledger.version + 1,
    instruments:
      p.instrument === undefined
        ? ledger.instruments
        : { ...ledger.instruments, [p.instrument.key]: p.instrument.value },
    strategies,
    total_exposure: p.total_exposure ?? ledger.total_exposure,
    recent:
      p.recent === undefined ? ledger.recent : pushRecent(ledger.recent, p.recent.ts, p.recent.max_recent),
    reserved_balance:
      p.reserved === undefined
        ? ledger.reserved_balance
        : { ...ledger.reserved_balance, [p.reserved.currency]: p.reserved.value },
    open:
      p.open === undefined
        ? ledger.open
        : copyOpen(ledger.open, p.open.value === null ? p.open.id : null, p.open.value),
  };
};

function reservePatch(ledger: RiskLedger, r: Reservation, maxRecent: number | null): LedgerPatch {
  const buy = r.side === 'BUY';
  const q = d(r.quantity);
  const ts = BigInt(r.ts_ns);
  const inst = adjust(instrumentOf(ledger, r.instrument_key), buy, q, ZERO);
  const stratBook = adjust(bookOf(strategyOf(ledger, r.strategy_id).books, r.instrument_key), buy, q, ZERO);
  const push: RecentPush = { ts, max_recent: maxRecent };
  return {
    ...instrumentPatch(ledger, r.instrument_key, inst, r.mark, r.contract_size),
    strategy: { id: r.strategy_id, book: { key: r.instrument_key, value: stratBook }, recent: push },
    recent: push,
    reserved:
      r.balance === null
        ? undefined
        : {
            currency: r.balance.currency,
            value: balanceAfter(ledger.reserved_balance, r.balance.currency, d(r.balance.amount)),
          },
    open: {
      id: r.id,
      value: { reservation: r, filled: '0', balance_remaining: r.balance === null ? '0' : r.balance.amount },
    },
  };
}

/** Move `fillQty` of an open reservation from working to position (both scopes); null = no change. */
function fillPatch(ledger: RiskLedger, open: OpenReservation, fillQty: Dec): LedgerPatch | null {
  const r = open.reservation;
  if (!fillQty.gt(0)) return null;
  const buy = r.side === 'BUY';
  const q = d(r.quantity);
  const filledBefore = d(open.filled);
  const workingLeft = q.minus(filledBefore);
  const fromWorking = fillQty.gt(workingLeft) ? (workingLeft.isNeg() ? ZERO : workingLeft) : fillQty;
  const signed = buy ? fillQty : fillQty.neg();
  const instBefore = instrumentOf(ledger, r.instrument_key);
  const inst = adjust(instBefore, buy, fromWorking.neg(), signed);
  const stratBook = adjust(
    bookOf(strategyOf(ledger, r.strategy_id).books, r.instrument_key),
    buy,
    fromWorking.neg(),
    signed,
  );
  let reserved: LedgerPatch['reserved'];
  let balanceRemaining = d(open.balance_remaining);
  if (r.balance !== null && balanceRemaining.gt(0) && q.gt(0)) {
    let release = d(r.balance.amount).times(fromWorking).div(q);
    if (release.gt(balanceRemaining)) release = balanceRemaining;
    reserved = {
      currency: r.balance.currency,
      value: balanceAfter(ledger.reserved_balance, r.balance.currency, release.neg()),
    };
    balanceRemaining = balanceRemaining.minus(release);
  }
  return {
    ...instrumentPatch(ledger, r.instrument_key, inst, instBefore.mark),
    strategy: { id: r.strategy_id, book: { key: r.instrument_key, value: stratBook } },
    reserved,
    open: {
      id: r.id,
      value: {
        reservation: r,
        filled: f(filledBefore.plus(fillQty)),
        balance_remaining: f(balanceRemaining),
      },
    },
  };
}

/** Close an open reservation: the rest of its working quantity and committed balance is released. */
function closePatch(ledger: RiskLedger, open: OpenReservation): LedgerPatch {
  const res = open.reservation;
  const buy = res.side === 'BUY';
  const left = d(res.quantity).minus(d(open.filled));
  const release = left.gt(0) ? left : ZERO;
  const instBefore = instrumentOf(ledger, res.instrument_key);
  const inst = adjust(instBefore, buy, release.neg(), ZERO);
  const stratBook = adjust(
    bookOf(strategyOf(ledger, res.strategy_id).books, res.instrument_key),
    buy,
    release.neg(),
    ZERO,
  );
  return {
    ...instrumentPatch(ledger, res.instrument_key, inst, instBefore.mark),
    strategy: { id: res.strategy_id, book: { key: res.instrument_key, value: stratBook } },
    reserved:
      res.balance === null
        ? undefined
        : {
            currency: res.balance.currency,
            value: balanceAfter(
              ledger.reserved_balance,
              res.balance.currency,
              d(open.balance_remaining).neg(),
            ),
          },
    open: { id: res.id, value: null },
  };
}

// ---------------------------------------------------------------------------------------------
// Operations: each transition as data (journal records, incremental stores)
// ---------------------------------------------------------------------------------------------

/**
 * One ledger transition as plain data, so a change can be journalled and replayed, or applied in
 * place by a store that owns its ledger (`OwnedLedger`). Each is exactly the pure function named:
 *
 * | op             | pure function                                                 |
 * | -------------- | ------------------------------------------------------------- |
 * | `reserve`      | `applyReservation(l, reservation, { max_recent })`            |
 * | `fill`         | `recordFill(l, id, quantity)`                                 |
 * | `release`      | `releaseReservation(l, l.open[id].reservation, filled)`       |
 * | `mark`         | `markInstrument(l, instrument_key, price)`                    |
 * | `set_position` | `setPosition(l, instrument_key, strategy_id, quantity)`       |
 */
export type LedgerOp =
  | { op: 'reserve'; reservation: Reservation; max_recent: number | null }
  | { op: 'fill'; id: string; quantity: DecimalString }
  | { op: 'release'; id: string; filled: DecimalString }
  | { op: 'mark'; instrument_key: string; price: DecimalString }
  | { op: 'set_position'; instrument_key: string; strategy_id: string | null; quantity: DecimalString };

/**
 * Run one op: compute its patches against `ledger` and hand each to `write` (a release after an
 * unrecorded fill is two transitions, the second computed on the ledger the first left). Returns
 * the ledger after the op — `ledger` itself when the op changes nothing.
 */
export function runLedgerOp(ledger: RiskLedger, op: LedgerOp, write: PatchWriter): RiskLedger {
  switch (op.op) {
    case 'reserve': {
      const r = op.reservation;
      if (openReservation(ledger, r.id) !== undefined) return ledger;
      if (!isReservationCurrent(ledger, r)) {
        throw new LedgerConflictError(r.id, r.ledger_version ?? -1, ledger.version);
      }
      return write(ledger, reservePatch(ledger, r, op.max_recent));
    }
    case 'fill':
      return fillBy(ledger, op.id, d(op.quantity), write);
    case 'release':
      return releaseBy(ledger, op.id, d(op.filled), write);
    case 'mark': {
      const inst = instrumentOf(ledger, op.instrument_key);
      const mark = f(d(op.price));
      if (inst.mark === mark) return ledger;
      return write(ledger, instrumentPatch(ledger, op.instrument_key, inst, mark));
    }
    case 'set_position': {
      const position = f(d(op.quantity));
      if (op.strategy_id === null) {
        const inst = instrumentOf(ledger, op.instrument_key);
        return write(ledger, instrumentPatch(ledger, op.instrument_key, { ...inst, position }, inst.mark));
      }
      const book = bookOf(strategyOf(ledger, op.strategy_id).books, op.instrument_key);
      return write(ledger, {
        strategy: { id: op.strategy_id, book: { key: op.instrument_key, value: { ...book, position } } },
      });
    }
  }
}

function fillBy(ledger: RiskLedger, id: string, fillQty: Dec, write: PatchWriter): RiskLedger {
  const open = openReservation(ledger, id);
  if (open === undefined) return ledger;
  const p = fillPatch(ledger, open, fillQty);
  return p === null ? ledger : write(ledger, p);
}

function releaseBy(ledger: RiskLedger, id: string, filledQty: Dec, write: PatchWriter): RiskLedger {
  const open0 = openReservation(ledger, id);
  if (open0 === undefined) return ledger;
  const unrecorded = filledQty.minus(d(open0.filled));
  const afterFill = unrecorded.gt(0) ? fillBy(ledger, id, unrecorded, write) : ledger;
  return write(afterFill, closePatch(afterFill, openReservation(afterFill, id) as OpenReservation));
}

/** The ledger after `op` (pure; `ledger` itself when the op changes nothing). */
export function applyLedgerOp(ledger: RiskLedger, op: LedgerOp): RiskLedger {
  return runLedgerOp(ledger, op, withPatch);
}

/** The ledger after every op in order (pure). */
export function applyLedgerOps(ledger: RiskLedger, ops: readonly LedgerOp[]): RiskLedger {
  let l = ledger;
  for (const op of ops) l = runLedgerOp(l, op, withPatch);
  return l;
}

// ---------------------------------------------------------------------------------------------
// Transitions
// ---------------------------------------------------------------------------------------------

/** True when `r` was evaluated on this ledger version (or carries no version). */
export function isReservationCurrent(ledger: RiskLedger, r: Reservation): boolean {
  return r.ledger_version === null || r.ledger_version === ledger.version;
}

/**
 * Add an approved order's reservation: working quantity on its side (instrument and strategy),
 * the instrument re-marked at `r.mark`, one velocity timestamp per scope, committed balance.
 * No-op when `r.id` is already open. Throws {@link LedgerConflictError} when `r` was evaluated on
 * another ledger version.
 */
export function applyReservation(ledger: RiskLedger, r: Reservation, options: ApplyOptions = {}): RiskLedger {
  return runLedgerOp(
    ledger,
    { op: 'reserve', reservation: r, max_recent: options.max_recent ?? null },
    withPatch,
  );
}

/**
 * A (partial) fill of an open reservation: `fillQty` moves from working to position in both
 * scopes, and the matching share of committed balance is released (the shell's cash record now
 * carries it). Unknown ids are ignored (the reservation was already released). De-duplicating
 * fills (by fill_id) is the caller's: the ledger cannot tell a redelivered fill from a new one.
 */
export function recordFill(ledger: RiskLedger, reservationId: string, fillQty: Decimalish): RiskLedger {
  return fillBy(ledger, reservationId, toDec(fillQty), withPatch);
}

/**
 * Close a reservation when its order is terminal (filled, cancelled, rejected, expired).
 * `filledQty` is the order's CUMULATIVE filled quantity: any part not yet recorded with
 * {@link recordFill} moves to position, the rest of the working quantity and committed balance is
 * released. No-op when the reservation is not open (already released).
 */
export function releaseReservation(ledger: RiskLedger, r: Reservation, filledQty: Decimalish): RiskLedger {
  return releaseBy(ledger, r.id, toDec(filledQty), withPatch);
}

/** Re-value an instrument's exposure at a new price (e.g. periodically from the mid). */
export function markInstrument(ledger: RiskLedger, instrumentKey: string, price: Decimalish): RiskLedger {
  return runLedgerOp(
    ledger,
    { op: 'mark', instrument_key: instrumentKey, price: f(toDec(price)) },
    withPatch,
  );
}

/**
 * Reconcile a net position from the position store (start-up, reconciliation): the platform-wide
 * position of an instrument when `strategyId` is null, else that strategy's. Working quantities
 * are untouched.
 */
export function setPosition(
  ledger: RiskLedger,
  instrumentKey: string,
  strategyId: string | null,
  quantity: Decimalish,
): RiskLedger {
  return runLedgerOp(
    ledger,
    {
      op: 'set_position',
      instrument_key: instrumentKey,
      strategy_id: strategyId,
      quantity: f(toDec(quantity)),
    },
    withPatch,
  );
}

// ---------------------------------------------------------------------------------------------
// Context
// ---------------------------------------------------------------------------------------------

/** What the shell adds to the ledger to make a context: state, instrument, market, balance. */
export interface MarketSnapshot {
  trading_state: TradingState;
  strategy_trading_state: TradingState;
  instrument: InstrumentSpec | null;
  reference_price: Decimalish | null;
  /** Free quote balance before any reservation in this ledger; null = unknown. */
  free_balance: Decimalish | null;
  /** Currency of `free_balance`; default: the instrument's quote asset (from its id). */
  balance_currency?: string | undefined;
}

/** The `RiskContext` for `order` as the ledger stands (positions, working, exposure, velocity). */
export function riskContextFromLedger(
  ledger: RiskLedger,
  order: OrderInstruction,
  market: MarketSnapshot,
): RiskContext {
  const inst = ownEntry(ledger.instruments, order.instrument_key);
  const strat = ownEntry(ledger.strategies, order.strategy_id);
  const sBook = strat === undefined ? EMPTY_BOOK : bookOf(strat.books, order.instrument_key);
  const iBook = inst ?? EMPTY_BOOK;
  const currency = market.balance_currency ?? instrumentInfo(order.instrument_key)?.quote ?? '';
  return {
    trading_state: market.trading_state,
    strategy_trading_state: market.strategy_trading_state,
    instrument: market.instrument,
    reference_price: market.reference_price,
    position: { instrument: iBook.position, strategy: sBook.position },
    working: {
      instrument: { buy: iBook.working_buy, sell: iBook.working_sell },
      strategy: { buy: sBook.working_buy, sell: sBook.working_sell },
    },
    exposure: { total: ledger.total_exposure, instrument: inst?.exposure ?? '0' },
    free_balance: market.free_balance,
    reserved_balance: ownEntry(ledger.reserved_balance, currency) ?? '0',
    recent_orders: {
      global: recentNanos(ledger.recent),
      strategy: strat === undefined ? [] : recentNanos(strat.recent),
    },
    ledger_version: ledger.version,
  };
}
