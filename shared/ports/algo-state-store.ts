/**
 * The durable state of the execution-algorithm scheduler of the venue edge: one record per parent
 * operation (TWAP / VWAP / ICEBERG parent order) holding the JSON-safe scheduler state of
 * `shared/algos` plus what the edge needs to resume it after a restart (the venue order ids of the
 * children, why it was canceled, the last child rejection).
 *
 * The edge follows "persist, then act" (docs/matching-engine.md): it stores the state returned by
 * `nextAlgo` / `cancelAlgo` BEFORE it sends the actions, so a crash between the two is repaired
 * at start-up by `pendingActions(state)` with the same client order ids (the venue de-duplicates).
 *
 * Versioned like the position book: `put(next, expectedVersion)` stores `next` (whose version must
 * be expectedVersion + 1) only if the stored version is `expectedVersion` (0 = must not exist). A
 * second edge process writing the same parent therefore loses (`version_conflict`) instead of
 * silently overwriting a state the first one is acting on.
 *
 * Adapters: `infra/local/algo-state.local.ts` (memory + journal), `infra/firestore/algo-state.firestore.ts`.
 */
import { z } from 'zod';
import type { AlgoState } from '../algos/types.ts';
import { fromZodIssues, ValidationError } from '../domain/errors.ts';
import type { Nanos } from '../domain/time.ts';
import { EXEC_ALGORITHMS, ORDER_STATUSES, ORDER_TYPES, SIDES, TIME_IN_FORCE } from '../domain/types.ts';

/** One parent operation's scheduler, as the edge stores it. */
export interface AlgoStateRecord {
  operation_id: string;
  /** The parent's order id (children are `<order_id>-S<i>` / `-R<k>` / `-N1`). */
  order_id: string;
  venue: string;
  account_id: string | null;
  strategy_id: string;
  /** The order's canonical instrument id (fills carry it). */
  instrument_key: string;
  /** The instrument as listed on the venue (children are sent with it). */
  venue_instrument_key: string;
  /** The scheduler state (shared/algos), exactly as returned by the last step. */
  state: AlgoState;
  /** Child order id (= client order id) → venue order id, once the venue acknowledged the child. */
  venue_order_ids: Record<string, string>;
  /** Why the parent is being canceled (the cancel request's reason), else null. */
  cancel_reason: string | null;
  /** The last child the venue (or the edge's trading-state gate) refused, with the reason. */
  last_child_rejection: string | null;
  /** False once the algorithm finished AND its final report was recorded on the parent order. */
  active: boolean;
  /** 1 at the first put, +1 on each. */
  version: number;
  ts_created: Nanos;
  ts_updated: Nanos;
}

export type AlgoStatePutResult =
  | { ok: true; record: AlgoStateRecord }
  | { ok: false; reason: 'version_conflict'; current: AlgoStateRecord | null };

export interface AlgoStateStore {
  get(operationId: string): Promise<AlgoStateRecord | null>;
  /** Store `next` if the stored version is `expectedVersion` (0 = must not exist yet). */
  put(next: AlgoStateRecord, expectedVersion: number): Promise<AlgoStatePutResult>;
  /** Every record with `active: true` (of one venue when given), oldest first. */
  listActive(filter?: { venue?: string | undefined }): Promise<AlgoStateRecord[]>;
  health(): Promise<{ ok: boolean; detail?: string }>;
  close(): Promise<void>;
}

// ---------------------------------------------------------------------------------------------
// Validation (on write and on read, by every adapter)
// ---------------------------------------------------------------------------------------------

const decimal = z.string().regex(/^-?\d+(\.\d+)?$/, 'expected a decimal string such as "1.5"');
const digits = z.string().regex(/^\d+$/, 'expected nanoseconds as a string of digits');
const nonEmpty = z.string().min(1);

const ChildRecordSchema = z.looseObject({
  order_id: nonEmpty,
  index: z.number().int().min(0),
  quantity: decimal,
  filled_quantity: decimal,
  status: z.enum(ORDER_STATUSES),
  cancel_requested: z.boolean(),
  carried: z.boolean(),
  ts_submitted_ns: digits,
});

