/**
 * The order pipeline's use-case contract, shared by every shell that takes orders: the
 * `order-intake` / `order-cancel` Cloud Functions (Pub/Sub), the HTTP API (`POST /api/orders`,
 * `DELETE /api/orders/:operation_id`) and the one-process runner. Implementations orchestrate the
 * pure core (schemas, risk, routing, order machine) over the ports; they hold no vendor types.
 *
 * Error policy: bad input is data (`invalid`), a risk denial is data (`denied`); a transient
 * failure (store or bus unavailable) is THROWN so the caller retries (Pub/Sub redelivers, HTTP
 * answers 503).
 */

import type { Issue } from '../domain/errors.ts';
import type { CallerRef, OrderEvent } from '../domain/events.ts';
import type { OrderReply } from '../domain/schemas.ts';
import type { Fill, OrderRecord } from '../domain/types.ts';
import type { OrderQuery } from '../ports/order-store.ts';

/** Where an instruction came from; recorded with poison input. */
export interface SubmitSource {
  via: 'pubsub' | 'http' | 'internal';
  /** Pub/Sub message id (poison input without a usable operation_id is recorded under it). */
  message_id?: string | undefined;
  delivery_attempt?: number | undefined;
  /** The authenticated caller of an HTTP call, recorded in the order's timeline. */
  caller?: CallerRef | undefined;
}

export type SubmitOutcome =
  /** New order: risk-approved and routed (published to `orders.routed`). */
  | { kind: 'routed'; reply: OrderReply }
  /** New order: denied by pre-trade risk (status DENIED; rule, limit and observed value in the timeline). */
  | { kind: 'denied'; reply: OrderReply }
  /** New order: no venue could take it (status REJECTED with the reason). */
  | { kind: 'unroutable'; reply: OrderReply }
  /** The operation_id was seen before: the existing order, nothing new done (re-publishes an unpublished route). */
  | { kind: 'duplicate'; reply: OrderReply }
  /** Poison input: recorded (REJECTED order where an operation_id was usable), to be dead-lettered. */
  | { kind: 'invalid'; code: string; issues: Issue[]; reply: OrderReply | null };

export type CancelOutcome =
  | { kind: 'cancel_requested'; reply: OrderReply }
  | { kind: 'canceled'; reply: OrderReply }
  | { kind: 'not_found'; operation_id: string }
  | { kind: 'not_cancelable'; reply: OrderReply; reason: string }
  | { kind: 'invalid'; code: string; issues: Issue[] };

export interface OrderDetail {
  order: OrderRecord;
  reply: OrderReply;
  timeline: OrderEvent[];
  fills: Fill[];
}

export interface OrderService {
  submit(input: unknown, source: SubmitSource): Promise<SubmitOutcome>;
  cancel(input: unknown, source: SubmitSource): Promise<CancelOutcome>;
  get(operationId: string): Promise<OrderDetail | null>;
  list(query: OrderQuery): Promise<OrderRecord[]>;
}
