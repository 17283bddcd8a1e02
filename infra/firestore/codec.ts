/**
 * Storage codec for the order book and the position book.
 *
 * Two layers:
 * 1. Storage-neutral (no Firestore import; the local journal uses it too): zod schemas for the
 *    domain records as they are stored (validated on write AND on read), and an exact JSON
 *    encoding that carries bigint nanoseconds (`taggedStringify` / `taggedParse`).
 * 2. Firestore documents: `*ToDoc` / `*FromDoc`. Nanosecond timestamps become 20-digit
 *    zero-padded strings, which sort lexicographically in time order, so range queries and
 *    `orderBy` work exactly without ever handing a Firestore `Timestamp` (or a lossy double) to
 *    the rest of the system. Decimals stay strings.
 *
 * A document that fails validation raises a `ValidationError` (code `corrupt_document`) whose
 * message names the document path and the offending field.
 *
 * Schema evolution: the schemas validate every field this codec knows and PRESERVE fields it does
 * not know (loose objects, stored exactly through the tagged encoding), so an optional field added
 * to a domain type is stored and read back without touching this file. A new REQUIRED field makes
 * `tsc` fail here (see `CodecMatchesDomain`), because stored data predating it would not have it.
 */
import { z } from 'zod';
import { fromZodIssues, ValidationError } from '../../shared/domain/errors.ts';
import type { OrderEvent, RiskCheckResult, VenueScore } from '../../shared/domain/events.ts';
import type { Nanos } from '../../shared/domain/time.ts';
import {
  EXEC_ALGORITHMS,
  type Fill,
  LIQUIDITY,
  ORDER_STATUSES,
  ORDER_TYPES,
  type OrderInstruction,
  type OrderRecord,
  type Position,
  SIDES,
  TIME_IN_FORCE,
} from '../../shared/domain/types.ts';

// ---------------------------------------------------------------------------------------------
// Domain-form schemas (bigint nanoseconds)
// ---------------------------------------------------------------------------------------------

/** A plain decimal literal (no exponent): decimals are stored exactly as the strings given. */
const decimal = z.string().regex(/^-?\d+(\.\d+)?$/, 'expected a decimal string such as "1.5"');
const nonEmpty = z.string().min(1);
/** Nanoseconds since the epoch, within what the 20-digit stored form holds (both adapters agree). */
const nanos = z
  .bigint()
  .min(0n, 'timestamps before 1970 cannot be stored')
  .max(10n ** 20n - 1n, 'timestamp too large to store');

export const OrderRecordSchema = z.looseObject({
  order_id: nonEmpty,
  operation_id: nonEmpty,
  parent_order_id: nonEmpty.nullable(),
  instrument_key: nonEmpty,
  side: z.enum(SIDES),
  order_type: z.enum(ORDER_TYPES),
  time_in_force: z.enum(TIME_IN_FORCE),
  quantity: decimal,
  price: decimal.nullable(),
  strategy_id: z.string(),
  exec_algorithm: z.enum(EXEC_ALGORITHMS),
  exec_algorithm_params: z.record(z.string(), z.unknown()),
  status: z.enum(ORDER_STATUSES),
  venue: nonEmpty.nullable(),
  account_id: nonEmpty.nullable(),
  client_order_id: nonEmpty.nullable(),
  venue_order_id: nonEmpty.nullable(),
  filled_quantity: decimal,
  avg_fill_price: decimal.nullable(),
  fees: decimal,
  rejection_reason: z.string().nullable(),
  risk_approved: z.boolean().optional(),
  version: z.number().int().min(1),
  ts_created: nanos,
  ts_updated: nanos,
});

export const FillSchema = z.looseObject({
  fill_id: nonEmpty,
  order_id: nonEmpty,
  operation_id: nonEmpty,
  instrument_key: nonEmpty,
  venue: nonEmpty,
  side: z.enum(SIDES),
  quantity: decimal,
  price: decimal,
  fee: decimal,
  fee_currency: z.string(),
  liquidity: z.enum(LIQUIDITY),
  ts_event: nanos,
});

