import {
  type ClientConfig,
  type CreateSubscriptionOptions,
  Duration,
  type Message,
  PubSub,
  type Subscription as PubSubSubscription,
  SubscriptionCloseBehaviors,
  type Topic,
} from '@google-cloud/pubsub';
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
import { assertPubSubResourceId, buildServerFilter } from './names.ts';

/**
 * EventBus on Google Cloud Pub/Sub (`@google-cloud/pubsub`, streaming pull).
 *
 * - Names: our topic and subscription names are used as Pub/Sub ids unchanged (dots are allowed);
 *   `assertPubSubResourceId` rejects what Pub/Sub would reject, with a clear message.
 * - Topics (including `<subscription>.dlq`) and subscriptions are created when missing
 *   (`createMissing`, default true); in production Terraform owns them and a PERMISSION_DENIED on
 *   create is taken to mean "managed elsewhere".
 * - A new subscription gets: the attribute filter as a server-side filter, a native dead-letter
 *   policy to `<subscription>.dlq` (`nativeDeadLetterPolicy`) and a retry policy (`retryPolicy`).
 *   The filter is ALSO applied here, so behaviour does not depend on the server honouring it
 *   (the emulator ignores filters).
 * - Handler outcomes: ack → ack; nack / throw → nack (Pub/Sub redelivers after the retry policy's
 *   back-off); at `maxDeliveryAttempts` or on `dead_letter` we publish the original bytes and
 *   attributes plus `dead_letter_reason`, `source_subscription`, `source_topic`,
 *   `source_message_id`, `delivery_attempt` to `<subscription>.dlq` ourselves and then ack.
 *   The attempt number is the server's `deliveryAttempt` (sent only when the subscription has a
 *   dead-letter policy, on real Pub/Sub and on the emulator); without one we count deliveries per
 *   message id in this process. The native policy is the backstop for messages that never reach a
 *   verdict (a handler that crashes the process): Pub/Sub forwards them after its own count.
 * - Flow control: at most `maxInFlight` unacked messages per subscriber; leases are extended by
 *   the client while a handler runs.
 * - `close()` stops pulling, lets running handlers finish and flushes their acks.
 * Pub/Sub types never leave this file: handlers get a BusMessage.
 */
export interface PubSubEventBusOptions {
  /** Project id; default: the library's (GOOGLE_CLOUD_PROJECT, credentials, or the emulator's). */
  projectId?: string | undefined;
  /**
   * `host:port` of a Pub/Sub emulator (plaintext, no credentials). Default: PUBSUB_EMULATOR_HOST,
   * which the client library reads itself.
   */
  emulatorHost?: string | undefined;
  /** Extra client options (credentials, apiEndpoint for a regional endpoint, ...). */
  clientConfig?: ClientConfig | undefined;
  /** Create missing topics and subscriptions (default true). */
  createMissing?: boolean | undefined;
  /** Publisher batching. Default low latency: every message is sent at once (maxMessages 1). */
  batching?: { maxMessages?: number; maxMilliseconds?: number; maxBytes?: number } | undefined;
  /** Default flow control per subscriber (SubscribeOptions.maxInFlight wins). Default 64. */
  maxInFlight?: number | undefined;
  /** Default `maxDeliveryAttempts` (SubscribeOptions wins). Default 5, at most 100. */
  maxDeliveryAttempts?: number | undefined;
  /** Ack deadline of subscriptions we create (s). Default 60. The client extends leases anyway. */
  ackDeadlineSeconds?: number | undefined;
  /**
   * Redelivery back-off of subscriptions we create; `null` = Pub/Sub's default (redeliver at
   * once). Default 1 s → 60 s. The emulator applies it in coarse steps (about 2 s).
   */
  retryPolicy?: { minimumBackoffSeconds: number; maximumBackoffSeconds: number } | null | undefined;
  /** Give subscriptions we create a native dead-letter policy to `<subscription>.dlq` (default true). */
  nativeDeadLetterPolicy?: boolean | undefined;
  /** Put the attribute filter on subscriptions we create (default true; applied client-side too). */
  serverSideFilter?: boolean | undefined;
  /** How long `health()` waits for Pub/Sub (default 5 s). */
  healthTimeoutMs?: number | undefined;
  /** How long `close()` waits for running handlers (default 30 s). */
  closeTimeoutMs?: number | undefined;
  /** Told about handler failures and failed dead-letter publishes. Default: a JSON line on stderr. */
  onHandlerError?: ((error: unknown, context: PubSubErrorContext) => void) | undefined;
  /** Told about streaming-pull errors (the client reconnects on transient ones). Default: stderr. */
  onSubscriberError?: ((error: unknown, subscription: string) => void) | undefined;
}

