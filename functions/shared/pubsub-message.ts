/**
 * Decoding a Pub/Sub-triggered CloudEvent into the message it carries, at the boundary: no
 * CloudEvent or Pub/Sub shape goes past this file (handlers get a {@link PubSubDelivery}).
 *
 * Two request shapes reach a `functions.cloudEvent` function from a Pub/Sub push:
 *
 * 1. A CloudEvent `google.cloud.pubsub.topic.v1.messagePublished` whose `data` is
 *    `{ message: { data: <base64>, attributes, messageId, publishTime }, subscription?,
 *    deliveryAttempt? }` — what Eventarc delivers in the cloud, and what functions-framework
 *    makes of an emulator push to `/projects/<p>/topics/<t>`.
 * 2. The raw push envelope `{ message, subscription, deliveryAttempt? }` itself: functions-framework
 *    converts a push only when the message has data, so a message with empty data arrives as is.
 *
 * Every way a request can be unusable is poison (never a throw): it is answered with a code and
 * issues so the caller can dead-letter it and ack — a request that is not a Pub/Sub message,
 * malformed base64 and empty data. The payload itself (JSON, schema) is the service's to judge.
 */
import type { Issue } from '../../shared/domain/errors.ts';

/** One Pub/Sub message as our handlers see it. */
export interface PubSubDelivery {
  messageId: string;
  /** The payload bytes exactly as published (empty when the message had none). */
  data: Uint8Array;
  attributes: Record<string, string>;
  /** 1 for the first delivery; present only when the subscription has a dead-letter policy. */
  deliveryAttempt: number | undefined;
  /** RFC 3339 publish time, when the envelope carries it. */
  publishTime: string | undefined;
  /** The delivering subscription's full name, when the envelope carries it. */
  subscription: string | undefined;
}

/** Codes of poison requests found while decoding (the dead-letter reason). */
export const POISON = {
  notPubSub: 'not_a_pubsub_message',
  malformedBase64: 'malformed_base64',
  emptyData: 'empty_data',
} as const;
export type PoisonCode = (typeof POISON)[keyof typeof POISON];

export interface Poison {
  code: PoisonCode;
  issues: Issue[];
}

export type DecodeResult =
  | { ok: true; delivery: PubSubDelivery }
  /** `delivery` holds what could be read (the raw text of undecodable data as its bytes). */
  | { ok: false; poison: Poison; delivery: PubSubDelivery };

const utf8 = new TextEncoder();

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Standard or URL-safe base64, padded or not (Pub/Sub sends standard, padded). */
const BASE64_RE = /^(?:[A-Za-z0-9+/]+|[A-Za-z0-9_-]+)={0,2}$/;

/** Strict base64 → bytes; null when the text is not base64 (Buffer.from would silently skip junk). */
export function decodeBase64(text: string): Uint8Array | null {
  if (text === '') return new Uint8Array(0);
  if (!BASE64_RE.test(text)) return null;
  const body = text.replace(/=+$/, '');
  const padded = body.length !== text.length;
  if (padded ? text.length % 4 !== 0 : body.length % 4 === 1) return null;
  const buf = Buffer.from(body, body.includes('-') || body.includes('_') ? 'base64url' : 'base64');
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
}

function stringAttributes(v: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (!isRecord(v)) return out;
  for (const [k, val] of Object.entries(v)) if (typeof val === 'string') out[k] = val;
  return out;
}

function positiveInt(v: unknown): number | undefined {
  const n = typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : v;
  return typeof n === 'number' && Number.isSafeInteger(n) && n > 0 ? n : undefined;
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v.length > 0 ? v : undefined;
}

/** The Pub/Sub push envelope inside `event` (shape 1 or 2 above), or null. */
function findEnvelope(event: unknown): Record<string, unknown> | null {
  if (!isRecord(event)) return null;
  let data: unknown = event.data;
  if (typeof data === 'string') {
    // A structured CloudEvent whose data arrived as JSON text.
    try {
      data = JSON.parse(data);
    } catch {
      data = undefined;
    }
  }
  if (isRecord(data) && isRecord(data.message)) return data;
  if (isRecord(event.message)) return event;
  return null;
}

/**
 * Read the Pub/Sub message out of a CloudEvent (or a raw push envelope). Never throws; poison
 * requests come back with `ok: false`, a code and issues.
 */
export function decodePubSubEvent(event: unknown): DecodeResult {
  const envelope = findEnvelope(event);
  const eventId = isRecord(event) ? str(event.id) : undefined;
  if (!envelope) {
    return {
      ok: false,
      poison: {
        code: POISON.notPubSub,
        issues: [{ path: 'data.message', message: 'the event does not carry a Pub/Sub message' }],
      },
      delivery: {
        messageId: eventId ?? 'unknown',
        data: new Uint8Array(0),
        attributes: {},
        deliveryAttempt: undefined,
        publishTime: undefined,
        subscription: undefined,
      },
    };
  }
  const message = envelope.message as Record<string, unknown>;
  const rawData = message.data;
  const delivery: PubSubDelivery = {
    messageId: str(message.messageId) ?? str(message.message_id) ?? eventId ?? 'unknown',
    data: new Uint8Array(0),
    attributes: stringAttributes(message.attributes),
    deliveryAttempt: positiveInt(envelope.deliveryAttempt) ?? positiveInt(message.deliveryAttempt),
    publishTime: str(message.publishTime) ?? str(message.publish_time),
    subscription: str(envelope.subscription),
  };
  if (rawData === undefined || rawData === null || rawData === '') {
    return { ok: true, delivery };
  }
  if (typeof rawData !== 'string') {
    return {
      ok: false,
      poison: {
        code: POISON.malformedBase64,
        issues: [{ path: 'message.data', message: `expected a base64 string, got ${typeof rawData}` }],
      },
      delivery,
    };
  }
  const bytes = decodeBase64(rawData);
  if (bytes === null) {
    return {
      ok: false,
      poison: {
        code: POISON.malformedBase64,
        issues: [{ path: 'message.data', message: 'message data is not valid base64' }],
      },
      // The original bytes are lost; dead-letter what was received.
      delivery: { ...delivery, data: utf8.encode(rawData) },
    };
  }
  return { ok: true, delivery: { ...delivery, data: bytes } };
}

/** Empty data is poison for our topics (every message is a JSON document); null otherwise. */
export function emptyDataPoison(delivery: PubSubDelivery): Poison | null {
  if (delivery.data.byteLength > 0) return null;
  return { code: POISON.emptyData, issues: [{ path: 'message.data', message: 'the message has no data' }] };
}
