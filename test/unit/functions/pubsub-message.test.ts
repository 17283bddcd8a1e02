import { describe, expect, it } from 'vitest';
import {
  decodeBase64,
  decodePubSubEvent,
  emptyDataPoison,
  POISON,
} from '../../../functions/shared/pubsub-message.ts';

const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');
const text = (u: Uint8Array) => Buffer.from(u).toString('utf8');

/** The CloudEvent functions-framework builds from an emulator push (and Eventarc sends). */
function cloudEvent(message: Record<string, unknown>, extra: Record<string, unknown> = {}) {
  return {
    specversion: '1.0',
    id: 'evt-1',
    type: 'google.cloud.pubsub.topic.v1.messagePublished',
    source: '//pubsub.googleapis.com/projects/demo/topics/orders.requests',
    data: { message, ...extra },
  };
}

describe('decodeBase64', () => {
  it('decodes standard, unpadded and URL-safe base64', () => {
    expect(text(decodeBase64('aGVsbG8=') ?? new Uint8Array())).toBe('hello');
    expect(text(decodeBase64('aGVsbG8') ?? new Uint8Array())).toBe('hello');
    const bytes = new Uint8Array([0xfb, 0xff, 0xfe]);
    const url = Buffer.from(bytes).toString('base64url');
    expect(url).toMatch(/[-_]/);
    expect(decodeBase64(url)).toEqual(bytes);
    expect(decodeBase64('')).toEqual(new Uint8Array());
  });

  it('refuses what is not base64 instead of skipping characters', () => {
    expect(decodeBase64('not base64!')).toBeNull();
    expect(decodeBase64('{"a":1}')).toBeNull();
    expect(decodeBase64('abcde')).toBeNull(); // 5 chars: impossible length
    expect(decodeBase64('abc==')).toBeNull(); // padded but not a multiple of 4
    expect(decodeBase64('ab+_')).toBeNull(); // mixed alphabets
  });
});

describe('decodePubSubEvent', () => {
  it('reads data, attributes, message id, publish time, subscription and delivery attempt', () => {
    const r = decodePubSubEvent(
      cloudEvent(
        {
          data: b64('{"x":1}'),
          attributes: { operation_id: 'OP-1', venue: 'SIM', bogus: 42 },
          messageId: 'm-1',
          publishTime: '2025-07-01T00:00:00.000Z',
        },
        { subscription: 'projects/demo/subscriptions/s', deliveryAttempt: 3 },
      ),
    );
    expect(r.ok).toBe(true);
    expect(text(r.delivery.data)).toBe('{"x":1}');
    expect(r.delivery.attributes).toEqual({ operation_id: 'OP-1', venue: 'SIM' });
    expect(r.delivery.messageId).toBe('m-1');
    expect(r.delivery.publishTime).toBe('2025-07-01T00:00:00.000Z');
    expect(r.delivery.subscription).toBe('projects/demo/subscriptions/s');
    expect(r.delivery.deliveryAttempt).toBe(3);
  });

  it('accepts the raw push envelope (what arrives when the message has no data)', () => {
    const r = decodePubSubEvent({
      message: { attributes: { a: 'b' }, messageId: 'm-2', publishTime: '2025-07-01T00:00:00Z' },
      subscription: 'projects/demo/subscriptions/s',
      deliveryAttempt: '2',
    });
    expect(r.ok).toBe(true);
    expect(r.delivery.data.byteLength).toBe(0);
    expect(r.delivery.messageId).toBe('m-2');
    expect(r.delivery.deliveryAttempt).toBe(2);
  });

  it('accepts a structured CloudEvent whose data is JSON text, and falls back to the event id', () => {
    const r = decodePubSubEvent({ id: 'evt-9', data: JSON.stringify({ message: { data: b64('{}') } }) });
    expect(r.ok).toBe(true);
    expect(r.delivery.messageId).toBe('evt-9');
    expect(r.delivery.deliveryAttempt).toBeUndefined();
  });

  it('is poison (not a throw) for anything that is not a Pub/Sub message', () => {
    for (const event of [null, 'x', 42, {}, { id: 'e', data: { foo: 1 } }, { data: '{not json' }]) {
      const r = decodePubSubEvent(event);
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.poison.code).toBe(POISON.notPubSub);
    }
  });

  it('is poison for malformed base64 and keeps what was received as the bytes', () => {
    const r = decodePubSubEvent(cloudEvent({ data: '%%% not base64 %%%', messageId: 'm' }));
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.poison.code).toBe(POISON.malformedBase64);
    expect(text(r.delivery.data)).toBe('%%% not base64 %%%');
    const typed = decodePubSubEvent(cloudEvent({ data: 123, messageId: 'm' }));
    expect(typed.ok ? null : typed.poison.code).toBe(POISON.malformedBase64);
  });

  it('ignores a delivery attempt that is not a positive whole number', () => {
    for (const attempt of [0, -1, 1.5, 'x', null]) {
      const r = decodePubSubEvent(cloudEvent({ data: b64('{}') }, { deliveryAttempt: attempt }));
      expect(r.delivery.deliveryAttempt).toBeUndefined();
    }
  });
});

describe('emptyDataPoison', () => {
  it('flags a message without data and nothing else', () => {
    const empty = decodePubSubEvent(cloudEvent({ messageId: 'm' }));
    expect(emptyDataPoison(empty.delivery)?.code).toBe(POISON.emptyData);
    const full = decodePubSubEvent(cloudEvent({ data: b64('{oops'), messageId: 'm' }));
    expect(emptyDataPoison(full.delivery)).toBeNull();
  });
});
