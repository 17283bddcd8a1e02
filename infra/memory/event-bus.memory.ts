import {
  type BusMessage,
  deadLetterAttributes,
  deadLetterTopicFor,
  type EventBus,
  encodeBusPayload,
  type MessageHandler,
  matchesFilter,
  runHandler,
  type SubscribeOptions,
  type Subscription,
} from '../../shared/ports/event-bus.ts';

/**
 * In-process EventBus: the embedded default (`npm start`, unit tests, backtests).
 *
 * It keeps Pub/Sub's semantics so code that works here works on Pub/Sub:
 * - topics exist on demand; a subscription is a named, durable entity bound to one topic that
 *   receives every message published AFTER it was created (earlier messages are not delivered);
 *   it keeps collecting messages while no handler is attached (after `close()`), and a later
 *   `subscribe` with the same name picks up the backlog; several handlers on one subscription
 *   share its messages (round robin);
 * - at-least-once delivery: nack or throw → redelivery after an exponential back-off with
 *   `deliveryAttempt` incremented; after `maxDeliveryAttempts` the message is dead-lettered;
 * - the `dead_letter` outcome publishes the original bytes and attributes plus
 *   `dead_letter_reason`, `source_subscription`, `source_topic`, `source_message_id`,
 *   `delivery_attempt` to `<subscription>.dlq`, then acks;
 * - the attribute filter belongs to the subscription (non-matching messages are never queued);
 * - flow control: at most `maxInFlight` messages in the handler per subscriber.
 *
 * It is not durable: messages live in this process only.
 */
export interface MemoryEventBusOptions {
  /** Redelivery delay after a nack: min(maxMs, initialMs × multiplier^(attempt-1)). Default 10 ms, ×2, 1 s. */
  retryBackoff?: { initialMs?: number; maxMs?: number; multiplier?: number } | undefined;
  /** Default flow control per subscriber (SubscribeOptions.maxInFlight wins). Default 64. */
  maxInFlight?: number | undefined;
  /** Default `maxDeliveryAttempts` (SubscribeOptions wins). Default 5. */
  maxDeliveryAttempts?: number | undefined;
  /** Clock for `publishTimeMs`. Default Date.now. */
  now?: (() => number) | undefined;
  /**
   * Told about handler failures (throws, invalid outcomes) and dead-letter publish failures.
   * Default: one JSON line on stderr.
   */
  onHandlerError?: ((error: unknown, context: HandlerErrorContext) => void) | undefined;
}

export interface HandlerErrorContext {
  subscription: string;
  messageId: string;
  deliveryAttempt: number;
}

/** What is queued, scheduled and in flight per subscription (tests, metrics, the ops console). */
export interface MemorySubscriptionStats {
  name: string;
  topic: string;
  /** Ready to deliver. */
  backlog: number;
  /** Waiting for their redelivery back-off. */
  scheduled: number;
  inFlight: number;
  subscribers: number;
}

const DEFAULT_BACKOFF = { initialMs: 10, maxMs: 1000, multiplier: 2 };
const DEFAULT_MAX_IN_FLIGHT = 64;
const DEFAULT_MAX_DELIVERY_ATTEMPTS = 5;

interface StoredMessage {
  readonly id: string;
  readonly data: Uint8Array;
  readonly attributes: Readonly<Record<string, string>>;
  readonly publishTimeMs: number;
  /** Deliveries so far. */
  attempts: number;
}

class Consumer {
  inFlight = 0;
  closed = false;
  private waiters: Array<() => void> = [];

  constructor(
    readonly handler: MessageHandler,
    readonly maxInFlight: number,
    readonly maxDeliveryAttempts: number,
  ) {}

  settled(): void {
    if (this.inFlight === 0) {
      const waiters = this.waiters;
      this.waiters = [];
      for (const w of waiters) w();
    }
  }

  whenSettled(): Promise<void> {
    if (this.inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }
}

class SubscriptionState {
  readonly ready: StoredMessage[] = [];
  readonly scheduled = new Map<StoredMessage, NodeJS.Timeout>();
  consumers: Consumer[] = [];
  inFlight = 0;
  private nextConsumer = 0;

  constructor(
    readonly name: string,
    readonly topic: string,
    readonly filter: Record<string, string> | undefined,
  ) {}

