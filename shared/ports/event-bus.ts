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