export const PositionSchema = z.looseObject({
  account_id: nonEmpty,
  instrument_key: nonEmpty,
  quantity: decimal,
  avg_entry_price: decimal.nullable(),
  cost_basis: decimal.optional(),
  realized_pnl: decimal,
  fees: decimal,
  venues: z.record(z.string(), decimal),
  last_fill_id: nonEmpty.nullable(),
  version: z.number().int().min(1),
  ts_updated: nanos,
});

const RiskCheckResultSchema = z.looseObject({
  rule: z.string(),
  passed: z.boolean(),
  limit: z.string().nullable(),
  observed: z.string().nullable(),
  message: z.string().optional(),
});

const VenueScoreSchema = z.looseObject({
  venue: z.string(),
  eligible: z.boolean(),
  total_cost_bps: z.number().nullable(),
  fee_bps: z.number().nullable(),
  slippage_bps: z.number().nullable(),
  latency_bps: z.number().nullable(),
  rejection_bps: z.number().nullable(),
  reason: z.string().optional(),
});

const OrderInstructionSchema = z.looseObject({
  operation_id: nonEmpty,
  instrument_key: nonEmpty,
  side: z.enum(SIDES),
  quantity: decimal,
  price: decimal.nullable(),
  order_type: z.enum(ORDER_TYPES),
  time_in_force: z.enum(TIME_IN_FORCE),
  strategy_id: z.string(),
  exec_algorithm: z.enum(EXEC_ALGORITHMS),
  exec_algorithm_params: z.record(z.string(), z.unknown()),
  venue: z.string().optional(),
  reference_price: decimal.optional(),
});

const eventBase = { operation_id: nonEmpty, ts_event: nanos, ts_init: nanos };

/** Who asked for a change over the API (events carry it as `by`). */
const CallerRefSchema = z.object({ id: z.string(), source: z.string() });

export const OrderEventSchema = z.discriminatedUnion('type', [
  z.looseObject({
    type: z.literal('OrderReceived'),
    ...eventBase,
    order_id: nonEmpty,
    instruction: OrderInstructionSchema,
    parent_order_id: nonEmpty.nullable(),
    by: CallerRefSchema.optional(),
  }),
  z.looseObject({
    type: z.literal('OrderRiskApproved'),
    ...eventBase,
    checks: z.array(RiskCheckResultSchema),
  }),
  z.looseObject({
    type: z.literal('OrderDenied'),
    ...eventBase,
    rule: z.string(),
    limit: z.string().nullable(),
    observed: z.string().nullable(),
    reason: z.string(),
    checks: z.array(RiskCheckResultSchema),
  }),
  z.looseObject({
    type: z.literal('OrderRouted'),
    ...eventBase,
    venue: z.string(),
    account_id: z.string().nullable(),
    scores: z.array(VenueScoreSchema),
    reason: z.string(),
  }),
  z.looseObject({
    type: z.literal('OrderSubmitted'),
    ...eventBase,
    venue: z.string(),
    client_order_id: z.string(),
  }),
  z.looseObject({ type: z.literal('OrderAccepted'), ...eventBase, venue_order_id: z.string() }),
  z.looseObject({ type: z.literal('OrderRejected'), ...eventBase, reason: z.string() }),
  z.looseObject({ type: z.literal('OrderFilled'), ...eventBase, fill: FillSchema }),
  z.looseObject({
    type: z.literal('OrderCancelRequested'),
    ...eventBase,
    reason: z.string(),
    by: CallerRefSchema.optional(),
  }),
  z.looseObject({
    type: z.literal('OrderCanceled'),
    ...eventBase,
    reason: z.string(),
    by: CallerRefSchema.optional(),
  }),
  z.looseObject({ type: z.literal('OrderExpired'), ...eventBase, reason: z.string() }),
]);

// Compile-time guard: what a schema outputs must be assignable to its domain type (unknown fields
// pass through). Fails when a domain type gains a required field this codec does not know yet.
type Assignable<A, B> = [A] extends [B] ? true : false;
type Check<T extends true> = T;
export type CodecMatchesDomain = [
  Check<Assignable<z.infer<typeof OrderRecordSchema>, OrderRecord>>,
  Check<Assignable<z.infer<typeof FillSchema>, Fill>>,
  Check<Assignable<z.infer<typeof PositionSchema>, Position>>,
  Check<Assignable<z.infer<typeof OrderInstructionSchema>, OrderInstruction>>,
  Check<Assignable<z.infer<typeof RiskCheckResultSchema>, RiskCheckResult>>,
  Check<Assignable<z.infer<typeof VenueScoreSchema>, VenueScore>>,
  Check<Assignable<z.infer<typeof OrderEventSchema>, OrderEvent>>,
  // every event type has a schema
  Check<Assignable<OrderEvent['type'], z.infer<typeof OrderEventSchema>['type']>>,
];

