/**
 * The ExecutionRecorder: how a venue edge records what a venue reports — submits, acks, fills,
 * cancels, rejections, expiries — in the order book of record (OrderStore), the position book
 * (PositionStore) and the risk ledger, and tells the rest of the platform on `exec.orders` /
 * `exec.fills`. The simulated venue uses it today; the ccxt edge (LIVE / SHADOW) uses the same
 * service, so the rules below hold for every venue (docs/simulated-venue.md, "Recording").
 *
 * Every report is: load the order → the order machine's `handle` (one command = one version bump)
 * → `OrderStore.transition(op, version, …)` → on `version_conflict` reload and try again (bounded)
 * → publish. It is an application service over ports: no I/O of its own, time from the Clock.
 *
 * At-least-once venue reports (WebSocket + REST polling, redelivered bus messages, retries after a
 * crash) must leave the books correct:
 *
 * - **Duplicates are no-ops.** A second ack with the same venue order id, a second cancel, a
 *   second fill with the same fill_id: nothing is written (`duplicate`). The ledger release of a
 *   terminal order and the publication are repeated (both idempotent for consumers), which repairs
 *   a crash between the transition and them.
 * - **Out of order is fine where the order machine allows it**: a fill before the ack
 *   (SUBMITTED → PARTIALLY_FILLED/FILLED, the late ack then records the venue order id), fills
 *   while a cancel is pending, a late ack or cancel confirmation after the order finished
 *   (`ignored`, logged).
 * - **A report our books cannot take is never lost**: a fill for a CANCELED order, an overfill, an
 *   ack for an order we never submitted → `reconciliation`: logged as a warning and published on
 *   `exec.orders` as a `reconciliation` message (attribute `reconciliation: "true"`) for the
 *   reconciliation job to settle. The order is not changed.
 *
 * **Fills: exactly once.** The order transition that stores the fill is the gate: the store keeps
 * each fill_id once per order, atomically with the new order state. The position is updated only
 * after that transition stored the fill. Positions are a projection of the stored fills:
 *
 * - normal path: the fill is applied to the account's position (`applyFill`, versioned put, retried
 *   on conflict). `Position.last_fill_id` makes a re-apply of the same fill a no-op;
 * - a duplicate fill (the store already has it) whose id is not the position's `last_fill_id` and
 *   that this process has not itself completed recently is "in doubt" — the process may have died
 *   between the transition and the position write — so the position is **rebuilt from the stored
 *   fills** of that account and instrument (every order, fills in `ts_event` order);
 * - `recoverPositions({venue})` rebuilds every position of a venue's orders (start-up recovery for
 *   fills that will never be redelivered, e.g. the simulated venue's in-memory engine).
 *
 * Position writes for one (account, instrument) are serialised in this process, and a venue's
 * accounts belong to that venue alone (the configuration refuses shared account ids), so the venue
 * edge of a venue is the single writer of its positions.
 *
 * **Risk ledger.** After a stored fill: `recordFill` (or `releaseReservation` with the cumulative
 * filled quantity when the fill completed the order); after any terminal transition:
 * `releaseReservation` (idempotent, repeated on duplicates). A failed `recordFill` is logged, not
 * thrown: the terminal release moves whatever was not recorded.
 *
 * Errors: a store or bus failure is thrown (transient — the caller retries the report, which is
 * then a duplicate and repairs what was left undone). Bad reports are data, never exceptions.
 */
import { toDec } from '../domain/decimal.ts';
import type { OrderEvent } from '../domain/events.ts';
import {
  handle,
  isTerminal,
  type OrderCommand,
  type OrderRejection,
  remainingQuantity,
  WORKING_STATUSES,
} from '../domain/order-machine.ts';
import { applyFill } from '../domain/position.ts';
import type { Nanos } from '../domain/time.ts';
import type { Fill, OrderRecord, Position } from '../domain/types.ts';
import type { Clock } from '../ports/clock.ts';
import type { EventBus } from '../ports/event-bus.ts';
import type { OrderStore } from '../ports/order-store.ts';
import type { PositionStore } from '../ports/position-store.ts';
import { DEFAULT_LEDGER_SCOPE, type RiskLedgerStore } from '../ports/risk-ledger-store.ts';
import {
  type ExecReconciliationMessage,
  execFillAttributes,
  execFillMessage,
  FILLS_TOPIC,
  fillPayload,
  type ReconciliationKind,
  reconciliationAttributes,
} from './execution-messages.ts';
import { ORDER_UPDATES_TOPIC, orderUpdateAttributes, orderUpdateMessage } from './messages.ts';

