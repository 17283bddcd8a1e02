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
 */
import { Dec, type DecimalString, fmt, toDec } from '../domain/decimal.ts';
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
  /** worst-case |position| × mark, where worst case = max(|pos + working buys|, |pos − working sells|). */
  exposure: DecimalString;
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

function d(s: DecimalString): Dec {
  return toDec(s);
}

function instrumentOf(ledger: RiskLedger, key: string): LedgerInstrument {
  return ledger.instruments[key] ?? { ...EMPTY_BOOK, mark: null, exposure: '0' };
}

function strategyOf(ledger: RiskLedger, id: string): LedgerStrategy {
  return ledger.strategies[id] ?? EMPTY_STRATEGY;
}

function exposureOf(book: LedgerBook, mark: DecimalString | null): Dec {
  if (mark === null) return ZERO;
  return worstCaseQuantity(d(book.position), d(book.working_buy), d(book.working_sell)).times(d(mark));
}

/** Replace an instrument's book (and mark), keeping `total_exposure` the exact sum. */
function withInstrument(
  ledger: RiskLedger,
  key: string,
  book: LedgerBook,
  mark: DecimalString | null,
): Pick<RiskLedger, 'instruments' | 'total_exposure'> {
  const old = instrumentOf(ledger, key);
  const exposure = exposureOf(book, mark);
  const total = d(ledger.total_exposure).minus(d(old.exposure)).plus(exposure);
  return {
    instruments: { ...ledger.instruments, [key]: { ...book, mark, exposure: fmt(exposure) } },
    total_exposure: fmt(total),
  };
}

function withStrategyBook(
  ledger: RiskLedger,
  id: string,
  key: string,
  book: LedgerBook,
): Record<string, LedgerStrategy> {
  const s = strategyOf(ledger, id);
  return { ...ledger.strategies, [id]: { books: { ...s.books, [key]: book }, recent: s.recent } };
}

function bookOf(books: Record<string, LedgerBook>, key: string): LedgerBook {
  return books[key] ?? EMPTY_BOOK;
}

