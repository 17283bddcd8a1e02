/** Topic names of the platform (SPEC "Pub/Sub topics"). Dead-letter topics are `<subscription>.dlq`. */
export const TOPICS = [
  'orders.requests',
  'orders.routed',
  'orders.cancels',
  'exec.orders',
  'exec.fills',
  'market.raw',
  'risk.state',
  'backtests.requests',
  'backtests.windows',
  'backtests.done',
  'rebalance.daily',
] as const;
export type TopicName = (typeof TOPICS)[number];

export interface BusMessage {
  id: string;
  /** The raw payload bytes (JSON text for our topics; may be malformed: consumers validate). */
  data: Uint8Array;
  attributes: Record<string, string>;
  /** Delivery attempt, 1 for the first delivery. */
  deliveryAttempt: number;
  publishTimeMs: number;
}

/**
 * What a handler decided: ack (done), nack (transient, redeliver later) or dead-letter (poison:
 * publish to the dead-letter topic with the reason in attributes, then ack). A handler that throws
 * is treated as nack.
 */
export type HandlerOutcome = { kind: 'ack' } | { kind: 'nack' } | { kind: 'dead_letter'; reason: string };

export type MessageHandler = (msg: BusMessage) => Promise<HandlerOutcome>;

export interface SubscribeOptions {
  /** After this many deliveries a nacked message is dead-lettered with reason `max_delivery_attempts` (default 5). */
  maxDeliveryAttempts?: number | undefined;
  /** Delivered only where every attribute matches. */
  filter?: Record<string, string> | undefined;
  /** Most messages handed to the handler at once by this subscriber (flow control; adapter default 64). */
  maxInFlight?: number | undefined;
}

export interface Subscription {
  readonly name: string;
  close(): Promise<void>;
}

export interface EventBus {
  /** Publish a JSON payload (objects are serialised; Uint8Array/strings sent as they are). Returns the message id. */
  publish(topic: string, data: unknown, attributes?: Record<string, string>): Promise<string>;
  /** Create the subscription if needed and start delivering to `handler`. */
  subscribe(
    topic: string,
    subscription: string,
    handler: MessageHandler,
    opts?: SubscribeOptions,
  ): Promise<Subscription>;
  health(): Promise<{ ok: boolean; detail?: string }>;
  close(): Promise<void>;
}

export function deadLetterTopicFor(subscription: string): string {
  return `${subscription}.dlq`;
}

/** Attributes every adapter adds to a message it dead-letters (on top of the original attributes). */
export const DEAD_LETTER_ATTRIBUTES = {
  reason: 'dead_letter_reason',
  sourceSubscription: 'source_subscription',
  sourceTopic: 'source_topic',
  sourceMessageId: 'source_message_id',
  deliveryAttempt: 'delivery_attempt',
} as const;

/** Reason recorded when a message is dead-lettered because `maxDeliveryAttempts` ran out. */
export const MAX_DELIVERY_ATTEMPTS_REASON = 'max_delivery_attempts';

/** Where a dead-lettered message came from (see `deadLetterAttributes`). */
export interface DeadLetterSource {
  subscription: string;
  topic: string;
  messageId: string;
  deliveryAttempt: number;
}

/** The attributes of a dead-lettered copy: the original ones plus `DEAD_LETTER_ATTRIBUTES`. */
export function deadLetterAttributes(
  attributes: Record<string, string>,
  reason: string,
  source: DeadLetterSource,
): Record<string, string> {
  return {
    ...attributes,
    [DEAD_LETTER_ATTRIBUTES.reason]: reason,
    [DEAD_LETTER_ATTRIBUTES.sourceSubscription]: source.subscription,
    [DEAD_LETTER_ATTRIBUTES.sourceTopic]: source.topic,
    [DEAD_LETTER_ATTRIBUTES.sourceMessageId]: source.messageId,
    [DEAD_LETTER_ATTRIBUTES.deliveryAttempt]: String(source.deliveryAttempt),
  };
}

export function isHandlerOutcome(value: unknown): value is HandlerOutcome {
  if (typeof value !== 'object' || value === null || !('kind' in value)) return false;
  const kind = value.kind;
  if (kind === 'ack' || kind === 'nack') return true;
  return kind === 'dead_letter' && 'reason' in value && typeof value.reason === 'string';
}

