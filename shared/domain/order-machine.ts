/**
 * The order state machine as a pure decider (Emmett style):
 *
 * - `decide(command, state, context?)` checks a command against the current OrderRecord and returns
 *   the events it causes, or an {@link OrderRejection} (data, never an exception);
 * - `evolve(state, event)` folds one event into the record;
 * - `applyEvents(state, events)` folds the events of ONE transition and bumps `version` once;
 * - `handle(command, state, context?)` = decide + applyEvents, what a shell calls before
 *   `OrderStore.create` / `OrderStore.transition(op, state.version, next, events, fills)`.
 *
 * Lifecycle over the SPEC statuses:
 *
 * ```
 * PENDING ──DenyOrder──▶ DENIED
 *   │ ApproveRisk (stays PENDING, risk_approved) → RouteOrder (stays PENDING, venue set)
 *   ▼ SubmitOrder
 * SUBMITTED ──AcceptOrder──▶ ACCEPTED ──fill──▶ PARTIALLY_FILLED ──fill──▶ FILLED
 *   (a fill may arrive before the ack: SUBMITTED → PARTIALLY_FILLED / FILLED; the late ack then
 *    only records venue_order_id)
 * SUBMITTED | ACCEPTED | PARTIALLY_FILLED ──RequestCancel──▶ PENDING_CANCEL ──ConfirmCancel──▶ CANCELED
 * PENDING ──RequestCancel──▶ CANCELED (nothing at a venue to cancel: OrderCancelRequested + OrderCanceled)
 * PENDING | working ──ConfirmCancel──▶ CANCELED (venue-initiated cancel, e.g. IOC remainder)
 * SUBMITTED | ACCEPTED | PENDING_CANCEL (no fills yet) ──RejectOrder──▶ REJECTED
 * working ──ExpireOrder──▶ EXPIRED         (working = SUBMITTED, ACCEPTED, PARTIALLY_FILLED, PENDING_CANCEL)
 * PENDING_CANCEL ──fill──▶ PENDING_CANCEL, or FILLED when the fill completes the order
 * ```
 *
 * Versioning: one accepted command = one transition = exactly one version bump, however many events
 * it emits (RequestCancel on a PENDING order emits two). The record is created at version 1. A
 * successful `decide` always returns at least one event; every "nothing to do" case is a rejection,
 * so a shell never writes a no-op transition.
 *
 * Duplicate fills: the OrderStore is the authority (it stores each fill_id once, atomically with
 * the transition). `decide` additionally rejects a fill whose id is in `context.fill_ids` (pass the
 * ids of the order's stored fills); the record itself does not carry fill ids.
 *
 * Fill accounting (exact decimals): `filled_quantity` is the exact sum; `fees` the exact sum of
 * the fills' fee amounts (whatever their fee_currency); `avg_fill_price` the volume-weighted average
 * price, rounded half-even to 18 decimal places after each fill. It is updated incrementally from
 * the stored (rounded) average, so after n fills it is within n × 0.5e-18 of the exact VWAP (exact
 * whenever the average has at most 18 decimal places, e.g. 1 @ 100 + 1 @ 110 → 105).
 */
import { Dec, type DecimalString, fmt, toDec } from './decimal.ts';
import type { Result } from './errors.ts';
import type { OrderEvent, RiskCheckResult, VenueScore } from './events.ts';
import type { Nanos } from './time.ts';
import {
  type Fill,
  type OrderInstruction,
  type OrderRecord,
  type OrderStatus,
  TERMINAL_STATUSES,
} from './types.ts';

/** Decimal places kept in `avg_fill_price`. */
export const AVG_PRICE_DECIMAL_PLACES = 18;

/** Arithmetic with room for any product/sum of 18-dp boundary decimals without rounding. */
const XDec = Dec.clone({ precision: 100 });
const x = (v: string): Dec => new XDec(toDec(v));

// ---------------------------------------------------------------------------------------------
// Commands
// ---------------------------------------------------------------------------------------------

interface CommandBase {
  /** When it happened at the source (our clock for our own decisions, the venue's for venue reports). */
  ts_event: Nanos;
  /** When our system created the command. */
  ts_init: Nanos;
}

