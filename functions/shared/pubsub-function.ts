/**
 * The error policy of every Pub/Sub-triggered function, in one place:
 *
 * | what happened                                        | the function                                           |
 * | ---------------------------------------------------- | ------------------------------------------------------ |
 * | handled (a new order, a denial, a duplicate, ...)    | returns → Pub/Sub acks                                 |
 * | poison in the envelope (not a Pub/Sub message, bad   | publishes what it received to `<function>.<topic>.dlq` |
 * |   base64, empty data)                                | with the reason and issues, returns → ack              |
 * | poison in the payload (malformed JSON, schema        | the handler records it (the service writes the         |
 * |   violation, unknown instrument, ...)                | REJECTED order) and answers `dead_letter`: the original |
 * |                                                      | bytes go to the dead-letter topic, returns → ack       |
 * | transient (the handler or the dead-letter publish    | throws → HTTP 500 → Pub/Sub redelivers with back-off   |
 * |   throws)                                            | (every handler is idempotent)                          |
 *
 * Throwing on poison would redeliver it forever; swallowing a transient error would lose the
 * message. A dead letter is published BEFORE returning, so an ack never loses a poison message.
 * The payload bytes go to the handler undecoded: the service parses JSON itself, so malformed
 * JSON is classified the same way for Pub/Sub and HTTP.
 */
import type { Issue } from '../../shared/domain/errors.ts';
import type { EventBus } from '../../shared/ports/event-bus.ts';
import { functionDeadLetterTopic, publishDeadLetter } from './dead-letter.ts';
import { errorFields, type FunctionLogger, type LogFields } from './log.ts';
import { decodePubSubEvent, emptyDataPoison, type PubSubDelivery } from './pubsub-message.ts';

/** What a handler decided about one message. Throwing instead means "transient: redeliver". */
export type Verdict =
  /** Done: ack. `outcome` names what happened (routed, denied, duplicate, ...). */
  | { kind: 'ack'; outcome: string; fields?: LogFields }
  /** Poison, already recorded where it could be: dead-letter with `reason` and `issues`, then ack. */
  | { kind: 'dead_letter'; outcome: string; reason: string; issues: Issue[]; fields?: LogFields };

/** What the function returns (the HTTP body of the push response; logs and tests read it). */
export interface FunctionReply {
  outcome: string;
  message_id: string;
  dead_letter?: { topic: string; reason: string; message_id: string };
  [key: string]: unknown;
}

export interface PubSubFunctionOptions {
  functionName: string;
  topic: string;
  /** Where dead letters are published. */
  bus: Pick<EventBus, 'publish'>;
  log: FunctionLogger;
  /** Handle one message (its data is never empty); throwing means transient (redeliver). */
  handle(delivery: PubSubDelivery): Promise<Verdict>;
}

export type PubSubFunction = (event: unknown) => Promise<FunctionReply>;

/** Build the CloudEvent function: decode → handle → ack / dead-letter + ack / throw. */
export function pubSubFunction(opts: PubSubFunctionOptions): PubSubFunction {
  const { functionName, topic, bus, log } = opts;
  const deadLetterTopic = functionDeadLetterTopic(functionName, topic);

  const context = (delivery: PubSubDelivery): LogFields => ({
    message_id: delivery.messageId,
    ...(delivery.deliveryAttempt !== undefined ? { delivery_attempt: delivery.deliveryAttempt } : {}),
    ...(delivery.attributes.operation_id ? { operation_id: delivery.attributes.operation_id } : {}),
  });

  const deadLetter = async (
    delivery: PubSubDelivery,
    outcome: string,
    reason: string,
    issues: readonly Issue[],
    fields: LogFields,
    took: () => LogFields,
  ): Promise<FunctionReply> => {
    let published: { topic: string; messageId: string };
    try {
      published = await publishDeadLetter(bus, { functionName, topic, delivery, reason, issues });
    } catch (err) {
      log.error('dead-letter publish failed; the message will be redelivered', {
        ...context(delivery),
        dead_letter_topic: deadLetterTopic,
        reason,
        ...errorFields(err),
      });
      throw err;
    }
    log.warn('poison message dead-lettered', {
      ...context(delivery),
      ...fields,
      outcome,
      reason,
      issues,
      dead_letter_topic: published.topic,
      dead_letter_message_id: published.messageId,
      ...took(),
    });
    return {
      outcome,
      message_id: delivery.messageId,
      ...fields,
      dead_letter: { topic: published.topic, reason, message_id: published.messageId },
    };
  };

  return async (event: unknown): Promise<FunctionReply> => {
    // duration_ms on the line each message ends with: the latency metric (docs/monitoring.md).
    const t0 = performance.now();
    const took = () => ({ duration_ms: Math.round((performance.now() - t0) * 1000) / 1000 });
    const decoded = decodePubSubEvent(event);
    const { delivery } = decoded;
    const poison = decoded.ok ? emptyDataPoison(delivery) : decoded.poison;
    if (poison !== null) return deadLetter(delivery, 'poison', poison.code, poison.issues, {}, took);

    let verdict: Verdict;
    try {
      verdict = await opts.handle(delivery);
    } catch (err) {
      log.warn('transient failure; the message will be redelivered', {
        ...context(delivery),
        ...errorFields(err, { stack: false }),
      });
      throw err;
    }
    if (verdict.kind === 'dead_letter') {
      return deadLetter(
        delivery,
        verdict.outcome,
        verdict.reason,
        verdict.issues,
        verdict.fields ?? {},
        took,
      );
    }
    log.info(verdict.outcome, { ...context(delivery), ...verdict.fields, ...took() });
    return { outcome: verdict.outcome, message_id: delivery.messageId, ...verdict.fields };
  };
}
