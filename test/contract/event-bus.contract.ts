/**
 * The EventBus contract: every adapter (in-process, Pub/Sub) must pass it unchanged.
 * `factory` returns a fresh bus; every test uses its own topic and subscription names.
 */
import { randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  type BusMessage,
  deadLetterTopicFor,
  type EventBus,
  type HandlerOutcome,
  type MessageHandler,
  type Subscription,
} from '../../shared/ports/event-bus.ts';

export type EventBusFactory = () => Promise<EventBus>;

export interface EventBusContractOptions {
  /** How long to wait before concluding that a message was NOT delivered (default 300 ms). */
  quietMs?: number;
  /** Longest wait for an expected delivery (default 15 s). */
  deliveryTimeoutMs?: number;
}

const utf8 = new TextEncoder();
const text = new TextDecoder();

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function waitUntil(cond: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(10);
  }
}

/** Records deliveries and answers with `decide` (ack by default). */
class Recorder {
  readonly received: BusMessage[] = [];
  constructor(
    private readonly decide: (
      msg: BusMessage,
      n: number,
    ) => HandlerOutcome | Promise<HandlerOutcome> = () => ({ kind: 'ack' }),
  ) {}
  readonly handler: MessageHandler = async (msg) => {
    this.received.push(msg);
    return await this.decide(msg, this.received.length);
  };
}

