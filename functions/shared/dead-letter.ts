/**
 * Dead-lettering from a Cloud Function, with the same names and attributes as the EventBus
 * adapters (docs/messaging.md): the subscription of function `f` on topic `t` is `f.t`, its
 * dead-letter topic `f.t.dlq`; a dead letter carries the original bytes and attributes plus
 * `dead_letter_reason`, `source_subscription`, `source_topic`, `source_message_id`,
 * `delivery_attempt`, and — from functions — `dead_letter_issues` (the validation issues as JSON,
 * cut to Pub/Sub's 1024-byte attribute limit).
 */
import type { Issue } from '../../shared/domain/errors.ts';
import {
  BUS_LIMITS,
  DEAD_LETTER_ATTRIBUTES,
  deadLetterTopicFor,
  type EventBus,
} from '../../shared/ports/event-bus.ts';
import type { PubSubDelivery } from './pubsub-message.ts';

/** Extra attribute a function adds to its dead letters: the issues as a JSON array. */
export const DEAD_LETTER_ISSUES_ATTRIBUTE = 'dead_letter_issues';

/** `<function>.<topic>`: the subscription a function consumes (docs/messaging.md naming). */
export function functionSubscription(functionName: string, topic: string): string {
  return `${functionName}.${topic}`;
}

/** `<function>.<topic>.dlq`. */
export function functionDeadLetterTopic(functionName: string, topic: string): string {
  return deadLetterTopicFor(functionSubscription(functionName, topic));
}

const utf8 = new TextEncoder();

/**
 * The issues as JSON within `maxBytes`: whole issues are dropped from the end (and a final
 * `{"path":"","message":"+N more"}` added) until it fits; a single oversize issue is shortened.
 */
export function issuesAttribute(
  issues: readonly Issue[],
  maxBytes = BUS_LIMITS.maxAttributeValueBytes,
): string {
  const fits = (s: string) => utf8.encode(s).byteLength <= maxBytes;
  const all = JSON.stringify(issues);
  if (fits(all)) return all;
  for (let keep = issues.length - 1; keep >= 1; keep--) {
    const s = JSON.stringify([
      ...issues.slice(0, keep),
      { path: '', message: `+${issues.length - keep} more` },
    ]);
    if (fits(s)) return s;
  }
  const first = issues[0];
  let message = first?.message ?? '';
  const path = (first?.path ?? '').slice(0, 200);
  while (message.length > 0) {
    const s = JSON.stringify([{ path, message: `${message}…` }]);
    if (fits(s)) return s;
    message = message.slice(0, Math.floor(message.length * 0.8));
  }
  return '[]';
}

export interface DeadLetterInput {
  functionName: string;
  topic: string;
  delivery: PubSubDelivery;
  reason: string;
  issues: readonly Issue[];
}

const OWN_ATTRIBUTE_COUNT = Object.keys(DEAD_LETTER_ATTRIBUTES).length + 1;

/** The attributes of a dead letter: the original ones plus ours (ours win on a clash). */
export function deadLetterAttributes(input: DeadLetterInput): Record<string, string> {
  const { delivery } = input;
  // Pub/Sub allows 100 attributes: keep the original ones that fit beside ours.
  const room = BUS_LIMITS.maxAttributes - OWN_ATTRIBUTE_COUNT;
  const original = Object.fromEntries(Object.entries(delivery.attributes).slice(0, room));
  return {
    ...original,
    [DEAD_LETTER_ATTRIBUTES.reason]: input.reason,
    [DEAD_LETTER_ATTRIBUTES.sourceSubscription]: functionSubscription(input.functionName, input.topic),
    [DEAD_LETTER_ATTRIBUTES.sourceTopic]: input.topic,
    [DEAD_LETTER_ATTRIBUTES.sourceMessageId]: delivery.messageId,
    [DEAD_LETTER_ATTRIBUTES.deliveryAttempt]: String(delivery.deliveryAttempt ?? 1),
    [DEAD_LETTER_ISSUES_ATTRIBUTE]: issuesAttribute(input.issues),
  };
}

/**
 * Publish the dead letter; resolves with the topic and message id once Pub/Sub has it. A failed
 * publish rejects: the caller throws so the message is redelivered and dead-lettered again.
 */
export async function publishDeadLetter(
  bus: Pick<EventBus, 'publish'>,
  input: DeadLetterInput,
): Promise<{ topic: string; messageId: string }> {
  const topic = functionDeadLetterTopic(input.functionName, input.topic);
  const messageId = await bus.publish(topic, input.delivery.data, deadLetterAttributes(input));
  return { topic, messageId };
}
