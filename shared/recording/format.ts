/**
 * The recording format (docs/recording.md): what a venue edge writes while it trades, so the
 * session can be replayed through the backtester. Pure: keys, record shapes and their zod schemas.
 *
 * A recording lives under one BlobStore root (a local folder or `gs://bucket/prefix`):
 *
 * ```
 * recordings/<session_id>/manifest.json                   what was committed, flush by flush
 * recordings/<session_id>/journal/r0001-p000001.jsonl     event journal, one part per flush
 * recordings/<session_id>/market/r0001-p000001.parquet    market events as received, one part per flush
 * market-data-tick/<VENUE>/<day>/<PAYLOAD>/{trades,quotes,book}.parquet   tick layout (at close)
 * instruments/<day>.json                                   instrument definitions in force
 * ```
 *
 * `r0001` is the run (one per start of the recorder: a restart appends a run, it never overwrites),
 * `p000001` the part within the run (one per flush). Every journal record and market event carries
 * a sequence number `seq` that orders everything the execution core consumed within a run, and the
 * local receive time `ts_init`; market events also carry the venue's `ts_event`.
 */
import { z } from 'zod';
import { NanosString, RunIdSchema } from '../backtest/model.ts';
import { InstrumentSpecSchema } from '../domain/instrument.ts';
import { DecimalSchema } from '../domain/schemas.ts';
import type { Nanos } from '../domain/time.ts';
import { SIDES, TRADING_STATES } from '../domain/types.ts';
import { OUTSIDE_HOURS_POLICIES } from '../execution/session.ts';

/** Bumped on any change a reader of the previous version could not read correctly. */
export const RECORDING_FORMAT_VERSION = 1;

export const RECORDINGS_ROOT = 'recordings';
export const MANIFEST_FILE = 'manifest.json';

/** Session ids name a folder: the rule of backtest run ids (letters, digits, `.`, `_`, `-`; ≤ 128). */
export const SessionIdSchema = RunIdSchema;

/** Integer nanoseconds as a string of digits (bigint at runtime). */
export const NanosText = NanosString;

export function sessionPrefix(sessionId: string): string {
  return `${RECORDINGS_ROOT}/${sessionId}/`;
}

export function manifestKey(sessionId: string): string {
  return `${sessionPrefix(sessionId)}${MANIFEST_FILE}`;
}

function partName(run: number, part: number): string {
  if (!Number.isSafeInteger(run) || run < 1 || run > 9999) throw new RangeError(`run ${run} outside 1..9999`);
  if (!Number.isSafeInteger(part) || part < 1 || part > 999_999)
    throw new RangeError(`part ${part} outside 1..999999`);
  return `r${String(run).padStart(4, '0')}-p${String(part).padStart(6, '0')}`;
}

export function journalPartKey(sessionId: string, run: number, part: number): string {
  return `${sessionPrefix(sessionId)}journal/${partName(run, part)}.jsonl`;
}

export function marketPartKey(sessionId: string, run: number, part: number): string {
  return `${sessionPrefix(sessionId)}market/${partName(run, part)}.parquet`;
}

export type PartKind = 'journal' | 'market';

/** Run, part and kind of a part key of `sessionId`, or null for any other key. */
export function parsePartKey(
  sessionId: string,
  key: string,
): { kind: PartKind; run: number; part: number } | null {
  const prefix = sessionPrefix(sessionId);
  if (!key.startsWith(prefix)) return null;
  const m = /^(journal|market)\/r(\d{4})-p(\d{6})\.(jsonl|parquet)$/.exec(key.slice(prefix.length));
  if (!m) return null;
  const kind = m[1] as PartKind;
  if ((kind === 'journal') !== (m[4] === 'jsonl')) return null;
  return { kind, run: Number(m[2]), part: Number(m[3]) };
}

