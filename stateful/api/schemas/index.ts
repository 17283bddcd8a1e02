/**
 * The HTTP API's own zod schemas: query strings, the DELETE body, and the response shapes. Request
 * schemas validate; response schemas document (they feed the OpenAPI document, and the tests check
 * real responses against them). Message contracts shared with other systems (order instruction,
 * cancel request, order reply) live in shared/domain/schemas.ts and are only referenced here.
 *
 * Query strings: every parameter is a single string (repeating one is an error, except `status`,
 * whose values are merged); unknown parameters are errors at their own name, so a typo such as
 * `?stauts=FILLED` is a 400 instead of an unfiltered list.
 */
import { z } from 'zod';
import {
  FillSchema,
  OrderEventSchema,
  OrderRecordSchema,
  PositionSchema,
} from '../../../infra/firestore/codec.ts';
import { type Issue, ValidationError } from '../../../shared/domain/errors.ts';
import { InstrumentKeySchema } from '../../../shared/domain/instrument-id.ts';
import {
  CancelRequestSchema,
  OperationIdSchema,
  OrderReplySchema,
  parseWith,
} from '../../../shared/domain/schemas.ts';
import { isoToNanos, type Nanos } from '../../../shared/domain/time.ts';
import { ORDER_STATUSES, type OrderStatus } from '../../../shared/domain/types.ts';
import type { OrderQuery } from '../../../shared/ports/order-store.ts';

// ---------------------------------------------------------------------------------------------
// Query strings
// ---------------------------------------------------------------------------------------------

export const DEFAULT_LIST_LIMIT = 100;
export const MAX_LIST_LIMIT = 1000;

const TIMESTAMP_DESCRIPTION =
  'ISO-8601 with a zone (2025-07-01T00:05:00Z, fraction up to nanoseconds) or integer nanoseconds since the epoch';

/** A point in time in a query: ISO-8601 with a zone, or integer nanoseconds since the epoch. */
export const QueryTimestamp = z
  .string()
  .transform((s, ctx): Nanos => {
    const v = s.trim();
    if (/^\d{1,20}$/.test(v)) return BigInt(v);
    try {
      return isoToNanos(v);
    } catch {
      ctx.addIssue({
        code: 'custom',
        message: `must be an ISO-8601 timestamp with a zone (e.g. 2025-07-01T00:05:00Z) or integer nanoseconds, got ${JSON.stringify(s)}`,
      });
      return z.NEVER;
    }
  })
  .meta({ description: TIMESTAMP_DESCRIPTION });

const QueryStatus = z
  .string()
  .transform((s, ctx): OrderStatus[] => {
    const out: OrderStatus[] = [];
    for (const raw of s.split(',')) {
      const value = raw.trim().toUpperCase();
      const status = ORDER_STATUSES.find((x) => x === value);
      if (status === undefined) {
        ctx.addIssue({
          code: 'custom',
          message: `unknown status ${JSON.stringify(raw.trim())}; expected one or more (comma-separated) of ${ORDER_STATUSES.join(', ')}`,
        });
        return z.NEVER;
      }
      if (!out.includes(status)) out.push(status);
    }
    return out;
  })
  .meta({
    description: `One status or several, comma-separated (or the parameter repeated): ${ORDER_STATUSES.join(', ')}`,
  });

const QueryLimit = z
  .string()
  .regex(/^\d+$/, { error: `must be an integer between 1 and ${MAX_LIST_LIMIT}` })
  .transform(Number)
  .pipe(
    z
      .int()
      .min(1, { error: `must be an integer between 1 and ${MAX_LIST_LIMIT}` })
      .max(MAX_LIST_LIMIT, { error: `must be an integer between 1 and ${MAX_LIST_LIMIT}` }),
  )
  .meta({
    description: `Most orders returned, newest first (default ${DEFAULT_LIST_LIMIT}, max ${MAX_LIST_LIMIT})`,
  });

export const QueryText = (description: string) =>
  z.string().min(1, { error: 'must not be empty' }).max(256).meta({ description });

/** `GET /api/orders` query parameters. */
export const OrderListQuerySchema = z
  .strictObject({
    status: QueryStatus.optional(),
    venue: QueryText('Venue id, e.g. BINANCE-SPOT').optional(),
    strategy_id: QueryText('Strategy id').optional(),
    instrument_key: InstrumentKeySchema.optional(),
    parent_order_id: QueryText('Only the child orders of this parent order_id').optional(),
    from: QueryTimestamp.optional().meta({
      description: `Created at or after (inclusive): ${TIMESTAMP_DESCRIPTION}`,
    }),
    to: QueryTimestamp.optional().meta({
      description: `Created before (exclusive): ${TIMESTAMP_DESCRIPTION}`,
    }),
    limit: QueryLimit.optional(),
  })
  .superRefine((v, ctx) => {
    if (v.from !== undefined && v.to !== undefined && v.to <= v.from) {
      ctx.addIssue({ code: 'custom', path: ['to'], message: 'must be later than from' });
    }
  });

/** `GET /api/positions` query parameters. */
export const PositionQuerySchema = z.strictObject({
  account_id: QueryText('Account id, e.g. SIM').optional(),
  instrument_key: InstrumentKeySchema.optional(),
});

/** Parameters that may be repeated; their values are joined with ','. */
const REPEATABLE = new Set(['status']);