export interface ReceiveOrder extends CommandBase {
  type: 'ReceiveOrder';
  instruction: OrderInstruction;
  order_id: string;
  parent_order_id: string | null;
}
export interface ApproveRisk extends CommandBase {
  type: 'ApproveRisk';
  checks: RiskCheckResult[];
}
export interface DenyOrder extends CommandBase {
  type: 'DenyOrder';
  rule: string;
  limit: string | null;
  observed: string | null;
  reason: string;
  checks: RiskCheckResult[];
}
export interface RouteOrder extends CommandBase {
  type: 'RouteOrder';
  venue: string;
  account_id: string | null;
  scores: VenueScore[];
  reason: string;
}
export interface SubmitOrder extends CommandBase {
  type: 'SubmitOrder';
  client_order_id: string;
}
export interface AcceptOrder extends CommandBase {
  type: 'AcceptOrder';
  venue_order_id: string;
}
export interface RejectOrder extends CommandBase {
  type: 'RejectOrder';
  reason: string;
}
export interface ApplyFill extends CommandBase {
  type: 'ApplyFill';
  fill: Fill;
}
export interface RequestCancel extends CommandBase {
  type: 'RequestCancel';
  reason: string;
}
export interface ConfirmCancel extends CommandBase {
  type: 'ConfirmCancel';
  reason: string;
}
export interface ExpireOrder extends CommandBase {
  type: 'ExpireOrder';
  reason: string;
}

export type OrderCommand =
  | ReceiveOrder
  | ApproveRisk
  | DenyOrder
  | RouteOrder
  | SubmitOrder
  | AcceptOrder
  | RejectOrder
  | ApplyFill
  | RequestCancel
  | ConfirmCancel
  | ExpireOrder;
export type OrderCommandType = OrderCommand['type'];

// ---------------------------------------------------------------------------------------------
// Rejections and context
// ---------------------------------------------------------------------------------------------

export const ORDER_REJECTION_CODES = [
  /** ReceiveOrder for an operation_id that already has an order. */
  'order_exists',
  /** Any other command without an order. */
  'order_not_found',
  /** The order is DENIED, FILLED, CANCELED, REJECTED or EXPIRED. */
  'terminal_state',
  /** The command does not apply in the order's current status. */
  'illegal_transition',
  /** RouteOrder / SubmitOrder before the risk engine approved the order. */
  'risk_not_approved',
  /** SubmitOrder before RouteOrder chose a venue. */
  'not_routed',
  /** A fill whose quantity, price or fee is not a valid decimal, or whose quantity/price is not > 0. */
  'invalid_fill',
  /** A fill for another order, instrument, side or venue. */
  'fill_mismatch',
  /** A fill whose fill_id was already applied (see DecideContext.fill_ids). */
  'duplicate_fill',
  /** A fill that would take filled_quantity above quantity. */
  'overfill',
] as const;
export type OrderRejectionCode = (typeof ORDER_REJECTION_CODES)[number];

/** Why a command was refused: data for the caller to record or log, never an exception. */
export interface OrderRejection {
  code: OrderRejectionCode;
  reason: string;
}

/** Facts the record does not carry but the shell knows. */
export interface DecideContext {
  /** fill_ids already applied to this order (e.g. from OrderStore.fills). */
  fill_ids?: ReadonlySet<string> | ReadonlyArray<string> | undefined;
}

/** Statuses in which the order is (or may be) live at a venue. */
export const WORKING_STATUSES: ReadonlySet<OrderStatus> = new Set([
  'SUBMITTED',
  'ACCEPTED',
  'PARTIALLY_FILLED',
  'PENDING_CANCEL',
]);

export function isTerminal(status: OrderStatus): boolean {
  return TERMINAL_STATUSES.has(status);
}

// ---------------------------------------------------------------------------------------------
// decide
// ---------------------------------------------------------------------------------------------

type Decision = Result<OrderEvent[], OrderRejection>;

const VERB: Record<OrderCommandType, string> = {
  ReceiveOrder: 'receive',
  ApproveRisk: 'approve risk',
  DenyOrder: 'deny',
  RouteOrder: 'route',
  SubmitOrder: 'submit',
  AcceptOrder: 'accept',
  RejectOrder: 'reject',
  ApplyFill: 'apply fill',
  RequestCancel: 'cancel',
  ConfirmCancel: 'confirm cancel',
  ExpireOrder: 'expire',
};

function reject(code: OrderRejectionCode, reason: string): Decision {
  return { success: false, error: { code, reason } };
}

function ok(events: OrderEvent[]): Decision {
  return { success: true, data: events };
}

