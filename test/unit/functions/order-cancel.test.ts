import { describe, expect, it } from 'vitest';
import {
  createOrderCancelHandler,
  OrderNotYetKnownError,
  withinGrace,
} from '../../../functions/order-cancel/handler.ts';
import { memoryLogger } from '../../../functions/shared/log.ts';
import type { PubSubDelivery } from '../../../functions/shared/pubsub-message.ts';
import type { CancelOutcome } from '../../../shared/app/order-service.ts';
import { DEAD_LETTER_ATTRIBUTES } from '../../../shared/ports/event-bus.ts';
import { pushEvent, recordingBus, reply, scriptedService } from './fakes.ts';

const DLQ = 'order-cancel.orders.cancels.dlq';
const NOW = Date.parse('2025-07-01T00:10:00Z');
const CANCEL = '{"operation_id":"OP-1"}';

function setup(outcome: CancelOutcome) {
  const service = scriptedService(undefined, () => outcome);
  const bus = recordingBus();
  const handler = createOrderCancelHandler({
    service,
    bus,
    log: memoryLogger(),
    nowMs: () => NOW,
    notFoundGraceMs: 60_000,
  });
  return { service, bus, handler };
}

describe('order-cancel handler', () => {
  it.each([
    ['cancel_requested', { kind: 'cancel_requested', reply: reply('PENDING_CANCEL') }],
    ['canceled', { kind: 'canceled', reply: reply('CANCELED') }],
    ['not_cancelable', { kind: 'not_cancelable', reply: reply('FILLED'), reason: 'order is FILLED' }],
  ] as const)('acks %s', async (kind, outcome) => {
    const { service, bus, handler } = setup(outcome);
    const out = await handler(pushEvent(CANCEL));
    expect(out.outcome).toBe(kind);
    expect(bus.published).toEqual([]);
    expect(Buffer.from(service.calls[0]?.input as Uint8Array).toString()).toBe(CANCEL);
    expect(service.calls[0]?.method).toBe('cancel');
  });

  it('retries a cancel whose order is unknown while the cancel is young (it may overtake its order)', async () => {
    const { bus, handler } = setup({ kind: 'not_found', operation_id: 'OP-1' });
    const young = pushEvent(CANCEL, { publishTime: new Date(NOW - 5_000).toISOString() });
    await expect(handler(young)).rejects.toBeInstanceOf(OrderNotYetKnownError);
    expect(bus.published).toEqual([]);
  });

  it('dead-letters a cancel whose order never turned up', async () => {
    const { bus, handler } = setup({ kind: 'not_found', operation_id: 'OP-1' });
    const old = pushEvent(CANCEL, { publishTime: new Date(NOW - 61_000).toISOString() });
    const out = await handler(old);
    expect(out.dead_letter).toMatchObject({ topic: DLQ, reason: 'order_not_found' });
    expect(bus.published[0]?.attributes[DEAD_LETTER_ATTRIBUTES.reason]).toBe('order_not_found');
  });

  it('dead-letters an invalid cancel with its code', async () => {
    const { bus, handler } = setup({
      kind: 'invalid',
      code: 'invalid_cancel',
      issues: [{ path: 'operation_id', message: 'required' }],
    });
    const out = await handler(pushEvent('{}'));
    expect(out.dead_letter?.reason).toBe('invalid_cancel');
    expect(bus.published[0]?.topic).toBe(DLQ);
  });
});

describe('withinGrace', () => {
  const d = (publishTime: string | undefined, deliveryAttempt: number | undefined): PubSubDelivery => ({
    messageId: 'm',
    data: new Uint8Array([1]),
    attributes: {},
    publishTime,
    deliveryAttempt,
    subscription: undefined,
  });
  it('uses the publish time, then the delivery attempt, else gives up', () => {
    expect(withinGrace(d(new Date(NOW - 1_000).toISOString(), 9), NOW, 60_000, 5)).toBe(true);
    expect(withinGrace(d(new Date(NOW - 60_000).toISOString(), 1), NOW, 60_000, 5)).toBe(false);
    expect(withinGrace(d(undefined, 4), NOW, 60_000, 5)).toBe(true);
    expect(withinGrace(d(undefined, 5), NOW, 60_000, 5)).toBe(false);
    expect(withinGrace(d('garbage', undefined), NOW, 60_000, 5)).toBe(false);
  });
});