/** The scheduler state of `shared/algos/types.ts` (unknown extra fields are kept). */
export const AlgoStateSchema = z.looseObject({
  version: z.literal(1),
  algo: z.enum(EXEC_ALGORITHMS),
  parent: z.looseObject({
    order_id: nonEmpty,
    instrument_key: nonEmpty,
    side: z.enum(SIDES),
    quantity: decimal,
    limit_price: decimal.nullable(),
    time_in_force: z.enum(TIME_IN_FORCE).nullable(),
  }),
  step_size: decimal,
  min_slice_quantity: decimal,
  seed: z.number().int().min(0),
  start_ns: digits,
  end_ns: digits.nullable(),
  child_order_type: z.enum(ORDER_TYPES),
  child_price: decimal.nullable(),
  child_time_in_force: z.enum(TIME_IN_FORCE),
  slices: z.array(z.looseObject({ at_ns: digits, quantity: decimal })),
  next_slice: z.number().int().min(0),
  rolled: decimal,
  participation_cap: z.number().nullable(),
  volume_at_last_slice: decimal.nullable(),
  display_quantity: decimal.nullable(),
  refresh_jitter: z.number(),
  children: z.array(ChildRecordSchema),
  status: z.enum(['RUNNING', 'CANCELING', 'DONE']),
  done_reason: z.enum(['FILLED', 'SCHEDULE_COMPLETE', 'CANCELED', 'CHILD_ENDED']).nullable(),
});

const nanos = z.bigint().min(0n, 'timestamps before 1970 cannot be stored');

export const AlgoStateRecordSchema = z.looseObject({
  operation_id: nonEmpty,
  order_id: nonEmpty,
  venue: nonEmpty,
  account_id: nonEmpty.nullable(),
  strategy_id: z.string(),
  instrument_key: nonEmpty,
  venue_instrument_key: nonEmpty,
  state: AlgoStateSchema,
  venue_order_ids: z.record(z.string(), nonEmpty),
  cancel_reason: z.string().nullable(),
  last_child_rejection: z.string().nullable(),
  active: z.boolean(),
  version: z.number().int().min(1),
  ts_created: nanos,
  ts_updated: nanos,
});

// The schema's output must be assignable to the domain type (tsc fails here when they drift).
const _shape: (x: z.output<typeof AlgoStateRecordSchema>) => AlgoStateRecord = (x) => x;
void _shape;

/**
 * Validate a record (before a write: `code` `invalid_record`; after a read: `corrupt_document`);
 * the error names `where` (a document path, a journal line) and every bad field.
 */
export function parseAlgoStateRecord(value: unknown, where: string, code: string): AlgoStateRecord {
  const r = AlgoStateRecordSchema.safeParse(value);
  if (r.success) return r.data;
  throw new ValidationError(
    code,
    fromZodIssues(r.error.issues).map((i) => ({ path: i.path, message: `${where}: ${i.message}` })),
  );
}

/** Check the arguments of `put` (shared by the adapters); returns the validated record. */
export function checkAlgoStatePut(next: AlgoStateRecord, expectedVersion: number): AlgoStateRecord {
  const checked = parseAlgoStateRecord(next, 'algo state', 'invalid_record');
  if (!Number.isInteger(expectedVersion) || expectedVersion < 0) {
    throw new RangeError(`expectedVersion must be an integer >= 0, got ${expectedVersion}`);
  }
  if (checked.version !== expectedVersion + 1) {
    throw new RangeError(
      `next.version must be ${expectedVersion + 1} (expectedVersion + 1), got ${checked.version}`,
    );
  }
  return checked;
}

/** Oldest first (ts_created, then operation id): the order `listActive` returns. */
export function compareAlgoStateRecords(a: AlgoStateRecord, b: AlgoStateRecord): number {
  if (a.ts_created !== b.ts_created) return a.ts_created < b.ts_created ? -1 : 1;
  return a.operation_id < b.operation_id ? -1 : a.operation_id > b.operation_id ? 1 : 0;
}
