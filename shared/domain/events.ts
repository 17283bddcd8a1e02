/**
 * Domain events, named in the past tense, each stamped with integer-nanosecond `ts_event` (when it
 * happened at the source) and `ts_init` (when our system created the event object).
 * An order's timeline is the ordered list of its OrderEvents.
 */
import type { DecimalString } from './decimal.ts';
import type { Nanos } from './time.ts';
import type { Fill, OrderInstruction } from './types.ts';

interface OrderEventBase {
  operation_id: string;
  ts_event: Nanos;
  ts_init: Nanos;
}

/** The value a risk rule compared: which rule, the limit in force and what was observed. */
export interface RiskCheckResult {
  rule: string;
  passed: boolean;
  limit: string | null;
  observed: string | null;
  message?: string | undefined;
}

/** One venue's routing score (lower cost is better); every candidate is recorded. */
export interface VenueScore {
  venue: string;
  eligible: boolean;
  total_cost_bps: number | null;
  fee_bps: number | null;
  slippage_bps: number | null;
  latency_bps: number | null;
  rejection_bps: number | null;
  reason?: string | undefined;
}

/** Who asked for a change over the API (`user:alice@example.com` via `iap`, or `local`). */
export interface CallerRef {
  id: string;
  source: string;
}

export interface OrderReceived extends OrderEventBase {
  type: 'OrderReceived';
  /** The id our OMS gave the order (so a timeline rebuilds the record on its own). */
  order_id: string;
  instruction: OrderInstruction;
  parent_order_id: string | null;
  /** The caller who submitted it over the API. */
  by?: CallerRef | undefined;
}
export interface OrderRiskApproved extends OrderEventBase {
  type: 'OrderRiskApproved';
  checks: RiskCheckResult[];
}
export interface OrderDenied extends OrderEventBase {
  type: 'OrderDenied';
  rule: string;
  limit: string | null;
  observed: string | null;
  reason: string;
  checks: RiskCheckResult[];
}
export interface OrderRouted extends OrderEventBase {
  type: 'OrderRouted';
  venue: string;
  account_id: string | null;
  scores: VenueScore[];
  reason: string;
}
export interface OrderSubmitted extends OrderEventBase {
  type: 'OrderSubmitted';
  venue: string;
  client_order_id: string;
}
export interface OrderAccepted extends OrderEventBase {
  type: 'OrderAccepted';
  venue_order_id: string;
}
export interface OrderRejected extends OrderEventBase {
  type: 'OrderRejected';
  reason: string;
}
export interface OrderFilled extends OrderEventBase {
  type: 'OrderFilled';
  fill: Fill;
}
export interface OrderCancelRequested extends OrderEventBase {
  type: 'OrderCancelRequested';
  reason: string;
  /** The caller who asked for the cancel over the API. */
  by?: CallerRef | undefined;
}
export interface OrderCanceled extends OrderEventBase {
  type: 'OrderCanceled';
  reason: string;
  by?: CallerRef | undefined;
}
export interface OrderExpired extends OrderEventBase {
  type: 'OrderExpired';
  reason: string;
}

export type OrderEvent =
  | OrderReceived
  | OrderRiskApproved
  | OrderDenied
  | OrderRouted
  | OrderSubmitted
  | OrderAccepted
  | OrderRejected
  | OrderFilled
  | OrderCancelRequested
  | OrderCanceled
  | OrderExpired;

export type OrderEventType = OrderEvent['type'];

/** A recorded difference between our books and a venue's (issue: reconciliation). */
export interface ReconciliationDifference {
  type: 'ReconciliationDifferenceFound';
  venue: string;
  kind: 'missing_order' | 'missing_fill' | 'status_mismatch' | 'balance_mismatch' | 'position_mismatch';
  detail: Record<string, DecimalString | string | null>;
  ts_event: Nanos;
  ts_init: Nanos;
}
