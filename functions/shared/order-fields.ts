/** What the order functions pass to the OrderService and put in their logs and push replies. */
import type { SubmitSource } from '../../shared/app/order-service.ts';
import type { OrderReply } from '../../shared/domain/schemas.ts';
import type { LogFields } from './log.ts';
import type { PubSubDelivery } from './pubsub-message.ts';

/** Where a delivery came from, for the service's records. */
export function submitSource(delivery: PubSubDelivery): SubmitSource {
  return { via: 'pubsub', message_id: delivery.messageId, delivery_attempt: delivery.deliveryAttempt };
}

/** The reply's fields worth a log line and the push response. */
export function replyFields(reply: OrderReply | null): LogFields {
  if (reply === null) return {};
  return {
    operation_id: reply.operation_id,
    order_id: reply.order_id,
    status: reply.status,
    venue: reply.venue,
    ...(reply.rejection_reason !== null ? { rejection_reason: reply.rejection_reason } : {}),
  };
}