// ---------------------------------------------------------------------------------------------
// Dependencies and outcomes
// ---------------------------------------------------------------------------------------------

export type LogFields = Record<string, unknown>;

/** Where the recorder reports what it did not apply (a pino logger adapts in one line). */
export interface ExecutionLog {
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
}

export const SILENT_EXECUTION_LOG: ExecutionLog = { info: () => undefined, warn: () => undefined };

export interface ExecutionRecorderDeps {
  orders: OrderStore;
  positions: PositionStore;
  bus: Pick<EventBus, 'publish'>;
  clock: Clock;
  /** Releases reservations on terminal orders and moves filled quantity to position (optional). */
  ledger?: Pick<RiskLedgerStore, 'releaseReservation' | 'recordFill'> | undefined;
  /** The ledger scope of an order (must match the order pipeline's; default one global scope). */
  ledgerScope?: ((order: { instrument_key: string; strategy_id: string }) => string) | undefined;
  log?: ExecutionLog | undefined;
  /** Attempts of a transition that keeps losing version races, then it throws (default 10). */
  maxAttempts?: number | undefined;
  /** How many completed reports this process remembers to skip repeated work (default 10,000). */
  rememberReports?: number | undefined;
  /**
   * The contract size of an instrument (`InstrumentSpec.contract_size`, e.g. from the instrument
   * catalog) for position accounting; absent or undefined: 1.
   */
  contractSize?: ((instrumentKey: string) => string | undefined) | undefined;
}

/**
 * What became of a venue report:
 * - `recorded`: the order moved (one transition), published;
 * - `duplicate`: already applied earlier; nothing written (ledger release and publication repeated);
 * - `ignored`: a late report that no longer applies (an ack or cancel confirmation after the order
 *   finished); logged, nothing written;
 * - `reconciliation`: the report contradicts our books; logged as a warning and published on
 *   `exec.orders` as a reconciliation message; nothing written.
 */
export type ExecutionOutcome =
  | { kind: 'recorded'; order: OrderRecord; events: OrderEvent[]; position?: Position | null | undefined }
  | { kind: 'duplicate'; order: OrderRecord; position?: Position | null | undefined }
  | { kind: 'ignored'; order: OrderRecord; code: string; reason: string }
  | {
      kind: 'reconciliation';
      order: OrderRecord | null;
      reconciliation: ReconciliationKind;
      code: string;
      reason: string;
    };

/** True when the outcome leaves the order live at the venue (the edge may send / keep it there). */
export function isLiveAtVenue(outcome: ExecutionOutcome): boolean {
  return (
    (outcome.kind === 'recorded' || outcome.kind === 'duplicate') &&
    WORKING_STATUSES.has(outcome.order.status)
  );
}

/** Thrown when a transition kept losing version races (transient: retry the report). */
export class ExecutionContentionError extends Error {
  constructor(operationId: string, command: string, attempts: number) {
    super(`${command} on ${operationId}: the order kept changing under ${attempts} attempts; retry`);
    this.name = 'ExecutionContentionError';
  }
}

/** The account a position of this order belongs to: its routed account, else its venue. */
export function positionAccountOf(order: OrderRecord): string {
  return order.account_id ?? order.venue ?? 'default';
}

// ---------------------------------------------------------------------------------------------
// Small helpers: a keyed mutex and a bounded memory of completed reports
// ---------------------------------------------------------------------------------------------

/** Runs tasks with the same key one after another (in call order); other keys run freely. */
export class KeyedMutex {
  private readonly tails = new Map<string, Promise<void>>();

