import { describe, expect, it } from 'vitest';
import {
  DEAD_LETTER_ISSUES_ATTRIBUTE,
  deadLetterAttributes,
  functionDeadLetterTopic,
  functionSubscription,
  issuesAttribute,
} from '../../../functions/shared/dead-letter.ts';
import type { PubSubDelivery } from '../../../functions/shared/pubsub-message.ts';
import { BUS_LIMITS, DEAD_LETTER_ATTRIBUTES, encodeBusPayload } from '../../../shared/ports/event-bus.ts';

const delivery = (attributes: Record<string, string> = {}): PubSubDelivery => ({
  messageId: 'm-1',
  data: new TextEncoder().encode('{bad'),
  attributes,
  deliveryAttempt: undefined,
  publishTime: undefined,
  subscription: undefined,
});

describe('dead-letter naming', () => {
  it('follows <function>.<topic>.dlq', () => {
    expect(functionSubscription('order-intake', 'orders.requests')).toBe('order-intake.orders.requests');
    expect(functionDeadLetterTopic('order-intake', 'orders.requests')).toBe(
      'order-intake.orders.requests.dlq',
    );
    expect(functionDeadLetterTopic('order-cancel', 'orders.cancels')).toBe('order-cancel.orders.cancels.dlq');
  });
});

describe('deadLetterAttributes', () => {
  it('keeps the original attributes and adds the reason, source and issues', () => {
    const attrs = deadLetterAttributes({
      functionName: 'order-intake',
      topic: 'orders.requests',
      delivery: { ...delivery({ operation_id: 'OP-1' }), deliveryAttempt: 4 },
      reason: 'malformed_json',
      issues: [{ path: '', message: 'malformed JSON: Unexpected token' }],
    });
    expect(attrs).toMatchObject({
      operation_id: 'OP-1',
      [DEAD_LETTER_ATTRIBUTES.reason]: 'malformed_json',
      [DEAD_LETTER_ATTRIBUTES.sourceSubscription]: 'order-intake.orders.requests',
      [DEAD_LETTER_ATTRIBUTES.sourceTopic]: 'orders.requests',
      [DEAD_LETTER_ATTRIBUTES.sourceMessageId]: 'm-1',
      [DEAD_LETTER_ATTRIBUTES.deliveryAttempt]: '4',
    });
    expect(JSON.parse(attrs[DEAD_LETTER_ISSUES_ATTRIBUTE] ?? '')).toEqual([
      { path: '', message: 'malformed JSON: Unexpected token' },
    ]);
  });

  it('always makes a message Pub/Sub accepts, even from 100 attributes and huge issues', () => {
    const many = Object.fromEntries(Array.from({ length: 100 }, (_, i) => [`k${i}`, 'v']));
    const issues = Array.from({ length: 200 }, (_, i) => ({ path: `f${i}`, message: 'x'.repeat(50) }));
    const attrs = deadLetterAttributes({
      functionName: 'order-intake',
      topic: 'orders.requests',
      delivery: delivery(many),
      reason: 'invalid_order',
      issues,
    });
    expect(Object.keys(attrs)).toHaveLength(BUS_LIMITS.maxAttributes);
    expect(() => encodeBusPayload(new Uint8Array(), attrs)).not.toThrow();
  });
});

describe('issuesAttribute', () => {
  it('fits 1024 bytes by dropping issues and saying how many', () => {
    const issues = Array.from({ length: 40 }, (_, i) => ({
      path: `field_${i}`,
      message: 'is wrong in some way',
    }));
    const s = issuesAttribute(issues);
    expect(Buffer.byteLength(s)).toBeLessThanOrEqual(1024);
    const parsed: Array<{ path: string; message: string }> = JSON.parse(s);
    expect(parsed[0]).toEqual(issues[0]);
    expect(parsed.at(-1)?.message).toMatch(/^\+\d+ more$/);
  });
  it('shortens one oversize message (multi-byte safe)', () => {
    const s = issuesAttribute([{ path: 'p', message: 'é'.repeat(5_000) }]);
    expect(Buffer.byteLength(s)).toBeLessThanOrEqual(1024);
    expect(JSON.parse(s)[0].path).toBe('p');
  });
});
