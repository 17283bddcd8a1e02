/**
 * The order functions end to end on the real emulators: functions-framework serves `order-intake`
 * and `order-cancel` (registered by their index.ts, composed at cold start from a config file
 * with storage firestore + pubsub), the Pub/Sub emulator PUSHES `orders.requests` and
 * `orders.cancels` to them exactly as a push subscription / Eventarc would, and the test watches
 * Firestore (through the order store adapter) and pull subscriptions on `orders.routed`,
 * `exec.orders` and the dead-letter topics.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { getTestServer } from '@google-cloud/functions-framework/testing';
import type { PubSub } from '@google-cloud/pubsub';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEAD_LETTER_ISSUES_ATTRIBUTE } from '../../functions/shared/dead-letter.ts';
import { shutdownFunctions } from '../../functions/shared/runtime.ts';
import { FirestoreOrderStore } from '../../infra/firestore/order-store.firestore.ts';
import type { OrderEvent } from '../../shared/domain/events.ts';
import type { OrderRecord, OrderStatus } from '../../shared/domain/types.ts';
import { DEAD_LETTER_ATTRIBUTES } from '../../shared/ports/event-bus.ts';
import { startOrSkip } from '../support/emulator-guard.ts';
import { startFirestoreEmulator } from '../support/firestore-emulator.ts';
import { startPubSubEmulator } from '../support/pubsub-emulator.ts';
import {
  ensureTopics,
  FUNCTION_TOPICS,
  prepareFunctionsEnv,
  subscribeFunction,
} from './support/functions-env.ts';
import { emulatorClient, Tap, type TappedMessage } from './support/pubsub-tap.ts';

const pubsubEmu = await startOrSkip('Pub/Sub', () => startPubSubEmulator());
const firestoreEmu = await startOrSkip('Firestore', () => startFirestoreEmulator());

const BTC = 'BINANCE-SPOT:SPOT_PAIR:BTC-USDT';
const INTAKE_DLQ = 'order-intake.orders.requests.dlq';
const CANCEL_DLQ = 'order-cancel.orders.cancels.dlq';

let seq = 0;
const opId = (what: string) => `OP-FN-${what}-${Date.now().toString(36)}-${++seq}`;

function instruction(operationId: string, extra: Record<string, unknown> = {}) {
  return {
    operation_id: operationId,
    instrument_key: BTC,
    side: 'BUY',
    quantity: '0.01',
    price: null,
    order_type: 'MARKET',
    time_in_force: 'GTC',
    strategy_id: 'fn-test',
    exec_algorithm: 'NORMAL',
    exec_algorithm_params: {},
    reference_price: '60000',
    ...extra,
  };
}

describe.skipIf(!pubsubEmu.ok || !firestoreEmu.ok)(
  'order functions on the Pub/Sub and Firestore emulators',
  () => {
    let pubsub: PubSub;
    let store: FirestoreOrderStore;
    const servers: Server[] = [];
    let routed: Tap;
    let updates: Tap;
    let intakeDlq: Tap;
    let cancelDlq: Tap;

    beforeAll(async () => {
      if (!pubsubEmu.ok || !firestoreEmu.ok) return;
      const { projectId } = pubsubEmu.value;
      const fenv = prepareFunctionsEnv({
        projectId,
        pubsubHost: pubsubEmu.value.host,
        firestoreHost: firestoreEmu.value.host,
        logLevel: 'error',
      });
      // What a function instance gets from its deployment: the config file and the emulator hosts.
      Object.assign(process.env, fenv.env);

      pubsub = emulatorClient(pubsubEmu.value.host, projectId);
      await ensureTopics(pubsub, FUNCTION_TOPICS);
      routed = await Tap.open(pubsub, 'orders.routed', 'test.orders.routed');
      updates = await Tap.open(pubsub, 'exec.orders', 'test.exec.orders');
      intakeDlq = await Tap.open(pubsub, INTAKE_DLQ, 'test.intake.dlq');
      cancelDlq = await Tap.open(pubsub, CANCEL_DLQ, 'test.cancel.dlq');

      // Cold start: registers every function and composes the OrderService once.
      await import('../../functions/index.ts');
      for (const [name, topic] of [
        ['order-intake', 'orders.requests'],
        ['order-cancel', 'orders.cancels'],
      ] as const) {
        const server = getTestServer(name);
        await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
        servers.push(server);
        const { port } = server.address() as AddressInfo;
        await subscribeFunction(pubsub, name, topic, `http://127.0.0.1:${port}`);
      }
      store = new FirestoreOrderStore({
        firestore: firestoreEmu.value.client(),
        collectionPrefix: fenv.collectionPrefix,
      });
    });

    afterAll(async () => {
      await Promise.allSettled(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
      await Promise.allSettled([routed, updates, intakeDlq, cancelDlq].filter(Boolean).map((t) => t.close()));
      await shutdownFunctions();
      await pubsub?.close();
      await Promise.allSettled([
        pubsubEmu.ok ? pubsubEmu.value.stop() : undefined,
        firestoreEmu.ok ? firestoreEmu.value.stop() : undefined,
      ]);
    });

    async function publish(topic: string, data: string | Buffer, attributes: Record<string, string> = {}) {
      return pubsub
        .topic(topic)
        .publishMessage({ data: typeof data === 'string' ? Buffer.from(data) : data, attributes });
    }

    async function waitForOrder(
      operationId: string,
      status: OrderStatus,
      timeoutMs = 20_000,
    ): Promise<{ order: OrderRecord; timeline: OrderEvent[] }> {
      const deadline = Date.now() + timeoutMs;
      let last: OrderRecord | null = null;
      while (Date.now() < deadline) {
        last = await store.get(operationId);
        if (last?.status === status) return { order: last, timeline: await store.timeline(operationId) };
        await new Promise((r) => setTimeout(r, 100));
      }
      throw new Error(`order ${operationId} did not reach ${status} (last: ${last?.status ?? 'none'})`);
    }

    const forOp = (op: string) => (m: TappedMessage) => m.attributes.operation_id === op;
    const dlqFor = (messageId: string) => (m: TappedMessage) =>
      m.attributes[DEAD_LETTER_ATTRIBUTES.sourceMessageId] === messageId;

    it('routes a valid order: Firestore holds the order and its timeline, orders.routed gets it', async () => {
      const op = opId('routed');
      await publish('orders.requests', JSON.stringify(instruction(op)), { operation_id: op });

      const msg = await routed.waitFor(forOp(op));
      expect(msg.attributes.instrument_key).toBe(BTC);
      expect(['BINANCE-SPOT', 'SIM']).toContain(msg.attributes.venue);
      expect(msg.attributes.action).toBe('submit');
      expect(msg.json()).toMatchObject({ action: 'submit', operation_id: op, side: 'BUY', quantity: '0.01' });

      const { order, timeline } = await waitForOrder(op, 'PENDING');
      expect(order.venue).toBe(msg.attributes.venue);
      expect(order.risk_approved).toBe(true);
      expect(timeline.map((e) => e.type)).toEqual(['OrderReceived', 'OrderRiskApproved', 'OrderRouted']);
      const routedEvent = timeline[2];
      expect(routedEvent?.type === 'OrderRouted' ? routedEvent.scores.length : 0).toBeGreaterThan(0);
      await updates.waitFor(forOp(op));
      expect(intakeDlq.where(forOp(op))).toEqual([]);
    });

    it('makes one order of the same message published three times', async () => {
      const op = opId('dup');
      const body = JSON.stringify(instruction(op));
      const ids = await Promise.all(
        [1, 2, 3].map(() => publish('orders.requests', body, { operation_id: op })),
      );
      expect(new Set(ids).size).toBe(3);

      await routed.waitFor(forOp(op));
      await waitForOrder(op, 'PENDING');
      // Let every copy be handled, then check nothing was recorded twice.
      const copies = await routed.settle(forOp(op), 1_500);
      const order = await store.get(op);
      const timeline = await store.timeline(op);
      expect(order?.version).toBe(1);
      expect(timeline.map((e) => e.type)).toEqual(['OrderReceived', 'OrderRiskApproved', 'OrderRouted']);
      // A duplicate of a routed order may re-publish the route (the venue edge de-duplicates by
      // operation_id): every copy is the same order at the same version.
      const orderIds = new Set(
        copies.map((m) => JSON.stringify([(m.json() as { order_id: string }).order_id, m.attributes.venue])),
      );
      expect(orderIds.size).toBe(1);
      expect(copies.every((m) => (m.json() as { version: number }).version === 1)).toBe(true);
      expect(intakeDlq.where(forOp(op))).toEqual([]);
    });

    it('dead-letters malformed JSON with the original bytes and the reason', async () => {
      const op = opId('badjson');
      const body = `{"operation_id": "${op}", "quantity": `;
      const id = await publish('orders.requests', body, { operation_id: op });

      const dl = await intakeDlq.waitFor(dlqFor(id));
      expect(dl.text).toBe(body);
      expect(dl.attributes).toMatchObject({
        operation_id: op,
        [DEAD_LETTER_ATTRIBUTES.reason]: 'invalid_json',
        [DEAD_LETTER_ATTRIBUTES.sourceSubscription]: 'order-intake.orders.requests',
        [DEAD_LETTER_ATTRIBUTES.sourceTopic]: 'orders.requests',
      });
      expect(JSON.parse(dl.attributes[DEAD_LETTER_ISSUES_ATTRIBUTE] ?? '[]')[0].message).toMatch(/JSON/);
      // Without a readable operation_id there is no order to record: the dead letter is the record.
      expect(await store.get(op)).toBeNull();
    });

    it('records wrong types as a REJECTED order and dead-letters them with the issues', async () => {
      const op = opId('types');
      const body = JSON.stringify(instruction(op, { quantity: true, side: 'SIDEWAYS' }));
      const id = await publish('orders.requests', body);

      const dl = await intakeDlq.waitFor(dlqFor(id));
      expect(dl.attributes[DEAD_LETTER_ATTRIBUTES.reason]).toBe('invalid_order');
      const issues: Array<{ path: string }> = JSON.parse(dl.attributes[DEAD_LETTER_ISSUES_ATTRIBUTE] ?? '[]');
      expect(issues.map((i) => i.path).sort()).toEqual(['quantity', 'side']);
      expect(dl.text).toBe(body);

      const { order, timeline } = await waitForOrder(op, 'REJECTED');
      expect(order.rejection_reason).toMatch(/^invalid_order: .*quantity/);
      expect(timeline.map((e) => e.type)).toEqual(['OrderReceived', 'OrderRejected']);
      expect(routed.where(forOp(op))).toEqual([]);
    });

    it('records an unknown instrument as a REJECTED order and dead-letters it', async () => {
      const op = opId('unknown');
      const id = await publish(
        'orders.requests',
        JSON.stringify(instruction(op, { instrument_key: 'BINANCE-SPOT:SPOT_PAIR:NOPE-USDT' })),
      );

      const dl = await intakeDlq.waitFor(dlqFor(id));
      expect(dl.attributes[DEAD_LETTER_ATTRIBUTES.reason]).toBe('invalid_order');
      expect(dl.attributes[DEAD_LETTER_ISSUES_ATTRIBUTE]).toMatch(/unknown instrument/);
      const { order } = await waitForOrder(op, 'REJECTED');
      expect(order.rejection_reason).toMatch(/unknown instrument BINANCE-SPOT:SPOT_PAIR:NOPE-USDT/);
    });

    it('records a risk denial as DENIED with the rule and its values, and acks it (no dead letter)', async () => {
      const op = opId('denied');
      // 100 BTC at 60,000 = 6,000,000 > max_notional_per_order 1,000,000.
      await publish('orders.requests', JSON.stringify(instruction(op, { quantity: '100' })), {
        operation_id: op,
      });

      const { order, timeline } = await waitForOrder(op, 'DENIED');
      expect(order.risk_approved).not.toBe(true);
      const denied = timeline.find((e) => e.type === 'OrderDenied');
      expect(denied).toMatchObject({ rule: 'max_notional_per_order', limit: '1000000', observed: '6000000' });
      await updates.waitFor((m) => forOp(op)(m) && m.attributes.status === 'DENIED');
      await new Promise((r) => setTimeout(r, 500));
      expect(intakeDlq.where(forOp(op))).toEqual([]);
      expect(routed.where(forOp(op))).toEqual([]);
    });

    it('dead-letters a message with empty data (functions-framework does not convert it)', async () => {
      const op = opId('empty');
      const id = await publish('orders.requests', Buffer.alloc(0), { operation_id: op });
      const dl = await intakeDlq.waitFor(dlqFor(id));
      expect(dl.attributes).toMatchObject({
        [DEAD_LETTER_ATTRIBUTES.reason]: 'empty_data',
        operation_id: op,
      });
      expect(dl.text).toBe('');
    });

    it('cancels through orders.cancels; a second cancel is acked as not cancelable', async () => {
      const op = opId('cancel');
      await publish('orders.requests', JSON.stringify(instruction(op)), { operation_id: op });
      await waitForOrder(op, 'PENDING');

      await publish(
        'orders.cancels',
        JSON.stringify({ operation_id: op, reason: 'strategy changed its mind' }),
      );
      const { order, timeline } = await waitForOrder(op, 'CANCELED');
      expect(order.version).toBe(2);
      expect(timeline.map((e) => e.type)).toEqual([
        'OrderReceived',
        'OrderRiskApproved',
        'OrderRouted',
        'OrderCancelRequested',
        'OrderCanceled',
      ]);
      await updates.waitFor((m) => forOp(op)(m) && m.attributes.status === 'CANCELED');

      const again = await publish('orders.cancels', JSON.stringify({ operation_id: op }));
      await new Promise((r) => setTimeout(r, 1_500));
      expect(cancelDlq.where(dlqFor(again))).toEqual([]);
      expect((await store.get(op))?.version).toBe(2);
    });

    it('dead-letters an invalid cancel with its code', async () => {
      const id = await publish('orders.cancels', JSON.stringify({ operation_id: 42 }));
      const dl = await cancelDlq.waitFor(dlqFor(id));
      expect(dl.attributes[DEAD_LETTER_ATTRIBUTES.reason]).toBe('invalid_cancel');
      expect(dl.attributes[DEAD_LETTER_ATTRIBUTES.sourceSubscription]).toBe('order-cancel.orders.cancels');
    });

    it('redelivers a cancel for an order not seen yet (HTTP 500), and Pub/Sub dead-letters it after 5 attempts', async () => {
      const op = opId('ghost');
      const id = await publish('orders.cancels', JSON.stringify({ operation_id: op }));
      // Our own dead letter would come only after the 60 s grace; Pub/Sub's native policy forwards
      // the message after 5 failed deliveries, with its own attributes.
      const dl = await cancelDlq.waitFor(
        (m) => m.attributes.CloudPubSubDeadLetterSourceDeliveryCount !== undefined && m.text.includes(op),
        90_000,
      );
      expect(dl.attributes.CloudPubSubDeadLetterSourceSubscription).toContain('order-cancel.orders.cancels');
      expect(Number(dl.attributes.CloudPubSubDeadLetterSourceDeliveryCount)).toBeGreaterThanOrEqual(5);
      expect(cancelDlq.where(dlqFor(id))).toEqual([]);
    }, 120_000);
  },
);
