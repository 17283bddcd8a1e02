import { PubSub } from '@google-cloud/pubsub';
import { afterAll, describe, expect, it } from 'vitest';
import { MemoryEventBus } from '../../infra/memory/event-bus.memory.ts';
import { PubSubEventBus } from '../../infra/pubsub/event-bus.pubsub.ts';
import { buildServerFilter, pubSubIdProblem } from '../../infra/pubsub/names.ts';
import type { BusMessage, HandlerOutcome } from '../../shared/ports/event-bus.ts';
import { startOrSkip } from '../support/emulator-guard.ts';
import { startPubSubEmulator } from '../support/pubsub-emulator.ts';
import { eventBusContract } from './event-bus.contract.ts';

process.env.METADATA_SERVER_DETECTION = 'none';

/** Handler failures are part of the contract (throw → redelivery): keep them out of the output. */
const handlerErrors: unknown[] = [];
const quiet = (error: unknown) => {
  handlerErrors.push(error);
};

eventBusContract('in-process (memory)', async () => new MemoryEventBus({ onHandlerError: quiet }));

describe('MemoryEventBus specifics', () => {
  it('idle() resolves once redeliveries are done, and backs off exponentially', async () => {
    const bus = new MemoryEventBus({
      onHandlerError: quiet,
      retryBackoff: { initialMs: 20, multiplier: 2, maxMs: 1000 },
    });
    const times: number[] = [];
    await bus.subscribe('orders.requests', 'intake', async (m: BusMessage): Promise<HandlerOutcome> => {
      times.push(Date.now());
      return m.deliveryAttempt < 4 ? { kind: 'nack' } : { kind: 'ack' };
    });
    await bus.publish('orders.requests', 'x');
    await bus.idle(5_000);
    expect(times.length).toBe(4);
    const gaps = times.slice(1).map((t, i) => t - (times[i] ?? t));
    expect(gaps[0]).toBeGreaterThanOrEqual(15); // ~20 ms
    expect(gaps[2]).toBeGreaterThanOrEqual(60); // ~80 ms
    expect(bus.stats()).toEqual([
      { name: 'intake', topic: 'orders.requests', backlog: 0, scheduled: 0, inFlight: 0, subscribers: 1 },
    ]);
    await bus.close();
  });

  it('idle() rejects with what is pending when it times out', async () => {
    const bus = new MemoryEventBus();
    let release = () => {};
    await bus.subscribe(
      'exec.fills',
      'slow',
      () => new Promise((resolve) => (release = () => resolve({ kind: 'ack' }))),
    );
    await bus.publish('exec.fills', 'x');
    await expect(bus.idle(50)).rejects.toThrow(/not idle.*"inFlight":1/);
    release();
    await bus.idle(1_000);
    await bus.close();
  });

  it('shares one subscription between handlers and refuses a different topic or filter for it', async () => {
    const bus = new MemoryEventBus();
    const a: string[] = [];
    const b: string[] = [];
    const ack = async (): Promise<HandlerOutcome> => ({ kind: 'ack' });
    await bus.subscribe('exec.orders', 'workers', async (m) => {
      a.push(m.id);
      return ack();
    });
    await bus.subscribe('exec.orders', 'workers', async (m) => {
      b.push(m.id);
      return ack();
    });
    for (let i = 0; i < 10; i++) await bus.publish('exec.orders', { i });
    await bus.idle();
    expect(a.length + b.length).toBe(10);
    expect(a.length).toBeGreaterThan(0);
    expect(b.length).toBeGreaterThan(0);
    await expect(bus.subscribe('exec.fills', 'workers', ack)).rejects.toThrow(
      /already exists on topic exec.orders/,
    );
    await expect(bus.subscribe('exec.orders', 'workers', ack, { filter: { venue: 'X' } })).rejects.toThrow(
      /filter/,
    );
    await bus.close();
  });

  it('treats a handler result that is not an outcome as a nack', async () => {
    const errors: unknown[] = [];
    const bus = new MemoryEventBus({ onHandlerError: (e) => errors.push(e), retryBackoff: { initialMs: 1 } });
    let calls = 0;
    const handler = async (): Promise<HandlerOutcome> => {
      calls += 1;
      // A buggy handler (e.g. plain JS) returning nothing the first time.
      return calls === 1 ? (JSON.parse('null') as HandlerOutcome) : { kind: 'ack' };
    };
    await bus.subscribe('risk.state', 'risk', handler);
    await bus.publish('risk.state', 'x');
    await bus.idle();
    expect(calls).toBe(2);
    expect(String(errors[0])).toMatch(/not an outcome/);
    await bus.close();
  });
});

