/**
 * zod schemas for the platform's boundary contracts (SPEC "Contracts"): order instructions, cancel
 * requests, order replies and the execution-algorithm parameters.
 *
 * Conventions:
 * - Decimals (quantities, prices) are accepted as decimal strings or finite numbers and come out as
 *   canonical decimal strings (see decimal.ts): "1.50" → "1.5", 0.1 → "0.1", "1e-3" → "0.001".
 *   At most {@link MAX_DECIMAL_PLACES} decimal places and {@link MAX_INTEGER_DIGITS} integer digits.
 * - Objects are strict: an unknown key is an error (so a typo such as `quantiy` surfaces instead of
 *   being silently ignored).
 * - Every issue carries the path of the field it is about (`quantity`,
 *   `exec_algorithm_params.duration_sec`); cross-field rules report on the field that must change.
 * - The schemas stay representable as JSON Schema for other teams: `z.toJSONSchema(schema,
 *   {io: 'input'})` describes what a sender may send (transforms only normalise values; their input
 *   side is a plain JSON type).
 */
import { z } from 'zod';
import { Dec, type DecimalString, fmt, toDec } from './decimal.ts';
import { formatPath, type Issue, type Result, ValidationError } from './errors.ts';
import { InstrumentKeySchema } from './instrument-id.ts';
import { nanosToIso } from './time.ts';
import {
  EXEC_ALGORITHMS,
  type ExecAlgorithm,
  type Fill,
  ORDER_STATUSES,
  ORDER_TYPES,
  type OrderInstruction,
  type OrderRecord,
  SIDES,
  TIME_IN_FORCE,
} from './types.ts';

// ---------------------------------------------------------------------------------------------
// Decimals
// ---------------------------------------------------------------------------------------------

/** Most digits allowed after the decimal point in any boundary decimal. */
export const MAX_DECIMAL_PLACES = 18;
/** Most digits allowed before the decimal point (guards against `1e999999999` and the like). */
export const MAX_INTEGER_DIGITS = 30;