  /** An open consumer with spare capacity, round robin. */
  pickConsumer(): Consumer | undefined {
    const n = this.consumers.length;
    for (let i = 0; i < n; i++) {
      const c = this.consumers[(this.nextConsumer + i) % n];
      if (c && !c.closed && c.inFlight < c.maxInFlight) {
        this.nextConsumer = (this.nextConsumer + i + 1) % n;
        return c;
      }
    }
    return undefined;
  }
}

function positiveInt(name: string, value: number): number {
  if (!Number.isInteger(value) || value < 1)
    throw new RangeError(`${name} must be a positive integer, got ${value}`);
  return value;
}

function filterKey(filter: Record<string, string> | undefined): string {
  if (!filter) return '{}';
  return JSON.stringify(Object.entries(filter).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

function defaultOnHandlerError(error: unknown, context: HandlerErrorContext): void {
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(
    `${JSON.stringify({ level: 'warn', component: 'event-bus.memory', msg: 'handler failed', error: message, ...context })}\n`,
  );
}

export class MemoryEventBus implements EventBus {
  private readonly topics = new Map<string, Set<SubscriptionState>>();
  private readonly subscriptions = new Map<string, SubscriptionState>();
  private readonly backoff: { initialMs: number; maxMs: number; multiplier: number };
  private readonly defaultMaxInFlight: number;
  private readonly defaultMaxDeliveryAttempts: number;
  private readonly now: () => number;
  private readonly onHandlerError: (error: unknown, context: HandlerErrorContext) => void;
  private nextId = 0;
  private inFlight = 0;
  private closed = false;
  private idleWaiters: Array<() => void> = [];

  constructor(options: MemoryEventBusOptions = {}) {
    this.backoff = { ...DEFAULT_BACKOFF };
    if (options.retryBackoff?.initialMs !== undefined)
      this.backoff.initialMs = options.retryBackoff.initialMs;
    if (options.retryBackoff?.maxMs !== undefined) this.backoff.maxMs = options.retryBackoff.maxMs;
    if (options.retryBackoff?.multiplier !== undefined)
      this.backoff.multiplier = options.retryBackoff.multiplier;
    if (this.backoff.initialMs < 0 || this.backoff.maxMs < 0 || this.backoff.multiplier < 1) {
      throw new RangeError('retryBackoff needs initialMs >= 0, maxMs >= 0 and multiplier >= 1');
    }
    this.defaultMaxInFlight = positiveInt('maxInFlight', options.maxInFlight ?? DEFAULT_MAX_IN_FLIGHT);
    this.defaultMaxDeliveryAttempts = positiveInt(
      'maxDeliveryAttempts',
      options.maxDeliveryAttempts ?? DEFAULT_MAX_DELIVERY_ATTEMPTS,
    );
    this.now = options.now ?? Date.now;
    this.onHandlerError = options.onHandlerError ?? defaultOnHandlerError;
  }

  async publish(topic: string, data: unknown, attributes: Record<string, string> = {}): Promise<string> {
    if (this.closed) throw new Error('event bus is closed');
    if (!topic) throw new TypeError('topic name must not be empty');
    const bytes = encodeBusPayload(data, attributes);
    const id = String(++this.nextId);
    const publishTimeMs = this.now();
    // One private copy of the payload: the publisher may reuse its buffer.
    const stored = { data: bytes.slice(), attributes: { ...attributes } };
    const subs = this.topic(topic);
    for (const sub of subs) {
      if (!matchesFilter(stored.attributes, sub.filter)) continue; // like Pub/Sub: acked server-side
      sub.ready.push({ id, data: stored.data, attributes: stored.attributes, publishTimeMs, attempts: 0 });
      queueMicrotask(() => this.pump(sub));
    }
    return id;
  }

  async subscribe(
    topic: string,
    subscription: string,
    handler: MessageHandler,
    opts: SubscribeOptions = {},
  ): Promise<Subscription> {
    if (this.closed) throw new Error('event bus is closed');
    if (!topic) throw new TypeError('topic name must not be empty');
    if (!subscription) throw new TypeError('subscription name must not be empty');
    const consumer = new Consumer(
      handler,
      positiveInt('maxInFlight', opts.maxInFlight ?? this.defaultMaxInFlight),
      positiveInt('maxDeliveryAttempts', opts.maxDeliveryAttempts ?? this.defaultMaxDeliveryAttempts),
    );
    let state = this.subscriptions.get(subscription);
    if (state) {
      if (state.topic !== topic) {
        throw new Error(`subscription ${subscription} already exists on topic ${state.topic}, not ${topic}`);
      }
      if (filterKey(state.filter) !== filterKey(opts.filter)) {
        throw new Error(
          `subscription ${subscription} already exists with filter ${filterKey(state.filter)}; ` +
            `a subscription's filter cannot change (asked for ${filterKey(opts.filter)})`,
        );
      }
    } else {
      state = new SubscriptionState(subscription, topic, opts.filter ? { ...opts.filter } : undefined);
      this.subscriptions.set(subscription, state);
      this.topic(topic).add(state);
    }
    state.consumers.push(consumer);
    const sub = state;
    queueMicrotask(() => this.pump(sub));
    return {
      name: subscription,
      close: async () => {
        if (!consumer.closed) {
          consumer.closed = true;
          sub.consumers = sub.consumers.filter((c) => c !== consumer);
          this.notifyIfIdle();
        }
        await consumer.whenSettled();
      },
    };
  }

  async health(): Promise<{ ok: boolean; detail?: string }> {
    if (this.closed) return { ok: false, detail: 'closed' };
    return { ok: true, detail: `in-process bus, ${this.subscriptions.size} subscriptions` };
  }

  /** Stops every subscriber, waits for handlers in flight, drops scheduled redeliveries. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const consumers: Consumer[] = [];
    for (const sub of this.subscriptions.values()) {
      for (const c of sub.consumers) {
        c.closed = true;
        consumers.push(c);
      }
      sub.consumers = [];
      for (const timer of sub.scheduled.values()) clearTimeout(timer);
      sub.scheduled.clear();
    }
    await Promise.all(consumers.map((c) => c.whenSettled()));
    this.notifyIfIdle();
  }

  /**
   * Resolves when nothing is in flight and nothing is queued or scheduled for a subscription that
   * has a handler attached (messages waiting on a subscription nobody listens to do not count).
   * Rejects after `timeoutMs` (default 10 s) with what is still pending. For tests and shutdown.
   */
  idle(timeoutMs = 10_000): Promise<void> {
    if (this.isIdle()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const waiter = () => {
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => {
        this.idleWaiters = this.idleWaiters.filter((w) => w !== waiter);
        reject(new Error(`event bus not idle after ${timeoutMs} ms: ${JSON.stringify(this.stats())}`));
      }, timeoutMs);
      this.idleWaiters.push(waiter);
    });
  }

  /** Alias of `idle()`. */
  drain(timeoutMs?: number): Promise<void> {
    return this.idle(timeoutMs);
  }

  stats(): MemorySubscriptionStats[] {
    return [...this.subscriptions.values()].map((s) => ({
      name: s.name,
      topic: s.topic,
      backlog: s.ready.length,
      scheduled: s.scheduled.size,
      inFlight: s.inFlight,
      subscribers: s.consumers.length,
    }));
  }

  private topic(name: string): Set<SubscriptionState> {
    let subs = this.topics.get(name);
    if (!subs) {
      subs = new Set();
      this.topics.set(name, subs);
    }
    return subs;
  }

  private isIdle(): boolean {
    if (this.inFlight > 0) return false;
    if (this.closed) return true;
    for (const sub of this.subscriptions.values()) {
      if (sub.consumers.length > 0 && (sub.ready.length > 0 || sub.scheduled.size > 0)) return false;
    }
    return true;
  }

  private notifyIfIdle(): void {
    if (this.idleWaiters.length === 0 || !this.isIdle()) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }

  private pump(sub: SubscriptionState): void {
    if (this.closed) return;
    while (sub.ready.length > 0) {
      const consumer = sub.pickConsumer();
      if (!consumer) break;
      const msg = sub.ready.shift();
      if (!msg) break;
      void this.deliver(sub, consumer, msg);
    }
  }

  private async deliver(sub: SubscriptionState, consumer: Consumer, msg: StoredMessage): Promise<void> {
    msg.attempts += 1;
    consumer.inFlight += 1;
    sub.inFlight += 1;
    this.inFlight += 1;
    const delivery: BusMessage = {
      id: msg.id,
      data: msg.data.slice(),
      attributes: { ...msg.attributes },
      deliveryAttempt: msg.attempts,
      publishTimeMs: msg.publishTimeMs,
    };
    const context = { subscription: sub.name, messageId: msg.id, deliveryAttempt: msg.attempts };
    let outcome = await runHandler(consumer.handler, delivery, consumer.maxDeliveryAttempts, (error) =>
      this.onHandlerError(error, context),
    );
    try {
      if (outcome.kind === 'dead_letter' && !this.closed) {
        try {
          await this.publish(
            deadLetterTopicFor(sub.name),
            msg.data,
            deadLetterAttributes(msg.attributes, outcome.reason, {
              subscription: sub.name,
              topic: sub.topic,
              messageId: msg.id,
              deliveryAttempt: msg.attempts,
            }),
          );
        } catch (error) {
          this.onHandlerError(error, context);
          outcome = { kind: 'nack' }; // could not dead-letter: keep the message, retry later
        }
      }
      if (outcome.kind === 'nack' && !this.closed) this.scheduleRedelivery(sub, msg);
    } finally {
      consumer.inFlight -= 1;
      sub.inFlight -= 1;
      this.inFlight -= 1;
      consumer.settled();
      this.pump(sub);
      this.notifyIfIdle();
    }
  }

  private scheduleRedelivery(sub: SubscriptionState, msg: StoredMessage): void {
    const { initialMs, maxMs, multiplier } = this.backoff;
    const delay = Math.min(maxMs, initialMs * multiplier ** (msg.attempts - 1));
    const timer = setTimeout(() => {
      sub.scheduled.delete(msg);
      sub.ready.push(msg);
      this.pump(sub);
      this.notifyIfIdle();
    }, delay);
    sub.scheduled.set(msg, timer);
  }
}