/**
 * Parse `value` with `schema`; on failure throw a ValidationError whose message names `where`
 * (a document path or journal line) and each bad field.
 */
export function parseStored<T>(schema: z.ZodType<T>, value: unknown, where: string, code: string): T {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  const issues = fromZodIssues(r.error.issues).map((i) => ({
    path: i.path,
    message: `${where}: ${i.message}`,
  }));
  throw new ValidationError(code, issues);
}

/** Validate a record before it is written (bad input from the caller). */
export function checkRecord<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  return parseStored(schema, value, what, 'invalid_record');
}

/** Query `limit`: default 100, at most 1000 (larger values are capped); anything else is refused. */
export function checkLimit(limit: number | undefined): number {
  if (limit === undefined) return 100;
  if (!Number.isInteger(limit) || limit < 1)
    throw new RangeError(`limit must be a positive integer, got ${limit}`);
  return Math.min(limit, 1000);
}

/** Positions sorted by account_id, then instrument_key (the order both adapters return). */
export function comparePositions(a: Position, b: Position): number {
  if (a.account_id !== b.account_id) return a.account_id < b.account_id ? -1 : 1;
  if (a.instrument_key !== b.instrument_key) return a.instrument_key < b.instrument_key ? -1 : 1;
  return 0;
}

// ---------------------------------------------------------------------------------------------
// Exact JSON with bigint (used for event bodies, algorithm parameters and the local journal)
// ---------------------------------------------------------------------------------------------

/**
 * JSON text in which a bigint `n` is written `{"$n":"<digits>"}`. Any object key of the input
 * that starts with `$` is written with one more `$` in front, so the encoding is reversible for
 * every JSON value (a user object `{"$n":"5"}` stays an object). Values JSON cannot carry
 * exactly (undefined inside arrays, NaN, Infinity, functions, symbols, class instances) are
 * rejected with the path, rather than silently changed.
 */
export function taggedStringify(value: unknown): string {
  return JSON.stringify(toTagged(value, '$'));
}

export function taggedParse(text: string): unknown {
  return untag(JSON.parse(text));
}

/**
 * The tagged form of a value: a tree of plain objects, arrays, strings, finite numbers, booleans
 * and null (storable as JSON and as Firestore maps/arrays). See `taggedStringify`.
 */
export function toTagged(v: unknown, path = '$'): unknown {
  return tagValue(v, path);
}

/** Reverse of `toTagged`. Throws a SyntaxError on a malformed tag. */
export function untag(v: unknown): unknown {
  if (v === null || typeof v !== 'object') return v;
  if (Array.isArray(v)) return v.map(untag);
  const obj = v as Record<string, unknown>;
  const keys = Object.keys(obj);
  if (keys.length === 1 && keys[0] === '$n') {
    const digits = obj.$n;
    if (typeof digits !== 'string' || !/^-?\d+$/.test(digits)) {
      throw new SyntaxError(`bad bigint tag: ${JSON.stringify(obj)}`);
    }
    return BigInt(digits);
  }
  const out: Record<string, unknown> = {};
  for (const k of keys) {
    if (k.startsWith('$$')) out[k.slice(1)] = untag(obj[k]);
    else if (k.startsWith('$')) throw new SyntaxError(`unknown tag ${JSON.stringify(k)}`);
    else out[k] = untag(obj[k]);
  }
  return out;
}