/**
 * Run `handler` on one delivery and settle what it decided, as every adapter does: a throw or a
 * value that is not an outcome is reported to `onError` and counts as nack; a nack on attempt
 * `maxDeliveryAttempts` or later becomes a dead letter (`MAX_DELIVERY_ATTEMPTS_REASON`).
 */
export async function runHandler(
  handler: MessageHandler,
  delivery: BusMessage,
  maxDeliveryAttempts: number,
  onError: (error: unknown) => void,
): Promise<HandlerOutcome> {
  let outcome: HandlerOutcome;
  try {
    const result: unknown = await handler(delivery);
    if (isHandlerOutcome(result)) outcome = result;
    else {
      onError(new TypeError(`handler returned ${JSON.stringify(result)}, not an outcome`));
      outcome = { kind: 'nack' };
    }
  } catch (error) {
    onError(error);
    outcome = { kind: 'nack' };
  }
  if (outcome.kind === 'nack' && delivery.deliveryAttempt >= maxDeliveryAttempts) {
    outcome = { kind: 'dead_letter', reason: MAX_DELIVERY_ATTEMPTS_REASON };
  }
  return outcome;
}

/** Pub/Sub's limits, enforced by every adapter so the embedded bus refuses what the cloud would. */
export const BUS_LIMITS = {
  maxAttributes: 100,
  maxAttributeKeyBytes: 256,
  maxAttributeValueBytes: 1024,
  maxMessageBytes: 10 * 1024 * 1024,
} as const;

const utf8 = new TextEncoder();

/**
 * The payload bytes for `EventBus.publish`: Uint8Array as is, strings as UTF-8, anything else as
 * JSON text. Also checks the message against Pub/Sub's rules (attribute keys and values are
 * strings within size limits, keys do not start with `goog`, a message has data or attributes).
 * Throws TypeError / RangeError; pure, used by every adapter.
 */
export function encodeBusPayload(data: unknown, attributes: Record<string, string> = {}): Uint8Array {
  let bytes: Uint8Array;
  if (data instanceof Uint8Array) bytes = data;
  else if (typeof data === 'string') bytes = utf8.encode(data);
  else {
    const json = JSON.stringify(data);
    if (json === undefined) throw new TypeError(`bus payload of type ${typeof data} cannot be serialised`);
    bytes = utf8.encode(json);
  }
  const keys = Object.keys(attributes);
  if (keys.length > BUS_LIMITS.maxAttributes) {
    throw new RangeError(
      `a bus message has at most ${BUS_LIMITS.maxAttributes} attributes, got ${keys.length}`,
    );
  }
  for (const key of keys) {
    const value: unknown = attributes[key];
    if (typeof value !== 'string') throw new TypeError(`bus attribute ${key} must be a string`);
    if (key.length === 0) throw new TypeError('bus attribute keys must not be empty');
    if (key.startsWith('goog')) throw new TypeError(`bus attribute key ${key} must not start with "goog"`);
    if (utf8.encode(key).byteLength > BUS_LIMITS.maxAttributeKeyBytes) {
      throw new RangeError(
        `bus attribute key ${key.slice(0, 40)}… exceeds ${BUS_LIMITS.maxAttributeKeyBytes} bytes`,
      );
    }
    if (utf8.encode(value).byteLength > BUS_LIMITS.maxAttributeValueBytes) {
      throw new RangeError(`bus attribute ${key} exceeds ${BUS_LIMITS.maxAttributeValueBytes} bytes`);
    }
  }
  if (bytes.byteLength === 0 && keys.length === 0) {
    throw new TypeError('a bus message needs data or at least one attribute');
  }
  if (bytes.byteLength > BUS_LIMITS.maxMessageBytes) {
    throw new RangeError(
      `bus message of ${bytes.byteLength} bytes exceeds ${BUS_LIMITS.maxMessageBytes} bytes`,
    );
  }
  return bytes;
}

/** True when every attribute in `filter` is present in `attributes` with the same value. */
export function matchesFilter(
  attributes: Record<string, string>,
  filter: Record<string, string> | undefined,
): boolean {
  if (!filter) return true;
  for (const [key, value] of Object.entries(filter)) {
    if (attributes[key] !== value) return false;
  }
  return true;
}
