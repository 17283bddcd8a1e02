/**
 * The backtest's JSON-safe records and their zod schemas: settings, the run manifest (the plan every
 * window worker reads), the partial result each window writes, and the Pub/Sub messages of the
 * cloud fan-out. Time is integer nanoseconds as a string of digits, quantities and prices are
 * canonical decimal strings, except mark prices (`marks[].mid`), which are the tick files' DOUBLEs.
 *
 * Every record that crosses a process boundary (worker thread, blob store, Pub/Sub) is validated
 * with these schemas on the way in, so a corrupt partial or manifest fails with the key and the
 * field instead of a wrong number in the results.
 */
import { z } from 'zod';
import { TICK_KINDS } from '../data/tick-layout.ts';
import { InstrumentSpecSchema } from '../domain/instrument.ts';
import { InstrumentKeySchema } from '../domain/instrument-id.ts';
import { DecimalSchema, PositiveDecimal } from '../domain/schemas.ts';
import {
  EXEC_ALGORITHMS,
  ORDER_STATUSES,
  ORDER_TYPES,
  SIDES,
  TIME_IN_FORCE,
  TRADING_STATES,
} from '../domain/types.ts';

/** Integer nanoseconds since the epoch as digits (bigint at runtime). */
export const NanosString = z.string().regex(/^-?\d+$/, { error: 'must be integer nanoseconds as digits' });

/** Run ids name a folder under `backtest_results/`: letters, digits, `.`, `_`, `-`. */
export const RunIdSchema = z
  .string()
  .min(1, { error: 'must not be empty' })
  .max(128, { error: 'must be at most 128 characters' })
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, {
    error: "must start with a letter or digit and contain only letters, digits, '.', '_' and '-'",
  });

/** Window ids: `w` + the zero-padded window index (`w000007`). */
export const WindowIdSchema = z.string().regex(/^w\d{6,}$/, { error: 'must look like w000007' });

// ---------------------------------------------------------------------------------------------
// Settings
// ---------------------------------------------------------------------------------------------

export const FillModelSchema = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('conservative') }),
  z.strictObject({ kind: z.literal('probabilistic'), probFillAtTouch: z.number().min(0).max(1) }),
  z.strictObject({ kind: z.literal('queue') }),
]);

export const BacktestSettingsSchema = z.strictObject({
  /** Length of the window opened at each change of target (SPEC default 5). */
  window_minutes: z.number().int().positive().max(1440),
  /** Run seed; window i uses `deriveSeed(seed, i)`. */
  seed: z.number().int().nonnegative(),
  /** Starting cash in the instruments' quote currency (the equity curve starts here). */
  starting_cash: PositiveDecimal,
  /** Order entry / cancel latency of the simulated venue. */
  latency: z.strictObject({
    insert_ms: z.number().nonnegative(),
    cancel_ms: z.number().nonnegative(),
    jitter_ms: z.number().nonnegative(),
  }),
  fill_model: FillModelSchema,
  /** Mark (mid) samples inside each window for the equity curve, every this many seconds. */
  sample_interval_sec: z.number().int().positive().max(3600),
  /** Trading state the risk engine sees (config `risk.initial_trading_state`). */
  trading_state: z.enum(TRADING_STATES),
});
export type BacktestSettings = z.output<typeof BacktestSettingsSchema>;

export const DEFAULT_BACKTEST_SETTINGS: BacktestSettings = Object.freeze({
  window_minutes: 5,
  seed: 42,
  starting_cash: '100000',
  latency: Object.freeze({ insert_ms: 5, cancel_ms: 5, jitter_ms: 1 }),
  fill_model: Object.freeze({ kind: 'conservative' as const }),
  sample_interval_sec: 10,
  trading_state: 'ACTIVE',
});

// ---------------------------------------------------------------------------------------------
// Risk limits (shared/risk RiskLimits as plain JSON)
// ---------------------------------------------------------------------------------------------

const OptDec = DecimalSchema.nullable().optional();
const OptInt = z.number().int().positive().nullable().optional();

export const RiskLimitsSchema = z.strictObject({
  enabled: z.boolean(),
  max_orders_per_second: z.number().int().positive().nullable(),
  max_orders_per_minute: z.number().int().positive().nullable(),
  max_notional_per_order: DecimalSchema.nullable(),
  max_total_notional: DecimalSchema.nullable(),
  max_position_global: DecimalSchema.nullable(),
  price_tolerance_bps: z.union([DecimalSchema, z.number()]).nullable(),
  min_free_balance: DecimalSchema,
  per_strategy: z.record(
    z.string(),
    z.strictObject({
      max_orders_per_second: OptInt,
      max_orders_per_minute: OptInt,
      max_notional_per_order: OptDec,
      max_position: OptDec,
    }),
  ),
  per_instrument: z.record(
    z.string(),
    z.strictObject({
      max_position: OptDec,
      min_order_size: OptDec,
      max_order_size: OptDec,
      max_notional_per_order: OptDec,
      price_tolerance_bps: z.union([DecimalSchema, z.number()]).nullable().optional(),
    }),
  ),
});