function illegal(state: OrderRecord, command: OrderCommand, detail?: string): Decision {
  return reject(
    'illegal_transition',
    `order is ${state.status}; cannot ${VERB[command.type]}${detail ? ` (${detail})` : ''}`,
  );
}

/**
 * Decide what `command` means for the order in `state` (null: no order yet). Returns the events to
 * record (at least one) or a rejection saying why not.
 */
export function decide(
  command: OrderCommand,
  state: OrderRecord | null,
  context: DecideContext = {},
): Decision {
  if (command.type === 'ReceiveOrder') {
    if (state !== null) {
      return reject(
        'order_exists',
        `order ${state.order_id} already exists for operation_id ${state.operation_id} (status ${state.status}); the operation_id is the idempotency key`,
      );
    }
    if (command.order_id === '') return reject('illegal_transition', 'order_id must not be empty');
    return ok([
      {
        type: 'OrderReceived',
        operation_id: command.instruction.operation_id,
        order_id: command.order_id,
        instruction: command.instruction,
        parent_order_id: command.parent_order_id,
        ts_event: command.ts_event,
        ts_init: command.ts_init,
      },
    ]);
  }
  if (state === null) return reject('order_not_found', `no order exists; cannot ${VERB[command.type]}`);
  if (isTerminal(state.status)) {
    const what = command.type === 'ApplyFill' ? `apply fill ${command.fill.fill_id}` : VERB[command.type];
    return reject('terminal_state', `order is ${state.status}; cannot ${what}`);
  }

  const base = { operation_id: state.operation_id, ts_event: command.ts_event, ts_init: command.ts_init };
  const status = state.status;

  switch (command.type) {
    case 'ApproveRisk': {
      if (status !== 'PENDING') return illegal(state, command);
      if (state.risk_approved === true) return illegal(state, command, 'risk already approved');
      return ok([{ type: 'OrderRiskApproved', ...base, checks: command.checks }]);
    }
    case 'DenyOrder': {
      if (status !== 'PENDING')
        return illegal(state, command, 'only an order not yet submitted can be denied');
      return ok([
        {
          type: 'OrderDenied',
          ...base,
          rule: command.rule,
          limit: command.limit,
          observed: command.observed,
          reason: command.reason,
          checks: command.checks,
        },
      ]);
    }
    case 'RouteOrder': {
      if (status !== 'PENDING')
        return illegal(state, command, 'only an order not yet submitted can be routed');
      if (state.risk_approved !== true) {
        return reject('risk_not_approved', 'order has not been approved by the risk engine; cannot route');
      }
      if (command.venue === '') return illegal(state, command, 'venue must not be empty');
      return ok([
        {
          type: 'OrderRouted',
          ...base,
          venue: command.venue,
          account_id: command.account_id,
          scores: command.scores,
          reason: command.reason,
        },
      ]);
    }
    case 'SubmitOrder': {
      if (status !== 'PENDING') return illegal(state, command, 'already submitted');
      if (state.risk_approved !== true) {
        return reject('risk_not_approved', 'order has not been approved by the risk engine; cannot submit');
      }
      if (state.venue === null)
        return reject('not_routed', 'order has no venue yet; route it before submitting');
      if (command.client_order_id === '') return illegal(state, command, 'client_order_id must not be empty');
      return ok([
        { type: 'OrderSubmitted', ...base, venue: state.venue, client_order_id: command.client_order_id },
      ]);
    }
    case 'AcceptOrder': {
      if (state.venue_order_id !== null) {
        return illegal(state, command, `already acknowledged by the venue as ${state.venue_order_id}`);
      }
      if (!WORKING_STATUSES.has(status)) return illegal(state, command, 'not submitted to a venue');
      return ok([{ type: 'OrderAccepted', ...base, venue_order_id: command.venue_order_id }]);
    }
    case 'RejectOrder': {
      const rejectable =
        status === 'SUBMITTED' ||
        status === 'ACCEPTED' ||
        (status === 'PENDING_CANCEL' && x(state.filled_quantity).isZero());
      if (!rejectable) {
        return illegal(
          state,
          command,
          status === 'PENDING'
            ? 'not submitted to a venue; a risk or routing refusal is DenyOrder'
            : 'the order has fills; cancel or expire it instead',
        );
      }
      return ok([{ type: 'OrderRejected', ...base, reason: command.reason }]);
    }
    case 'ApplyFill':
      return decideFill(command, state, context);
    case 'RequestCancel': {
      if (status === 'PENDING') {
        // Nothing is live at a venue: the cancel completes at once.
        return ok([
          { type: 'OrderCancelRequested', ...base, reason: command.reason },
          { type: 'OrderCanceled', ...base, reason: command.reason },
        ]);
      }
      if (status === 'PENDING_CANCEL') return illegal(state, command, 'a cancel is already pending');
      return ok([{ type: 'OrderCancelRequested', ...base, reason: command.reason }]);
    }
    case 'ConfirmCancel': {
      // Allowed from PENDING and every working status (a venue may cancel on its own, e.g. IOC).
      return ok([{ type: 'OrderCanceled', ...base, reason: command.reason }]);
    }
    case 'ExpireOrder': {
      if (!WORKING_STATUSES.has(status)) return illegal(state, command, 'not submitted to a venue');
      return ok([{ type: 'OrderExpired', ...base, reason: command.reason }]);
    }
  }
}

