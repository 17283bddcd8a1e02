/**
 * `order-cancel`: cancel requests from `orders.cancels` → OrderService.cancel → ack, dead-letter or
 * redeliver (see ../shared/pubsub-function.ts for the policy).
 *
 * | CancelOutcome                        | function                                                      |
 * | ------------------------------------ | ------------------------------------------------------------- |
 * | cancel_requested, canceled           | ack                                                           |
 * | not_cancelable (already final, ...)  | ack: a business outcome, logged with the reason               |
 * | not_found, the request is young      | throw → redelivered: Pub/Sub does not order messages, so the  |
 * |                                      | cancel may overtake its order request on the way to intake    |
 * | not_found after `notFoundGraceMs`    | dead-letter `order_not_found` + ack                            |
 * | invalid                              | dead-letter with the code and issues + ack                     |
 * | throws                               | rethrow → redelivered (cancel is idempotent)                   |
 *
 * The age of a request is measured from its publish time; when the envelope has none, the
 * delivery attempt decides (at most `notFoundMaxAttempts`), and without either it is dead-lettered
 * at once.
 */
import type { CancelOutcome, OrderService } from '../../shared/app/order-service.ts';
import type { EventBus, TopicName } from '../../shared/ports/event-bus.ts';
import type { FunctionLogger } from '../shared/log.ts';
import { replyFields, submitSource } from '../shared/order-fields.ts';
import { type PubSubFunction, pubSubFunction, type Verdict } from '../shared/pubsub-function.ts';
import type { PubSubDelivery } from '../shared/pubsub-message.ts';

export const ORDER_CANCEL = 'order-cancel';
export const ORDER_CANCEL_TOPIC: TopicName = 'orders.cancels';

/** Dead-letter reason of a cancel whose order never turned up. */
export const ORDER_NOT_FOUND = 'order_not_found';

/** Thrown (→ redelivery) while a cancel's order may still be on its way. */
export class OrderNotYetKnownError extends Error {
  constructor(readonly operationId: string) {
    super(`order ${operationId} is not known yet; the cancel will be retried`);
    this.name = 'OrderNotYetKnownError';
  }
}

export interface OrderCancelDeps {
  service: Pick<OrderService, 'cancel'>;
  bus: Pick<EventBus, 'publish'>;
  log: FunctionLogger;
  /** Wall clock in ms (the shell's clock; injected for tests). Default Date.now. */
  nowMs?: () => number;
  /** How long after publishing a cancel for an unknown order is retried (default 60 s). */
  notFoundGraceMs?: number;
  /** Without a publish time: how many deliveries a cancel for an unknown order gets (default 5). */
  notFoundMaxAttempts?: number;
}

/** Still worth waiting for the order? */
export function withinGrace(
  delivery: PubSubDelivery,
  nowMs: number,
  graceMs: number,
  maxAttempts: number,
): boolean {
  const published = delivery.publishTime !== undefined ? Date.parse(delivery.publishTime) : Number.NaN;
  if (Number.isFinite(published)) return nowMs - published < graceMs;
  if (delivery.deliveryAttempt !== undefined) return delivery.deliveryAttempt < maxAttempts;
  return false;
}

export function createOrderCancelHandler(deps: OrderCancelDeps): PubSubFunction {
  const nowMs = deps.nowMs ?? Date.now;
  const graceMs = deps.notFoundGraceMs ?? 60_000;
  const maxAttempts = deps.notFoundMaxAttempts ?? 5;

  const verdict = (outcome: CancelOutcome, delivery: PubSubDelivery): Verdict => {
    switch (outcome.kind) {
      case 'cancel_requested':
      case 'canceled':
        return { kind: 'ack', outcome: outcome.kind, fields: replyFields(outcome.reply) };
      case 'not_cancelable':
        return {
          kind: 'ack',
          outcome: outcome.kind,
          fields: { ...replyFields(outcome.reply), reason: outcome.reason },
        };
      case 'not_found':
        if (withinGrace(delivery, nowMs(), graceMs, maxAttempts)) {
          throw new OrderNotYetKnownError(outcome.operation_id);
        }
        return {
          kind: 'dead_letter',
          outcome: outcome.kind,
          reason: ORDER_NOT_FOUND,
          issues: [{ path: 'operation_id', message: `no order with operation_id ${outcome.operation_id}` }],
          fields: { operation_id: outcome.operation_id },
        };
      case 'invalid':
        return { kind: 'dead_letter', outcome: 'invalid', reason: outcome.code, issues: outcome.issues };
    }
  };

  return pubSubFunction({
    functionName: ORDER_CANCEL,
    topic: ORDER_CANCEL_TOPIC,
    bus: deps.bus,
    log: deps.log,
    handle: async (delivery) =>
      verdict(await deps.service.cancel(delivery.data, submitSource(delivery)), delivery),
  });
}