/**
 * Validate a query string (`c.req.queries()`) against a strict object schema of string fields.
 * Throws ValidationError `invalid_query` with one issue per bad or unknown parameter, at its name.
 */
export function parseQuery<S extends z.ZodType>(
  schema: S,
  queries: Record<string, string[]>,
  known: readonly string[],
): z.output<S> {
  const flat: Record<string, string> = {};
  const issues: Issue[] = [];
  for (const [key, values] of Object.entries(queries)) {
    if (values.length > 1 && !REPEATABLE.has(key)) {
      issues.push({ path: key, message: 'given more than once; give it once' });
      continue;
    }
    flat[key] = values.join(',');
  }
  const r = parseWith(schema, flat, 'invalid_query');
  if (!r.success) {
    for (const i of r.error.issues) {
      issues.push(
        i.message === 'unknown field'
          ? { path: i.path, message: `unknown query parameter; expected one of ${known.join(', ')}` }
          : i,
      );
    }
  }
  if (issues.length > 0 || !r.success) throw new ValidationError('invalid_query', issues);
  return r.data;
}

export function parseOrderListQuery(queries: Record<string, string[]>): OrderQuery & { limit: number } {
  const q = parseQuery(OrderListQuerySchema, queries, Object.keys(OrderListQuerySchema.shape));
  const out: OrderQuery & { limit: number } = { limit: q.limit ?? DEFAULT_LIST_LIMIT };
  if (q.status !== undefined) out.status = q.status.length === 1 ? q.status[0] : q.status;
  if (q.venue !== undefined) out.venue = q.venue;
  if (q.strategy_id !== undefined) out.strategy_id = q.strategy_id;
  if (q.instrument_key !== undefined) out.instrument_key = q.instrument_key;
  if (q.parent_order_id !== undefined) out.parent_order_id = q.parent_order_id;
  if (q.from !== undefined) out.from = q.from;
  if (q.to !== undefined) out.to = q.to;
  return out;
}

export function parsePositionQuery(queries: Record<string, string[]>): {
  account_id?: string;
  instrument_key?: string;
} {
  const q = parseQuery(PositionQuerySchema, queries, Object.keys(PositionQuerySchema.shape));
  const out: { account_id?: string; instrument_key?: string } = {};
  if (q.account_id !== undefined) out.account_id = q.account_id;
  if (q.instrument_key !== undefined) out.instrument_key = q.instrument_key;
  return out;
}

/** The `:operation_id` path parameter; 400 `invalid_operation_id` at `operation_id` when malformed. */
export function parseOperationIdParam(value: string): string {
  const r = parseWith(OperationIdSchema, value, 'invalid_operation_id');
  if (!r.success) {
    throw new ValidationError(
      'invalid_operation_id',
      r.error.issues.map((i) => ({ path: 'operation_id', message: i.message })),
    );
  }
  return r.data;
}

// ---------------------------------------------------------------------------------------------
// DELETE body
// ---------------------------------------------------------------------------------------------

/** Optional body of `DELETE /api/orders/:operation_id`; `operation_id`, if sent, must match the path. */
export const CancelBodySchema = CancelRequestSchema.partial({ operation_id: true }).meta({
  description: 'Optional; `operation_id` may be omitted (the path names the order)',
});

// ---------------------------------------------------------------------------------------------
// Responses (documentation and tests)
// ---------------------------------------------------------------------------------------------

export const IssueSchema = z.strictObject({
  path: z.string().meta({
    description: 'The field, e.g. quantity or exec_algorithm_params.duration_sec; "" for the whole body',
  }),
  message: z.string(),
});

export const ErrorBodySchema = z.object({
  error: z.looseObject({
    code: z.string().meta({
      description:
        'invalid_json, invalid_order, invalid_query, invalid_cancel, invalid_operation_id, not_found, not_cancelable, unsupported_media_type, payload_too_large, unavailable, internal, ...',
    }),
    message: z.string(),
    issues: z
      .array(IssueSchema)
      .optional()
      .meta({ description: 'Present on every 400: one entry per problem' }),
    request_id: z.string().optional().meta({ description: 'On 5xx: quote it when reporting the error' }),
  }),
});

export { FillSchema, OrderEventSchema, OrderRecordSchema, OrderReplySchema, PositionSchema };

/** `GET /api/orders/:operation_id`: the SPEC reply, plus the full order record and its timeline. */
export const OrderDetailSchema = OrderReplySchema.extend({
  order: OrderRecordSchema,
  timeline: z.array(OrderEventSchema).meta({ description: 'Every event of the order, oldest first' }),
  fill_records: z.array(FillSchema).meta({ description: 'The stored fills with venue, side and liquidity' }),
});

export const OrderListSchema = z.strictObject({
  orders: z.array(OrderRecordSchema),
  count: z.int(),
  limit: z.int(),
});

export const PositionListSchema = z.strictObject({
  positions: z.array(PositionSchema),
  count: z.int(),
});

export const ComponentHealthSchema = z.strictObject({
  ok: z.boolean(),
  detail: z.string().optional(),
  latency_ms: z.number(),
});

export const HealthSchema = z.strictObject({
  status: z.enum(['ok', 'unavailable']),
  checked_at: z.string().meta({ description: 'ISO-8601 UTC' }),
  components: z.record(z.string(), ComponentHealthSchema).meta({
    description: 'order_store, position_store, bus, blob_store, venue:<id> for each venue, ...',
  }),
});