// ---------------------------------------------------------------------------------------------
// Plan
// ---------------------------------------------------------------------------------------------

/**
 * A Parquet column as a window needs it to decode its chunks without the file's footer: the leaf
 * schema element (physical type, repetition, annotations).
 */
export const ParquetColumnSchema = z.strictObject({
  name: z.string().min(1),
  type: z.enum([
    'BOOLEAN',
    'INT32',
    'INT64',
    'INT96',
    'FLOAT',
    'DOUBLE',
    'BYTE_ARRAY',
    'FIXED_LEN_BYTE_ARRAY',
  ]),
  repetition_type: z.enum(['REQUIRED', 'OPTIONAL']),
  type_length: z.number().int().nonnegative().optional(),
  converted_type: z.string().optional(),
  scale: z.number().int().nonnegative().optional(),
  precision: z.number().int().nonnegative().optional(),
  /** Parquet LogicalType as hyparquet parses it (e.g. `{type: 'TIMESTAMP', unit: 'NANOS', …}`). */
  logical_type: z.looseObject({ type: z.string() }).optional(),
});
export type ParquetColumn = z.output<typeof ParquetColumnSchema>;

const ByteCount = z.number().int().nonnegative();

/**
 * One column chunk of a row group: [first byte, compressed length, uncompressed length, values,
 * codec]. The first byte is the dictionary page when there is one, else the first data page.
 */
export const ColumnChunkRangeSchema = z.tuple([
  ByteCount,
  ByteCount,
  ByteCount,
  ByteCount,
  z.enum(['UNCOMPRESSED', 'SNAPPY', 'GZIP', 'LZO', 'BROTLI', 'LZ4', 'ZSTD', 'LZ4_RAW']),
]);
export type ColumnChunkRange = z.output<typeof ColumnChunkRangeSchema>;

/**
 * What a window reads from one tick file, planned from the file's footer: the columns it needs and,
 * for each row group whose `ts_event` range overlaps the window, the exact byte range of each of
 * those columns' chunks (in `columns` order). The window decodes these without reading the footer.
 */
export const PlannedFileReadSchema = z.strictObject({
  key: z.string().min(1),
  kind: z.enum(TICK_KINDS),
  /** UTC day of the file (YYYY-MM-DD). */
  day: z.string(),
  /** Size of the file when it was planned; a file of another size is a changed file. */
  size: ByteCount,
  row_groups_total: ByteCount,
  columns: z.array(ParquetColumnSchema).min(1),
  row_groups: z.array(
    z.strictObject({
      /** Index of the row group in the file. */
      index: ByteCount,
      rows: ByteCount,
      chunks: z.array(ColumnChunkRangeSchema),
    }),
  ),
});
export type PlannedFileRead = z.output<typeof PlannedFileReadSchema>;

/** The tick files a window reads and which kinds they are (trades + quotes, or trades + book). */
export const WindowTickReadsSchema = z.strictObject({
  kinds: z.array(z.enum(TICK_KINDS)),
  files: z.array(PlannedFileReadSchema),
});
export type WindowTickReads = z.output<typeof WindowTickReadsSchema>;

