import { describe, expect, it } from 'vitest';
import { createOrderIntakeHandler } from '../../../functions/order-intake/handler.ts';
import { DEAD_LETTER_ISSUES_ATTRIBUTE } from '../../../functions/shared/dead-letter.ts';
import { memoryLogger } from '../../../functions/shared/log.ts';
import { DEAD_LETTER_ATTRIBUTES } from '../../../shared/ports/event-bus.ts';
import { pushEvent, recordingBus, reply, scriptedService } from './fakes.ts';

const DLQ = 'order-intake.orders.requests.dlq';
const ORDER = JSON.stringify({ operation_id: 'OP-1', instrument_key: 'BINANCE-SPOT:SPOT_PAIR:BTC-USDT' });

function setup(service = scriptedService()) {
  const bus = recordingBus();
  const log = memoryLogger();
  const handler = createOrderIntakeHandler({ service, bus, log });
  return { service, bus, log, handler };
}

describe('order-intake handler', () => {
  it('hands the exact bytes and the delivery to the service and acks a routed order', async () => {
    const { service, bus, log, handler } = setup();
    const out = await handler(pushEvent(ORDER, { messageId: 'm-7', deliveryAttempt: 2 }));
    expect(out).toMatchObject({
      outcome: 'routed',
      message_id: 'm-7',
      operation_id: 'OP-1',
      status: 'SUBMITTED',
    });
    expect(out.dead_letter).toBeUndefined();
    expect(bus.published).toEqual([]);
    const call = service.calls[0];
    expect(call?.input).toBeInstanceOf(Uint8Array);
    expect(Buffer.from(call?.input as Uint8Array).toString()).toBe(ORDER);
    expect(call?.source).toEqual({ via: 'pubsub', message_id: 'm-7', delivery_attempt: 2 });
    expect(log.entries).toEqual([expect.objectContaining({ severity: 'INFO', message: 'routed' })]);
  });

  it.each([
    ['denied', reply('DENIED', { rejection_reason: 'max_notional_per_order' })],
    ['unroutable', reply('REJECTED', { rejection_reason: 'unroutable: no venue' })],
    ['duplicate', reply('SUBMITTED')],
  ] as const)('acks %s without a dead letter (business outcomes are data)', async (kind, r) => {
    const { bus, handler } = setup(scriptedService(() => ({ kind, reply: r })));
    const out = await handler(pushEvent(ORDER));
    expect(out.outcome).toBe(kind);
    expect(bus.published).toEqual([]);
  });

  it('dead-letters invalid input with the original bytes, the reason and the issues, then acks', async () => {
    const issues = [{ path: 'quantity', message: 'must be a positive decimal' }];
    const service = scriptedService(() => ({
      kind: 'invalid',
      code: 'invalid_order',
      issues,
      reply: reply('REJECTED', { rejection_reason: 'invalid_order: quantity: must be a positive decimal' }),
    }));
    const { bus, log, handler } = setup(service);
    const body = '{"operation_id":"OP-1","quantity":-1}';
    const out = await handler(pushEvent(body, { messageId: 'm-9', attributes: { strategy_id: 's1' } }));
    expect(out).toMatchObject({ outcome: 'invalid', dead_letter: { topic: DLQ, reason: 'invalid_order' } });
    expect(bus.published).toHaveLength(1);
    const dl = bus.published[0];
    expect(dl?.topic).toBe(DLQ);
    expect(Buffer.from(dl?.data ?? []).toString()).toBe(body);
    expect(dl?.attributes).toMatchObject({
      strategy_id: 's1',
      [DEAD_LETTER_ATTRIBUTES.reason]: 'invalid_order',
      [DEAD_LETTER_ATTRIBUTES.sourceSubscription]: 'order-intake.orders.requests',
      [DEAD_LETTER_ATTRIBUTES.sourceTopic]: 'orders.requests',
      [DEAD_LETTER_ATTRIBUTES.sourceMessageId]: 'm-9',
    });
    expect(JSON.parse(dl?.attributes[DEAD_LETTER_ISSUES_ATTRIBUTE] ?? '')).toEqual(issues);
    expect(log.entries[0]).toMatchObject({
      severity: 'WARNING',
      fields: { operation_id: 'OP-1', reason: 'invalid_order' },
    });
  });

  it('dead-letters malformed JSON as the service classifies it (invalid_json, nothing recorded)', async () => {
    const service = scriptedService(() => ({
      kind: 'invalid',
      code: 'invalid_json',
      issues: [{ path: '', message: 'not valid JSON' }],
      reply: null,
    }));
    const { bus, handler } = setup(service);
    const out = await handler(pushEvent('{"operation_id": "OP-1",'));
    expect(out.dead_letter?.reason).toBe('invalid_json');
    expect(Buffer.from(bus.published[0]?.data ?? []).toString()).toBe('{"operation_id": "OP-1",');
  });

  it('dead-letters poison envelopes without calling the service', async () => {
    const { service, bus, handler } = setup();
    const empty = await handler(pushEvent(undefined, { messageId: 'm-e' }));
    expect(empty).toMatchObject({ outcome: 'poison', dead_letter: { reason: 'empty_data' } });
    const raw = await handler({
      message: { attributes: { operation_id: 'OP-2' }, messageId: 'm-r' },
      subscription: 's',
    });
    expect(raw).toMatchObject({ outcome: 'poison', dead_letter: { reason: 'empty_data' } });
    const badB64 = pushEvent(ORDER);
    badB64.data.message = { ...badB64.data.message, data: '!!not-base64!!' };
    expect((await handler(badB64)).dead_letter?.reason).toBe('malformed_base64');
    expect((await handler({ id: 'x', data: { hello: 'world' } })).dead_letter?.reason).toBe(
      'not_a_pubsub_message',
    );
    expect(service.calls).toEqual([]);
    expect(bus.published.map((p) => p.topic)).toEqual([DLQ, DLQ, DLQ, DLQ]);
    expect(bus.published[1]?.attributes.operation_id).toBe('OP-2');
  });

  it('rethrows a transient failure so Pub/Sub redelivers, and dead-letters nothing', async () => {
    const boom = new Error('DEADLINE_EXCEEDED: firestore unavailable');
    const { bus, log, handler } = setup(
      scriptedService(() => {
        throw boom;
      }),
    );
    await expect(handler(pushEvent(ORDER))).rejects.toBe(boom);
    expect(bus.published).toEqual([]);
    expect(log.entries[0]).toMatchObject({
      severity: 'WARNING',
      message: expect.stringMatching(/redelivered/),
    });
  });

  it('throws when the dead letter cannot be published (the message comes back, nothing is lost)', async () => {
    const service = scriptedService(() => ({
      kind: 'invalid',
      code: 'invalid_order',
      issues: [],
      reply: null,
    }));
    const { bus, log, handler } = setup(service);
    bus.failNext(new Error('pubsub unavailable'));
    await expect(handler(pushEvent(ORDER))).rejects.toThrow('pubsub unavailable');
    expect(log.entries[0]).toMatchObject({ severity: 'ERROR' });
    // The redelivery is judged again (the service is idempotent) and dead-lettered this time.
    expect((await handler(pushEvent(ORDER))).dead_letter?.topic).toBe(DLQ);
  });
});