/** A decimal literal as `toDec` accepts it (surrounding whitespace, sign and exponent allowed). */
const DECIMAL_INPUT_RE = /^\s*[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?\s*$/;
/** A canonical decimal string as this platform emits it (decimal.ts `fmt`). */
export const CANONICAL_DECIMAL_RE = /^-?(0|[1-9]\d*)(\.\d*[1-9])?$/;

const INTEGER_LIMIT = new Dec(10).pow(MAX_INTEGER_DIGITS);

type DecimalBound = 'any' | 'positive' | 'nonnegative';

/**
 * Check and normalise one decimal value. Returns the canonical string, or the message naming the
 * problem. Exported for callers that validate decimals outside a zod schema.
 */
export function checkDecimal(
  value: string | number,
  bound: DecimalBound = 'any',
): { ok: true; value: DecimalString } | { ok: false; message: string } {
  let d: Dec;
  try {
    d = toDec(value);
  } catch (e) {
    return { ok: false, message: e instanceof Error ? e.message : String(e) };
  }
  const dp = d.decimalPlaces();
  if (dp > MAX_DECIMAL_PLACES) {
    return { ok: false, message: `has ${dp} decimal places, at most ${MAX_DECIMAL_PLACES} allowed` };
  }
  if (d.abs().gte(INTEGER_LIMIT)) {
    return {
      ok: false,
      message: `is too large: at most ${MAX_INTEGER_DIGITS} digits before the decimal point`,
    };
  }
  if (bound === 'positive' && d.lte(0))
    return { ok: false, message: `must be greater than 0, got ${fmt(d)}` };
  if (bound === 'nonnegative' && d.lt(0))
    return { ok: false, message: `must not be negative, got ${fmt(d)}` };
  return { ok: true, value: fmt(d) };
}

function describeType(input: unknown): string {
  if (input === null) return 'null';
  if (Array.isArray(input)) return 'array';
  return typeof input;
}

const BOUND_DESCRIPTION: Record<DecimalBound, string> = {
  any: 'A decimal number',
  positive: 'A decimal number greater than 0',
  nonnegative: 'A decimal number greater than or equal to 0',
};

function decimalSchema(bound: DecimalBound) {
  return z
    .union(
      [
        z.string().regex(DECIMAL_INPUT_RE, {
          error: (iss) =>
            typeof iss.input === 'string' && iss.input.trim() === ''
              ? 'must not be empty: expected a decimal number such as "1.25"'
              : `must be a decimal number such as "1.25", got ${JSON.stringify(iss.input)}`,
        }),
        z.number(),
      ],
      {
        error: (iss) =>
          typeof iss.input === 'number'
            ? `must be a finite number, got ${iss.input}`
            : `must be a decimal string or a number, got ${describeType(iss.input)}`,
      },
    )
    .transform((v, ctx): DecimalString => {
      const r = checkDecimal(v, bound);
      if (r.ok) return r.value;
      ctx.issues.push({ code: 'custom', message: r.message, input: v });
      return z.NEVER;
    })
    .meta({
      description: `${BOUND_DESCRIPTION[bound]}, as a decimal string (preferred, exact) or a JSON number; at most ${MAX_DECIMAL_PLACES} decimal places. Normalised to its canonical string ("1.50" → "1.5").`,
    });
}

/** Any decimal (may be negative or zero), normalised to its canonical string. */
export const DecimalSchema = decimalSchema('any');
/** A decimal > 0, normalised to its canonical string. */
export const PositiveDecimal = decimalSchema('positive');
/** A decimal ≥ 0, normalised to its canonical string. */
export const NonNegativeDecimal = decimalSchema('nonnegative');
/** An outgoing canonical decimal string (for reply/output schemas: no normalisation). */
export const CanonicalDecimalString = z
  .string()
  .regex(CANONICAL_DECIMAL_RE, { error: 'must be a canonical decimal string such as "1.25"' });

// ---------------------------------------------------------------------------------------------
// Identifiers
// ---------------------------------------------------------------------------------------------

export const OPERATION_ID_MAX_LENGTH = 128;

/** The idempotency key: 1–128 of `A-Z a-z 0-9 . _ : -`. */
export const OperationIdSchema = z
  .string()
  .min(1, { error: 'must not be empty' })
  .max(OPERATION_ID_MAX_LENGTH, { error: `must be at most ${OPERATION_ID_MAX_LENGTH} characters` })
  .regex(/^[A-Za-z0-9._:-]*$/, {
    error: "may contain only letters, digits, '.', '_', ':' and '-'",
  })
  .describe('Idempotency key of the order: the same operation_id twice is one order');

export const StrategyIdSchema = z
  .string()
  .min(1, { error: 'must not be empty' })
  .max(128, { error: 'must be at most 128 characters' });

export const VenueNameSchema = z
  .string()
  .min(1, { error: 'must not be empty' })
  .max(64, { error: 'must be at most 64 characters' });

// ---------------------------------------------------------------------------------------------
// Execution-algorithm parameters
// ---------------------------------------------------------------------------------------------

/** Longest TWAP/VWAP schedule: one day. */
export const MAX_ALGO_DURATION_SEC = 86_400;
export const MAX_ALGO_SLICES = 10_000;
/** Default slicing when `max_slices` is not given: one slice per this many seconds, rounded up. */
export const DEFAULT_SLICE_INTERVAL_SEC = 30;

/** `max(1, ceil(duration_sec / 30))`: the slice count used when `max_slices` is omitted. */
export function defaultSliceCount(durationSec: number): number {
  return Math.max(1, Math.ceil(durationSec / DEFAULT_SLICE_INTERVAL_SEC));
}

const DurationSec = z
  .int({ error: 'must be an integer number of seconds' })
  .min(1, { error: 'must be at least 1 second' })
  .max(MAX_ALGO_DURATION_SEC, { error: `must be at most ${MAX_ALGO_DURATION_SEC} seconds (one day)` });
const MaxSlices = z
  .int({ error: 'must be an integer' })
  .min(1, { error: 'must be at least 1' })
  .max(MAX_ALGO_SLICES, { error: `must be at most ${MAX_ALGO_SLICES}` });
const Seed = z
  .int({ error: 'must be an integer' })
  .min(0, { error: 'must be between 0 and 4294967295' })
  .max(4_294_967_295, { error: 'must be between 0 and 4294967295' })
  .describe('Seed of the deterministic jitter; the same seed gives the same schedule');
const JitterFraction = z
  .number()
  .min(0, { error: 'must be between 0 and 0.5' })
  .max(0.5, { error: 'must be between 0 and 0.5' });

/** True when one of `keys` (top-level field names) already has an issue. */
function hasIssueAt(issues: ReadonlyArray<{ path?: PropertyKey[] | undefined }>, ...keys: string[]): boolean {
  return issues.some((i) => {
    const head = i.path?.[0];
    return typeof head === 'string' && keys.includes(head);
  });
}

function checkSlicesFitDuration(
  slices: number,
  durationSec: number,
  path: string,
  ctx: { addIssue: (i: { code: 'custom'; message: string; path: string[] }) => void },
): void {
  if (slices > durationSec) {
    ctx.addIssue({
      code: 'custom',
      path: [path],
      message: `${slices} slices over ${durationSec} s would be less than 1 s apart; at most ${durationSec} slices allowed`,
    });
  }
}

/** NORMAL: no parameters. */
export const NormalParamsSchema = z.strictObject({});
export type NormalParams = z.output<typeof NormalParamsSchema>;

/**
 * TWAP: `duration_sec` (1–86400) split into `max_slices` equal slices (1–10000, at most one per
 * second; default one per 30 s rounded up). `jitter_pct` (0–0.5, default 0) moves each slice time
 * and size by up to that fraction; `seed` makes the jitter reproducible.
 */
export const TwapParamsSchema = z
  .strictObject({
    duration_sec: DurationSec,
    max_slices: MaxSlices.optional().describe(
      `Number of child orders; default ceil(duration_sec / ${DEFAULT_SLICE_INTERVAL_SEC}), at least 1`,
    ),
    jitter_pct: JitterFraction.default(0),
    seed: Seed.optional(),
  })
  .superRefine((v, ctx) => {
    if (v.max_slices !== undefined && !hasIssueAt(ctx.issues, 'max_slices', 'duration_sec')) {
      checkSlicesFitDuration(v.max_slices, v.duration_sec, 'max_slices', ctx);
    }
  })
  .transform((v) => {
    const out: { duration_sec: number; max_slices: number; jitter_pct: number; seed?: number } = {
      duration_sec: v.duration_sec,
      max_slices: v.max_slices ?? defaultSliceCount(v.duration_sec),
      jitter_pct: v.jitter_pct,
    };
    if (v.seed !== undefined) out.seed = v.seed;
    return out;
  });
export type TwapParams = z.output<typeof TwapParamsSchema>;

/**
 * VWAP: like TWAP, with `volume_profile` weights per slice (non-negative, positive sum; default
 * uniform). `max_slices` defaults to the profile's length, else as for TWAP; when both are given
 * they must agree. `participation_cap` (0 < cap ≤ 1) limits each slice to that fraction of the
 * market volume observed in it. The parsed value keeps `volume_profile` absent when the profile is
 * uniform; use {@link vwapWeights} to get the normalised weights.
 */
export const VwapParamsSchema = z
  .strictObject({
    duration_sec: DurationSec,
    max_slices: MaxSlices.optional(),
    volume_profile: z
      .array(z.number().min(0, { error: 'weights must not be negative' }))
      .min(1, { error: 'must have at least one weight' })
      .max(MAX_ALGO_SLICES, { error: `must have at most ${MAX_ALGO_SLICES} weights` })
      .optional()
      .describe('Relative volume weight of each slice (default uniform)'),
    participation_cap: z
      .number()
      .gt(0, { error: 'must be greater than 0 and at most 1' })
      .max(1, { error: 'must be greater than 0 and at most 1' })
      .optional(),
    seed: Seed.optional(),
  })
  .superRefine((v, ctx) => {
    // Only judge a profile whose weights are each valid.
    const profile = hasIssueAt(ctx.issues, 'volume_profile') ? undefined : v.volume_profile;
    if (profile !== undefined && profile.reduce((a, b) => a + b, 0) <= 0) {
      ctx.addIssue({ code: 'custom', path: ['volume_profile'], message: 'weights must have a positive sum' });
    }
    if (profile !== undefined && v.max_slices !== undefined && profile.length !== v.max_slices) {
      ctx.addIssue({
        code: 'custom',
        path: ['volume_profile'],
        message: `has ${profile.length} weights but max_slices is ${v.max_slices}; give one weight per slice`,
      });
    }
    const slices = v.max_slices ?? profile?.length;
    if (slices !== undefined && !hasIssueAt(ctx.issues, 'max_slices', 'duration_sec')) {
      checkSlicesFitDuration(
        slices,
        v.duration_sec,
        v.max_slices !== undefined ? 'max_slices' : 'volume_profile',
        ctx,
      );
    }
  })
  .transform((v) => {
    const out: {
      duration_sec: number;
      max_slices: number;
      volume_profile?: number[];
      participation_cap?: number;
      seed?: number;
    } = {
      duration_sec: v.duration_sec,
      max_slices: v.max_slices ?? v.volume_profile?.length ?? defaultSliceCount(v.duration_sec),
    };
    if (v.volume_profile !== undefined) out.volume_profile = v.volume_profile;
    if (v.participation_cap !== undefined) out.participation_cap = v.participation_cap;
    if (v.seed !== undefined) out.seed = v.seed;
    return out;
  });
export type VwapParams = z.output<typeof VwapParamsSchema>;

/** Normalised VWAP weights (sum 1), one per slice; uniform when no profile was given. */
export function vwapWeights(params: VwapParams): number[] {
  const profile = params.volume_profile ?? Array.from({ length: params.max_slices }, () => 1);
  const sum = profile.reduce((a, b) => a + b, 0);
  return profile.map((w) => w / sum);
}

/**
 * ICEBERG: show `display_quantity` (a decimal > 0 and < the order quantity) at a time and refill
 * when it fills. `refresh_jitter` (0–0.5, optional) randomises each refilled display quantity by
 * up to that fraction; `seed` makes it reproducible.
 */
export const IcebergParamsSchema = z.strictObject({
  display_quantity: PositiveDecimal,
  refresh_jitter: JitterFraction.optional(),
  seed: Seed.optional(),
});
export type IcebergParams = z.output<typeof IcebergParamsSchema>;

/**
 * The parameter schema of each execution algorithm. Parsing is idempotent: the parsed (stored)
 * params of an order parse again to themselves, so an algorithm can read its typed params from an
 * OrderRecord with e.g. `TwapParamsSchema.parse(order.exec_algorithm_params)`.
 */
export const ExecAlgorithmParamsSchemas = {
  NORMAL: NormalParamsSchema,
  TWAP: TwapParamsSchema,
  VWAP: VwapParamsSchema,
  ICEBERG: IcebergParamsSchema,
} as const;

export interface ExecAlgorithmParamsByAlgorithm {
  NORMAL: NormalParams;
  TWAP: TwapParams;
  VWAP: VwapParams;
  ICEBERG: IcebergParams;
}
export type ExecAlgorithmParams = ExecAlgorithmParamsByAlgorithm[ExecAlgorithm];

type RawIssue = { path: PropertyKey[]; message: string };

type ParamsCheck = { issues: RawIssue[]; data: ExecAlgorithmParams | undefined };

function fromZod(error: z.ZodError): ParamsCheck {
  return {
    data: undefined,
    issues: toIssueList(error.issues),
  };
}

function checkParams(
  algorithm: ExecAlgorithm,
  params: unknown,
  quantity: DecimalString | undefined,
): ParamsCheck {
  if (algorithm === 'ICEBERG') {
    const r = IcebergParamsSchema.safeParse(params);
    if (!r.success) return fromZod(r.error);
    const display = r.data.display_quantity;
    if (quantity !== undefined && toDec(display).gte(toDec(quantity))) {
      return {
        data: undefined,
        issues: [
          {
            path: ['display_quantity'],
            message: `display_quantity (${display}) must be less than quantity (${quantity})`,
          },
        ],
      };
    }
    return { issues: [], data: r.data };
  }
  const r = ExecAlgorithmParamsSchemas[algorithm].safeParse(params);
  return r.success ? { issues: [], data: r.data } : fromZod(r.error);
}

/**
 * Validate `params` for `algorithm` (and, for ICEBERG, `display_quantity` against the order
 * `quantity` when given), applying defaults. Issue paths include the `exec_algorithm_params.` prefix.
 * Code `invalid_exec_algorithm_params`.
 */
export function parseExecAlgorithmParams(
  algorithm: ExecAlgorithm,
  params: unknown,
  quantity?: DecimalString,
): Result<ExecAlgorithmParams> {
  const r = checkParams(algorithm, params, quantity);
  if (r.data !== undefined) return { success: true, data: r.data };
  return {
    success: false,
    error: new ValidationError(
      'invalid_exec_algorithm_params',
      toIssues(r.issues.map((i) => ({ ...i, path: ['exec_algorithm_params', ...i.path] }))),
    ),
  };
}

// ---------------------------------------------------------------------------------------------
// Order instruction
// ---------------------------------------------------------------------------------------------

const OrderInstructionFields = z.strictObject({
  operation_id: OperationIdSchema,
  instrument_key: InstrumentKeySchema,
  side: z.enum(SIDES),
  quantity: PositiveDecimal,
  price: PositiveDecimal.nullable()
    .default(null)
    .describe('Limit price; required for LIMIT orders, null (or absent) for MARKET orders'),
  order_type: z.enum(ORDER_TYPES),
  time_in_force: z.enum(TIME_IN_FORCE).default('GTC').describe('GTX = post-only (LIMIT orders only)'),
  strategy_id: StrategyIdSchema,
  exec_algorithm: z.enum(EXEC_ALGORITHMS).default('NORMAL'),
  exec_algorithm_params: z
    .record(z.string(), z.unknown())
    .default({})
    .describe(
      'Parameters of exec_algorithm: NORMAL {}; TWAP {duration_sec, max_slices?, jitter_pct?, seed?}; VWAP {duration_sec, max_slices?, volume_profile?, participation_cap?, seed?}; ICEBERG {display_quantity, refresh_jitter?, seed?}',
    ),
  venue: VenueNameSchema.optional().describe('Names the venue: skips venue scoring (not the checks)'),
  reference_price: PositiveDecimal.optional().describe(
    'The price the strategy saw, for the price-tolerance risk check',
  ),
});

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * SPEC order instruction. Cross-field rules: LIMIT requires `price`; MARKET must not carry one; GTX
 * (post-only) only for LIMIT; `exec_algorithm_params` must fit `exec_algorithm` (defaults applied
 * in the output). The cross-field rules run even when other fields are wrong, on the fields that
 * parsed, so one reply lists every problem.
 */
export const OrderInstructionSchema = OrderInstructionFields.superRefine(
  (parsed, ctx) => {
    // With `when` below this also runs when some fields failed: read the value as unknown data and
    // apply each rule only to fields that parsed.
    const v: unknown = parsed;
    if (!isRecord(v)) return;
    const ok = (...keys: string[]) => !hasIssueAt(ctx.issues, ...keys);
    const orderType = ok('order_type') ? v.order_type : undefined;
    if (ok('price') && orderType === 'LIMIT' && v.price === null) {
      ctx.addIssue({ code: 'custom', path: ['price'], message: 'price is required for LIMIT orders' });
    }
    if (ok('price') && orderType === 'MARKET' && typeof v.price === 'string') {
      ctx.addIssue({
        code: 'custom',
        path: ['price'],
        message: `MARKET orders must not carry a price (got ${v.price}); send null or use a LIMIT order`,
      });
    }
    if (
      ok('time_in_force') &&
      v.time_in_force === 'GTX' &&
      typeof orderType === 'string' &&
      orderType !== 'LIMIT'
    ) {
      ctx.addIssue({
        code: 'custom',
        path: ['time_in_force'],
        message: `GTX (post-only) is only allowed for LIMIT orders, not ${orderType}`,
      });
    }
    const algorithm = EXEC_ALGORITHMS.find((a) => a === v.exec_algorithm);
    if (
      ok('exec_algorithm', 'exec_algorithm_params') &&
      algorithm !== undefined &&
      isRecord(v.exec_algorithm_params)
    ) {
      const quantity = ok('quantity') && typeof v.quantity === 'string' ? v.quantity : undefined;
      for (const i of checkParams(algorithm, v.exec_algorithm_params, quantity).issues) {
        ctx.addIssue({
          code: 'custom',
          path: ['exec_algorithm_params', ...i.path],
          message: i.message,
          input: v.exec_algorithm_params,
        });
      }
    }
  },
  { when: (payload) => isRecord(payload.value) },
).transform((v): OrderInstruction => {
  const params = checkParams(v.exec_algorithm, v.exec_algorithm_params, v.quantity).data ?? {};
  const out: OrderInstruction = {
    operation_id: v.operation_id,
    instrument_key: v.instrument_key,
    side: v.side,
    quantity: v.quantity,
    price: v.price,
    order_type: v.order_type,
    time_in_force: v.time_in_force,
    strategy_id: v.strategy_id,
    exec_algorithm: v.exec_algorithm,
    exec_algorithm_params: { ...params },
  };
  if (v.venue !== undefined) out.venue = v.venue;
  if (v.reference_price !== undefined) out.reference_price = v.reference_price;
  return out;
});

// ---------------------------------------------------------------------------------------------
// Issues → ValidationError
// ---------------------------------------------------------------------------------------------

/**
 * Flatten zod issues: an unknown key becomes one issue per key at that key's own path
 * (`quantiy: unknown field`), so the sender sees exactly which field to fix.
 */
function toIssueList(issues: ReadonlyArray<z.core.$ZodIssue>): RawIssue[] {
  const out: RawIssue[] = [];
  for (const i of issues) {
    if (i.code === 'unrecognized_keys') {
      for (const k of i.keys) out.push({ path: [...i.path, k], message: 'unknown field' });
    } else {
      out.push({ path: [...i.path], message: i.message });
    }
  }
  return out;
}

function toIssues(issues: ReadonlyArray<RawIssue>): Issue[] {
  return issues.map((i) => ({ path: formatPath(i.path), message: i.message }));
}

/** Parse `input` with `schema`; failure is a ValidationError with `code` and one issue per problem. */
export function parseWith<S extends z.ZodType>(schema: S, input: unknown, code: string): Result<z.output<S>> {
  const r = schema.safeParse(input);
  if (r.success) return { success: true, data: r.data };
  return { success: false, error: new ValidationError(code, toIssues(toIssueList(r.error.issues))) };
}

/** Validate and normalise an order instruction (HTTP body or Pub/Sub payload). Code `invalid_order`. */
export function parseOrderInstruction(input: unknown): Result<OrderInstruction> {
  return parseWith(OrderInstructionSchema, input, 'invalid_order');
}

// ---------------------------------------------------------------------------------------------
// Cancel request and order reply
// ---------------------------------------------------------------------------------------------

/** Cancel request (Pub/Sub `orders.cancels`, or DELETE /api/orders/:operation_id with an optional body). */
export const CancelRequestSchema = z.strictObject({
  operation_id: OperationIdSchema,
  reason: z.string().max(256, { error: 'must be at most 256 characters' }).optional(),
});
export type CancelRequest = z.output<typeof CancelRequestSchema>;

/** Validate a cancel request. Code `invalid_cancel`. */
export function parseCancelRequest(input: unknown): Result<CancelRequest> {
  return parseWith(CancelRequestSchema, input, 'invalid_cancel');
}

const NanosString = z.string().regex(/^\d+$/, { error: 'must be a string of digits (nanoseconds)' });

export const FillReplySchema = z.strictObject({
  fill_id: z.string(),
  quantity: CanonicalDecimalString,
  price: CanonicalDecimalString,
  fee: CanonicalDecimalString,
  fee_currency: z.string(),
  /** ISO-8601 UTC with nanoseconds, e.g. `2025-07-01T00:05:00.123456789Z`. */
  timestamp: z.string().describe('ISO-8601 UTC with nanoseconds'),
  /** The same instant as integer nanoseconds since the epoch, as a string of digits. */
  ts_event: NanosString,
});
export type FillReply = z.output<typeof FillReplySchema>;

/** SPEC reply / status of an order (POST/GET /api/orders, replies on Pub/Sub). */
export const OrderReplySchema = z.strictObject({
  operation_id: z.string(),
  order_id: z.string(),
  status: z.enum(ORDER_STATUSES),
  rejection_reason: z.string().nullable(),
  venue: z.string().nullable(),
  fills: z.array(FillReplySchema),
});
export type OrderReply = z.output<typeof OrderReplySchema>;

/** The SPEC reply for an order and its fills (fills ordered by ts_event, ties kept in given order). */
export function toOrderReply(order: OrderRecord, fills: readonly Fill[]): OrderReply {
  const sorted = [...fills].sort((a, b) => (a.ts_event < b.ts_event ? -1 : a.ts_event > b.ts_event ? 1 : 0));
  return {
    operation_id: order.operation_id,
    order_id: order.order_id,
    status: order.status,
    rejection_reason: order.rejection_reason,
    venue: order.venue,
    fills: sorted.map((f) => ({
      fill_id: f.fill_id,
      quantity: fmt(toDec(f.quantity)),
      price: fmt(toDec(f.price)),
      fee: fmt(toDec(f.fee)),
      fee_currency: f.fee_currency,
      timestamp: nanosToIso(f.ts_event),
      ts_event: f.ts_event.toString(),
    })),
  };
}