/** The session ids found under `recordings/` in a listing of keys. */
export function sessionIdsOf(keys: readonly string[]): string[] {
  const ids = new Set<string>();
  for (const k of keys) {
    const m = /^recordings\/([^/]+)\/manifest\.json$/.exec(k);
    if (m?.[1] !== undefined) ids.add(m[1]);
  }
  return [...ids].sort();
}

// ---------------------------------------------------------------------------------------------
// Market events (the Parquet parts; in memory with bigint times)
// ---------------------------------------------------------------------------------------------

export type MarketEventKind = 'trade' | 'quote' | 'book';

interface MarketEventBase {
  instrument_key: string;
  /** The venue's event time. */
  ts_event: Nanos;
  /** Local receive time (the edge's wall clock when the event arrived). */
  ts_init: Nanos;
}

export interface TradeEvent extends MarketEventBase {
  kind: 'trade';
  price: number;
  size: number;
  /** Aggressor side, null when the venue does not say. */
  side: 'BUY' | 'SELL' | null;
  trade_id: string | null;
}

export interface QuoteEvent extends MarketEventBase {
  kind: 'quote';
  bid_px: number;
  bid_sz: number;
  ask_px: number;
  ask_sz: number;
}

/** An L2 snapshot: levels best first. */
export interface BookEvent extends MarketEventBase {
  kind: 'book';
  bids: Array<readonly [price: number, size: number]>;
  asks: Array<readonly [price: number, size: number]>;
}

export type MarketEvent = TradeEvent | QuoteEvent | BookEvent;

/** A market event with its place in the run. */
export type SequencedMarketEvent = MarketEvent & { run: number; seq: number };

// ---------------------------------------------------------------------------------------------
// Journal records (JSON Lines; one record per line)
// ---------------------------------------------------------------------------------------------

export const RECORDING_MODES = ['SHADOW', 'LIVE'] as const;
export type RecordingMode = (typeof RECORDING_MODES)[number];

/** The venue order request as sent (SPEC decimals). */
const VenueOrderRequestJson = z.strictObject({
  client_order_id: z.string().min(1),
  instrument_key: z.string().min(1),
  side: z.enum(SIDES),
  order_type: z.enum(['MARKET', 'LIMIT']),
  quantity: DecimalSchema,
  price: DecimalSchema.nullable(),
  time_in_force: z.enum(['GTC', 'IOC', 'FOK', 'GTX', 'DAY']),
});

/** A venue's view of one order (shared/ports/venue.ts VenueOrderState, JSON). */
export const VenueOrderJson = z.strictObject({
  client_order_id: z.string().min(1),
  venue_order_id: z.string(),
  instrument_key: z.string().min(1),
  side: z.enum(SIDES),
  status: z.enum(['NEW', 'PARTIALLY_FILLED', 'FILLED', 'CANCELED', 'REJECTED', 'EXPIRED']),
  quantity: DecimalSchema,
  filled_quantity: DecimalSchema,
  avg_price: DecimalSchema.nullable(),
  reason: z.string().optional(),
  ts_event: NanosText,
});

/** One execution (shared/ports/venue.ts VenueTrade, JSON). */
export const VenueTradeJson = z.strictObject({
  trade_id: z.string().min(1),
  venue_order_id: z.string(),
  client_order_id: z.string().nullable(),
  instrument_key: z.string().min(1),
  side: z.enum(SIDES),
  quantity: DecimalSchema,
  price: DecimalSchema,
  fee: DecimalSchema,
  fee_currency: z.string(),
  liquidity: z.enum(['MAKER', 'TAKER']),
  ts_event: NanosText,
});

/** The routed parent as the core received it: the fields the recording reads, the rest kept as is. */
export const RoutedParentJson = z.looseObject({
  order_id: z.string().min(1),
  operation_id: z.string().min(1),
  strategy_id: z.string().min(1),
  instrument_key: z.string().min(1),
  venue: z.string().min(1),
  side: z.enum(SIDES),
  order_type: z.enum(['MARKET', 'LIMIT']),
  quantity: DecimalSchema,
  price: DecimalSchema.nullable(),
  exec_algorithm: z.enum(['NORMAL', 'TWAP', 'VWAP', 'ICEBERG']),
});
export type RoutedParentJson = z.output<typeof RoutedParentJson>;

