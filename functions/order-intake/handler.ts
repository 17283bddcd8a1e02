/**
 * `order-intake`: order instructions from `orders.requests` → the order pipeline (validation,
 * idempotent create, pre-trade risk, routing, publish to `orders.routed`) → ack, dead-letter or
 * redeliver. The decisions live in the OrderService (the pure core behind it); this file only maps
 * its outcome onto Pub/Sub's ack / dead-letter / retry (see ../shared/pubsub-function.ts).
 *
 * | OrderService outcome                          | function                                               |
 * | --------------------------------------------- | ------------------------------------------------------ |
 * | routed, denied, unroutable, duplicate         | ack (the order and its timeline are recorded)          |
 * | invalid (malformed JSON, schema violation,    | the service recorded it (a REJECTED order when the     |
 * |   unknown instrument, ...)                    | operation_id is usable); dead-letter + ack             |
 * | throws (store or bus unavailable, contention) | rethrow → Pub/Sub redelivers; intake is idempotent     |
 */
import type { OrderService, SubmitOutcome } from '../../shared/app/order-service.ts';
import type { EventBus, TopicName } from '../../shared/ports/event-bus.ts';
import type { FunctionLogger } from '../shared/log.ts';
import { replyFields, submitSource } from '../shared/order-fields.ts';
import { type PubSubFunction, pubSubFunction, type Verdict } from '../shared/pubsub-function.ts';

export const ORDER_INTAKE = 'order-intake';
export const ORDER_INTAKE_TOPIC: TopicName = 'orders.requests';

export interface OrderIntakeDeps {
  service: Pick<OrderService, 'submit'>;
  /** Where dead letters go (`order-intake.orders.requests.dlq`). */
  bus: Pick<EventBus, 'publish'>;
  log: FunctionLogger;
}

/** SubmitOutcome → what Pub/Sub should do with the message. */
export function intakeVerdict(outcome: SubmitOutcome): Verdict {
  switch (outcome.kind) {
    case 'routed':
    case 'denied':
    case 'unroutable':
    case 'duplicate':
      return { kind: 'ack', outcome: outcome.kind, fields: replyFields(outcome.reply) };
    case 'invalid':
      return {
        kind: 'dead_letter',
        outcome: 'invalid',
        reason: outcome.code,
        issues: outcome.issues,
        fields: replyFields(outcome.reply),
      };
  }
}

export function createOrderIntakeHandler(deps: OrderIntakeDeps): PubSubFunction {
  return pubSubFunction({
    functionName: ORDER_INTAKE,
    topic: ORDER_INTAKE_TOPIC,
    bus: deps.bus,
    log: deps.log,
    // The raw bytes: the service parses the JSON itself (invalid_json is its verdict, as over HTTP).
    handle: async (delivery) =>
      intakeVerdict(await deps.service.submit(delivery.data, submitSource(delivery))),
  });
}
