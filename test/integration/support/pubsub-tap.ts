/**
 * Taps on the Pub/Sub emulator for tests and benches: a pull subscription on a topic that keeps
 * every message it receives (acked at once), with `waitFor` helpers, and push subscriptions that
 * deliver a topic to a function's HTTP endpoint the way Eventarc / a push subscription does.
 */
import { type Message, PubSub } from '@google-cloud/pubsub';

export interface TappedMessage {
  id: string;
  text: string;
  attributes: Record<string, string>;
  receivedAtMs: number;
  /** The data parsed as JSON (throws if it is not JSON). */
  json(): unknown;
}

export function emulatorClient(host: string, projectId: string): PubSub {
  return new PubSub({ projectId, apiEndpoint: host, emulatorMode: true });
}

/** Create the topics that do not exist yet. */
export async function ensureTopics(pubsub: PubSub, names: readonly string[]): Promise<void> {
  const [existing] = await pubsub.getTopics();
  const have = new Set(existing.map((t) => t.name.split('/').pop()));
  for (const name of names) if (!have.has(name)) await pubsub.createTopic(name);
}

export interface PushSubscriptionSpec {
  name: string;
  topic: string;
  endpoint: string;
  /** Native dead-letter policy (Pub/Sub's backstop), with at least 5 attempts. */
  deadLetterTopic?: string | undefined;
  maxDeliveryAttempts?: number | undefined;
}

/** A push subscription (functions-framework turns the POST into a CloudEvent). */
export async function createPushSubscription(pubsub: PubSub, spec: PushSubscriptionSpec): Promise<void> {
  const { projectId } = pubsub;
  await pubsub.topic(spec.topic).createSubscription(spec.name, {
    pushConfig: { pushEndpoint: spec.endpoint },
    ackDeadlineSeconds: 60,
    ...(spec.deadLetterTopic
      ? {
          deadLetterPolicy: {
            deadLetterTopic: `projects/${projectId}/topics/${spec.deadLetterTopic}`,
            maxDeliveryAttempts: spec.maxDeliveryAttempts ?? 5,
          },
        }
      : {}),
  });
}

export class Tap {
  readonly messages: TappedMessage[] = [];
  private waiters: Array<() => void> = [];

  private constructor(
    readonly subscription: string,
    private readonly closeSubscriber: () => Promise<void>,
  ) {}

  /** Subscribe (creating the pull subscription) before anything is published. */
  static async open(pubsub: PubSub, topic: string, subscription: string): Promise<Tap> {
    const [sub] = await pubsub.topic(topic).createSubscription(subscription, { ackDeadlineSeconds: 60 });
    sub.setOptions({ flowControl: { maxMessages: 1_000, allowExcessMessages: false } });
    let tap: Tap | null = null;
    const onMessage = (m: Message) => {
      m.ack();
      tap?.push({
        id: m.id,
        text: m.data.toString('utf8'),
        attributes: { ...m.attributes },
        receivedAtMs: performance.timeOrigin + performance.now(),
        json: () => JSON.parse(m.data.toString('utf8')),
      });
    };
    sub.on('message', onMessage);
    sub.on('error', () => undefined);
    tap = new Tap(subscription, async () => {
      sub.removeListener('message', onMessage);
      await sub.close();
    });
    return tap;
  }

  private push(m: TappedMessage): void {
    this.messages.push(m);
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }

  /** Messages matching `pred` so far. */
  where(pred: (m: TappedMessage) => boolean): TappedMessage[] {
    return this.messages.filter(pred);
  }

  /** Resolve once `count` messages match (rejects after `timeoutMs` with what was seen). */
  async waitForCount(
    pred: (m: TappedMessage) => boolean,
    count: number,
    timeoutMs = 20_000,
  ): Promise<TappedMessage[]> {
    const deadline = Date.now() + timeoutMs;
    while (true) {
      const found = this.where(pred);
      if (found.length >= count) return found;
      const left = deadline - Date.now();
      if (left <= 0) {
        throw new Error(
          `${this.subscription}: waited ${timeoutMs} ms for ${count} matching message(s), saw ${found.length} of ${this.messages.length}: ${this.messages
            .slice(-5)
            .map((m) => `${JSON.stringify(m.attributes)} ${m.text.slice(0, 120)}`)
            .join(' | ')}`,
        );
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(left, 250));
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  async waitFor(pred: (m: TappedMessage) => boolean, timeoutMs = 20_000): Promise<TappedMessage> {
    const [first] = await this.waitForCount(pred, 1, timeoutMs);
    if (!first) throw new Error('unreachable');
    return first;
  }

  /** Nothing more matching arrives within `quietMs` (at-least-once checks). */
  async settle(pred: (m: TappedMessage) => boolean, quietMs: number): Promise<TappedMessage[]> {
    let seen = this.where(pred).length;
    while (true) {
      await new Promise((r) => setTimeout(r, quietMs));
      const now = this.where(pred).length;
      if (now === seen) return this.where(pred);
      seen = now;
    }
  }

  async close(): Promise<void> {
    await this.closeSubscriber();
  }
}