const head = { seq: z.number().int().nonnegative(), ts_init: NanosText };

export const SessionStartedRecord = z.strictObject({
  ...head,
  type: z.literal('session_started'),
  format_version: z.number().int().positive(),
  session_id: SessionIdSchema,
  run: z.number().int().positive(),
  mode: z.enum(RECORDING_MODES),
  venues: z.array(z.string().min(1)).min(1),
  /** The seed of the session's matching engine (SHADOW) and algorithms. */
  seed: z.number().int().nonnegative(),
  /** The configuration in force, secrets redacted. */
  config: z.record(z.string(), z.unknown()),
  /** Instrument definitions in force at the start. */
  instruments: z.array(InstrumentSpecSchema),
  /** Starting cash of the SHADOW account (the replay's starting cash). */
  starting_cash: DecimalSchema,
});

export const ParentRoutedRecord = z.strictObject({
  ...head,
  type: z.literal('parent_routed'),
  parent: RoutedParentJson,
  /** Mid of the instrument when the parent arrived (implementation shortfall's benchmark), or null. */
  arrival_mid: DecimalSchema.nullable(),
});

export const ChildSubmittedRecord = z.strictObject({
  ...head,
  type: z.literal('child_submitted'),
  parent_order_id: z.string().min(1),
  order_id: z.string().min(1),
  request: VenueOrderRequestJson,
  /** Mid when the child was sent (slippage's benchmark), or null. */
  mid_at_arrival: DecimalSchema.nullable(),
});

export const ParentCancelRequestedRecord = z.strictObject({
  ...head,
  type: z.literal('parent_cancel_requested'),
  parent_order_id: z.string().min(1),
  reason: z.string(),
});

export const ChildCancelRequestedRecord = z.strictObject({
  ...head,
  type: z.literal('child_cancel_requested'),
  parent_order_id: z.string().min(1),
  order_id: z.string().min(1),
});

export const VenueReportRecord = z.strictObject({
  ...head,
  type: z.literal('venue_report'),
  venue: z.string().min(1),
  report: z.discriminatedUnion('kind', [
    z.strictObject({ kind: z.literal('order'), order: VenueOrderJson }),
    z.strictObject({ kind: z.literal('trade'), trade: VenueTradeJson }),
  ]),
});

export const TradingStateChangedRecord = z.strictObject({
  ...head,
  type: z.literal('trading_state_changed'),
  /** null = platform-wide. */
  strategy_id: z.string().nullable(),
  state: z.enum(TRADING_STATES),
  reason: z.string().nullable(),
});

export const TimerFiredRecord = z.strictObject({
  ...head,
  type: z.literal('timer_fired'),
  parent_order_id: z.string().min(1),
});

/**
 * The trading sessions the edge gated an instrument by (recorded when first read and whenever they
 * change), so a replay gates the parent's children exactly as the edge did.
 */
export const TradingScheduleRecord = z.strictObject({
  ...head,
  type: z.literal('trading_schedule'),
  venue: z.string().min(1),
  instrument_key: z.string().min(1),
  policy: z.enum(OUTSIDE_HOURS_POLICIES),
  /** Null: the venue lists no sessions for it (always open). */
  schedule: z
    .strictObject({
      sessions: z.array(z.strictObject({ start: NanosText, end: NanosText })),
      horizon: NanosText,
    })
    .nullable(),
});

/** Events the recorder could not keep (buffer full during a slow flush): the recording is incomplete. */
export const GapRecord = z.strictObject({
  ...head,
  type: z.literal('gap'),
  dropped_market_events: z.number().int().nonnegative(),
  dropped_records: z.number().int().nonnegative(),
  first_ts_init: NanosText,
  last_ts_init: NanosText,
});

