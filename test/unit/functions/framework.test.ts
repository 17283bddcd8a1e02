/**
 * The handlers behind the real functions-framework HTTP server: what a Pub/Sub push (from the
 * emulator, or Eventarc's CloudEvent) turns into, and the status code Pub/Sub acts on
 * (2xx = ack, anything else = redeliver).
 */
import type { AddressInfo } from 'node:net';
import * as functions from '@google-cloud/functions-framework';
import { getTestServer } from '@google-cloud/functions-framework/testing';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createOrderIntakeHandler } from '../../../functions/order-intake/handler.ts';
import { memoryLogger } from '../../../functions/shared/log.ts';
import type { SubmitOutcome } from '../../../shared/app/order-service.ts';
import { b64, recordingBus, reply, scriptedService } from './fakes.ts';

const NAME = 'order-intake-framework-test';
let next: () => SubmitOutcome = () => ({ kind: 'routed', reply: reply('SUBMITTED') });
const service = scriptedService(() => next());
const bus = recordingBus();
functions.cloudEvent(NAME, createOrderIntakeHandler({ service, bus, log: memoryLogger() }));

const server = getTestServer(NAME);
let base = '';
beforeAll(async () => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

/** What the Pub/Sub emulator POSTs to a push endpoint. */
function push(data: string | null, attributes: Record<string, string> = {}, deliveryAttempt?: number) {
  return fetch(`${base}/projects/demo/topics/orders.requests`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      message: {
        ...(data !== null ? { data: b64(data) } : {}),
        attributes,
        messageId: `m-${Math.random()}`,
        publishTime: new Date().toISOString(),
      },
      subscription: 'projects/demo/subscriptions/order-intake.orders.requests',
      ...(deliveryAttempt !== undefined ? { deliveryAttempt } : {}),
    }),
  });
}

describe('order-intake on functions-framework', () => {
  it('acks (2xx) a handled message and passes the payload bytes through', async () => {
    next = () => ({ kind: 'routed', reply: reply('SUBMITTED') });
    const res = await push('{"operation_id":"OP-1"}', { operation_id: 'OP-1' });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ outcome: 'routed', operation_id: 'OP-1' });
    const last = service.calls.at(-1);
    expect(Buffer.from(last?.input instanceof Uint8Array ? last.input : []).toString()).toBe(
      '{"operation_id":"OP-1"}',
    );
  });

  it('acks a poison message after dead-lettering it', async () => {
    next = () => ({
      kind: 'invalid',
      code: 'invalid_json',
      issues: [{ path: '', message: 'bad' }],
      reply: null,
    });
    const res = await push('{not json');
    expect(res.status).toBe(200);
    expect(bus.published.at(-1)?.topic).toBe('order-intake.orders.requests.dlq');
  });

  it('acks a message with empty data (not converted by the framework) after dead-lettering it', async () => {
    const before = service.calls.length;
    const res = await push(null, { operation_id: 'OP-E' }, 3);
    expect(res.status).toBe(200);
    expect(service.calls.length).toBe(before);
    const dl = bus.published.at(-1);
    expect(dl?.attributes).toMatchObject({
      dead_letter_reason: 'empty_data',
      operation_id: 'OP-E',
      delivery_attempt: '3',
    });
  });

  it('answers 500 on a transient failure so Pub/Sub redelivers', async () => {
    const boom = new Error('UNAVAILABLE: order store');
    next = () => {
      throw boom;
    };
    // functions-framework prints the stack of a thrown error itself.
    const printed = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    try {
      const res = await push('{"operation_id":"OP-2"}');
      expect(res.status).toBe(500);
      expect(printed).toHaveBeenCalledWith(boom.stack);
    } finally {
      printed.mockRestore();
    }
  });

  it('accepts a structured CloudEvent (what Eventarc sends in the cloud)', async () => {
    next = () => ({ kind: 'duplicate', reply: reply('SUBMITTED') });
    const res = await fetch(`${base}/`, {
      method: 'POST',
      headers: { 'content-type': 'application/cloudevents+json' },
      body: JSON.stringify({
        specversion: '1.0',
        id: 'evt-1',
        type: 'google.cloud.pubsub.topic.v1.messagePublished',
        source: '//pubsub.googleapis.com/projects/demo/topics/orders.requests',
        datacontenttype: 'application/json',
        data: {
          message: { data: b64('{"operation_id":"OP-3"}'), messageId: 'm-ce', attributes: {} },
          subscription: 'projects/demo/subscriptions/eventarc-sub',
        },
      }),
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ outcome: 'duplicate', message_id: 'm-ce' });
  });
});