export const WindowPlanSchema = z.strictObject({
  window_id: WindowIdSchema,
  /** Position in the plan (ordered by start, instrument, strategy); seeds and ids derive from it. */
  index: z.number().int().nonnegative(),
  strategy_id: z.string().min(1),
  instrument_key: InstrumentKeySchema,
  venue: z.string().min(1),
  /** The signal that opened the window: its line in the signals file and its fields. */
  signal: z.strictObject({
    line: z.number().int().positive(),
    ts: z.string(),
    target_position: DecimalSchema,
  }),
  start_ns: NanosString,
  /** Where the window ends (earlier than `nominal_end_ns` when a later window of the instrument cut it). */
  end_ns: NanosString,
  nominal_end_ns: NanosString,
  /** The window whose start ended this one early, or null. */
  truncated_by: WindowIdSchema.nullable(),
  /** The strategy's previous target: its position at the window start (independence assumption). */
  previous_target: DecimalSchema,
  target: DecimalSchema,
  /** target − previous_target. */
  delta: DecimalSchema,
  side: z.enum(SIDES),
  quantity: PositiveDecimal,
  /** Net position of every strategy in this instrument at the window start (from the signals). */
  instrument_position_at_start: DecimalSchema,
  exec_algorithm: z.enum(EXEC_ALGORITHMS),
  exec_algorithm_params: z.record(z.string(), z.unknown()),
  spec: InstrumentSpecSchema,
  /** The `instruments/<day>.json` the spec came from. */
  instruments_file: z.string(),
  /** Seed of this window's engine and algorithm: deriveSeed(run seed, index). */
  seed: z.number().int().nonnegative(),
  /**
   * The byte ranges of the window's row groups, planned from the footers (absent when a file was
   * missing or unreadable at planning time: the window then opens its files itself and fails naming
   * the file).
   */
  reads: WindowTickReadsSchema.optional(),
});
export type WindowPlan = z.output<typeof WindowPlanSchema>;

export const SkippedSignalSchema = z.strictObject({
  line: z.number().int().positive(),
  ts: z.string(),
  strategy_id: z.string(),
  instrument_key: z.string(),
  target_position: DecimalSchema,
  reason: z.literal('unchanged_target'),
});
export type SkippedSignal = z.output<typeof SkippedSignalSchema>;

export const ManifestSchema = z.strictObject({
  version: z.literal(1),
  run_id: RunIdSchema,
  settings: BacktestSettingsSchema,
  risk_limits: RiskLimitsSchema,
  signals: z.strictObject({
    /** Name of the signals file as given (not part of the results' determinism). */
    source: z.string(),
    /** SHA-256 of the signals file's bytes (hex). */
    sha256: z.string(),
    count: z.number().int().nonnegative(),
    strategies: z.array(z.string()),
    instruments: z.array(z.string()),
  }),
  /** First window start → last window end (ISO); null when no window opened. */
  period: z.strictObject({ start: z.string(), end: z.string() }).nullable(),
  windows: z.array(WindowPlanSchema),
  skipped: z.array(SkippedSignalSchema),
});
export type Manifest = z.output<typeof ManifestSchema>;

// ---------------------------------------------------------------------------------------------
// Partial result of one window
// ---------------------------------------------------------------------------------------------

export const OrderRowSchema = z.strictObject({
  order_id: z.string(),
  parent_order_id: z.string().nullable(),
  operation_id: z.string(),
  instrument_key: z.string(),
  venue: z.string(),
  side: z.enum(SIDES),
  order_type: z.enum(ORDER_TYPES),
  time_in_force: z.enum(TIME_IN_FORCE),
  quantity: DecimalSchema,
  price: DecimalSchema.nullable(),
  status: z.enum(ORDER_STATUSES),
  ts_submitted_ns: NanosString,
  ts_last_ns: NanosString,
  filled_quantity: DecimalSchema,
  /** Σ fill quantity × price (exact), for average prices. */
  filled_notional: DecimalSchema,
  fees: DecimalSchema,
  /** Mid when the order reached the matching (children; the arrival mid for the parent). */
  mid_at_arrival: DecimalSchema.nullable(),
  /** Risk rule and reason (DENIED), venue reason (REJECTED) or why it ended (window end). */
  reason: z.string().nullable(),
});
export type OrderRow = z.output<typeof OrderRowSchema>;

export const FillRowSchema = z.strictObject({
  fill_id: z.string(),
  order_id: z.string(),
  parent_order_id: z.string(),
  instrument_key: z.string(),
  venue: z.string(),
  side: z.enum(SIDES),
  quantity: DecimalSchema,
  price: DecimalSchema,
  fee: DecimalSchema,
  fee_currency: z.string(),
  liquidity: z.enum(['MAKER', 'TAKER']),
  ts_ns: NanosString,
});
export type FillRow = z.output<typeof FillRowSchema>;

export const RiskDenialSchema = z.strictObject({
  order_id: z.string(),
  ts_ns: NanosString,
  rule: z.string(),
  limit: z.string().nullable(),
  observed: z.string().nullable(),
  reason: z.string(),
});
export type RiskDenial = z.output<typeof RiskDenialSchema>;

export const MarkSampleSchema = z.strictObject({ ts_ns: NanosString, mid: z.number() });
export type MarkSample = z.output<typeof MarkSampleSchema>;

export const TickFileReadSchema = z.strictObject({
  key: z.string(),
  bytes_total: z.number().int().nonnegative(),
  bytes_read: z.number().int().nonnegative(),
  row_group_bytes: z.number().int().nonnegative(),
  rows_read: z.number().int().nonnegative(),
  rows_in_window: z.number().int().nonnegative(),
});