/** Book after adding `working` (may be negative) on a side and `position` (signed). */
function adjust(book: LedgerBook, buy: boolean, workingDelta: Dec, positionDelta: Dec): LedgerBook {
  const wb = buy ? d(book.working_buy).plus(workingDelta) : d(book.working_buy);
  const ws = buy ? d(book.working_sell) : d(book.working_sell).plus(workingDelta);
  return {
    position: fmt(d(book.position).plus(positionDelta)),
    working_buy: fmt(wb.isNeg() ? ZERO : wb),
    working_sell: fmt(ws.isNeg() ? ZERO : ws),
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

function addBalance(
  reserved: Record<string, DecimalString>,
  currency: string,
  delta: Dec,
): Record<string, DecimalString> {
  const next = d(reserved[currency] ?? '0').plus(delta);
  return { ...reserved, [currency]: fmt(next.isNeg() ? ZERO : next) };
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
  if (ledger.open[r.id] !== undefined) return ledger;
  if (!isReservationCurrent(ledger, r)) {
    throw new LedgerConflictError(r.id, r.ledger_version ?? -1, ledger.version);
  }
  const buy = r.side === 'BUY';
  const q = d(r.quantity);
  const ts = BigInt(r.ts_ns);
  const inst = adjust(instrumentOf(ledger, r.instrument_key), buy, q, ZERO);
  const { instruments, total_exposure } = withInstrument(ledger, r.instrument_key, inst, r.mark);
  const strat = strategyOf(ledger, r.strategy_id);
  const stratBook = adjust(bookOf(strat.books, r.instrument_key), buy, q, ZERO);
  const strategies = {
    ...ledger.strategies,
    [r.strategy_id]: {
      books: { ...strat.books, [r.instrument_key]: stratBook },
      recent: pushRecent(strat.recent, ts, options.max_recent),
    },
  };
  return {
    version: ledger.version + 1,
    instruments,
    strategies,
    total_exposure,
    recent: pushRecent(ledger.recent, ts, options.max_recent),
    reserved_balance:
      r.balance === null
        ? ledger.reserved_balance
        : addBalance(ledger.reserved_balance, r.balance.currency, d(r.balance.amount)),
    open: copyOpen(ledger.open, null, {
      reservation: r,
      filled: '0',
      balance_remaining: r.balance === null ? '0' : r.balance.amount,
    }),
  };
}

/** Move `fillQty` of an open reservation from working to position (both scopes). */
function fillOpen(ledger: RiskLedger, open: OpenReservation, fillQty: Dec): RiskLedger {
  const r = open.reservation;
  if (!fillQty.gt(0)) return ledger;
  const buy = r.side === 'BUY';
  const q = d(r.quantity);
  const filledBefore = d(open.filled);
  const workingLeft = q.minus(filledBefore);
  const fromWorking = fillQty.gt(workingLeft) ? (workingLeft.isNeg() ? ZERO : workingLeft) : fillQty;
  const signed = buy ? fillQty : fillQty.neg();
  const inst = adjust(instrumentOf(ledger, r.instrument_key), buy, fromWorking.neg(), signed);
  const { instruments, total_exposure } = withInstrument(
    ledger,
    r.instrument_key,
    inst,
    instrumentOf(ledger, r.instrument_key).mark,
  );
  const stratBook = adjust(
    bookOf(strategyOf(ledger, r.strategy_id).books, r.instrument_key),
    buy,
    fromWorking.neg(),
    signed,
  );
  let reserved = ledger.reserved_balance;
  let balanceRemaining = d(open.balance_remaining);
  if (r.balance !== null && balanceRemaining.gt(0) && q.gt(0)) {
    let release = d(r.balance.amount).times(fromWorking).div(q);
    if (release.gt(balanceRemaining)) release = balanceRemaining;
    reserved = addBalance(reserved, r.balance.currency, release.neg());
    balanceRemaining = balanceRemaining.minus(release);
  }
  return {
    ...ledger,
    version: ledger.version + 1,
    instruments,
    total_exposure,
    strategies: withStrategyBook(ledger, r.strategy_id, r.instrument_key, stratBook),
    reserved_balance: reserved,
    open: copyOpen(ledger.open, null, {
      reservation: r,
      filled: fmt(filledBefore.plus(fillQty)),
      balance_remaining: fmt(balanceRemaining),
    }),
  };
}

/**
 * A (partial) fill of an open reservation: `fillQty` moves from working to position in both
 * scopes, and the matching share of committed balance is released (the shell's cash record now
 * carries it). Unknown ids are ignored (the reservation was already released). De-duplicating
 * fills (by fill_id) is the caller's: the ledger cannot tell a redelivered fill from a new one.
 */
export function recordFill(ledger: RiskLedger, reservationId: string, fillQty: Decimalish): RiskLedger {
  const open = ledger.open[reservationId];
  if (open === undefined) return ledger;
  return fillOpen(ledger, open, toDec(fillQty));
}

/**
 * Close a reservation when its order is terminal (filled, cancelled, rejected, expired).
 * `filledQty` is the order's CUMULATIVE filled quantity: any part not yet recorded with
 * {@link recordFill} moves to position, the rest of the working quantity and committed balance is
 * released. No-op when the reservation is not open (already released).
 */
export function releaseReservation(ledger: RiskLedger, r: Reservation, filledQty: Decimalish): RiskLedger {
  const open0 = ledger.open[r.id];
  if (open0 === undefined) return ledger;
  const unrecorded = toDec(filledQty).minus(d(open0.filled));
  const afterFill = unrecorded.gt(0) ? fillOpen(ledger, open0, unrecorded) : ledger;
  const open = afterFill.open[r.id] as OpenReservation;
  const res = open.reservation;
  const buy = res.side === 'BUY';
  const left = d(res.quantity).minus(d(open.filled));
  const release = left.gt(0) ? left : ZERO;
  const instBefore = instrumentOf(afterFill, res.instrument_key);
  const inst = adjust(instBefore, buy, release.neg(), ZERO);
  const { instruments, total_exposure } = withInstrument(
    afterFill,
    res.instrument_key,
    inst,
    instBefore.mark,
  );
  const stratBook = adjust(
    bookOf(strategyOf(afterFill, res.strategy_id).books, res.instrument_key),
    buy,
    release.neg(),
    ZERO,
  );
  const stillOpen = copyOpen(afterFill.open, res.id, null);
  return {
    ...afterFill,
    version: afterFill.version + 1,
    instruments,
    total_exposure,
    strategies: withStrategyBook(afterFill, res.strategy_id, res.instrument_key, stratBook),
    reserved_balance:
      res.balance === null
        ? afterFill.reserved_balance
        : addBalance(afterFill.reserved_balance, res.balance.currency, d(open.balance_remaining).neg()),
    open: stillOpen,
  };
}

/** Re-value an instrument's exposure at a new price (e.g. periodically from the mid). */
export function markInstrument(ledger: RiskLedger, instrumentKey: string, price: Decimalish): RiskLedger {
  const inst = instrumentOf(ledger, instrumentKey);
  const mark = fmt(toDec(price));
  if (inst.mark === mark) return ledger;
  return { ...ledger, version: ledger.version + 1, ...withInstrument(ledger, instrumentKey, inst, mark) };
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
  const position = fmt(toDec(quantity));
  if (strategyId === null) {
    const inst = instrumentOf(ledger, instrumentKey);
    return {
      ...ledger,
      version: ledger.version + 1,
      ...withInstrument(ledger, instrumentKey, { ...inst, position }, inst.mark),
    };
  }
  const book = bookOf(strategyOf(ledger, strategyId).books, instrumentKey);
  return {
    ...ledger,
    version: ledger.version + 1,
    strategies: withStrategyBook(ledger, strategyId, instrumentKey, { ...book, position }),
  };
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
  const inst = ledger.instruments[order.instrument_key];
  const strat = ledger.strategies[order.strategy_id];
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
    reserved_balance: ledger.reserved_balance[currency] ?? '0',
    recent_orders: {
      global: recentNanos(ledger.recent),
      strategy: strat === undefined ? [] : recentNanos(strat.recent),
    },
    ledger_version: ledger.version,
  };
}