function tagValue(v: unknown, path: string): unknown {
  switch (typeof v) {
    case 'bigint':
      return { $n: v.toString() };
    case 'string':
    case 'boolean':
      return v;
    case 'number':
      if (!Number.isFinite(v)) throw new RangeError(`${path}: ${v} cannot be stored exactly as JSON`);
      return v;
    case 'object': {
      if (v === null) return null;
      if (Array.isArray(v)) {
        return v.map((item, i) => {
          if (item === undefined)
            throw new RangeError(`${path}[${i}]: undefined cannot be stored in an array`);
          return tagValue(item, `${path}[${i}]`);
        });
      }
      const proto = Object.getPrototypeOf(v);
      if (proto !== Object.prototype && proto !== null) {
        throw new RangeError(`${path}: only plain objects can be stored, got ${proto?.constructor?.name}`);
      }
      const out: Record<string, unknown> = {};
      for (const [k, item] of Object.entries(v)) {
        if (item === undefined) continue; // as JSON does: an absent optional property
        out[k.startsWith('$') ? `$${k}` : k] = tagValue(item, `${path}.${k}`);
      }
      return out;
    }
    default:
      throw new RangeError(`${path}: a ${typeof v} cannot be stored`);
  }
}

// ---------------------------------------------------------------------------------------------
// Firestore documents
// ---------------------------------------------------------------------------------------------

/** Digits in a stored nanosecond timestamp: enough for any unsigned 64-bit value. */
export const NANOS_WIDTH = 20;
const MAX_NANOS = 10n ** BigInt(NANOS_WIDTH) - 1n;
const paddedNanos = z
  .string()
  .regex(/^\d{20}$/, 'expected nanoseconds as a 20-digit zero-padded string')
  .transform((s) => BigInt(s));

/** bigint ns → 20-digit zero-padded string (sorts in time order). Negative values are refused. */
export function encodeNanos(ns: Nanos): string {
  if (ns < 0n || ns > MAX_NANOS) throw new RangeError(`timestamp out of the storable range: ${ns}`);
  return ns.toString().padStart(NANOS_WIDTH, '0');
}

/**
 * A Firestore document id for a key of ours: `%`, `/` and `|` are percent-escaped (so `|` can join
 * two keys), and the ids Firestore reserves (`.`, `..`, `__x__`) are escaped too. Reversible.
 */
