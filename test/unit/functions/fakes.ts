/** Test doubles for the function handlers: a scripted OrderService and a recording publisher. */
import type { CancelOutcome, SubmitOutcome, SubmitSource } from '../../../shared/app/order-service.ts';
import type { OrderReply } from '../../../shared/domain/schemas.ts';
import type { OrderStatus } from '../../../shared/domain/types.ts';

export const b64 = (s: string | Uint8Array) => Buffer.from(s).toString('base64');

export function reply(status: OrderStatus, extra: Partial<OrderReply> = {}): OrderReply {
  return {
    operation_id: 'OP-1',
    order_id: 'ORD-1',
    status,
    rejection_reason: null,
    venue: status === 'SUBMITTED' ? 'BINANCE-SPOT' : null,
    fills: [],
    ...extra,
  };
}

export interface Published {
  topic: string;
  data: Uint8Array;
  attributes: Record<string, string>;
}

/** A publisher that records what it was given (or fails when told to). */
export function recordingBus() {
  const published: Published[] = [];
  let failWith: Error | null = null;
  return {
    published,
    failNext(err: Error) {
      failWith = err;
    },
    async publish(topic: string, data: unknown, attributes: Record<string, string> = {}): Promise<string> {
      if (failWith) {
        const err = failWith;
        failWith = null;
        throw err;
      }
      const bytes = data instanceof Uint8Array ? data : new TextEncoder().encode(String(data));
      published.push({ topic, data: bytes, attributes });
      return `dl-${published.length}`;
    },
  };
}

type Script<T> = (input: unknown, source: SubmitSource) => T | Promise<T>;

/** An OrderService whose answers the test scripts; records every call. */
export function scriptedService(
  submit: Script<SubmitOutcome> = () => ({ kind: 'routed', reply: reply('SUBMITTED') }),
  cancel: Script<CancelOutcome> = () => ({ kind: 'cancel_requested', reply: reply('PENDING_CANCEL') }),
) {
  const calls: Array<{ method: 'submit' | 'cancel'; input: unknown; source: SubmitSource }> = [];
  return {
    calls,
    async submit(input: unknown, source: SubmitSource): Promise<SubmitOutcome> {
      calls.push({ method: 'submit', input, source });
      return submit(input, source);
    },
    async cancel(input: unknown, source: SubmitSource): Promise<CancelOutcome> {
      calls.push({ method: 'cancel', input, source });
      return cancel(input, source);
    },
  };
}

/** The CloudEvent functions-framework makes of a push from the emulator. */
export function pushEvent(
  data: string | Uint8Array | undefined,
  opts: {
    attributes?: Record<string, string>;
    messageId?: string;
    deliveryAttempt?: number;
    publishTime?: string;
  } = {},
) {
  return {
    specversion: '1.0',
    id: opts.messageId ?? 'msg-1',
    type: 'google.cloud.pubsub.topic.v1.messagePublished',
    source: '//pubsub.googleapis.com/projects/demo/topics/orders.requests',
    data: {
      message: {
        ...(data !== undefined ? { data: b64(data) } : {}),
        attributes: opts.attributes ?? {},
        messageId: opts.messageId ?? 'msg-1',
        publishTime: opts.publishTime ?? new Date().toISOString(),
      },
      ...(opts.deliveryAttempt !== undefined ? { deliveryAttempt: opts.deliveryAttempt } : {}),
    },
  };
}