export function eventBusContract(
  name: string,
  factory: EventBusFactory,
  options: EventBusContractOptions = {},
): void {
  const quietMs = options.quietMs ?? 300;
  const timeoutMs = options.deliveryTimeoutMs ?? 15_000;

  describe(`EventBus contract: ${name}`, () => {
    let bus: EventBus;
    let run: string;
    const subs: Subscription[] = [];

    beforeEach(async () => {
      bus = await factory();
      run = `c${randomBytes(4).toString('hex')}`;
    });
    afterEach(async () => {
      await Promise.allSettled(subs.splice(0).map((s) => s.close()));
      await bus.close();
    });

    const topicName = (t: string) => `${run}.${t}`;
    const subName = (s: string) => `${run}.${s}`;
    async function subscribe(
      topic: string,
      sub: string,
      rec: Recorder,
      opts?: Parameters<EventBus['subscribe']>[3],
    ) {
      const s = await bus.subscribe(topic, sub, rec.handler, opts);
      subs.push(s);
      return s;
    }

    it('round-trips exact bytes and attributes; the published id is the delivered id', async () => {
      const topic = topicName('orders.requests');
      const rec = new Recorder();
      await subscribe(topic, subName('intake'), rec);
      const bytes = new Uint8Array(256);
      for (let i = 0; i < 256; i++) bytes[i] = i;
      const attributes = {
        venue: 'BINANCE-SPOT',
        instrument_key: 'BINANCE-SPOT:SPOT_PAIR:BTC-USDT',
        note: 'naïve ✓ 😀 "quoted" \\ back',
        empty: '',
      };
      const before = Date.now();
      const id = await bus.publish(topic, bytes, attributes);
      expect(typeof id).toBe('string');
      expect(id.length).toBeGreaterThan(0);
      await waitUntil(() => rec.received.length >= 1, timeoutMs, 'the message');
      const msg = rec.received[0]!;
      expect(msg.id).toBe(id);
      expect([...msg.data]).toEqual([...bytes]);
      expect(msg.attributes).toEqual(attributes);
      expect(msg.deliveryAttempt).toBe(1);
      expect(msg.publishTimeMs).toBeGreaterThan(before - 60_000);
      expect(msg.publishTimeMs).toBeLessThan(Date.now() + 60_000);
    });

    it('serialises objects as JSON and sends strings as UTF-8', async () => {
      const topic = topicName('exec.fills');
      const rec = new Recorder();
      await subscribe(topic, subName('fills'), rec);
      const payload = {
        operation_id: 'OP-1',
        quantity: '1.5',
        fills: [{ fill_id: 'F1', price: '42000.10' }],
        price: null,
      };
      await bus.publish(topic, payload);
      await bus.publish(topic, 'plain text é');
      await waitUntil(() => rec.received.length >= 2, timeoutMs, 'two messages');
      const bodies = rec.received.map((m) => text.decode(m.data)).sort();
      expect(bodies).toContain('plain text é');
      const json = bodies.find((b) => b.startsWith('{'));
      expect(JSON.parse(json ?? 'null')).toEqual(payload);
    });

    it('does not deliver messages published before the subscription existed', async () => {
      const topic = topicName('market.raw');
      await bus.publish(topic, 'before', { seq: '1' });
      const rec = new Recorder();
      await subscribe(topic, subName('late'), rec);
      await bus.publish(topic, 'after', { seq: '2' });
      await waitUntil(() => rec.received.length >= 1, timeoutMs, 'the second message');
      await sleep(quietMs);
      expect(rec.received.map((m) => text.decode(m.data))).toEqual(['after']);
    });

    it('fans out to every subscription and applies attribute filters', async () => {
      const topic = topicName('exec.orders');
      const all = new Recorder();
      const binance = new Recorder();
      await subscribe(topic, subName('all'), all);
      await subscribe(topic, subName('binance-btc'), binance, {
        filter: { venue: 'BINANCE', payload: 'BTC-USDT' },
      });
      await bus.publish(topic, 'a', { venue: 'BINANCE', payload: 'BTC-USDT' });
      await bus.publish(topic, 'b', { venue: 'BINANCE', payload: 'ETH-USDT' });
      await bus.publish(topic, 'c', { venue: 'OKX', payload: 'BTC-USDT' });
      await bus.publish(topic, 'd');
      await bus.publish(topic, 'e', { venue: 'BINANCE', payload: 'BTC-USDT', extra: 'x' });
      await waitUntil(() => all.received.length >= 5, timeoutMs, 'all five on the unfiltered subscription');
      await waitUntil(() => binance.received.length >= 2, timeoutMs, 'two filtered messages');
      await sleep(quietMs);
      expect(binance.received.map((m) => text.decode(m.data)).sort()).toEqual(['a', 'e']);
      expect(all.received.map((m) => text.decode(m.data)).sort()).toEqual(['a', 'b', 'c', 'd', 'e']);
    });

    it('nack → redelivered with deliveryAttempt > 1', async () => {
      const topic = topicName('orders.routed');
      const rec = new Recorder((_m, n) => (n === 1 ? { kind: 'nack' } : { kind: 'ack' }));
      await subscribe(topic, subName('router'), rec);
      const id = await bus.publish(topic, { n: 1 });
      await waitUntil(() => rec.received.length >= 2, timeoutMs, 'the redelivery');
      await sleep(quietMs);
      expect(rec.received.map((m) => m.id)).toEqual([id, id]);
      expect(rec.received[0]?.deliveryAttempt).toBe(1);
      expect(rec.received[1]?.deliveryAttempt).toBeGreaterThan(1);
      expect([...(rec.received[1]?.data ?? [])]).toEqual([...(rec.received[0]?.data ?? [])]);
    });

    it('a handler that throws is redelivered', async () => {
      const topic = topicName('orders.cancels');
      const rec = new Recorder((_m, n) => {
        if (n === 1) throw new Error('transient: venue timeout');
        return { kind: 'ack' };
      });
      await subscribe(topic, subName('cancels'), rec);
      const id = await bus.publish(topic, { n: 1 }, { k: 'v' });
      await waitUntil(() => rec.received.length >= 2, timeoutMs, 'the redelivery');
      await sleep(quietMs);
      expect(rec.received.length).toBe(2);
      expect(rec.received[1]?.id).toBe(id);
      expect(rec.received[1]?.deliveryAttempt).toBeGreaterThan(1);
      expect(rec.received[1]?.attributes).toEqual({ k: 'v' });
    });

    it('dead_letter → original bytes and attributes on <subscription>.dlq with the reason; not redelivered', async () => {
      const topic = topicName('orders.requests');
      const sub = subName('intake');
      const dlq = new Recorder();
      await subscribe(deadLetterTopicFor(sub), subName('intake.dlq.watch'), dlq);
      const rec = new Recorder(() => ({ kind: 'dead_letter', reason: 'invalid_json: Unexpected token' }));
      await subscribe(topic, sub, rec);
      const poison = utf8.encode('{"operation_id": "OP-1", oops');
      const id = await bus.publish(topic, poison, { source: 'strategy', venue: 'BINANCE' });
      await waitUntil(() => dlq.received.length >= 1, timeoutMs, 'the dead letter');
      await sleep(quietMs);
      expect(rec.received.length).toBe(1);
      expect(dlq.received.length).toBe(1);
      const dead = dlq.received[0]!;
      expect([...dead.data]).toEqual([...poison]);
      expect(dead.attributes).toMatchObject({
        source: 'strategy',
        venue: 'BINANCE',
        dead_letter_reason: 'invalid_json: Unexpected token',
        source_subscription: sub,
        source_topic: topic,
        source_message_id: id,
        delivery_attempt: '1',
      });
    });

    it('maxDeliveryAttempts exhausted → dead-lettered with reason max_delivery_attempts', async () => {
      const topic = topicName('backtests.windows');
      const sub = subName('windows');
      const dlq = new Recorder();
      await subscribe(deadLetterTopicFor(sub), subName('windows.dlq.watch'), dlq);
      const rec = new Recorder(() => ({ kind: 'nack' }));
      await subscribe(topic, sub, rec, { maxDeliveryAttempts: 3 });
      await bus.publish(topic, 'always fails', { window: 'w1' });
      await waitUntil(() => dlq.received.length >= 1, timeoutMs, 'the dead letter');
      await sleep(quietMs);
      expect(rec.received.map((m) => m.deliveryAttempt)).toEqual([1, 2, 3]);
      expect(dlq.received.length).toBe(1);
      expect(text.decode(dlq.received[0]!.data)).toBe('always fails');
      expect(dlq.received[0]!.attributes).toMatchObject({
        window: 'w1',
        dead_letter_reason: 'max_delivery_attempts',
        source_subscription: sub,
        delivery_attempt: '3',
      });
    });

    it('at least once: N concurrent publishes are all delivered (dedupe by id gives N)', async () => {
      const topic = topicName('market.raw');
      const n = 200;
      const rec = new Recorder();
      await subscribe(topic, subName('ticks'), rec);
      const ids = await Promise.all(
        Array.from({ length: n }, (_, i) => bus.publish(topic, { seq: i }, { seq: String(i) })),
      );
      expect(new Set(ids).size).toBe(n);
      await waitUntil(
        () => new Set(rec.received.map((m) => m.id)).size >= n,
        timeoutMs,
        `${n} distinct messages`,
      );
      const distinctIds = new Set(rec.received.map((m) => m.id));
      expect(distinctIds.size).toBe(n);
      expect([...distinctIds].sort()).toEqual([...ids].sort());
      const seqs = new Set(rec.received.map((m) => (JSON.parse(text.decode(m.data)) as { seq: number }).seq));
      expect(seqs.size).toBe(n);
    });

    it('limits messages in flight per subscriber (maxInFlight)', async () => {
      const topic = topicName('risk.state');
      let inFlight = 0;
      let peak = 0;
      const rec = new Recorder(async () => {
        inFlight += 1;
        peak = Math.max(peak, inFlight);
        await sleep(30);
        inFlight -= 1;
        return { kind: 'ack' };
      });
      await subscribe(topic, subName('risk'), rec, { maxInFlight: 2 });
      await Promise.all(Array.from({ length: 12 }, (_, i) => bus.publish(topic, { i })));
      await waitUntil(() => new Set(rec.received.map((m) => m.id)).size >= 12, timeoutMs, 'twelve messages');
      expect(peak).toBeLessThanOrEqual(2);
      expect(peak).toBeGreaterThanOrEqual(1);
    });

    it('close() waits for running handlers, then stops delivery; the subscription keeps new messages', async () => {
      const topic = topicName('backtests.done');
      const sub = subName('done');
      let finished = 0;
      const rec = new Recorder(async () => {
        await sleep(200);
        finished += 1;
        return { kind: 'ack' };
      });
      const s = await subscribe(topic, sub, rec);
      await bus.publish(topic, 'first');
      await waitUntil(() => rec.received.length >= 1, timeoutMs, 'the first message');
      await s.close();
      expect(finished).toBe(1); // the running handler completed before close resolved
      await bus.publish(topic, 'second');
      await sleep(quietMs);
      expect(rec.received.map((m) => text.decode(m.data))).toEqual(['first']);
      // Like Pub/Sub, the subscription outlives its subscriber: a new one gets the backlog.
      const again = new Recorder();
      await subscribe(topic, sub, again);
      await waitUntil(() => again.received.length >= 1, timeoutMs, 'the backlog');
      await sleep(quietMs);
      expect(again.received.map((m) => text.decode(m.data))).toEqual(['second']);
    });

    it('refuses messages Pub/Sub would refuse', async () => {
      const topic = topicName('orders.requests');
      await expect(bus.publish(topic, new Uint8Array(0))).rejects.toBeInstanceOf(TypeError);
      await expect(bus.publish(topic, 'x', { googKey: 'v' })).rejects.toBeInstanceOf(TypeError);
      await expect(bus.publish(topic, undefined)).rejects.toBeInstanceOf(TypeError);
      await expect(bus.publish(topic, new Uint8Array(0), { only: 'attributes' })).resolves.toEqual(
        expect.any(String),
      );
    });

    it('is healthy while open and not after close', async () => {
      expect((await bus.health()).ok).toBe(true);
      await bus.close();
      expect((await bus.health()).ok).toBe(false);
      await expect(bus.publish(topicName('orders.requests'), 'x')).rejects.toThrow(/closed/);
    });
  });
}