  async run<T>(key: string, task: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    let release: () => void = () => undefined;
    const mine = new Promise<void>((resolve) => {
      release = resolve;
    });
    const tail = previous.then(() => mine);
    this.tails.set(key, tail);
    await previous;
    try {
      return await task();
    } finally {
      release();
      if (this.tails.get(key) === tail) this.tails.delete(key);
    }
  }
}

class BoundedSet {
  private readonly items = new Set<string>();
  constructor(private readonly capacity: number) {}
  has(key: string): boolean {
    return this.items.has(key);
  }
  add(key: string): void {
    this.items.delete(key);
    this.items.add(key);
    if (this.items.size > this.capacity) {
      const oldest = this.items.values().next();
      if (!oldest.done) this.items.delete(oldest.value);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// The recorder
// ---------------------------------------------------------------------------------------------

/** How a status report (not a fill) is recorded. */
interface StatusReport {
  name: string;
  /** The event type the command records (for re-publishing a duplicate). */
  eventType: OrderEvent['type'];
  command: (order: OrderRecord, tsInit: Nanos) => OrderCommand;
  /** True when the order already reflects this report. */
  applied: (order: OrderRecord) => boolean;
  /** A refused command: benign and late (`ignored`) or a contradiction (`reconciliation`). */
  classify: (order: OrderRecord, rejection: OrderRejection) => ReconciliationKind | null;
  /** Remembered once completed. */
  key: string;
  tsEvent: Nanos;
  detail: Record<string, string>;
}

const QUERY_PAGE = 1000;

export class ExecutionRecorder {
  private readonly d: ExecutionRecorderDeps;
  private readonly log: ExecutionLog;
  private readonly maxAttempts: number;
  private readonly scopeOf: (order: { instrument_key: string; strategy_id: string }) => string;
  private readonly positionLocks = new KeyedMutex();
  /** Reports this process recorded (or confirmed as duplicates) and published completely. */
  private readonly completed: BoundedSet;

  constructor(deps: ExecutionRecorderDeps) {
    this.d = deps;
    this.log = deps.log ?? SILENT_EXECUTION_LOG;
    this.maxAttempts = Math.max(1, Math.trunc(deps.maxAttempts ?? 10));
    this.scopeOf = deps.ledgerScope ?? (() => DEFAULT_LEDGER_SCOPE);
    this.completed = new BoundedSet(Math.max(1, Math.trunc(deps.rememberReports ?? 10_000)));
  }

  // -------------------------------------------------------------------------------------------
  // Status reports
  // -------------------------------------------------------------------------------------------

  /**
   * The edge is sending the order to the venue with this client order id (PENDING → SUBMITTED).
   * Record it BEFORE sending; send only when {@link isLiveAtVenue} (a duplicate of a working order
   * is live: the venue de-duplicates by client order id; a canceled order is not).
   */
  recordSubmitted(operationId: string, clientOrderId: string, ts?: Nanos): Promise<ExecutionOutcome> {
    const tsEvent = ts ?? this.d.clock.now();
    return this.recordStatus(operationId, {
      name: 'SubmitOrder',
      eventType: 'OrderSubmitted',
      command: (_o, tsInit) => ({
        type: 'SubmitOrder',
        client_order_id: clientOrderId,
        ts_event: tsEvent,
        ts_init: tsInit,
      }),
      applied: (o) => o.status !== 'PENDING' && o.client_order_id === clientOrderId,
      // Nothing is at the venue yet, so a refused submit contradicts nothing: the edge just does not send.
      classify: () => null,
      key: `${operationId}|submit|${clientOrderId}`,
      tsEvent,
      detail: { client_order_id: clientOrderId },
    });
  }

  /** The venue acknowledged the order under `venueOrderId`. */
  recordAccepted(operationId: string, venueOrderId: string, ts?: Nanos): Promise<ExecutionOutcome> {
    const tsEvent = ts ?? this.d.clock.now();
    return this.recordStatus(operationId, {
      name: 'AcceptOrder',
      eventType: 'OrderAccepted',
      command: (_o, tsInit) => ({
        type: 'AcceptOrder',
        venue_order_id: venueOrderId,
        ts_event: tsEvent,
        ts_init: tsInit,
      }),
      applied: (o) => o.venue_order_id === venueOrderId,
      // After the order finished (filled before the ack arrived, canceled): late and harmless. Otherwise
      // the order was never submitted, or the venue acknowledged it under another id.
      classify: (_o, r) => (r.code === 'terminal_state' ? null : 'unexpected_ack'),
      key: `${operationId}|accept|${venueOrderId}`,
      tsEvent,
      detail: { venue_order_id: venueOrderId },
    });
  }

  /** The venue refused the order. */
  recordRejected(operationId: string, reason: string, ts?: Nanos): Promise<ExecutionOutcome> {
    const tsEvent = ts ?? this.d.clock.now();
    return this.recordStatus(operationId, {
      name: 'RejectOrder',
      eventType: 'OrderRejected',
      command: (_o, tsInit) => ({ type: 'RejectOrder', reason, ts_event: tsEvent, ts_init: tsInit }),
      applied: (o) => o.status === 'REJECTED',
      // After the order finished without fills (canceled, expired): late and harmless.
      classify: (o, r) =>
        r.code === 'terminal_state' && toDec(o.filled_quantity).isZero() ? null : 'unexpected_reject',
      key: `${operationId}|reject`,
      tsEvent,
      detail: { reason },
    });
  }

  /** The venue canceled the order (a confirmed cancel request, or the venue's own: IOC remainder, ...). */
  recordCanceled(operationId: string, reason: string, ts?: Nanos): Promise<ExecutionOutcome> {
    const tsEvent = ts ?? this.d.clock.now();
    return this.recordStatus(operationId, {
      name: 'ConfirmCancel',
      eventType: 'OrderCanceled',
      command: (_o, tsInit) => ({ type: 'ConfirmCancel', reason, ts_event: tsEvent, ts_init: tsInit }),
      applied: (o) => o.status === 'CANCELED',
      // The only refusal is a terminal order: the cancel raced a final fill or an expiry.
      classify: () => null,
      key: `${operationId}|cancel`,
      tsEvent,
      detail: { reason },
    });
  }

  /** The order expired at the venue (DAY orders, an algorithm's schedule that ran out). */
  recordExpired(operationId: string, reason: string, ts?: Nanos): Promise<ExecutionOutcome> {
    const tsEvent = ts ?? this.d.clock.now();
    return this.recordStatus(operationId, {
      name: 'ExpireOrder',
      eventType: 'OrderExpired',
      command: (_o, tsInit) => ({ type: 'ExpireOrder', reason, ts_event: tsEvent, ts_init: tsInit }),
      applied: (o) => o.status === 'EXPIRED',
      classify: (_o, r) => (r.code === 'terminal_state' ? null : 'unexpected_expiry'),
      key: `${operationId}|expire`,
      tsEvent,
      detail: { reason },
    });
  }

  private async recordStatus(operationId: string, report: StatusReport): Promise<ExecutionOutcome> {
    for (let attempt = 1; attempt <= this.maxAttempts; attempt++) {
      const order = await this.d.orders.get(operationId);
      if (order === null)
        return this.unknownOrder(operationId, report.name, report.tsEvent, report.detail, null);
      if (report.applied(order)) return this.duplicateStatus(order, report);
      const now = this.d.clock.now();
      const decided = handle(report.command(order, now), order);
      if (!decided.success) {
        const kind = report.classify(order, decided.error);
        if (kind === null) {
          this.log.info(`venue report ${report.name} not applied: ${decided.error.reason}`, {
            operation_id: operationId,
            status: order.status,
            code: decided.error.code,
            ...report.detail,
          });
          return { kind: 'ignored', order, code: decided.error.code, reason: decided.error.reason };
        }
        return this.reconcile(
          order,
          operationId,
          kind,
          report.name,
          decided.error,
          report.tsEvent,
          report.detail,
          null,
        );
      }
      const { order: next, events } = decided.data;
      const r = await this.d.orders.transition(operationId, order.version, next, events);
      if (r.ok) {
        await this.afterTransition(r.order, events, now);
        this.completed.add(report.key);
        return { kind: 'recorded', order: r.order, events };
      }
      if (r.reason === 'not_found') {
        return this.unknownOrder(operationId, report.name, report.tsEvent, report.detail, null);
      }
      // version_conflict (or an impossible duplicate_fill): someone moved the order; look again.
    }
    throw new ExecutionContentionError(operationId, report.name, this.maxAttempts);
  }

  private async duplicateStatus(order: OrderRecord, report: StatusReport): Promise<ExecutionOutcome> {
    if (isTerminal(order.status)) await this.release(order);
    if (!this.completed.has(report.key)) {
      // Maybe the first attempt died before publishing: publish again (consumers de-duplicate).
      await this.publishUpdate(order, [report.eventType], this.d.clock.now());
      this.completed.add(report.key);
    }
    return { kind: 'duplicate', order };
  }

  private async afterTransition(
    order: OrderRecord,
    events: readonly OrderEvent[],
    now: Nanos,
  ): Promise<void> {
    if (isTerminal(order.status)) await this.release(order);
    await this.publishUpdate(
      order,
      events.map((e) => e.type),
      now,
    );
    this.log.info(`order ${order.operation_id} ${order.status}`, {
      operation_id: order.operation_id,
      status: order.status,
      venue: order.venue,
      events: events.map((e) => e.type),
    });
  }

  // -------------------------------------------------------------------------------------------
  // Fills
  // -------------------------------------------------------------------------------------------

  /**
   * A fill of the order (`fill.order_id` must be the order's `order_id`). Stored exactly once per
   * fill_id; the position is updated once; the same fill again is a `duplicate` (and repairs a
   * position left behind by a crash).
   */
  async recordFill(operationId: string, fill: Fill): Promise<ExecutionOutcome> {
    const first = await this.d.orders.get(operationId);
    const detail = { fill_id: fill.fill_id };
    if (first === null) return this.unknownOrder(operationId, 'ApplyFill', fill.ts_event, detail, fill);
    const account = positionAccountOf(first);
    return this.positionLocks.run(positionKey(account, first.instrument_key), async () => {
      for (let attempt = 1; attempt <= this.maxAttempts; attempt++) {
        // Read inside the lock: a fill recorded while we waited changed the order.
        const order = await this.d.orders.get(operationId);
        if (order === null) return this.unknownOrder(operationId, 'ApplyFill', fill.ts_event, detail, fill);
        const now = this.d.clock.now();
        const decided = handle({ type: 'ApplyFill', fill, ts_event: fill.ts_event, ts_init: now }, order);
        if (!decided.success) {
          const stored = await this.d.orders.fills(operationId);
          if (stored.some((f) => f.fill_id === fill.fill_id)) return this.duplicateFill(order, fill, account);
          return this.reconcile(
            order,
            operationId,
            'unapplied_fill',
            'ApplyFill',
            decided.error,
            fill.ts_event,
            detail,
            fill,
          );
        }
        const { order: next, events } = decided.data;
        const r = await this.d.orders.transition(operationId, order.version, next, events, [fill]);
        if (r.ok) {
          // The fill is stored (exactly once): now, and only now, the position and the ledger.
          const position = await this.applyToPosition(account, fill);
          if (isTerminal(r.order.status)) await this.release(r.order);
          else await this.ledgerFill(r.order, fill);
          await this.publishFill(r.order, fill, position, now);
          await this.publishUpdate(
            r.order,
            events.map((e) => e.type),
            now,
          );
          this.completed.add(fillKey(operationId, fill.fill_id));
          this.log.info(
            `fill ${fill.fill_id} ${fill.side} ${fill.quantity} @ ${fill.price} on ${operationId}`,
            {
              operation_id: operationId,
              fill_id: fill.fill_id,
              status: r.order.status,
              filled_quantity: r.order.filled_quantity,
              position: position?.quantity ?? null,
            },
          );
          return { kind: 'recorded', order: r.order, events, position };
        }
        if (r.reason === 'duplicate_fill') return this.duplicateFill(r.current, fill, account);
        if (r.reason === 'not_found')
          return this.unknownOrder(operationId, 'ApplyFill', fill.ts_event, detail, fill);
      }
      throw new ExecutionContentionError(operationId, 'ApplyFill', this.maxAttempts);
    });
  }

  /** Inside the position lock: the fill is stored already; make sure the position has it. */
  private async duplicateFill(order: OrderRecord, fill: Fill, account: string): Promise<ExecutionOutcome> {
    const key = fillKey(order.operation_id, fill.fill_id);
    if (this.completed.has(key)) {
      return { kind: 'duplicate', order };
    }
    let position = await this.d.positions.get(account, order.instrument_key);
    if (position?.last_fill_id !== fill.fill_id) {
      // In doubt: the first attempt may have died between the order transition and the position.
      position = await this.rebuildLocked(account, order.instrument_key);
    }
    if (isTerminal(order.status)) await this.release(order);
    await this.publishFill(order, fill, position, this.d.clock.now());
    this.completed.add(key);
    return { kind: 'duplicate', order, position };
  }

  private settlementOptions(instrumentKey: string): { contract_size?: string } | undefined {
    const cs = this.d.contractSize?.(instrumentKey);
    return cs === undefined ? undefined : { contract_size: cs };
  }

  /** Apply a stored fill to the position (versioned; a re-apply of the last fill is a no-op). */
  private async applyToPosition(account: string, fill: Fill): Promise<Position> {
    for (let attempt = 1; attempt <= this.maxAttempts; attempt++) {
      const current = await this.d.positions.get(account, fill.instrument_key);
      const next = applyFill(current, fill, account, this.settlementOptions(fill.instrument_key));
      if (next === current && current !== null) return current;
      const r = await this.d.positions.put(next, current?.version ?? 0);
      if (r.ok) return r.position;
    }
    throw new ExecutionContentionError(
      `${account}|${fill.instrument_key}`,
      'position update',
      this.maxAttempts,
    );
  }

  // -------------------------------------------------------------------------------------------
  // Positions as a projection of the stored fills
  // -------------------------------------------------------------------------------------------

  /**
   * Recompute the position of `accountId` in `instrumentKey` from every stored fill of its orders
   * (in `ts_event` order) and store it when it differs. Returns the position (null when there is
   * none and no fill). A stored position with no fill behind it is left alone.
   */
  rebuildPosition(accountId: string, instrumentKey: string): Promise<Position | null> {
    return this.positionLocks.run(positionKey(accountId, instrumentKey), () =>
      this.rebuildLocked(accountId, instrumentKey),
    );
  }

  /**
   * Start-up recovery: rebuild the positions of every (account, instrument) with a filled order at
   * `venue`. Returns how many positions were checked and how many changed.
   */
  async recoverPositions(filter: { venue: string }): Promise<{ checked: number; rebuilt: number }> {
    const keys = new Map<string, { account: string; instrument: string }>();
    await this.forEachOrder({ venue: filter.venue }, (o) => {
      if (toDec(o.filled_quantity).isZero()) return;
      const account = positionAccountOf(o);
      keys.set(positionKey(account, o.instrument_key), { account, instrument: o.instrument_key });
    });
    let rebuilt = 0;
    for (const k of keys.values()) {
      const changed = await this.positionLocks.run(positionKey(k.account, k.instrument), async () => {
        const before = await this.d.positions.get(k.account, k.instrument);
        const after = await this.rebuildLocked(k.account, k.instrument);
        return (before?.version ?? 0) !== (after?.version ?? 0);
      });
      if (changed) rebuilt++;
    }
    if (rebuilt > 0) {
      this.log.warn(`recovered ${rebuilt} position(s) of venue ${filter.venue} from the stored fills`, {
        venue: filter.venue,
        checked: keys.size,
        rebuilt,
      });
    }
    return { checked: keys.size, rebuilt };
  }

  private async rebuildLocked(accountId: string, instrumentKey: string): Promise<Position | null> {
    for (let attempt = 1; attempt <= this.maxAttempts; attempt++) {
      const current = await this.d.positions.get(accountId, instrumentKey);
      const fills = await this.storedFills(accountId, instrumentKey);
      if (fills.length === 0) return current;
      let derived: Position | null = null;
      const opts = this.settlementOptions(instrumentKey);
      for (const f of fills) derived = applyFill(derived, f, accountId, opts);
      if (derived === null) return current;
      if (current !== null && samePosition(current, derived)) return current;
      const next: Position = { ...derived, version: (current?.version ?? 0) + 1 };
      const r = await this.d.positions.put(next, current?.version ?? 0);
      if (r.ok) {
        this.log.warn(`position ${accountId} ${instrumentKey} rebuilt from ${fills.length} stored fill(s)`, {
          account_id: accountId,
          instrument_key: instrumentKey,
          before: current?.quantity ?? null,
          after: r.position.quantity,
        });
        return r.position;
      }
    }
    throw new ExecutionContentionError(`${accountId}|${instrumentKey}`, 'position rebuild', this.maxAttempts);
  }

  /** Every stored fill of the account's orders in the instrument, in ts_event order (stable). */
  private async storedFills(accountId: string, instrumentKey: string): Promise<Fill[]> {
    const orders: OrderRecord[] = [];
    await this.forEachOrder({ instrument_key: instrumentKey }, (o) => {
      if (positionAccountOf(o) === accountId && !toDec(o.filled_quantity).isZero()) orders.push(o);
    });
    const rows: Array<{ fill: Fill; op: string; i: number }> = [];
    for (const o of orders) {
      const fills = await this.d.orders.fills(o.operation_id);
      fills.forEach((fill, i) => {
        rows.push({ fill, op: o.operation_id, i });
      });
    }
    rows.sort((a, b) =>
      a.fill.ts_event !== b.fill.ts_event
        ? a.fill.ts_event < b.fill.ts_event
          ? -1
          : 1
        : a.op !== b.op
          ? a.op < b.op
            ? -1
            : 1
          : a.i - b.i,
    );
    return rows.map((r) => r.fill);
  }

  /** Page through the orders matching `filter` (newest first), each order once. */
  private async forEachOrder(
    filter: { venue?: string; instrument_key?: string },
    visit: (order: OrderRecord) => void,
  ): Promise<void> {
    const seen = new Set<string>();
    let to: Nanos | undefined;
    for (;;) {
      const page = await this.d.orders.query({ ...filter, limit: QUERY_PAGE, to });
      let fresh = 0;
      for (const o of page) {
        if (seen.has(o.operation_id)) continue;
        seen.add(o.operation_id);
        fresh++;
        visit(o);
      }
      const oldest = page.at(-1);
      if (page.length < QUERY_PAGE || oldest === undefined) return;
      if (fresh === 0) {
        this.log.warn('more than one page of orders share one ts_created; older orders were not read', {
          ...filter,
          ts_created: oldest.ts_created.toString(),
        });
        return;
      }
      // `to` is exclusive: +1 ns re-reads the oldest timestamp (de-duplicated above), losing none.
      to = oldest.ts_created + 1n;
    }
  }

  // -------------------------------------------------------------------------------------------
  // Ledger, publishing, reconciliation
  // -------------------------------------------------------------------------------------------

  private async release(order: OrderRecord): Promise<void> {
    if (this.d.ledger === undefined) return;
    await this.d.ledger.releaseReservation(order.operation_id, order.filled_quantity, this.scopeOf(order));
  }

  private async ledgerFill(order: OrderRecord, fill: Fill): Promise<void> {
    if (this.d.ledger === undefined) return;
    try {
      await this.d.ledger.recordFill(order.operation_id, fill.quantity, this.scopeOf(order));
    } catch (err) {
      // Not idempotent, so not retried: the terminal release moves whatever was not recorded.
      this.log.warn(`risk ledger fill of ${order.operation_id} not recorded: ${errorText(err)}`, {
        operation_id: order.operation_id,
        fill_id: fill.fill_id,
      });
    }
  }

  private async publishUpdate(order: OrderRecord, eventTypes: readonly string[], now: Nanos): Promise<void> {
    await this.d.bus.publish(
      ORDER_UPDATES_TOPIC,
      orderUpdateMessage(order, eventTypes, now),
      orderUpdateAttributes(order),
    );
  }

  private async publishFill(
    order: OrderRecord,
    fill: Fill,
    position: Position | null,
    now: Nanos,
  ): Promise<void> {
    await this.d.bus.publish(
      FILLS_TOPIC,
      execFillMessage(order, fill, remainingQuantity(order), position, now),
      execFillAttributes(order, fill),
    );
  }

  private unknownOrder(
    operationId: string,
    command: string,
    tsEvent: Nanos,
    detail: Record<string, string>,
    fill: Fill | null,
  ): Promise<ExecutionOutcome> {
    return this.reconcile(
      null,
      operationId,
      'unknown_order',
      command,
      { code: 'order_not_found', reason: `no order ${operationId} in the order store` },
      tsEvent,
      detail,
      fill,
    );
  }

  private async reconcile(
    order: OrderRecord | null,
    operationId: string,
    kind: ReconciliationKind,
    command: string,
    why: { code: string; reason: string },
    tsEvent: Nanos,
    detail: Record<string, string>,
    fill: Fill | null,
  ): Promise<ExecutionOutcome> {
    const outcome: ExecutionOutcome = {
      kind: 'reconciliation',
      order,
      reconciliation: kind,
      code: why.code,
      reason: why.reason,
    };
    // The same contradiction reported again (REST polling re-reads recent trades) is told once.
    const key = `${operationId}|reconcile|${command}|${JSON.stringify(detail)}`;
    if (this.completed.has(key)) return outcome;
    const now = this.d.clock.now();
    const message: ExecReconciliationMessage = {
      type: 'reconciliation',
      reconciliation: true,
      kind,
      operation_id: operationId,
      venue: order?.venue ?? fill?.venue ?? null,
      instrument_key: order?.instrument_key ?? fill?.instrument_key ?? null,
      order_status: order?.status ?? null,
      command,
      code: why.code,
      reason: why.reason,
      detail,
      fill: fill === null ? null : fillPayload(fill),
      ts_event: tsEvent.toString(),
      ts_init: now.toString(),
    };
    this.log.warn(
      `venue report ${command} for ${operationId} needs reconciliation (${kind}): ${why.reason}`,
      {
        operation_id: operationId,
        kind,
        code: why.code,
        status: order?.status ?? null,
        ...detail,
      },
    );
    await this.d.bus.publish(ORDER_UPDATES_TOPIC, message, reconciliationAttributes(message));
    this.completed.add(key);
    return outcome;
  }
}

// ---------------------------------------------------------------------------------------------
// Pure helpers
// ---------------------------------------------------------------------------------------------

function positionKey(account: string, instrumentKey: string): string {
  return `${account}\u0000${instrumentKey}`;
}

function fillKey(operationId: string, fillId: string): string {
  return `${operationId}|fill|${fillId}`;
}

/** Same holdings and PnL (ignoring version, timestamps and which fill came last). */
function samePosition(a: Position, b: Position): boolean {
  const eq = (x: string | null | undefined, y: string | null | undefined): boolean =>
    x === null || x === undefined || y === null || y === undefined
      ? (x ?? null) === (y ?? null)
      : toDec(x).eq(toDec(y));
  if (!eq(a.quantity, b.quantity) || !eq(a.realized_pnl, b.realized_pnl) || !eq(a.fees, b.fees)) return false;
  if (!eq(a.cost_basis, b.cost_basis) || !eq(a.avg_entry_price, b.avg_entry_price)) return false;
  const venues = new Set([...Object.keys(a.venues), ...Object.keys(b.venues)]);
  for (const v of venues) if (!eq(a.venues[v] ?? '0', b.venues[v] ?? '0')) return false;
  return true;
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