function parseFillDecimal(v: string): Dec | null {
  try {
    return x(v);
  } catch {
    return null;
  }
}

function decideFill(command: ApplyFill, state: OrderRecord, context: DecideContext): Decision {
  const fill = command.fill;
  const id = fill.fill_id;
  if (!WORKING_STATUSES.has(state.status)) {
    return reject(
      'illegal_transition',
      `order is ${state.status}; cannot apply fill ${id} (not submitted to a venue)`,
    );
  }
  const qty = parseFillDecimal(fill.quantity);
  const price = parseFillDecimal(fill.price);
  const fee = parseFillDecimal(fill.fee);
  if (qty === null || !qty.gt(0)) {
    return reject(
      'invalid_fill',
      `fill ${id} quantity must be a decimal > 0, got ${JSON.stringify(fill.quantity)}`,
    );
  }
  if (price === null || !price.gt(0)) {
    return reject(
      'invalid_fill',
      `fill ${id} price must be a decimal > 0, got ${JSON.stringify(fill.price)}`,
    );
  }
  if (fee === null)
    return reject('invalid_fill', `fill ${id} fee must be a decimal, got ${JSON.stringify(fill.fee)}`);
  const mismatch = (field: string, got: string, want: string) =>
    reject('fill_mismatch', `fill ${id} ${field} ${got} does not match the order's ${field} ${want}`);
  if (fill.order_id !== state.order_id) return mismatch('order_id', fill.order_id, state.order_id);
  if (fill.instrument_key !== state.instrument_key) {
    return mismatch('instrument_key', fill.instrument_key, state.instrument_key);
  }
  if (fill.side !== state.side) return mismatch('side', fill.side, state.side);
  if (state.venue !== null && fill.venue !== state.venue) return mismatch('venue', fill.venue, state.venue);
  const seen = context.fill_ids;
  if (seen !== undefined && ('has' in seen ? seen.has(id) : seen.includes(id))) {
    return reject('duplicate_fill', `fill ${id} was already applied to order ${state.order_id}`);
  }
  const filled = x(state.filled_quantity);
  const total = filled.plus(qty);
  const quantity = x(state.quantity);
  if (total.gt(quantity)) {
    return reject(
      'overfill',
      `fill ${id} of ${fmt(qty)} would take the filled quantity to ${fmt(total)}, above the order quantity ${fmt(quantity)} (already filled ${fmt(filled)})`,
    );
  }
  return ok([
    {
      type: 'OrderFilled',
      operation_id: state.operation_id,
      ts_event: command.ts_event,
      ts_init: command.ts_init,
      fill,
    },
  ]);
}

// ---------------------------------------------------------------------------------------------
// evolve
// ---------------------------------------------------------------------------------------------

function later(a: Nanos, b: Nanos): Nanos {
  return a > b ? a : b;
}

/**
 * Fold one event into the record. Does not bump `version` (see {@link applyEvents}); `ts_updated`
 * becomes the latest `ts_event` seen. Events are trusted (they came from `decide`); the only
 * impossible input, an event other than OrderReceived without a record, throws.
 */
