/**
 * The execution event feed: an append-only log of what operators read on the console's Logs page
 * (`GET /api/events`) — every order event of the order book of record (received, risk decision,
 * routing, venue ack, fills, cancels, rejections), trading-state changes, and the venue
 * diagnostics (stream up/down, breaker, retries, gap fills), reconciliation differences and drift
 * alerts the venue edge publishes.
 *
 * Entries are written once: `append` is idempotent by `id` (an id already stored is left as it
 * is), so a redelivered message or a second writer never duplicates an entry. Read newest first
 * (`ts_event` descending, then `id` descending) with filters and an opaque cursor.
 *
 * Adapters: infra/local/event-feed.local.ts (memory, or a journal under the data folder) and
 * infra/firestore/event-feed.firestore.ts. The contract: test/contract/event-feed.contract.ts.
 */
import { z } from 'zod';
import type { Nanos } from '../domain/time.ts';

export const EVENT_CATEGORIES = ['order', 'trading_state', 'venue'] as const;
export type EventCategory = (typeof EVENT_CATEGORIES)[number];
export const EVENT_OUTCOMES = ['executed', 'denied', 'rejected', 'canceled', 'info', 'warning'] as const;
export type EventOutcome = (typeof EVENT_OUTCOMES)[number];

export interface ExecutionEventEntry {
  /**
   * Stable id, the same whoever writes it: `<operation_id>#<index in its timeline>`,
   * `ts:<scope>#<version>`, `venue:<venue>:<diagnostic>:<ts_event>`, `recon:...`, `drift:...`.
   */
  id: string;
  ts_event: Nanos;
  time: string;
  category: EventCategory;
  /** The event's own type: `OrderFilled`, `TradingStateChanged`, `venue_diagnostic.stream`, ... */
  type: string;
  outcome: EventOutcome;
  venue: string | null;
  instrument_key: string | null;
  operation_id: string | null;
  strategy_id: string | null;
  /** Who asked (order received / cancel requested / trading state), when recorded. */
  actor: string | null;
  message: string;
}

const nullableText = z.string().nullable();

/** What a stored entry must look like (adapters check what they read back). */
export const ExecutionEventEntrySchema = z.strictObject({
  id: z.string().min(1).max(1500),
  ts_event: z.bigint().nonnegative(),
  time: z.string(),
  category: z.enum(EVENT_CATEGORIES),
  type: z.string().min(1),
  outcome: z.enum(EVENT_OUTCOMES),
  venue: nullableText,
  instrument_key: nullableText,
  operation_id: nullableText,
  strategy_id: nullableText,
  actor: nullableText,
  message: z.string(),
});

export interface EventFeedQuery {
  category?: readonly EventCategory[] | undefined;
  outcome?: readonly EventOutcome[] | undefined;
  venue?: string | undefined;
  instrument_key?: string | undefined;
  operation_id?: string | undefined;
  /** From this time (inclusive, ns). */
  from?: Nanos | undefined;
  /** Before this time (exclusive, ns). */
  to?: Nanos | undefined;
  limit: number;
  /** The `next_cursor` of the previous page: entries after it, newest first. */
  cursor?: string | undefined;
}

export interface EventFeedPage {
  events: ExecutionEventEntry[];
  /** Pass as `cursor` for the next (older) page; null when there is none. */
  next_cursor: string | null;
}

export interface EventFeedStore {
  /** Store the entries whose ids are new; the others are left unchanged. Returns how many were new. */
  append(entries: readonly ExecutionEventEntry[]): Promise<number>;
  /** One page, newest first. A bad cursor throws {@link EventCursorError}. */
  page(query: EventFeedQuery): Promise<EventFeedPage>;
  health(): Promise<{ ok: boolean; detail?: string }>;
  close(): Promise<void>;
}

/** A cursor this store did not issue. */
export class EventCursorError extends Error {
  constructor(message = 'cursor is not one this API issued') {
    super(message);
    this.name = 'EventCursorError';
  }
}

/** The position of an entry in the newest-first order. */
export interface EventPosition {
  ts_event: Nanos;
  id: string;
}

/** `< 0` when `a` comes first (newer), newest first: `ts_event` descending, then `id` descending. */
export function compareNewestFirst(a: EventPosition, b: EventPosition): number {
  if (a.ts_event !== b.ts_event) return a.ts_event > b.ts_event ? -1 : 1;
  return a.id === b.id ? 0 : a.id > b.id ? -1 : 1;
}

export function encodeEventCursor(p: EventPosition): string {
  return Buffer.from(JSON.stringify([p.ts_event.toString(), p.id]), 'utf8').toString('base64url');
}

export function decodeEventCursor(cursor: string): EventPosition {
  try {
    const v: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (
      Array.isArray(v) &&
      v.length === 2 &&
      typeof v[0] === 'string' &&
      /^\d{1,20}$/.test(v[0]) &&
      typeof v[1] === 'string' &&
      v[1] !== ''
    ) {
      return { ts_event: BigInt(v[0]), id: v[1] };
    }
  } catch {
    // fall through
  }
  throw new EventCursorError();
}

/** Does `e` pass the query's filters (not the cursor)? */
export function matchesEventQuery(e: ExecutionEventEntry, q: EventFeedQuery): boolean {
  if (q.category !== undefined && !q.category.includes(e.category)) return false;
  if (q.outcome !== undefined && !q.outcome.includes(e.outcome)) return false;
  if (q.venue !== undefined && e.venue !== q.venue) return false;
  if (q.instrument_key !== undefined && e.instrument_key !== q.instrument_key) return false;
  if (q.operation_id !== undefined && e.operation_id !== q.operation_id) return false;
  if (q.from !== undefined && e.ts_event < q.from) return false;
  if (q.to !== undefined && e.ts_event >= q.to) return false;
  return true;
}

/** Check an entry before it is stored (a clear error naming the field). */
export function checkEventEntry(e: ExecutionEventEntry): ExecutionEventEntry {
  const r = ExecutionEventEntrySchema.safeParse(e);
  if (!r.success) {
    const i = r.error.issues[0];
    throw new RangeError(
      `event ${JSON.stringify(e?.id)}: ${i?.path.map(String).join('.') ?? ''}: ${i?.message ?? 'invalid'}`,
    );
  }
  return r.data;
}