export interface PubSubErrorContext {
  subscription: string;
  messageId: string;
  deliveryAttempt: number;
}

const DEFAULTS = {
  maxInFlight: 64,
  maxDeliveryAttempts: 5,
  ackDeadlineSeconds: 60,
  retryPolicy: { minimumBackoffSeconds: 1, maximumBackoffSeconds: 60 },
  closeTimeoutMs: 30_000,
};
/** Pub/Sub's bounds for a dead-letter policy's max_delivery_attempts. */
const NATIVE_MIN_ATTEMPTS = 5;
const NATIVE_MAX_ATTEMPTS = 100;
/** Bound on the per-process attempt counter used when the server sends no deliveryAttempt. */
const MAX_COUNTED_IDS = 100_000;

const GRPC_ALREADY_EXISTS = 6;
const GRPC_PERMISSION_DENIED = 7;

function grpcCode(error: unknown): number | undefined {
  if (typeof error === 'object' && error !== null && 'code' in error && typeof error.code === 'number') {
    return error.code;
  }
  return undefined;
}

function positiveInt(name: string, value: number): number {
  if (!Number.isInteger(value) || value < 1)
    throw new RangeError(`${name} must be a positive integer, got ${value}`);
  return value;
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function stderrJson(fields: Record<string, unknown>): void {
  process.stderr.write(`${JSON.stringify({ level: 'warn', component: 'event-bus.pubsub', ...fields })}\n`);
}

/** Delivery counts per message id, for subscriptions without a server-side count. */
class AttemptCounter {
  private readonly counts = new Map<string, number>();

  next(id: string): number {
    const n = (this.counts.get(id) ?? 0) + 1;
    this.counts.delete(id); // re-insert: Map order doubles as LRU order
    this.counts.set(id, n);
    if (this.counts.size > MAX_COUNTED_IDS) {
      const oldest = this.counts.keys().next();
      if (!oldest.done) this.counts.delete(oldest.value);
    }
    return n;
  }

  forget(id: string): void {
    this.counts.delete(id);
  }
}

interface ActiveSubscriber {
  readonly name: string;
  readonly topic: string;
  readonly handler: MessageHandler;
  readonly filter: Record<string, string> | undefined;
  readonly maxDeliveryAttempts: number;
  readonly client: PubSubSubscription;
  readonly counter: AttemptCounter;
  readonly running: Set<Promise<void>>;
  closing: boolean;
}

export class PubSubEventBus implements EventBus {
  private readonly pubsub: PubSub;
  private readonly topics = new Map<string, Promise<Topic>>();
  private readonly subscribers = new Set<ActiveSubscriber>();
  private readonly createMissing: boolean;
  private readonly batching: { maxMessages: number; maxMilliseconds: number; maxBytes?: number };
  private readonly defaultMaxInFlight: number;
  private readonly defaultMaxDeliveryAttempts: number;
  private readonly ackDeadlineSeconds: number;
  private readonly retryPolicy: { minimumBackoffSeconds: number; maximumBackoffSeconds: number } | null;
  private readonly nativeDeadLetterPolicy: boolean;
  private readonly serverSideFilter: boolean;
  private readonly closeTimeoutMs: number;
  private readonly healthTimeoutMs: number;
  private readonly onHandlerError: (error: unknown, context: PubSubErrorContext) => void;
  private readonly onSubscriberError: (error: unknown, subscription: string) => void;
  private lastSubscriberError: string | undefined;
  private closed = false;

  constructor(options: PubSubEventBusOptions = {}) {
    const config: ClientConfig = { ...options.clientConfig };
    if (options.projectId !== undefined) config.projectId = options.projectId;
    if (options.emulatorHost !== undefined) {
      config.apiEndpoint = options.emulatorHost;
      config.emulatorMode = true;
    }
    this.pubsub = new PubSub(config);
    this.createMissing = options.createMissing ?? true;
    this.batching = { maxMessages: 1, maxMilliseconds: 0, ...options.batching };
    this.defaultMaxInFlight = positiveInt('maxInFlight', options.maxInFlight ?? DEFAULTS.maxInFlight);
    this.defaultMaxDeliveryAttempts = positiveInt(
      'maxDeliveryAttempts',
      options.maxDeliveryAttempts ?? DEFAULTS.maxDeliveryAttempts,
    );
    this.ackDeadlineSeconds = options.ackDeadlineSeconds ?? DEFAULTS.ackDeadlineSeconds;
    this.retryPolicy = options.retryPolicy === undefined ? DEFAULTS.retryPolicy : options.retryPolicy;
    this.nativeDeadLetterPolicy = options.nativeDeadLetterPolicy ?? true;
    this.serverSideFilter = options.serverSideFilter ?? true;
    this.closeTimeoutMs = options.closeTimeoutMs ?? DEFAULTS.closeTimeoutMs;
    this.healthTimeoutMs = options.healthTimeoutMs ?? 5_000;
    this.onHandlerError =
      options.onHandlerError ??
      ((error, context) => stderrJson({ msg: 'handler failed', error: describe(error), ...context }));
    this.onSubscriberError =
      options.onSubscriberError ??
      ((error, subscription) =>
        stderrJson({ msg: 'subscriber error', error: describe(error), subscription }));
  }

  async publish(topic: string, data: unknown, attributes: Record<string, string> = {}): Promise<string> {
    if (this.closed) throw new Error('event bus is closed');
    assertPubSubResourceId('topic', topic);
    const bytes = encodeBusPayload(data, attributes);
    const t = await this.topic(topic);
    // Buffer.from(Uint8Array) copies: the publisher may reuse its buffer while we batch.
    return await t.publishMessage({ data: Buffer.from(bytes), attributes: { ...attributes } });
  }

  async subscribe(
    topic: string,
    subscription: string,
    handler: MessageHandler,
    opts: SubscribeOptions = {},
  ): Promise<Subscription> {
    if (this.closed) throw new Error('event bus is closed');
    assertPubSubResourceId('topic', topic);
    assertPubSubResourceId('subscription', subscription);
    const dlq = deadLetterTopicFor(subscription);
    assertPubSubResourceId('dead-letter topic', dlq);
    const maxInFlight = positiveInt('maxInFlight', opts.maxInFlight ?? this.defaultMaxInFlight);
    const maxDeliveryAttempts = positiveInt(
      'maxDeliveryAttempts',
      opts.maxDeliveryAttempts ?? this.defaultMaxDeliveryAttempts,
    );
    if (this.nativeDeadLetterPolicy && maxDeliveryAttempts > NATIVE_MAX_ATTEMPTS) {
      throw new RangeError(
        `maxDeliveryAttempts is at most ${NATIVE_MAX_ATTEMPTS} on Pub/Sub, got ${maxDeliveryAttempts}`,
      );
    }

    const topicRef = await this.topic(topic);
    await this.topic(dlq); // must exist before a dead-letter policy names it
    await this.ensureSubscription(topicRef, topic, subscription, opts.filter, maxDeliveryAttempts);

    const client = this.pubsub.subscription(subscription, {
      flowControl: { maxMessages: maxInFlight, allowExcessMessages: false },
      closeOptions: {
        behavior: SubscriptionCloseBehaviors.WaitForProcessing,
        timeout: Duration.from({ milliseconds: this.closeTimeoutMs }),
      },
    });
    const active: ActiveSubscriber = {
      name: subscription,
      topic,
      handler,
      filter: opts.filter ? { ...opts.filter } : undefined,
      maxDeliveryAttempts,
      client,
      counter: new AttemptCounter(),
      running: new Set(),
      closing: false,
    };
    client.on('message', (message: Message) => {
      const run = this.handle(active, message);
      active.running.add(run);
      void run.finally(() => active.running.delete(run));
    });
    client.on('error', (error: unknown) => {
      this.lastSubscriberError = `${subscription}: ${describe(error)}`;
      this.onSubscriberError(error, subscription);
    });
    this.subscribers.add(active);
    return {
      name: subscription,
      close: () => this.closeSubscriber(active),
    };
  }

  async health(): Promise<{ ok: boolean; detail?: string }> {
    if (this.closed) return { ok: false, detail: 'closed' };
    try {
      // Any authenticated call proves the endpoint answers; one page of one topic is cheap.
      const timeoutMs = this.healthTimeoutMs;
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        this.pubsub.getTopics({ pageSize: 1, autoPaginate: false, gaxOpts: { timeout: timeoutMs } }),
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
        }),
      ]).finally(() => clearTimeout(timer));
    } catch (error) {
      return { ok: false, detail: `Pub/Sub unreachable: ${describe(error)}` };
    }
    for (const s of this.subscribers) {
      if (!s.closing && !s.client.isOpen) return { ok: false, detail: `subscriber ${s.name} is not open` };
    }
    const detail = this.lastSubscriberError ? `ok; last subscriber error ${this.lastSubscriberError}` : 'ok';
    return { ok: true, detail };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all([...this.subscribers].map((s) => this.closeSubscriber(s)));
    await Promise.allSettled([...this.topics.values()].map(async (t) => (await t).flush()));
    await this.pubsub.close();
  }

  private async closeSubscriber(active: ActiveSubscriber): Promise<void> {
    if (!this.subscribers.has(active)) return;
    active.closing = true;
    // The client stops pulling at once, waits (up to the close timeout) for the messages it handed
    // out to be acked or nacked, then flushes acks; then wait for our own bookkeeping.
    await active.client.close();
    await Promise.allSettled([...active.running]);
    active.client.removeAllListeners();
    this.subscribers.delete(active);
  }

  private async handle(active: ActiveSubscriber, message: Message): Promise<void> {
    if (active.closing) {
      message.nack();
      return;
    }
    const attempt = message.deliveryAttempt > 0 ? message.deliveryAttempt : active.counter.next(message.id);
    const attributes: Record<string, string> = { ...(message.attributes ?? {}) };
    if (!matchesFilter(attributes, active.filter)) {
      active.counter.forget(message.id);
      message.ack();
      return;
    }
    const delivery: BusMessage = {
      id: message.id,
      data: new Uint8Array(message.data),
      attributes,
      deliveryAttempt: attempt,
      publishTimeMs: message.publishTime.getTime(),
    };
    const context = { subscription: active.name, messageId: message.id, deliveryAttempt: attempt };
    let outcome = await runHandler(active.handler, delivery, active.maxDeliveryAttempts, (error) =>
      this.onHandlerError(error, context),
    );
    if (outcome.kind === 'dead_letter') {
      try {
        const dlq = await this.topic(deadLetterTopicFor(active.name));
        await dlq.publishMessage({
          data: Buffer.from(message.data),
          attributes: deadLetterAttributes(attributes, outcome.reason, {
            subscription: active.name,
            topic: active.topic,
            messageId: message.id,
            deliveryAttempt: attempt,
          }),
        });
        outcome = { kind: 'ack' };
      } catch (error) {
        // Not dead-lettered: keep the message (redelivered; the native policy is the backstop).
        this.onHandlerError(error, context);
        outcome = { kind: 'nack' };
      }
    }
    if (outcome.kind === 'ack') {
      active.counter.forget(message.id);
      message.ack();
    } else {
      message.nack();
    }
  }

  /** The Topic client for `name`, created on Pub/Sub first when missing (once per process). */
  private topic(name: string): Promise<Topic> {
    let pending = this.topics.get(name);
    if (!pending) {
      pending = this.openTopic(name);
      this.topics.set(name, pending);
      pending.catch(() => this.topics.delete(name)); // retry on the next call
    }
    return pending;
  }

  private async openTopic(name: string): Promise<Topic> {
    const topic = this.pubsub.topic(name, { batching: this.batching });
    if (this.createMissing) {
      try {
        await topic.create();
      } catch (error) {
        const code = grpcCode(error);
        // ALREADY_EXISTS: fine. PERMISSION_DENIED: this identity may only publish, the topic is
        // owned by Terraform; if it is really missing, publish fails with NOT_FOUND.
        if (code !== GRPC_ALREADY_EXISTS && code !== GRPC_PERMISSION_DENIED) throw error;
      }
    }
    return topic;
  }

  private async ensureSubscription(
    topicRef: Topic,
    topic: string,
    subscription: string,
    filter: Record<string, string> | undefined,
    maxDeliveryAttempts: number,
  ): Promise<void> {
    const serverFilter = this.serverSideFilter ? buildServerFilter(filter) : '';
    if (this.createMissing) {
      const { projectId } = await this.pubsub.getClientConfig();
      const options: CreateSubscriptionOptions = { ackDeadlineSeconds: this.ackDeadlineSeconds };
      if (serverFilter) options.filter = serverFilter;
      if (this.nativeDeadLetterPolicy) {
        options.deadLetterPolicy = {
          deadLetterTopic: `projects/${projectId}/topics/${deadLetterTopicFor(subscription)}`,
          maxDeliveryAttempts: Math.min(
            NATIVE_MAX_ATTEMPTS,
            Math.max(NATIVE_MIN_ATTEMPTS, maxDeliveryAttempts),
          ),
        };
      }
      if (this.retryPolicy) {
        options.retryPolicy = {
          minimumBackoff: { seconds: this.retryPolicy.minimumBackoffSeconds },
          maximumBackoff: { seconds: this.retryPolicy.maximumBackoffSeconds },
        };
      }
      try {
        await topicRef.createSubscription(subscription, options);
        return;
      } catch (error) {
        const code = grpcCode(error);
        if (code !== GRPC_ALREADY_EXISTS && code !== GRPC_PERMISSION_DENIED) throw error;
      }
    }
    // It exists: check it is the subscription we mean (same topic; no server filter stricter than ours).
    let metadata: { topic?: string | null; filter?: string | null };
    try {
      [metadata] = await this.pubsub.subscription(subscription).getMetadata();
    } catch (error) {
      if (grpcCode(error) === GRPC_PERMISSION_DENIED) return; // may only consume: trust Terraform
      throw error;
    }
    const boundTo = metadata.topic ?? '';
    if (!boundTo.endsWith(`/topics/${topic}`)) {
      throw new Error(
        `subscription ${subscription} exists on ${boundTo || 'a deleted topic'}, not on topic ${topic}`,
      );
    }
    const existing = metadata.filter ?? '';
    if (existing !== '' && existing !== serverFilter) {
      throw new Error(
        `subscription ${subscription} has server filter '${existing}', expected '${serverFilter}': ` +
          'a subscription filter cannot change; delete the subscription or use a new name',
      );
    }
  }
}