export function evolve(state: OrderRecord | null, event: OrderEvent): OrderRecord {
  if (event.type === 'OrderReceived') {
    if (state !== null)
      throw new Error(`OrderReceived for ${event.operation_id}, which already has a record`);
    const i = event.instruction;
    return {
      order_id: event.order_id,
      operation_id: i.operation_id,
      parent_order_id: event.parent_order_id,
      instrument_key: i.instrument_key,
      side: i.side,
      order_type: i.order_type,
      time_in_force: i.time_in_force,
      quantity: i.quantity,
      price: i.price,
      strategy_id: i.strategy_id,
      exec_algorithm: i.exec_algorithm,
      exec_algorithm_params: i.exec_algorithm_params,
      status: 'PENDING',
      venue: null,
      account_id: null,
      client_order_id: null,
      venue_order_id: null,
      filled_quantity: '0',
      avg_fill_price: null,
      fees: '0',
      rejection_reason: null,
      risk_approved: false,
      version: 1,
      ts_created: event.ts_event,
      ts_updated: event.ts_event,
    };
  }
  if (state === null) throw new Error(`${event.type} for ${event.operation_id}, which has no record`);
  const s: OrderRecord = { ...state, ts_updated: later(state.ts_updated, event.ts_event) };
  switch (event.type) {
    case 'OrderRiskApproved':
      return { ...s, risk_approved: true };
    case 'OrderDenied':
      return { ...s, status: 'DENIED', rejection_reason: event.reason };
    case 'OrderRouted':
      return { ...s, venue: event.venue, account_id: event.account_id };
    case 'OrderSubmitted':
      return { ...s, status: 'SUBMITTED', venue: event.venue, client_order_id: event.client_order_id };
    case 'OrderAccepted':
      return {
        ...s,
        status: s.status === 'SUBMITTED' ? 'ACCEPTED' : s.status,
        venue_order_id: event.venue_order_id,
      };
    case 'OrderRejected':
      return { ...s, status: 'REJECTED', rejection_reason: event.reason };
    case 'OrderFilled':
      return applyFillToRecord(s, event.fill);
    case 'OrderCancelRequested':
      return { ...s, status: 'PENDING_CANCEL' };
    case 'OrderCanceled':
      return { ...s, status: 'CANCELED' };
    case 'OrderExpired':
      return { ...s, status: 'EXPIRED' };
  }
}

function applyFillToRecord(s: OrderRecord, fill: Fill): OrderRecord {
  const qty = x(fill.quantity);
  const price = x(fill.price);
  const filled = x(s.filled_quantity);
  const total = filled.plus(qty);
  const notional = (s.avg_fill_price === null ? new XDec(0) : x(s.avg_fill_price).times(filled)).plus(
    qty.times(price),
  );
  const avg = notional.dividedBy(total).toDecimalPlaces(AVG_PRICE_DECIMAL_PLACES, XDec.ROUND_HALF_EVEN);
  const complete = total.gte(x(s.quantity));
  const status: OrderStatus = complete
    ? 'FILLED'
    : s.status === 'PENDING_CANCEL'
      ? 'PENDING_CANCEL'
      : 'PARTIALLY_FILLED';
  return {
    ...s,
    status,
    filled_quantity: fmt(total),
    avg_fill_price: fmt(avg),
    fees: fmt(x(s.fees).plus(x(fill.fee))),
  };
}

/**
 * Apply the events of one transition: the record's version goes up by exactly one (a new record
 * starts at 1). Throws on an empty list (a transition always has events).
 */
export function applyEvents(state: OrderRecord | null, events: readonly OrderEvent[]): OrderRecord {
  if (events.length === 0) throw new Error('a transition needs at least one event');
  let next = state;
  for (const e of events) next = evolve(next, e);
  if (next === null) throw new Error('unreachable: events produced no record');
  return { ...next, version: state === null ? 1 : state.version + 1 };
}

/** The outcome of one accepted command: the events to record and the record after them. */
export interface Transition {
  events: OrderEvent[];
  order: OrderRecord;
}

/** decide + applyEvents: the next record (version + 1) and its events, or the rejection. */
export function handle(
  command: OrderCommand,
  state: OrderRecord | null,
  context: DecideContext = {},
): Result<Transition, OrderRejection> {
  const d = decide(command, state, context);
  if (!d.success) return d;
  return { success: true, data: { events: d.data, order: applyEvents(state, d.data) } };
}

/** Remaining quantity to fill (quantity − filled_quantity), exact. */
export function remainingQuantity(order: OrderRecord): DecimalString {
  return fmt(x(order.quantity).minus(x(order.filled_quantity)));
}