describe('Pub/Sub names and filters', () => {
  it('accepts our dotted names unchanged and explains what Pub/Sub would reject', () => {
    expect(pubSubIdProblem('orders.requests')).toBeUndefined();
    expect(pubSubIdProblem('intake.orders-requests.dlq')).toBeUndefined();
    expect(pubSubIdProblem('a~b+c%d_e-f')).toBeUndefined();
    expect(pubSubIdProblem('ab')).toMatch(/at least 3/);
    expect(pubSubIdProblem('1abc')).toMatch(/start with a letter/);
    expect(pubSubIdProblem('google.x')).toMatch(/goog/);
    expect(pubSubIdProblem('a/b/c')).toMatch(/only letters/);
    expect(pubSubIdProblem(`a${'b'.repeat(255)}`)).toMatch(/at most 255/);
  });

  it('builds a deterministic server filter from what the syntax can express', () => {
    expect(buildServerFilter(undefined)).toBe('');
    expect(buildServerFilter({ venue: 'BINANCE', payload: 'BTC-USDT' })).toBe(
      'attributes.payload = "BTC-USDT" AND attributes.venue = "BINANCE"',
    );
    // keys that are not identifiers and values needing escapes stay client-side only
    expect(buildServerFilter({ 'x.y': '1', q: 'say "hi"', ok: 'v' })).toBe('attributes.ok = "v"');
    expect(
      Buffer.byteLength(buildServerFilter({ a: 'x'.repeat(200), b: 'y'.repeat(200) })),
    ).toBeLessThanOrEqual(256);
  });
});

const emulator = await startOrSkip('Pub/Sub', () => startPubSubEmulator());

describe.skipIf(!emulator.ok)('on the Pub/Sub emulator', () => {
  if (!emulator.ok) return;
  const emu = emulator.value;
  afterAll(() => emu.stop());
  console.info(`Pub/Sub emulator (${emu.via}) ready in ${emu.startMs} ms at ${emu.host}`);

  const base = {
    projectId: emu.projectId,
    emulatorHost: emu.host,
    // The emulator applies retry policies in ~2 s steps; without one it redelivers in ~150 ms.
    retryPolicy: null,
    onHandlerError: quiet,
  } as const;

  eventBusContract(
    'Pub/Sub (native dead-letter policy; server counts attempts)',
    async () => new PubSubEventBus(base),
    {
      quietMs: 600,
    },
  );

  eventBusContract(
    'Pub/Sub (no dead-letter policy; attempts counted in-process)',
    async () => new PubSubEventBus({ ...base, nativeDeadLetterPolicy: false }),
    { quietMs: 600 },
  );

  describe('PubSubEventBus specifics', () => {
    const admin = new PubSub({ projectId: emu.projectId, apiEndpoint: emu.host, emulatorMode: true });
    afterAll(() => admin.close());

    it('creates subscriptions with filter, dead-letter and retry policies, and refuses a conflicting filter', async () => {
      const bus = new PubSubEventBus({
        ...base,
        retryPolicy: { minimumBackoffSeconds: 2, maximumBackoffSeconds: 30 },
        maxDeliveryAttempts: 7,
      });
      const ack = async (): Promise<HandlerOutcome> => ({ kind: 'ack' });
      const s = await bus.subscribe('spec.exec.fills', 'spec.fills-binance', ack, {
        filter: { venue: 'BINANCE' },
      });
      const [md] = await admin.subscription('spec.fills-binance').getMetadata();
      expect(md.topic).toBe(`projects/${emu.projectId}/topics/spec.exec.fills`);
      expect(md.filter).toBe('attributes.venue = "BINANCE"');
      expect(md.deadLetterPolicy).toMatchObject({
        deadLetterTopic: `projects/${emu.projectId}/topics/spec.fills-binance.dlq`,
        maxDeliveryAttempts: 7,
      });
      expect(Number(md.retryPolicy?.minimumBackoff?.seconds)).toBe(2);
      expect(Number(md.retryPolicy?.maximumBackoff?.seconds)).toBe(30);
      await s.close();
      // Same filter again: fine. Another filter or topic: refused with a clear message.
      await (
        await bus.subscribe('spec.exec.fills', 'spec.fills-binance', ack, { filter: { venue: 'BINANCE' } })
      ).close();
      await expect(
        bus.subscribe('spec.exec.fills', 'spec.fills-binance', ack, { filter: { venue: 'OKX' } }),
      ).rejects.toThrow(/filter cannot change/);
      await expect(bus.subscribe('spec.exec.orders', 'spec.fills-binance', ack)).rejects.toThrow(
        /not on topic/,
      );
      await bus.close();
    });

    it('clamps the native policy to Pub/Sub bounds and rejects invalid names before any request', async () => {
      const bus = new PubSubEventBus(base);
      const ack = async (): Promise<HandlerOutcome> => ({ kind: 'ack' });
      const s = await bus.subscribe('spec.risk.state', 'spec.risk-low', ack, { maxDeliveryAttempts: 2 });
      const [md] = await admin.subscription('spec.risk-low').getMetadata();
      expect(md.deadLetterPolicy?.maxDeliveryAttempts).toBe(5);
      await s.close();
      await expect(
        bus.subscribe('spec.risk.state', 'spec.too-many', ack, { maxDeliveryAttempts: 101 }),
      ).rejects.toThrow(RangeError);
      await expect(bus.publish('x1', 'data')).rejects.toThrow(/invalid Pub\/Sub topic name "x1"/);
      await bus.close();
    });

    it('reports unhealthy when Pub/Sub does not answer', async () => {
      const bus = new PubSubEventBus({
        projectId: 'demo-test',
        emulatorHost: '127.0.0.1:9',
        healthTimeoutMs: 1_000,
      });
      const started = Date.now();
      const health = await bus.health();
      expect(health.ok).toBe(false);
      expect(health.detail).toMatch(/unreachable/);
      expect(Date.now() - started).toBeLessThan(5_000);
      await bus.close();
    });
  });
});