export const SessionClosedRecord = z.strictObject({
  ...head,
  type: z.literal('session_closed'),
});

export const JournalRecordSchema = z.discriminatedUnion('type', [
  SessionStartedRecord,
  ParentRoutedRecord,
  ChildSubmittedRecord,
  ChildCancelRequestedRecord,
  ParentCancelRequestedRecord,
  VenueReportRecord,
  TradingStateChangedRecord,
  TimerFiredRecord,
  TradingScheduleRecord,
  GapRecord,
  SessionClosedRecord,
]);
export type JournalRecord = z.output<typeof JournalRecordSchema>;
export type JournalRecordType = JournalRecord['type'];
/** A journal record as the edge hands it to the recorder: no `seq` (assigned), `ts_init` as bigint. */
export type JournalInput = JournalRecord extends infer R
  ? R extends { type: infer T; ts_init: string }
    ? Omit<R, 'seq' | 'ts_init'> & { type: T; ts_init: Nanos }
    : never
  : never;

/** Where the edge sends what it records (the Recorder, or nothing when recording is off). */
export interface RecordingSink {
  /** One market event as received. Synchronous and cheap; never throws. */
  marketEvent(e: MarketEvent): void;
  /** One journal entry. Synchronous and cheap; never throws. */
  record(entry: JournalInput): void;
}

/** A journal record with its run. */
export type SequencedRecord = JournalRecord & { run: number };

// ---------------------------------------------------------------------------------------------
// Manifest
// ---------------------------------------------------------------------------------------------

const FileEntry = z.strictObject({
  key: z.string().min(1),
  bytes: z.number().int().nonnegative(),
  /** SHA-256 of the bytes, hex. */
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  /** Records (journal) or rows (market) in the file. */
  rows: z.number().int().nonnegative(),
});
export type FileEntry = z.output<typeof FileEntry>;

export const SegmentSchema = z.strictObject({
  run: z.number().int().positive(),
  part: z.number().int().positive(),
  /** Sequence numbers [first_seq, last_seq] of the run held by this segment. */
  first_seq: z.number().int().nonnegative(),
  last_seq: z.number().int().nonnegative(),
  first_ts_init: NanosText,
  last_ts_init: NanosText,
  journal: FileEntry.nullable(),
  market: FileEntry.nullable(),
  /** Written before the run's manifest entry; adopted when the recorder restarted. */
  recovered: z.boolean(),
});
export type Segment = z.output<typeof SegmentSchema>;

export const RunSchema = z.strictObject({
  run: z.number().int().positive(),
  started_ts_init: NanosText,
  /** Null while the run is open or when it ended without closing (a crash). */
  closed_ts_init: NanosText.nullable(),
});

export const DiscardedSchema = z.strictObject({
  key: z.string(),
  reason: z.string(),
});

export const TickFileSchema = z.strictObject({
  key: z.string(),
  rows: z.number().int().nonnegative(),
  bytes: z.number().int().nonnegative(),
});

export const RecordingManifestSchema = z.strictObject({
  format_version: z.number().int().positive(),
  session_id: SessionIdSchema,
  mode: z.enum(RECORDING_MODES),
  venues: z.array(z.string()),
  runs: z.array(RunSchema),
  segments: z.array(SegmentSchema),
  /** Part files found after a crash that could not be read (torn writes); never replayed. */
  discarded: z.array(DiscardedSchema),
  /** The tick-layout files written at the last close (market data as ordinary tick data). */
  tick_files: z.array(TickFileSchema),
});
export type RecordingManifest = z.output<typeof RecordingManifestSchema>;

/** Ordering of everything a session consumed: run, then sequence number. */
export function compareRunSeq(a: { run: number; seq: number }, b: { run: number; seq: number }): number {
  return a.run - b.run || a.seq - b.seq;
}