export const WindowIoSchema = z.strictObject({
  bytes_read: z.number().int().nonnegative(),
  /** Sum of the sizes of the files opened by this window. */
  bytes_total: z.number().int().nonnegative(),
  requests: z.number().int().nonnegative(),
  files: z.array(TickFileReadSchema),
});
export type WindowIo = z.output<typeof WindowIoSchema>;

export const WindowSimulationSchema = z.strictObject({
  window_id: WindowIdSchema,
  index: z.number().int().nonnegative(),
  instrument_key: z.string(),
  strategy_id: z.string(),
  exec_algorithm: z.enum(EXEC_ALGORITHMS),
  start_ns: NanosString,
  end_ns: NanosString,
  /** Mid of the first two-sided quote at or after the window start (else the first trade), or null. */
  arrival_mid: DecimalSchema.nullable(),
  /** Why the algorithm stopped (its done reason), `WINDOW_END`, or `DENIED`. */
  end_reason: z.string(),
  /** The parent first, then the children in the order they were sent. */
  orders: z.array(OrderRowSchema),
  fills: z.array(FillRowSchema),
  marks: z.array(MarkSampleSchema),
  risk_denials: z.array(RiskDenialSchema),
  warnings: z.array(z.string()),
  ticks: z.strictObject({
    trades: z.number().int().nonnegative(),
    quotes: z.number().int().nonnegative(),
    book: z.number().int().nonnegative(),
  }),
});
export type WindowSimulation = z.output<typeof WindowSimulationSchema>;

export const WindowPartialSchema = WindowSimulationSchema.extend({
  version: z.literal(1),
  run_id: RunIdSchema,
  io: WindowIoSchema,
});
export type WindowPartial = z.output<typeof WindowPartialSchema>;

/** A window that cannot succeed (missing or corrupt tick file): recorded so the run can fail cleanly. */
export const WindowErrorSchema = z.strictObject({
  version: z.literal(1),
  run_id: RunIdSchema,
  window_id: WindowIdSchema,
  /** The file at fault, when one is. */
  file: z.string().nullable(),
  code: z.string(),
  message: z.string(),
});
export type WindowError = z.output<typeof WindowErrorSchema>;

// ---------------------------------------------------------------------------------------------
// Pub/Sub messages (cloud fan-out)
// ---------------------------------------------------------------------------------------------

/** `backtests.requests`: start a run. Signals come from the data store (`signals_key`) or inline. */
export const BacktestRequestSchema = z
  .strictObject({
    run_id: RunIdSchema,
    signals_key: z.string().min(1).optional(),
    /** The JSON Lines text itself (small runs). */
    signals_jsonl: z.string().optional(),
    window_minutes: z.number().int().positive().max(1440).optional(),
    seed: z.number().int().nonnegative().optional(),
    starting_cash: PositiveDecimal.optional(),
  })
  .superRefine((v, ctx) => {
    if ((v.signals_key === undefined) === (v.signals_jsonl === undefined)) {
      ctx.addIssue({
        code: 'custom',
        path: ['signals_key'],
        message: 'give exactly one of signals_key and signals_jsonl',
      });
    }
  });
export type BacktestRequest = z.output<typeof BacktestRequestSchema>;

/** `backtests.windows`: run one window. Attributes `run_id`, `window_id`. */
export const WindowMessageSchema = z.strictObject({ run_id: RunIdSchema, window_id: WindowIdSchema });

/**
 * One window's task as the planner writes it next to the manifest (`_tasks/<window_id>.json`): what
 * a window function needs, without reading the whole manifest (which grows with the windows).
 */
export const WindowTaskFileSchema = z.strictObject({
  version: z.literal(1),
  run_id: RunIdSchema,
  settings: BacktestSettingsSchema,
  risk_limits: RiskLimitsSchema,
  window: WindowPlanSchema,
});
export type WindowTaskFile = z.output<typeof WindowTaskFileSchema>;
export type WindowMessage = z.output<typeof WindowMessageSchema>;

/** `backtests.done`: one window finished (partial or error written). Attributes `run_id`, `window_id`. */
export const WindowDoneSchema = z.strictObject({
  run_id: RunIdSchema,
  window_id: WindowIdSchema,
  outcome: z.enum(['partial', 'error']),
});
export type WindowDone = z.output<typeof WindowDoneSchema>;

/** `w000007` for index 7. */
export function windowIdOf(index: number): string {
  return `w${String(index).padStart(6, '0')}`;
}