export function escapeDocId(key: string): string {
  if (key.length === 0) throw new RangeError('an empty key cannot be a document id');
  let id = key.replace(/[%/|]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`);
  if (id === '.' || id === '..') id = id.replace(/\./g, '%2E');
  if (/^__.*__$/.test(id)) id = `%5F${id.slice(1)}`;
  if (Buffer.byteLength(id, 'utf8') > 1500)
    throw new RangeError('key too long for a document id (1500 bytes)');
  return id;
}

export function unescapeDocId(id: string): string {
  return decodeURIComponent(id);
}

/** Fields of a Firestore document as this codec writes them (the tagged form, see `toTagged`). */
export type DocData = Record<string, unknown>;

function toDocData(fields: Record<string, unknown>): DocData {
  return toTagged(fields) as DocData;
}

/** Untag a document read from Firestore; anything but plain data (a Timestamp, bytes...) is corrupt. */
function fromDocData(data: unknown, path: string): unknown {
  const bad = findNonPlain(data, '');
  if (bad) {
    throw new ValidationError('corrupt_document', [
      { path: bad.path, message: `${path}: unexpected ${bad.kind} (this codec stores plain data only)` },
    ]);
  }
  try {
    return untag(data);
  } catch (err) {
    throw new ValidationError('corrupt_document', [
      { path: '', message: `${path}: ${(err as Error).message}` },
    ]);
  }
}

function findNonPlain(v: unknown, path: string): { path: string; kind: string } | null {
  if (v === null || typeof v !== 'object') return null;
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) {
      const bad = findNonPlain(v[i], `${path}[${i}]`);
      if (bad) return bad;
    }
    return null;
  }
  const proto = Object.getPrototypeOf(v);
  if (proto !== Object.prototype && proto !== null) {
    return { path, kind: String(proto?.constructor?.name ?? 'object') };
  }
  for (const [k, item] of Object.entries(v)) {
    const bad = findNonPlain(item, path ? `${path}.${k}` : k);
    if (bad) return bad;
  }
  return null;
}

const ParamsSchema = z.record(z.string(), z.unknown());

/** Order document: the record with padded timestamps, params as exact JSON, and sequence counters. */
const OrderDocSchema = OrderRecordSchema.omit({ exec_algorithm_params: true }).extend({
  exec_algorithm_params_json: z.string(),
  ts_created: paddedNanos,
  ts_updated: paddedNanos,
  next_event_seq: z.number().int().min(0),
  next_fill_seq: z.number().int().min(0),
});

export interface OrderCounters {
  next_event_seq: number;
  next_fill_seq: number;
}

export function orderToDoc(order: OrderRecord, counters: OrderCounters): DocData {
  const { exec_algorithm_params, ts_created, ts_updated, ...rest } = order;
  return toDocData({
    ...rest,
    // JSON, not a map: parameters are free-form (nested arrays, '$' keys) and must come back exactly.
    exec_algorithm_params_json: taggedStringify(exec_algorithm_params),
    ts_created: encodeNanos(ts_created),
    ts_updated: encodeNanos(ts_updated),
    ...counters,
  });
}

export function orderFromDoc(data: unknown, path: string): { order: OrderRecord; counters: OrderCounters } {
  const doc = parseStored(OrderDocSchema, fromDocData(data, path), path, 'corrupt_document');
  const { exec_algorithm_params_json, next_event_seq, next_fill_seq, ...rest } = doc;
  let params: unknown;
  try {
    params = taggedParse(exec_algorithm_params_json);
  } catch (err) {
    throw new ValidationError('corrupt_document', [
      { path: 'exec_algorithm_params_json', message: `${path}: ${(err as Error).message}` },
    ]);
  }
  const exec_algorithm_params = parseStored(
    ParamsSchema,
    params,
    `${path} exec_algorithm_params_json`,
    'corrupt_document',
  );
  return { order: { ...rest, exec_algorithm_params }, counters: { next_event_seq, next_fill_seq } };
}

/** Timeline entry: envelope fields for reading in the console, and the exact event as JSON. */
export interface EventDoc {
  seq: number;
  type: OrderEvent['type'];
  ts_event: string;
  ts_init: string;
  event_json: string;
}

const EventDocSchema = z.object({
  seq: z.number().int().min(0),
  type: z.string(),
  ts_event: z.string(),
  ts_init: z.string(),
  event_json: z.string(),
});

/** Zero-padded sequence number as the event's document id, so id order is timeline order. */
export function eventDocId(seq: number): string {
  return seq.toString().padStart(10, '0');
}

export function eventToDoc(event: OrderEvent, seq: number): EventDoc {
  const checked = checkRecord(OrderEventSchema, event, `timeline event ${seq}`);
  return {
    seq,
    type: checked.type,
    ts_event: encodeNanos(checked.ts_event),
    ts_init: encodeNanos(checked.ts_init),
    // JSON, not a map: events are nested (scores, checks, the instruction) and must come back exactly.
    event_json: taggedStringify(checked),
  };
}

export function eventFromDoc(data: unknown, path: string): OrderEvent {
  const doc = parseStored(EventDocSchema, data, path, 'corrupt_document');
  let body: unknown;
  try {
    body = taggedParse(doc.event_json);
  } catch (err) {
    throw new ValidationError('corrupt_document', [
      { path: 'event_json', message: `${path}: ${(err as Error).message}` },
    ]);
  }
  return parseStored(OrderEventSchema, body, `${path} event_json`, 'corrupt_document');
}

const FillDocSchema = FillSchema.extend({ ts_event: paddedNanos, seq: z.number().int().min(0) });

export function fillToDoc(fill: Fill, seq: number): DocData {
  return toDocData({ ...fill, ts_event: encodeNanos(fill.ts_event), seq });
}

export function fillFromDoc(data: unknown, path: string): Fill {
  const { seq: _, ...fill } = parseStored(FillDocSchema, fromDocData(data, path), path, 'corrupt_document');
  return fill;
}

const PositionDocSchema = PositionSchema.extend({ ts_updated: paddedNanos });

export function positionToDoc(p: Position): DocData {
  return toDocData({ ...p, ts_updated: encodeNanos(p.ts_updated) });
}

export function positionFromDoc(data: unknown, path: string): Position {
  return parseStored(PositionDocSchema, fromDocData(data, path), path, 'corrupt_document');
}

/** Document id of a position: both keys escaped, joined with `|`. */
export function positionDocId(accountId: string, instrumentKey: string): string {
  const id = `${escapeDocId(accountId)}|${escapeDocId(instrumentKey)}`;
  if (Buffer.byteLength(id, 'utf8') > 1500)
    throw new RangeError('keys too long for a document id (1500 bytes)');
  return id;
}
